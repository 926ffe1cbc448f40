"""Atomic file writes: a crash or a second Quarry process mid-write leaves the old file or
the new one, never half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a uniquely named temporary file in the same
    folder, then rename it over ``path``. A window and a CLI writing at once each use their
    own temporary file; the last rename wins whole. ``mode``: the file's permissions (0o600
    for files that may hold a secret). Raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with open(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
