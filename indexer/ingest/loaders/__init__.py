"""Format readers. Each loader takes a path and returns a LoadedDocument, or raises a
QuarryError subclass whose message says why the file was skipped."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from indexer.constants import MAX_FILE_BYTES
from indexer.errors import ExtractionFailed, UnsupportedFile
from indexer.ingest import longpath
from indexer.ingest.loaders.image import IMAGE_SUFFIXES
from indexer.types import LoadedDocument

Loader = Callable[[Path], LoadedDocument]


def _registry() -> dict[str, Loader]:
    from indexer.ingest.loaders import docx, epub, html, image, mail, odf, pdf, pptx, rtf, tabular, text

    return {
        **dict.fromkeys(image.IMAGE_SUFFIXES, image.load_image),
        ".pdf": pdf.load_pdf,
        ".txt": text.load_text,
        ".text": text.load_text,
        ".md": text.load_text,
        ".markdown": text.load_text,
        ".rst": text.load_text,
        ".html": html.load_html,
        ".htm": html.load_html,
        ".docx": docx.load_docx,
        ".epub": epub.load_epub,
        ".odt": odf.load_odf,
        ".ods": odf.load_odf,
        ".odp": odf.load_odf,
        ".pptx": pptx.load_pptx,
        ".xlsx": tabular.load_xlsx,
        ".csv": tabular.load_csv,
        ".rtf": rtf.load_rtf,
        ".eml": mail.load_eml,
        ".mbox": mail.load_mbox,
    }


DEFAULT_SUFFIXES: frozenset[str] = frozenset(
    {".pdf", ".txt", ".text", ".md", ".markdown", ".rst", ".html", ".htm", ".docx"}
    | {".epub", ".odt", ".ods", ".odp", ".pptx", ".xlsx", ".csv", ".rtf", ".eml", ".mbox"}
    | IMAGE_SUFFIXES
)

FORMAT_NAMES = (
    "PDF (scanned pages too), Word, OpenDocument, PowerPoint, Excel, CSV, EPUB, RTF, e-mail (EML, MBOX), "
    "text, Markdown, HTML and images (PNG, JPEG, TIFF, WebP)"
)
"""The formats read, as a sentence fragment for people (the empty window names them)."""


def supported(path: Path) -> bool:
    return path.suffix.lower() in DEFAULT_SUFFIXES


def load(path: Path) -> LoadedDocument:
    """Read one file. Raises UnsupportedFile or ExtractionFailed with a reason for people.

    A file whose path is past PATH_MAX is read from a temporary copy made by directory
    descriptor (indexer.ingest.longpath), so every loader can open it."""
    loader = _registry().get(path.suffix.lower())
    if loader is None:
        raise UnsupportedFile(f"unsupported file type '{path.suffix}'")
    try:
        size = longpath.stat(path).st_size
    except FileNotFoundError as exc:
        raise ExtractionFailed("file vanished before it could be read") from exc
    except PermissionError as exc:
        raise ExtractionFailed("permission denied") from exc
    if size == 0:
        raise ExtractionFailed("empty file")
    if size > MAX_FILE_BYTES:
        raise ExtractionFailed(f"too large ({size // (1024 * 1024)} MB)")
    try:
        with longpath.reachable_copy(path) as readable:
            document = loader(readable)
    except (ExtractionFailed, UnsupportedFile):
        raise
    except PermissionError as exc:
        raise ExtractionFailed("permission denied") from exc
    except FileNotFoundError as exc:
        raise ExtractionFailed("file vanished while it was read") from exc
    except MemoryError as exc:
        raise ExtractionFailed("ran out of memory while reading") from exc
    except Exception as exc:
        raise ExtractionFailed(f"could not be read: {type(exc).__name__}: {exc}"[:300]) from exc
    if not any(page.text.strip() for page in document.pages):
        if document.skipped_pages:
            raise ExtractionFailed("; ".join(sorted({reason for _, reason in document.skipped_pages})))
        raise ExtractionFailed("no text found (scanned images or an empty document)")
    return document
