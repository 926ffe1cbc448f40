"""Word .docx: paragraphs from word/document.xml with the standard library's zip and XML."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.etree import ElementTree

from indexer.errors import ExtractionFailed
from indexer.types import LoadedDocument, Page

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
_MAX_XML_BYTES = 100 * 1024 * 1024


def load_docx(path: Path) -> LoadedDocument:
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("word/document.xml")
            if info.file_size > _MAX_XML_BYTES:
                raise ExtractionFailed("document body too large")
            body = archive.read(info)
            title = ""
            if "docProps/core.xml" in archive.namelist():
                core = ElementTree.fromstring(archive.read("docProps/core.xml"))
                title = (core.findtext(_DC_TITLE) or "").strip()
    except (zipfile.BadZipFile, KeyError) as exc:
        raise ExtractionFailed("not a valid .docx file") from exc
    root = ElementTree.fromstring(body)
    paragraphs = []
    for para in root.iter(f"{_W}p"):
        texts = [node.text or "" for node in para.iter() if node.tag in (f"{_W}t", f"{_W}tab")]
        paragraphs.append("".join(texts))
    text = "\n\n".join(p for p in paragraphs if p.strip())
    return LoadedDocument(pages=[Page(text=text, number=None)], title=title or path.stem)
