"""EPUB: the chapters in reading order (the OPF spine), each a page whose location is its
chapter title from the book's table of contents (EPUB 3 nav or EPUB 2 NCX).

Read with the standard library's zip and XML and Quarry's HTML5 text extraction: the EPUB
libraries on PyPI are AGPL (EbookLib) or unmaintained, and the container, OPF and nav files
are three small, fixed XML formats.
"""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree

from indexer.errors import ExtractionFailed
from indexer.ingest.loaders.archive import check_zip
from indexer.ingest.loaders.charset import declared_charset, decode_bytes
from indexer.ingest.loaders.html import html_to_text
from indexer.types import LoadedDocument, Page

_CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
_OPF = "{http://www.idpf.org/2007/opf}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_NCX = "{http://www.daisy.org/z3986/2005/ncx/}"
_XHTML = "{http://www.w3.org/1999/xhtml}"
_EPUB = "{http://www.idpf.org/2007/ops}"
_HTML_TYPES = ("application/xhtml+xml", "text/html")


def load_epub(path: Path) -> LoadedDocument:
    """Raises ExtractionFailed when the container or package document is missing or broken."""
    check_zip(path)
    with zipfile.ZipFile(path) as archive:
        try:
            container = ElementTree.fromstring(archive.read("META-INF/container.xml"))
            rootfile = container.find(f".//{_CONTAINER}rootfile")
            opf_path = rootfile.get("full-path") if rootfile is not None else None
            if not opf_path:
                raise ExtractionFailed("not a valid EPUB (no package document)")
            opf = ElementTree.fromstring(archive.read(opf_path))
        except (KeyError, ElementTree.ParseError) as exc:
            raise ExtractionFailed(f"not a valid EPUB ({exc})"[:300]) from exc
        base = posixpath.dirname(opf_path)
        manifest = {
            item.get("id"): (posixpath.normpath(posixpath.join(base, unquote(item.get("href", "")))), item)
            for item in opf.iter(f"{_OPF}item")
        }
        titles = _toc_titles(archive, manifest, opf)
        pages: list[Page] = []
        for itemref in opf.iter(f"{_OPF}itemref"):
            href, item = manifest.get(itemref.get("idref"), (None, None))
            if href is None or item is None or item.get("media-type") not in _HTML_TYPES:
                continue
            try:
                data = archive.read(href)
            except KeyError:
                continue
            heading, text = html_to_text(decode_bytes(data, declared_charset(data)))
            if not text.strip():
                continue
            number = len(pages) + 1
            chapter = titles.get(href) or heading or f"{number}"
            pages.append(Page(text=text, number=number, label=f"chapter: {chapter}"[:120]))
    title = (opf.findtext(f".//{_DC}title") or "").strip()
    return LoadedDocument(pages=pages, title=title or path.stem)


def _toc_titles(archive: zipfile.ZipFile, manifest: dict, opf: ElementTree.Element) -> dict[str, str]:
    """Chapter titles by file (anchors dropped), from the EPUB 3 nav or the EPUB 2 NCX."""
    titles: dict[str, str] = {}
    for href, item in manifest.values():
        is_nav = "nav" in (item.get("properties") or "").split()
        is_ncx = item.get("media-type") == "application/x-dtbncx+xml"
        if not (is_nav or is_ncx):
            continue
        try:
            root = ElementTree.fromstring(archive.read(href))
        except (KeyError, ElementTree.ParseError):
            continue
        folder = posixpath.dirname(href)
        if is_nav:
            links = ((a.get("href", ""), "".join(a.itertext())) for a in root.iter(f"{_XHTML}a"))
        else:
            links = (
                (point.find(f"{_NCX}content").get("src", ""), point.findtext(f"{_NCX}navLabel/{_NCX}text") or "")
                for point in root.iter(f"{_NCX}navPoint")
                if point.find(f"{_NCX}content") is not None
            )
        for target, label in links:
            file = posixpath.normpath(posixpath.join(folder, unquote(target.split("#", 1)[0])))
            label = " ".join(label.split())
            if label and file not in titles:
                titles[file] = label
    return titles
