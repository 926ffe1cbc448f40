"""E-mail: .eml (one message; its subject and date are the title) and .mbox (one page per
message, located by its subject and date). The standard library's email parser with the
modern policy (RFC 2047 headers, MIME parts, transfer and charset decoding); the plain-text
part is preferred, else the HTML part's text. Attachments are not read."""

from __future__ import annotations

import email
import email.policy
import logging
import re
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from indexer.errors import ExtractionFailed
from indexer.ingest.loaders.html import html_to_text
from indexer.ingest.loaders.text import read_bytes
from indexer.types import LoadedDocument, Page

log = logging.getLogger(__name__)

_FROM_QUOTED = re.compile(rb"^>(>*From )")

MAX_MESSAGES = 20_000
"""Messages read from one mbox: beyond this an archive is better split (indexing time)."""


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


def message_text(message: EmailMessage) -> str:
    """Sender, recipients and the body (plain text preferred, else HTML's text)."""
    lines = [f"{name}: {' '.join(str(message[name]).split())}" for name in ("From", "To", "Cc") if message[name]]
    body = message.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        try:
            content = body.get_content()
        except (LookupError, ValueError, AssertionError) as exc:  # unknown charset, broken encoding
            log.debug("message body unreadable: %s", exc)
            payload = body.get_payload(decode=True) or b""
            content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
        text = html_to_text(content)[1] if body.get_content_subtype() == "html" else str(content)
    return "\n".join(lines) + "\n\n" + text


def load_eml(path: Path) -> LoadedDocument:
    message = email.message_from_bytes(read_bytes(path), policy=email.policy.default)
    if not isinstance(message, EmailMessage) or (not message.keys() and not message.get_payload()):
        raise ExtractionFailed("not an e-mail message")
    return LoadedDocument(pages=[Page(text=message_text(message), number=None)], title=heading(message))


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
