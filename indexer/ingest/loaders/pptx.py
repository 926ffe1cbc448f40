"""PowerPoint .pptx through python-pptx: one page per slide ('slide 3'), its text frames,
tables and grouped shapes in order, then its speaker notes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from indexer.errors import ExtractionFailed
from indexer.ingest.loaders.archive import check_zip
from indexer.types import LoadedDocument, Page


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
        blocks = list(_shapes_text(slide.shapes))
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame.text.strip()
            if notes:
                blocks.append(f"Notes: {notes}")
        pages.append(Page(text="\n\n".join(b for b in blocks if b), number=number, label=f"slide {number}"))
    title = (presentation.core_properties.title or "").strip()
    return LoadedDocument(pages=pages, title=title or path.stem)


def _shapes_text(shapes: Iterable[object]) -> Iterator[str]:
    for shape in shapes:
        if getattr(shape, "shape_type", None) is not None and hasattr(shape, "shapes"):  # a group
            yield from _shapes_text(shape.shapes)  # type: ignore[attr-defined]
        elif getattr(shape, "has_text_frame", False):
            for paragraph in shape.text_frame.paragraphs:  # type: ignore[attr-defined]
                text = " ".join(paragraph.text.split())
                if text:
                    yield text
        elif getattr(shape, "has_table", False):
            for row in shape.table.rows:  # type: ignore[attr-defined]
                cells = [" ".join(cell.text.split()) for cell in row.cells]
                yield " | ".join(c for c in cells if c)
