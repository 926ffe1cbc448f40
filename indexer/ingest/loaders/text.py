"""Plain text, Markdown and reStructuredText: decoded without ever failing on bad bytes
(indexer.ingest.loaders.charset)."""

from __future__ import annotations

from pathlib import Path

from indexer.constants import MAX_TEXT_FILE_BYTES
from indexer.errors import ExtractionFailed, UnsupportedFile
from indexer.ingest.loaders.charset import bom_encoding, bomless_unicode, decode_bytes
from indexer.types import LoadedDocument, Page

_TEXT_CONTROL = {9, 10, 12, 13, 27}


def looks_binary(sample: bytes) -> bool:
    """NUL bytes or many control characters mean this is not text, whatever its name says."""
    if not sample:
        return False
    if bom_encoding(sample) or bomless_unicode(sample):
        return False
    if b"\x00" in sample:
        return True
    control = sum(1 for b in sample if b < 32 and b not in _TEXT_CONTROL)
    return control / len(sample) > 0.10


def garbage_ratio(text: str) -> float:
    """Share of characters that are neither printable nor whitespace (replacement chars too)."""
    if not text:
        return 0.0
    bad = sum(1 for ch in text if ch == "\ufffd" or (not ch.isprintable() and not ch.isspace()))
    return bad / len(text)


def read_bytes(path: Path) -> bytes:
    """The file's bytes, refused when too large or binary."""
    size = path.stat().st_size
    if size > MAX_TEXT_FILE_BYTES:
        raise ExtractionFailed(f"text file too large ({size // (1024 * 1024)} MB)")
    with path.open("rb") as handle:
        data = handle.read()
    if looks_binary(data[:8192]):
        raise UnsupportedFile("binary content in a text file")
    return data


def read_text_file(path: Path, declared: str | None = None) -> str:
    """Decoded text (indexer.ingest.loaders.charset), refused when mostly unreadable characters."""
    text = decode_bytes(read_bytes(path), declared)
    if garbage_ratio(text) > 0.10:
        raise UnsupportedFile("mostly unreadable characters")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def load_text(path: Path) -> LoadedDocument:
    text = read_text_file(path)
    return LoadedDocument(pages=[Page(text=text, number=None)], title=_title(path, text))


def _title(path: Path, text: str) -> str:
    """A Markdown '# Heading' on the first lines, else the file name without suffix."""
    for line in text.splitlines()[:5]:
        stripped = line.strip()
        if stripped.startswith("# "):
            return stripped[2:].strip()[:200]
    return path.stem.replace("_", " ").replace("-", " ")
