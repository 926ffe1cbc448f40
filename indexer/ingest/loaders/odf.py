"""OpenDocument: ODT (pages, where the file records LibreOffice's soft page breaks), ODS (one
part per sheet and block of rows: 'Budget, rows 1–25') and ODP (one page per slide, speaker
notes included: 'slide 3').

content.xml is walked with the standard library's XML parser: odfpy, the one ODF library,
gives the same tree and no text API beyond a text walk like this one (and was last released
in 2020).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

from indexer.errors import ExtractionFailed
from indexer.ingest.loaders.archive import check_zip
from indexer.ingest.loaders.limits import MAX_CELL_CHARS, MAX_CELLS, MAX_REPEATED_SPACES, ExpansionBudget, repeat_count
from indexer.ingest.loaders.tabular import row_blocks
from indexer.types import LoadedDocument, Page

_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_DRAW = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_PRESENTATION = "{urn:oasis:names:tc:opendocument:xmlns:presentation:1.0}"
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
_BLOCKS = {f"{_TEXT}p", f"{_TEXT}h"}
_SKIP = {f"{_OFFICE}annotation", f"{_TEXT}note-citation", f"{_TEXT}tracked-changes"}


def load_odf(path: Path) -> LoadedDocument:
    """Raises ExtractionFailed when the file is not an OpenDocument package."""
    check_zip(path)
    try:
        with zipfile.ZipFile(path) as archive:
            content = ElementTree.fromstring(archive.read("content.xml"))
            title = ""
            if "meta.xml" in archive.namelist():
                title = (ElementTree.fromstring(archive.read("meta.xml")).findtext(f".//{_DC_TITLE}") or "").strip()
    except (KeyError, ElementTree.ParseError) as exc:
        raise ExtractionFailed(f"not a valid OpenDocument file ({exc})"[:300]) from exc
    body = content.find(f"{_OFFICE}body")
    if body is None:
        raise ExtractionFailed("not a valid OpenDocument file (no body)")
    suffix = path.suffix.lower()
    if suffix == ".ods":
        pages = list(_sheets(body))
    elif suffix == ".odp":
        pages = list(_slides(body))
    else:
        pages = _text_pages(body)
    return LoadedDocument(pages=pages, title=title or path.stem)


def _inline_text(element: ElementTree.Element) -> str:
    """A paragraph's text with ODF's space, tab and line-break elements as characters."""
    parts: list[str] = [element.text or ""]
    for child in element:
        if child.tag in _SKIP:
            pass
        elif child.tag == f"{_TEXT}s":
            parts.append(" " * repeat_count(child.get(f"{_TEXT}c"), MAX_REPEATED_SPACES))
        elif child.tag in (f"{_TEXT}tab", f"{_TEXT}line-break"):
            parts.append(" ")
        elif child.tag != f"{_TEXT}soft-page-break":
            parts.append(_inline_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _paragraphs(element: ElementTree.Element) -> Iterator[str | None]:
    """Paragraph texts in document order; None marks a soft page break."""
    for child in element:
        if child.tag == f"{_TEXT}soft-page-break":
            yield None
        elif child.tag in _BLOCKS:
            if child.find(f".//{_TEXT}soft-page-break") is not None:
                yield None
            yield " ".join(_inline_text(child).split())
        elif child.tag not in _SKIP:
            yield from _paragraphs(child)


def _text_pages(body: ElementTree.Element) -> list[Page]:
    pages: list[list[str]] = [[]]
    for paragraph in _paragraphs(body):
        if paragraph is None:
            if pages[-1]:
                pages.append([])
        elif paragraph:
            pages[-1].append(paragraph)
    texts = ["\n\n".join(p) for p in pages if p]
    if len(texts) <= 1:  # no recorded page breaks: a page number would mislead
        return [Page(text=texts[0] if texts else "", number=None)]
    return [Page(text=text, number=number) for number, text in enumerate(texts, start=1)]


def _slides(body: ElementTree.Element) -> Iterator[Page]:
    for number, slide in enumerate(body.iter(f"{_DRAW}page"), start=1):
        name = slide.get(f"{_DRAW}name", "")
        text = "\n\n".join(p for p in _paragraphs(slide) if p)
        label = f"slide {number}" + (f" ({name})" if name and not name.lower().startswith("page") else "")
        yield Page(text=text, number=number, label=label)


def _sheets(body: ElementTree.Element) -> Iterator[Page]:
    """Each sheet's rows as LibreOffice shows them: repeated rows and cells expanded, every
    expansion taken from one ExpansionBudget of MAX_CELLS for the whole file before it is
    made (ExtractionFailed past it). Trailing empty repeats (a styled sheet's million empty
    rows) cost one row."""
    budget = ExpansionBudget(MAX_CELLS, "spreadsheet cells (repeated rows and columns)")
    for table in body.iter(f"{_TABLE}table"):
        name = table.get(f"{_TABLE}name", "Sheet")
        rows: list[list[str]] = []
        for row in table.iter(f"{_TABLE}table-row"):
            cells: list[str] = []
            for cell in row:
                if cell.tag not in (f"{_TABLE}table-cell", f"{_TABLE}covered-table-cell"):
                    continue
                text = " ".join(" ".join(p for p in _paragraphs(cell) if p).split())[:MAX_CELL_CHARS]
                span = repeat_count(cell.get(f"{_TABLE}number-columns-repeated")) if text else 1
                budget.take(span)
                cells.extend([text] * span)
            repeat = repeat_count(row.get(f"{_TABLE}number-rows-repeated")) if any(cells) else 1
            budget.take(len(cells) * (repeat - 1))
            rows.extend([cells] * repeat)
        yield from row_blocks(name, rows)
