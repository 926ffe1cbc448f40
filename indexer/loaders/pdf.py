"""PDF text, page by page, with pypdf. pypdf's chatter goes to our debug log."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from indexer.constants import MAX_PDF_PAGES
from indexer.errors import ExtractionFailed
from indexer.types import LoadedDocument, Page

log = logging.getLogger(__name__)

_HYPHEN_BREAK = re.compile(r"(\w)-\n(\w)")
_SPACES = re.compile(r"[ \t\u00a0]+")


class _Forward(logging.Handler):
    """pypdf warns about every odd font (from child loggers such as pypdf._cmap); those
    are debug notes about one file for us, not warnings for the person at the keyboard."""

    def emit(self, record: logging.LogRecord) -> None:
        log.debug("pypdf: %s", record.getMessage()[:300])


def quiet_pypdf() -> None:
    pypdf_log = logging.getLogger("pypdf")
    if not any(isinstance(h, _Forward) for h in pypdf_log.handlers):
        pypdf_log.addHandler(_Forward())
        pypdf_log.propagate = False


def clean_page_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = _HYPHEN_BREAK.sub(r"\1\2", text)
    text = _SPACES.sub(" ", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def load_pdf(path: Path) -> LoadedDocument:
    quiet_pypdf()
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise ExtractionFailed("encrypted PDF (password required)")
            except (FileNotDecryptedError, NotImplementedError) as exc:
                raise ExtractionFailed("encrypted PDF (password required)") from exc
        n_pages = len(reader.pages)
    except PdfReadError as exc:
        raise ExtractionFailed(f"broken PDF: {exc}"[:300]) from exc
    if n_pages == 0:
        raise ExtractionFailed("PDF has no pages")
    if n_pages > MAX_PDF_PAGES:
        raise ExtractionFailed(f"too many pages ({n_pages}, the limit is {MAX_PDF_PAGES})")
    pages: list[Page] = []
    failed = 0
    for number, page in enumerate(reader.pages, start=1):
        try:
            text = page.extract_text() or ""
        except Exception as exc:  # noqa: BLE001 - one bad page must not lose the document
            failed += 1
            log.debug("%s: page %d unreadable: %s", path, number, exc)
            text = ""
        pages.append(Page(text=clean_page_text(text), number=number))
    if failed:
        log.info("%s: %d of %d pages could not be read", path, failed, n_pages)
    return LoadedDocument(pages=pages, title=_title(reader, path))


def _title(reader: object, path: Path) -> str:
    try:
        meta = reader.metadata  # type: ignore[attr-defined]
        title = (meta.title or "").strip() if meta else ""
    except Exception:  # noqa: BLE001 - broken metadata is common and harmless
        title = ""
    if len(title) < 3 or title.lower() in {"untitled", "microsoft word"}:
        title = path.stem.replace("_", " ").replace("-", " ")
    return title[:200]
