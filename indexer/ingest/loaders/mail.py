"""E-mail: .eml (one message; its subject and date are the title) and .mbox (one page per
message, located by its subject and date). The standard library's email parser with the
modern policy (RFC 2047 headers, MIME parts, transfer decoding).

The body is every text part in order (Apple Mail splits one around an inline image): of a
multipart/alternative the plain-text part is preferred, else the HTML part's text. Each text
part's bytes are decoded by indexer.ingest.loaders.charset with its label as the declared
charset, so a label that lies (8-bit bytes marked us-ascii) loses no letters. A forwarded
message (message/rfc822) follows as 'Forwarded message: <subject>' with its own body.
Attachments of a supported type (a PDF, a DOCX, ...) are read by the registry's loader, in
this same reader process and under its bounds, as further parts located
'attachment: report.pdf, page 2'; at most MAX_ATTACHMENTS per message, MAX_DEPTH levels of
nesting."""

from __future__ import annotations

import email
import email.policy
import logging
import re
import tempfile
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from indexer.errors import ExtractionFailed, QuarryError
from indexer.ingest.loaders.charset import decode_bytes
from indexer.ingest.loaders.html import html_to_text
from indexer.ingest.loaders.text import read_bytes
from indexer.types import LoadedDocument, Page

log = logging.getLogger(__name__)

_FROM_QUOTED = re.compile(rb"^>(>*From )")

MAX_MESSAGES = 20_000
"""Messages read from one mbox: beyond this an archive is better split (indexing time)."""

MAX_ATTACHMENTS = 50
"""Attachments read from one message (with its forwarded messages); the rest are left out."""

MAX_DEPTH = 5
"""Levels of forwarded messages and nested multiparts read."""


def _date(message: EmailMessage) -> str:
    raw = message.get("date", "")
    try:
        return parsedate_to_datetime(str(raw)).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError, IndexError):
        return " ".join(str(raw).split())


def _subject(message: EmailMessage) -> str:
    return " ".join(str(message.get("subject", "") or "").split()) or "(no subject)"


def heading(message: EmailMessage) -> str:
    """'Subject — 2024-03-01 09:30', the message's title and location."""
    date = _date(message)
    return f"{_subject(message)} — {date}" if date else _subject(message)


def _part_text(part: EmailMessage) -> str:
    """One text part's text: its bytes decoded with the label as the declared charset."""
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        content = decode_bytes(payload, _codec(part.get_content_charset()))
    else:
        content = str(part.get_payload() or "")
    return html_to_text(content)[1] if part.get_content_subtype() == "html" else content


def _codec(label: str | None) -> str | None:
    import codecs

    try:
        return codecs.lookup(label).name if label else None
    except LookupError:
        return None


def _is_attachment(part: EmailMessage) -> bool:
    return part.get_content_disposition() == "attachment" or (
        part.get_filename() is not None and part.get_content_maintype() != "text"
    )


class _Reader:
    """Walks one message: its body texts in order, and its attachments' pages."""

    def __init__(self) -> None:
        self.attachments: list[Page] = []
        self.read = 0

    def body(self, message: EmailMessage, depth: int = 0) -> str:
        """Sender, recipients and every text part of the body, in order."""
        lines = [f"{name}: {' '.join(str(message[name]).split())}" for name in ("From", "To", "Cc") if message[name]]
        return "\n".join(lines) + "\n\n" + "\n\n".join(t for t in self._texts(message, depth) if t.strip())

    def _texts(self, part: EmailMessage, depth: int) -> Iterator[str]:
        if depth > MAX_DEPTH:
            return
        kind = part.get_content_type()
        if kind == "message/rfc822":
            for inner in part.iter_parts():
                if isinstance(inner, EmailMessage):
                    yield f"Forwarded message: {heading(inner)}\n" + self.body(inner, depth + 1)
            return
        if part.is_multipart():
            parts = [p for p in part.iter_parts() if isinstance(p, EmailMessage)]
            if part.get_content_subtype() == "alternative":
                best = part.get_body(preferencelist=("plain", "html"))
                parts = [best] if isinstance(best, EmailMessage) else parts[:1]
            for sub in parts:
                yield from self._texts(sub, depth + 1)
            return
        if _is_attachment(part):
            self._attachment(part)
        elif part.get_content_maintype() == "text" and part.get_content_subtype() in ("plain", "html"):
            try:
                yield _part_text(part)
            except (LookupError, ValueError, AssertionError) as exc:  # broken transfer encoding
                log.debug("message part unreadable: %s", exc)

    def _attachment(self, part: EmailMessage) -> None:
        from indexer.ingest.loaders import load, supported

        name = Path(str(part.get_filename() or "")).name
        if not name or not supported(Path(name)) or self.read >= MAX_ATTACHMENTS:
            return
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload:
            return
        self.read += 1
        with tempfile.TemporaryDirectory(prefix="quarry-attachment-") as folder:
            copy = Path(folder) / name
            copy.write_bytes(payload)
            try:
                document = load(copy)
            except QuarryError as exc:
                log.info("attachment %s not read: %s", name, exc)
                return
        for page in document.pages:
            where = page.label or (f"page {page.number}" if page.number is not None else "")
            label = f"attachment: {name}" + (f", {where}" if where else "")
            self.attachments.append(Page(text=page.text, number=None, label=label[:160]))


def message_text(message: EmailMessage) -> str:
    """Sender, recipients and every text part of the body, in order (module docstring);
    attachments are not read here (see load_eml)."""
    return _Reader().body(message)


def load_eml(path: Path) -> LoadedDocument:
    message = email.message_from_bytes(read_bytes(path), policy=email.policy.default)
    if not isinstance(message, EmailMessage) or (not message.keys() and not message.get_payload()):
        raise ExtractionFailed("not an e-mail message")
    reader = _Reader()
    body = Page(text=reader.body(message), number=None)
    return LoadedDocument(pages=[body, *reader.attachments], title=heading(message))


def _mbox_messages(data: bytes) -> Iterator[bytes]:
    """The messages of an mbox file: each starts at a 'From ' line at the start of the file
    or after a blank line; '>From ' quoting (mboxrd) is undone. The standard library's
    mailbox.mbox opens the file for writing, and Quarry only ever reads documents."""
    current: list[bytes] = []
    previous_blank = True
    for line in data.splitlines(keepends=True):
        if line.startswith(b"From ") and previous_blank:
            if current:
                yield b"".join(current)
            current = []
        else:
            current.append(_FROM_QUOTED.sub(rb"\1", line))
        previous_blank = not line.strip()
    if current:
        yield b"".join(current)


def load_mbox(path: Path) -> LoadedDocument:
    pages: list[Page] = []
    for number, raw in enumerate(_mbox_messages(read_bytes(path)), start=1):
        if number > MAX_MESSAGES:
            log.info("%s: only the first %d messages are read", path, MAX_MESSAGES)
            break
        message = email.message_from_bytes(raw, policy=email.policy.default)
        if isinstance(message, EmailMessage):
            pages.append(Page(text=message_text(message), number=number, label=heading(message)[:160]))
    if not pages:
        raise ExtractionFailed("no messages in this mbox file")
    return LoadedDocument(pages=pages, title=path.stem.replace("_", " "))
