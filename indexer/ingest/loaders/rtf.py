"""Rich Text Format through striprtf (control words, groups, \\'hh escapes in the document's
code page, \\u Unicode escapes)."""

from __future__ import annotations

from pathlib import Path

from indexer.errors import UnsupportedFile
from indexer.ingest.loaders.text import read_bytes
from indexer.types import LoadedDocument, Page


def load_rtf(path: Path) -> LoadedDocument:
    from striprtf.striprtf import rtf_to_text

    data = read_bytes(path)
    if not data.lstrip().startswith(b"{\\rtf"):
        raise UnsupportedFile("not an RTF file (no {\\rtf header)")
    # RTF is 7-bit; anything else is escaped in it. latin-1 maps bytes one to one.
    text = rtf_to_text(data.decode("latin-1"), errors="ignore")
    return LoadedDocument(pages=[Page(text=text, number=None)], title=path.stem.replace("_", " "))
