"""Walk folders for documents: hidden and junk folders skipped, symlink loops never followed,
folders past PATH_MAX walked by descriptor, and what cannot be reached reported."""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG

import pathspec

from indexer.cancel import NEVER, CancelToken
from indexer.ingest.loaders import supported
from indexer.types import SourceFile

log = logging.getLogger(__name__)

JUNK_DIRS = frozenset(
    {
        "node_modules",
        "__pycache__",
        ".git",
        ".hg",
        ".svn",
        "venv",
        ".venv",
        "site-packages",
        "$RECYCLE.BIN",
        "System Volume Information",
        ".Trash",
        ".cache",
        "__MACOSX",
    }
)


def _spec(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec | None:
    lines = [p.strip() for p in patterns if p.strip()]
    return pathspec.GitIgnoreSpec.from_lines(lines) if lines else None


@dataclass(frozen=True, slots=True)
class ScanRules:
    """Which files to index, by patterns with .gitignore semantics (pathspec), matched against
    the path relative to the indexed folder: ``*.pdf`` or ``drafts`` match at any depth, ``*``
    never crosses a ``/``, ``docs/*.md`` is anchored to the folder, ``**`` spans folders,
    ``drafts/`` matches folders only and ``!keep.md`` re-includes."""

    include: tuple[str, ...] = ()
    """When given, only files matching these are indexed."""
    exclude: tuple[str, ...] = ()
    """Files or folders to leave out."""
    _include: pathspec.GitIgnoreSpec | None = field(init=False, repr=False, compare=False)
    _exclude: pathspec.GitIgnoreSpec | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_include", _spec(self.include))
        object.__setattr__(self, "_exclude", _spec(self.exclude))

    def wants_dir(self, relative: str) -> bool:
        name = relative.rsplit("/", 1)[-1]
        if name.startswith(".") or name in JUNK_DIRS:
            return False
        return self._exclude is None or not self._exclude.match_file(relative + "/")

    def wants_file(self, relative: str) -> bool:
        name = relative.rsplit("/", 1)[-1]
        if name.startswith(".") or name.startswith("~$"):
            return False
        if not supported(Path(name)):
            return False
        if self._exclude is not None and self._exclude.match_file(relative):
            return False
        return self._include is None or self._include.match_file(relative)


Unreachable = Callable[[Path, str], None]
"""Called with a file or folder the walk could not reach and why ('permission denied')."""


def _ignore(path: Path, reason: str) -> None:
    log.info("cannot reach %s: %s", path, reason)


def scan(
    root: Path, rules: ScanRules = ScanRules(), cancel: CancelToken = NEVER, unreachable: Unreachable = _ignore
) -> Iterator[SourceFile]:
    """Yield every document under root (or root itself, if it is a file).

    The walk goes by directory file descriptor (each folder opened relative to its parent), so folders deeper than
    PATH_MAX are listed too; a folder or file it cannot reach (permission denied, a symlink
    loop, a vanished entry) goes to ``unreachable`` with the reason instead of vanishing."""
    root = root.resolve()
    if root.is_file():
        if rules.wants_file(root.name):
            stat = root.stat()
            yield SourceFile(root, root, stat.st_size, stat.st_mtime_ns)
        return
    try:
        top = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        unreachable(root, _reason(exc))
        return
    try:
        yield from _walk(top, str(root), "", root, rules, cancel, unreachable, set())
    finally:
        os.close(top)


def _walk(
    folder_fd: int,
    folder: str,
    prefix: str,
    root: Path,
    rules: ScanRules,
    cancel: CancelToken,
    unreachable: Unreachable,
    seen: set[tuple[int, int]],
) -> Iterator[SourceFile]:
    """One folder's documents (by name), then its subfolders', each opened by descriptor
    relative to its parent's, so no call ever takes a path longer than one name."""
    cancel.raise_if_cancelled()
    stat = os.fstat(folder_fd)
    key = (stat.st_dev, stat.st_ino)
    if key in seen:  # a symlink back into what we already walked
        unreachable(Path(folder), "a symbolic link back into a folder already walked (a loop); not followed")
        return
    seen.add(key)
    try:
        with os.scandir(folder_fd) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        unreachable(Path(folder), _reason(exc))
        return
    subfolders: list[str] = []
    for entry in entries:
        name = entry.name
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            if rules.wants_dir(prefix + name):
                subfolders.append(name)
            continue
        if not rules.wants_file(prefix + name):
            continue
        path = Path(folder) / name
        try:
            file_stat = entry.stat()  # follows a symlink, by descriptor
        except OSError as exc:
            unreachable(path, _reason(exc))
            continue
        if S_ISREG(file_stat.st_mode):
            yield SourceFile(path, root, file_stat.st_size, file_stat.st_mtime_ns)
    for name in subfolders:
        try:
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=folder_fd)
        except OSError as exc:
            unreachable(Path(folder) / name, _reason(exc))
            continue
        try:
            yield from _walk(child, os.path.join(folder, name), f"{prefix}{name}/", root, rules, cancel, unreachable, seen)
        finally:
            os.close(child)


def _reason(error: OSError) -> str:
    if isinstance(error, PermissionError):
        return "cannot be reached: permission denied"
    if error.errno == errno.ELOOP:
        return "cannot be reached: a loop of symbolic links"
    if error.errno == errno.ENAMETOOLONG:
        return "cannot be reached: the path is too long for this system"
    return f"cannot be reached: {error.strerror or error}"
