"""Text extraction in a child process.

pypdf is pure Python: in a thread it holds the GIL for long stretches (the GUI stutters),
it can hang on a hostile file, and a parser bug could take the whole app down. Here every
file is read by one long-lived child process; the parent waits with a time budget, kills
and restarts the child when a file overruns it, and keeps a request in flight so the next
file is being read while the current one is embedded.

OCR (indexer.ingest.ocr) runs in the same child. While it recognises a page the child says so, and
that page gets its own budget (OCR_PAGE_TIMEOUT_S) in place of the file's: a page that
overruns it, or crashes the child, is skipped with its reason, and the file is asked for again
with the pages already recognised handed back, so the rest of it is still read.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import multiprocessing.connection
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.errors import ExtractionFailed, QuarryError
from indexer.ingest import ocr
from indexer.types import LoadedDocument

log = logging.getLogger(__name__)

DEFAULT_LOADER = "indexer.ingest.loaders:load"
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
    """The child's loop: read a (path, OcrJob) request, answer with the document or the
    reason it failed; OCR progress messages ("ocr", ...) come before the answer."""
    module_name, _, function_name = loader_name.partition(":")
    loader = getattr(importlib.import_module(module_name), function_name)
    while True:
        try:
            request = connection.recv()
        except EOFError:
            return
        if request is None:
            return
        path, job = request
        ocr.begin(job, connection.send)
        try:
            answer: tuple[Any, ...] = ("ok", loader(Path(path)))
        except QuarryError as exc:
            answer = ("error", type(exc).__name__, _describe(exc, prefix=""))
        except BaseException as exc:  # noqa: BLE001 - report anything; the parent decides
            answer = ("error", "ExtractionFailed", _describe(exc))
        finally:
            ocr.end()
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


OcrProgress = Callable[[int, int], None]
"""Told (k, n) as the reader starts recognising page k of the n pages of a file that need OCR."""


@dataclass(slots=True)
class _Request:
    path: Path
    job: ocr.OcrJob
    page: int | None = None
    """The page being recognised now, if any (its budget applies, not the file's)."""


class Extractor:
    """Reads files in order through one child process. Not thread-safe: one caller.

    ``ocr_enabled`` False leaves scanned pages and images unread (skipped with that reason);
    ``ocr_page_budget`` is the seconds one page may take to recognise.
    """

    def __init__(
        self,
        loader: str = DEFAULT_LOADER,
        budget: Any = time_budget,
        ocr_enabled: bool = True,
        ocr_page_budget: float = ocr.OCR_PAGE_TIMEOUT_S,
    ) -> None:
        self.loader = loader
        self.budget = budget
        self.ocr_enabled = ocr_enabled
        self.ocr_page_budget = ocr_page_budget
        self._context = multiprocessing.get_context("spawn")  # fork is unsafe with threads
        self._process: Any = None
        self._connection: multiprocessing.connection.Connection | None = None
        self._pending: deque[_Request] = deque()

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
        for request in self._pending:  # requests the dead child never answered
            request.page = None
            self._send(request)

    def _send(self, request: _Request) -> None:
        assert self._connection is not None
        self._connection.send((str(request.path), request.job))

    def submit(self, path: Path) -> None:
        """Queue a file; results come back in submission order from ``result``."""
        if self._process is None or not self._process.is_alive():
            self._start()
        request = _Request(path, ocr.OcrJob(enabled=self.ocr_enabled))
        self._pending.append(request)
        self._send(request)

    def result(self, on_ocr: OcrProgress | None = None) -> LoadedDocument:
        """The oldest submitted file's document, or ExtractionFailed with the reason.

        ``on_ocr`` hears of each page of this file the reader starts to recognise. A page that
        overruns its budget or crashes the reader is skipped (its reason goes with the
        document's skipped pages) and the file is read again without it.
        """
        request = self._pending[0]
        file_budget = self.budget(request.path)
        deadline = time.monotonic() + file_budget
        while True:
            assert self._connection is not None
            try:
                ready = self._connection.poll(max(0.0, deadline - time.monotonic()))
                answer = self._connection.recv() if ready else None
            except (EOFError, OSError):
                log.warning("the reader process died on %s; restarting it", request.path)
                if self._skip_page(request, "OCR crashed the reader on this page (skipped)"):
                    deadline = time.monotonic() + file_budget
                    continue
                self._pending.popleft()
                self._restart()
                raise ExtractionFailed("the reader crashed on this file") from None
            if answer is None:
                if self._skip_page(request, f"OCR took longer than {self.ocr_page_budget:.0f} s (skipped)"):
                    deadline = time.monotonic() + file_budget
                    continue
                self._pending.popleft()
                log.warning("reading %s took longer than %.0f s; stopping it", request.path, file_budget)
                self._restart()
                raise ExtractionFailed(f"took longer than {file_budget:.0f} s to read (skipped)")
            kind = answer[0]
            if kind == "ocr":
                _, request.page, k, n = answer
                deadline = time.monotonic() + self.ocr_page_budget
                if on_ocr is not None:
                    on_ocr(k, n)
                continue
            if kind == "ocr-done":
                _, number, text, words = answer
                if text is not None:
                    request.job.known[number] = (text, words)
                request.page = None
                deadline = time.monotonic() + file_budget
                continue
            self._pending.popleft()
            if kind == "ok":
                return answer[1]
            raise ExtractionFailed(answer[2])

    def _skip_page(self, request: _Request, reason: str) -> bool:
        """When the reader was recognising a page of ``request``: note it as skipped and ask
        for the file again (restarting the reader). False when no page was under way."""
        if request.page is None:
            return False
        log.warning("%s: page %d: %s", request.path, request.page, reason)
        request.job.skip[request.page] = reason
        self._restart()
        return True

    def load(self, path: Path, on_ocr: OcrProgress | None = None) -> LoadedDocument:
        self.submit(path)
        return self.result(on_ocr)

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

