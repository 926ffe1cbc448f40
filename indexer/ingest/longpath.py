"""Files whose absolute path is longer than the platform's PATH_MAX (4096 bytes on Linux):
opened and stat'ed through a chain of directory file descriptors, one path component at a
time, where the platform supports ``dir_fd`` (Linux, macOS); elsewhere the plain call is
made and its error is the file's skip reason."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

PATH_MAX = 4096
"""Bytes in the longest path the kernel takes in one call (Linux's PATH_MAX)."""

_BY_FD = os.open in os.supports_dir_fd and os.stat in os.supports_dir_fd


def too_long(path: Path) -> bool:
    """Whether ``path`` is past what one system call takes (and dir_fd can reach it)."""
    return _BY_FD and len(os.fsencode(str(path))) >= PATH_MAX


def _parent_fd(path: Path) -> int:
    """A read-only descriptor of ``path``'s folder, opened component by component.

    Raises:
        OSError: a component cannot be opened (missing, permission denied, not a folder).
    """
    parts = path.parts
    folder = os.open(parts[0], os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in parts[1:-1]:
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=folder)
            os.close(folder)
            folder = inner
    except BaseException:
        os.close(folder)
        raise
    return folder


def stat(path: Path) -> os.stat_result:
    """``os.stat(path)``, by descriptors when the path is too long. Raises OSError."""
    if not too_long(path):
        return os.stat(path)
    folder = _parent_fd(path)
    try:
        return os.stat(path.name, dir_fd=folder)
    finally:
        os.close(folder)


@contextmanager
def open_binary(path: Path) -> Iterator[BinaryIO]:
    """``path`` opened for reading bytes (never writing), by descriptors when too long.
    Raises OSError."""
    if not too_long(path):
        with path.open("rb") as handle:
            yield handle
        return
    folder = _parent_fd(path)
    try:
        fd = os.open(path.name, os.O_RDONLY, dir_fd=folder)
    finally:
        os.close(folder)
    with os.fdopen(fd, "rb") as handle:
        yield handle


@contextmanager
def reachable_copy(path: Path) -> Iterator[Path]:
    """``path`` itself when a library can open it, else a temporary copy of it (same name)
    that one can, removed afterwards: for loaders, which take a path. Raises OSError."""
    if not too_long(path):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="quarry-long-path-") as folder:
        copy = Path(folder) / path.name
        with open_binary(path) as source, copy.open("wb") as target:
            shutil.copyfileobj(source, target)
        yield copy
