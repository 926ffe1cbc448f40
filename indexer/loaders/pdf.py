"""PDF text, page by page, with PDFium (pypdfium2); pypdf for the files PDFium refuses.

PDFium is the engine Chrome renders PDFs with: it reads The War of the Worlds with 14 split
words where pypdf makes 475 ('Ma rtian', 'gran aries'), and about 15 times as fast
(benchmarks/extract.py, docs/benchmarks.md). Both run in the extraction child process
(indexer.extract), which bounds their time and contains a crash in PDFium's C++.

Each page keeps its physical number (what viewers are opened at) and, where the PDF's page
labels name it otherwise, a label for people: 'p. iv (6 of 120)'.
"""

from __future__ import annotations

import logging
from pathlib import Path

from indexer.constants import MAX_PDF_PAGES
from indexer.errors import ExtractionFailed
from indexer.types import LoadedDocument, Page

log = logging.getLogger(__name__)


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


def page_label(label: str, number: int, total: int) -> str:
    """'p. iv (6 of 120)' where the printed label differs from the physical number, else ''."""
    label = " ".join((label or "").split())
    if not label or label == str(number):
        return ""
    return f"p. {label[:40]} ({number} of {total})"


PDFIUM_LINE_END_HYPHEN = "\x02"
"""PDFium reports a hyphen that ends a line, with the line break, as U+0002 ('stage\x02fright').
It goes back to '-' and a line break, and the normalisation step decides, from the rest of the
document, whether the word is written joined ('pres-\nsure') or hyphenated ('stage-fright')."""

UNMAPPED_SAMPLE = 64
"""Characters per page checked for a missing Unicode map (PDFium's own flag): enough to tell a
page set in an unmapped font from one with a stray symbol, at no measurable cost."""

UNMAPPED_SHARE = 0.5
"""A page where more than this share of the sampled characters have no Unicode mapping is
undecodable (glyph numbers, not letters: '7KH NHHSHU' for 'The keeper')."""

UNMAPPED_REASON = "text cannot be decoded: the font has no Unicode map (glyph numbers instead of letters)"


def _unmapped_share(textpage: object, count: int) -> float:
    import pypdfium2.raw as pdfium_c

    if count <= 0:
        return 0.0
    step = max(1, count // UNMAPPED_SAMPLE)
    sample = range(0, count, step)
    errors = sum(1 for k in sample if pdfium_c.FPDFText_HasUnicodeMapError(textpage, k) == 1)
    return errors / len(sample)


def _check_pages(n_pages: int) -> None:
    if n_pages == 0:
        raise ExtractionFailed("PDF has no pages")
    if n_pages > MAX_PDF_PAGES:
        raise ExtractionFailed(f"too many pages ({n_pages}, the limit is {MAX_PDF_PAGES})")


def load_pdf(path: Path) -> LoadedDocument:
    """Read a PDF with PDFium, or with pypdf where PDFium cannot open it (not where the
    file is encrypted: that is the answer for both).

    Raises:
        ExtractionFailed: encrypted, no pages, too many pages, or unreadable by both.
    """
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise ExtractionFailed("encrypted PDF (password required)") from exc
        log.info("%s: PDFium refused it (%s); trying pypdf", path, exc)
        return load_pdf_pypdf(path)
    try:
        return _read_pdfium(document, path)
    finally:
        document.close()


def _read_pdfium(document: object, path: Path) -> LoadedDocument:
    n_pages = len(document)  # type: ignore[arg-type]
    _check_pages(n_pages)
    pages: list[Page] = []
    undecodable: list[tuple[int, str]] = []
    failed = 0
    for index in range(n_pages):
        number = index + 1
        try:
            page = document[index]  # type: ignore[index]
            try:
                textpage = page.get_textpage()
                try:
                    # Bounded, not range: full Unicode (range is UCS-2 and drops what it cannot decode).
                    text = textpage.get_text_bounded().replace(PDFIUM_LINE_END_HYPHEN, "-\n")
                    if _unmapped_share(textpage, textpage.count_chars()) > UNMAPPED_SHARE:
                        undecodable.append((number, UNMAPPED_REASON))
                        text = ""
                finally:
                    textpage.close()
            finally:
                page.close()
        except Exception as exc:  # noqa: BLE001 - one bad page must not lose the document
            failed += 1
            log.debug("%s: page %d unreadable: %s", path, number, exc)
            text = ""
        try:
            label = document.get_page_label(index)  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - malformed /PageLabels: fall back to the number
            log.debug("%s: page %d label unreadable: %s", path, number, exc)
            label = ""
        pages.append(Page(text=text, number=number, label=page_label(label, number, n_pages)))
    if failed:
        log.info("%s: %d of %d pages could not be read", path, failed, n_pages)
    try:
        title = (document.get_metadata_dict().get("Title") or "").strip()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - broken metadata is common and harmless
        title = ""
    return LoadedDocument(pages=pages, title=_title(title, path), skipped_pages=undecodable)


def load_pdf_pypdf(path: Path) -> LoadedDocument:
    """The fallback reader (pure Python, slower, splits more words; reads some damaged files
    PDFium refuses)."""
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
    _check_pages(n_pages)
    try:
        labels = list(reader.page_labels)
    except Exception:  # noqa: BLE001 - malformed /PageLabels: fall back to the numbers
        labels = []
    pages: list[Page] = []
    failed = 0
    for number, page in enumerate(reader.pages, start=1):
        try:
            text = page.extract_text() or ""
        except Exception as exc:  # noqa: BLE001 - one bad page must not lose the document
            failed += 1
            log.debug("%s: page %d unreadable: %s", path, number, exc)
            text = ""
        label = labels[number - 1] if number <= len(labels) else ""
        pages.append(Page(text=text, number=number, label=page_label(label, number, n_pages)))
    if failed:
        log.info("%s: %d of %d pages could not be read", path, failed, n_pages)
    try:
        meta = reader.metadata
        title = (meta.title or "").strip() if meta else ""
    except Exception:  # noqa: BLE001 - broken metadata is common and harmless
        title = ""
    return LoadedDocument(pages=pages, title=_title(title, path))


def _title(title: str, path: Path) -> str:
    if len(title) < 3 or title.lower() in {"untitled", "microsoft word"}:
        title = path.stem.replace("_", " ").replace("-", " ")
    return title[:200]
