"""Zip-based formats (DOCX, PPTX, XLSX, ODF, EPUB): refuse archives that are not zips or
that would expand beyond what a document plausibly holds (a zip bomb) before any library
reads them into memory."""

from __future__ import annotations

import zipfile
from pathlib import Path

from indexer.errors import ExtractionFailed

MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
"""1 GiB unpacked: far beyond any real office document or e-book, far below a zip bomb."""


def check_zip(path: Path, limit: int = MAX_UNPACKED_BYTES) -> None:
    """Raises ExtractionFailed when ``path`` is not a zip archive or unpacks to more than ``limit``."""
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ExtractionFailed(f"not a valid {path.suffix.lower().lstrip('.')} file (not a zip archive)") from exc
    if total > limit:
        raise ExtractionFailed(f"unpacks to {total // (1024 * 1024)} MB, more than a document holds")
