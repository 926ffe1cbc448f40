"""Word .docx through python-docx: the main part found through the package relationships,
tabs and breaks read as the separators they are, a no-break hyphen as '-', text boxes once
(the ``mc:Choice`` of an ``mc:AlternateContent``, never its ``mc:Fallback`` copy too), tables
in reading order, then headers, footers, footnotes and endnotes.

The text is Word's final view: before reading, the in-memory tree (never saved) is flattened
so python-docx sees every run: tracked insertions and moves-to, content controls (``w:sdt``,
block and inline), simple fields, smart tags and customXml are replaced by their content;
tracked deletions and moves-from are removed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from indexer.errors import ExtractionFailed
from indexer.ingest.loaders.archive import check_zip
from indexer.types import LoadedDocument, Page

log = logging.getLogger(__name__)

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_TEXT_BOX = f"{{{_W}}}txbxContent"
_NOTES = ("/footnotes", "/endnotes")
_UNWRAP = frozenset(
    f"{{{_W}}}{name}"
    for name in ("ins", "moveTo", "sdt", "sdtContent", "fldSimple", "smartTag", "customXml", "dir", "bdo")
)
_DROP = frozenset(f"{{{_W}}}{name}" for name in ("del", "moveFrom", "sdtPr", "sdtEndPr", "customXmlPr", "smartTagPr"))


def load_docx(path: Path) -> LoadedDocument:
    """Raises ExtractionFailed when the file is not a Word package."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    check_zip(path)
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise ExtractionFailed(f"not a valid .docx file ({exc})"[:300]) from exc
    _final_view(document.element)
    _plain_breaks(document.element)
    blocks = list(_body(document))
    blocks.extend(dict.fromkeys(_headers_and_footers(document)))  # the same header on every section once
    blocks.extend(_notes(document))
    text = "\n\n".join(b for b in blocks if b)
    title = (document.core_properties.title or "").strip()
    return LoadedDocument(pages=[Page(text=text, number=None)], title=title or path.stem)


def _final_view(root: object) -> None:
    """Flatten the run and block containers python-docx does not descend into (the module
    docstring), in place: each is replaced by its children; deletions are removed."""
    for element in list(root.iter(*_DROP)):  # type: ignore[attr-defined]
        parent = element.getparent()
        if parent is not None:
            parent.remove(element)
    for element in list(root.iter(*_UNWRAP)):  # type: ignore[attr-defined]
        parent = element.getparent()
        if parent is None:
            continue
        position = parent.index(element)
        for offset, child in enumerate(list(element)):
            parent.insert(position + offset, child)
        parent.remove(element)


def _plain_breaks(root: object) -> None:
    """python-docx reads only line breaks as '\\n' and drops page and column breaks, which
    welds the words on either side; in the in-memory tree (never saved) they become plain."""
    attribute = f"{{{_W}}}type"
    for br in root.iter(f"{{{_W}}}br"):  # type: ignore[attr-defined]
        if br.get(attribute) in ("page", "column"):
            del br.attrib[attribute]


def _paragraph_text(paragraph: object) -> str:
    """One paragraph's words on one line: tabs and breaks become spaces."""
    return " ".join(paragraph.text.split())  # type: ignore[attr-defined]


def _with_text_boxes(paragraph: object) -> Iterator[str]:
    """The paragraph, then each text box anchored in it (once: not the mc:Fallback copy)."""
    from docx.text.paragraph import Paragraph

    yield _paragraph_text(paragraph)
    element = paragraph._p  # type: ignore[attr-defined]
    for box in element.iter(_TEXT_BOX):
        if not _own_box(box, element):
            continue
        for p in box.iterchildren(f"{{{_W}}}p"):
            yield from _with_text_boxes(Paragraph(p, paragraph._parent))  # type: ignore[attr-defined]


def _own_box(box: object, paragraph: object) -> bool:
    """A text box of this paragraph itself: not a Fallback copy, not nested in another box."""
    for ancestor in box.iterancestors():  # type: ignore[attr-defined]
        if ancestor is paragraph:
            return True
        if ancestor.tag in (_MC_FALLBACK, _TEXT_BOX):
            return False
    return True


def _blocks(container: object) -> Iterator[str]:
    """Paragraphs and tables of a body, cell or header, in reading order."""
    from docx.table import Table

    for item in container.iter_inner_content():  # type: ignore[attr-defined]
        if isinstance(item, Table):
            # A merged cell is listed once per grid column it spans. Its element is held in the
            # dict, so its id stays its own (lxml proxies of dropped elements reuse ids).
            seen: dict[int, object] = {}
            for row in item.rows:
                cells = []
                for cell in row.cells:
                    if id(cell._tc) in seen:
                        continue
                    seen[id(cell._tc)] = cell._tc
                    cells.append(" ".join(b for b in _blocks(cell) if b))
                yield " | ".join(c for c in cells if c)
        else:
            yield from _with_text_boxes(item)


def _body(document: object) -> Iterator[str]:
    yield from _blocks(document)


def _headers_and_footers(document: object) -> Iterator[str]:
    for section in document.sections:  # type: ignore[attr-defined]
        for part in (
            section.header,
            section.first_page_header,
            section.even_page_header,
            section.footer,
            section.first_page_footer,
            section.even_page_footer,
        ):
            try:
                if not part.is_linked_to_previous:
                    _final_view(part._element)
                    yield from _blocks(part)
            except (KeyError, ValueError) as exc:  # a dangling relationship
                log.debug("header/footer unreadable: %s", exc)


def _notes(document: object) -> Iterator[str]:
    """Footnotes and endnotes (python-docx has no API for them: read their parts' paragraphs)."""
    from docx.oxml import parse_xml
    from docx.text.paragraph import Paragraph

    for rel in document.part.rels.values():  # type: ignore[attr-defined]
        if rel.is_external or not rel.reltype.endswith(_NOTES):
            continue
        try:
            root = parse_xml(rel.target_part.blob)
            _final_view(root)
        except Exception as exc:  # noqa: BLE001 - broken notes must not lose the body
            log.debug("notes part unreadable: %s", exc)
            continue
        for note in root:
            if note.get(f"{{{_W}}}type") in ("separator", "continuationSeparator", "continuationNotice"):
                continue
            for p in note.iter(f"{{{_W}}}p"):
                yield _paragraph_text(Paragraph(p, None))
