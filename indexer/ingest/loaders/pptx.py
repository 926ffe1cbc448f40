"""PowerPoint .pptx through python-pptx: one page per slide ('slide 3'), its text frames,
tables, grouped shapes, SmartArt diagrams (the nodes' text, from the diagram's data part) and
charts (title, axis titles, series names and categories, from the chart part) in order, then
its speaker notes."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from indexer.errors import ExtractionFailed
from indexer.ingest.loaders.archive import check_zip
from indexer.types import LoadedDocument, Page

log = logging.getLogger(__name__)

_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
_DGM = "{http://schemas.openxmlformats.org/drawingml/2006/diagram}"
_R_DM = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}dm"


def load_pptx(path: Path) -> LoadedDocument:
    from pptx import Presentation
    from pptx.exc import PackageNotFoundError

    check_zip(path)
    try:
        presentation = Presentation(str(path))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise ExtractionFailed(f"not a valid .pptx file ({exc})"[:300]) from exc
    pages = []
    for number, slide in enumerate(presentation.slides, start=1):
        blocks = list(_shapes_text(slide.shapes, slide.part))
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame.text.strip()
            if notes:
                blocks.append(f"Notes: {notes}")
        pages.append(Page(text="\n\n".join(b for b in blocks if b), number=number, label=f"slide {number}"))
    title = (presentation.core_properties.title or "").strip()
    return LoadedDocument(pages=pages, title=title or path.stem)


def _shapes_text(shapes: Iterable[object], part: object) -> Iterator[str]:
    for shape in shapes:
        if getattr(shape, "shape_type", None) is not None and hasattr(shape, "shapes"):  # a group
            yield from _shapes_text(shape.shapes, part)  # type: ignore[attr-defined]
        elif getattr(shape, "has_chart", False):
            yield from _chart_text(shape.chart._chartSpace)  # type: ignore[attr-defined]
        elif getattr(shape, "has_text_frame", False):
            for paragraph in shape.text_frame.paragraphs:  # type: ignore[attr-defined]
                text = " ".join(paragraph.text.split())
                if text:
                    yield text
        elif getattr(shape, "has_table", False):
            for row in shape.table.rows:  # type: ignore[attr-defined]
                cells = [" ".join(cell.text.split()) for cell in row.cells]
                yield " | ".join(c for c in cells if c)
        else:
            yield from _diagram_text(shape, part)


def _diagram_text(shape: object, part: object) -> Iterator[str]:
    """A SmartArt graphic's node texts, in the data part's order (python-pptx has no API)."""
    from pptx.oxml import parse_xml

    element = getattr(shape, "_element", None)
    if element is None:
        return
    for ids in element.iter(f"{_DGM}relIds"):
        try:
            data = parse_xml(part.related_part(ids.get(_R_DM)).blob)  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - a broken diagram must not lose the slide
            log.debug("SmartArt data part unreadable: %s", exc)
            continue
        for point in data.iter(f"{_DGM}pt"):
            for paragraph in point.iter(f"{_A}p"):
                text = " ".join("".join(t.text or "" for t in paragraph.iter(f"{_A}t")).split())
                if text:
                    yield text


def _chart_text(space: object) -> Iterator[str]:
    """A chart's words: titles (chart and axes), then each series' name and categories once."""
    for title in space.iter(f"{_C}title"):  # type: ignore[attr-defined]
        text = " ".join("".join(t.text or "" for t in title.iter(f"{_A}t")).split())
        if text:
            yield text
    seen: dict[str, None] = {}
    for series in space.iter(f"{_C}ser"):  # type: ignore[attr-defined]
        for holder in (f"{_C}tx", f"{_C}cat"):
            for node in series.iterchildren(holder):
                for value in node.iter(f"{_C}v"):
                    text = " ".join((value.text or "").split())
                    if text and not _number(text):
                        seen.setdefault(text)
    if seen:
        yield " | ".join(seen)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
