"""Text extraction in a child process.

pypdf is pure Python: in a thread it holds the GIL for long stretches (the GUI stutters),
it can hang on a hostile file, and a parser bug could take the whole app down. Here every
file is read by one long-lived child process; the parent waits with a time budget, kills
and restarts the child when a file overruns it, and keeps a request in flight so the next
file is being read while the current one is embedded.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import multiprocessing.connection
from collections import deque
from pathlib import Path
from typing import Any

from indexer.errors import ExtractionFailed, QuarryError
from indexer.types import LoadedDocument

log = logging.getLogger(__name__)

DEFAULT_LOADER = "indexer.loaders:load"
"""The function the reader process calls for each file, as 'module:function'."""

BASE_TIMEOUT_S = 60.0
"""Every file gets this long, plus PER_MB_TIMEOUT_S for each megabyte."""
PER_MB_TIMEOUT_S = 2.0


def time_budget(path: Path) -> float:
    try:
        size_mb = path.stat().st_size / 1e6
    except OSError:
        size_mb = 0.0
    return BASE_TIMEOUT_S + PER_MB_TIMEOUT_S * size_mb


def _serve(connection: multiprocessing.connection.Connection, loader_name: str) -> None:
    """The child's loop: read a path, answer with the document or the reason it failed."""
    module_name, _, function_name = loader_name.partition(":")
    loader = getattr(importlib.import_module(module_name), function_name)
    while True:
        try:
            path = connection.recv()
        except EOFError:
            return
        if path is None:
            return
        try:
            answer: tuple[Any, ...] = ("ok", loader(Path(path)))
        except QuarryError as exc:
            answer = ("error", type(exc).__name__, _describe(exc, prefix=""))
        except BaseException as exc:  # noqa: BLE001 - report anything; the parent decides
            answer = ("error", "ExtractionFailed", _describe(exc))
        try:
            connection.send(answer)
        except Exception as exc:  # noqa: BLE001 - e.g. a loader's answer that cannot be pickled
            connection.send(("error", "ExtractionFailed", _describe(exc, prefix="the reader's answer cannot be sent: ")))


def _describe(exc: BaseException, prefix: str = "could not be read: ") -> str:
    """A one-line reason for ``exc``, even when its own ``__str__`` fails."""
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - a broken __str__ must not kill the reader
        message = "(no message)"
    detail = message if not prefix else f"{type(exc).__name__}: {message}"
    return f"{prefix}{detail}"[:300]


class Extractor:
    """Reads files in order through one child process. Not thread-safe: one caller."""

    def __init__(self, loader: str = DEFAULT_LOADER, budget: Any = time_budget) -> None:
        self.loader = loader
        self.budget = budget
        self._context = multiprocessing.get_context("spawn")  # fork is unsafe with threads
        self._process: Any = None
        self._connection: multiprocessing.connection.Connection | None = None
        self._pending: deque[Path] = deque()

    def _start(self) -> None:
        parent, child = self._context.Pipe()
        self._process = self._context.Process(
            target=_serve, args=(child, self.loader), name="quarry-extract", daemon=True
        )
        self._process.start()
        child.close()
        self._connection = parent

    def _restart(self) -> None:
        self._stop(kill=True)
        self._start()
        for path in self._pending:  # requests the dead child never answered
            assert self._connection is not None
            self._connection.send(str(path))

    def submit(self, path: Path) -> None:
        """Queue a file; results come back in submission order from ``result``."""
        if self._process is None or not self._process.is_alive():
            self._start()
        assert self._connection is not None
        self._pending.append(path)
        self._connection.send(str(path))

    def result(self) -> LoadedDocument:
        """The oldest submitted file's document, or ExtractionFailed with the reason."""
        path = self._pending[0]
        assert self._connection is not None
        try:
            ready = self._connection.poll(self.budget(path))
            answer = self._connection.recv() if ready else None
        except (EOFError, OSError):
            self._pending.popleft()
            log.warning("the reader process died on %s; restarting it", path)
            self._restart()
            raise ExtractionFailed("the reader crashed on this file") from None
        self._pending.popleft()
        if answer is None:
            log.warning("reading %s took longer than %.0f s; stopping it", path, self.budget(path))
            self._restart()
            raise ExtractionFailed(f"took longer than {self.budget(path):.0f} s to read (skipped)")
        if answer[0] == "ok":
            return answer[1]
        raise ExtractionFailed(answer[2])

    def load(self, path: Path) -> LoadedDocument:
        self.submit(path)
        return self.result()

    def _stop(self, kill: bool) -> None:
        if self._process is None:
            return
        if kill:
            self._process.kill()
        elif self._connection is not None:
            try:
                self._connection.send(None)
            except OSError:
                pass
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        if self._connection is not None:
            self._connection.close()
        self._process = self._connection = None

    def close(self) -> None:
        """Stop the child; one still reading a file (after a cancel) is killed at once."""
        busy = bool(self._pending)
        self._pending.clear()
        self._stop(kill=busy)

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
