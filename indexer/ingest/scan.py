"""Walk folders for documents: hidden and junk folders skipped, symlink loops never followed."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

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


def scan(root: Path, rules: ScanRules = ScanRules(), cancel: CancelToken = NEVER) -> Iterator[SourceFile]:
    """Yield every document under root (or root itself, if it is a file)."""
    root = root.resolve()
    if root.is_file():
        if rules.wants_file(root.name):
            stat = root.stat()
            yield SourceFile(root, root, stat.st_size, stat.st_mtime_ns)
        return
    seen: set[tuple[int, int]] = set()
    for folder, dirnames, filenames in os.walk(root, followlinks=True, onerror=_report):
        cancel.raise_if_cancelled()
        try:
            stat = os.stat(folder)
        except OSError:
            dirnames[:] = []
            continue
        key = (stat.st_dev, stat.st_ino)
        if key in seen:  # a symlink back into what we already walked
            dirnames[:] = []
            continue
        seen.add(key)
        relative_folder = os.path.relpath(folder, root).replace(os.sep, "/")
        prefix = "" if relative_folder == "." else relative_folder + "/"
        dirnames[:] = sorted(d for d in dirnames if rules.wants_dir(prefix + d))
        for name in sorted(filenames):
            if not rules.wants_file(prefix + name):
                continue
            path = Path(folder) / name
            try:
                file_stat = path.stat()
            except OSError as exc:
                log.info("cannot stat %s: %s", path, exc)
                continue
            if not path.is_file():
                continue
            yield SourceFile(path, root, file_stat.st_size, file_stat.st_mtime_ns)


def _report(error: OSError) -> None:
    log.info("cannot list %s: %s", error.filename, error.strerror)
