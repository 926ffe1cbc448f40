"""PDF text, page by page, with PDFium (pypdfium2); pypdf for the files PDFium refuses.

PDFium is the engine Chrome renders PDFs with: it reads The War of the Worlds with 14 split
words where pypdf makes 475 ('Ma rtian', 'gran aries'), and about 15 times as fast
(benchmarks/extract.py, docs/benchmarks.md). Both run in the extraction child process
(indexer.ingest.extract), which bounds their time and contains a crash in PDFium's C++.

Each page keeps its physical number (what viewers are opened at) and, where the PDF's page
labels name it otherwise, a label for people: 'p. iv (6 of 120)'.

A page without a usable text layer (a scan: images and next to no text; or text whose font has
no Unicode map) is rendered by PDFium and recognised by local OCR (indexer.ingest.ocr); pages with a
good text layer are never OCRed.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from indexer.constants import MAX_PDF_PAGES
from indexer.errors import ExtractionFailed
from indexer.ingest import ocr
from indexer.ingest.normalise import reads_as_words, undecodable_reason
from indexer.types import LoadedDocument, OcrWord, Page

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
    texts: list[str] = []
    undecodable: dict[int, str] = {}
    scanned: list[int] = []
    failed = 0
    for index in range(n_pages):
        number = index + 1
        try:
            text, reason, has_images = _page_text(document[index])  # type: ignore[index]
        except Exception as exc:  # noqa: BLE001 - one bad page must not lose the document
            failed += 1
            log.debug("%s: page %d unreadable: %s", path, number, exc)
            text, reason, has_images = "", "", False
        if reason:
            undecodable[number] = reason
            text = ""
        if reason or (has_images and _visible(text) < ocr.MIN_TEXT_LAYER_CHARS):
            scanned.append(number)
        texts.append(text)
    if failed:
        log.info("%s: %d of %d pages could not be read", path, failed, n_pages)
    skipped: list[tuple[int, str]] = []
    recognised: dict[int, tuple[OcrWord, ...]] = {}  # page number -> its words and their boxes
    if scanned:
        for found in ocr.read_pages(scanned, lambda number: _render(document, number)):
            result = found
            if result.number in undecodable and not result.reason and not reads_as_words(result.text):
                result = replace(found, reason="the rendered page does not read as words either")
            if result.reason:
                # Why the page needed OCR, then why OCR gave nothing (off, missing, failed).
                why = undecodable.get(result.number, ocr.SCANNED_REASON)
                skipped.append((result.number, f"{why}; {result.reason}"))
                texts[result.number - 1] = ""  # not a stamp or a page number alone
            else:
                texts[result.number - 1] = result.text
                recognised[result.number] = result.words
    pages = [
        Page(
            text=text,
            number=number,
            label=_label(document, number, n_pages),
            ocr=number in recognised,
            words=recognised.get(number, ()),
        )
        for number, text in enumerate(texts, start=1)
    ]
    try:
        title = (document.get_metadata_dict().get("Title") or "").strip()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - broken metadata is common and harmless
        title = ""
    return LoadedDocument(pages=pages, title=_title(title, path), skipped_pages=skipped)


def _page_text(page: object) -> tuple[str, str, bool]:
    """(text, why it cannot be decoded or '', whether the page holds images) of one page."""
    import pypdfium2.raw as pdfium_c

    try:
        textpage = page.get_textpage()  # type: ignore[attr-defined]
        try:
            # Bounded, not range: full Unicode (range is UCS-2 and drops what it cannot decode).
            text = textpage.get_text_bounded().replace(PDFIUM_LINE_END_HYPHEN, "-\n")
            if _unmapped_share(textpage, textpage.count_chars()) > UNMAPPED_SHARE:
                reason = UNMAPPED_REASON
            else:
                reason = undecodable_reason(text)
        finally:
            textpage.close()
        has_images = next(iter(page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=3)), None) is not None  # type: ignore[attr-defined]
    finally:
        page.close()  # type: ignore[attr-defined]
    return text, reason, has_images


def _visible(text: str) -> int:
    return len(text) - sum(text.count(ch) for ch in " \n\r\t\f\v\u00a0")


def _render(document: object, number: int) -> object:
    """Page ``number`` as a greyscale PIL image at OCR_DPI, its longest side capped."""
    page = document[number - 1]  # type: ignore[index]
    try:
        width, height = page.get_size()
        scale = min(ocr.OCR_DPI / 72, ocr.OCR_MAX_SIDE_PX / max(width, height, 1.0))
        return page.render(scale=scale, grayscale=True).to_pil()
    finally:
        page.close()


def _label(document: object, number: int, n_pages: int) -> str:
    try:
        label = document.get_page_label(number - 1)  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - malformed /PageLabels: fall back to the number
        log.debug("page %d label unreadable: %s", number, exc)
        label = ""
    return page_label(label, number, n_pages)


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
