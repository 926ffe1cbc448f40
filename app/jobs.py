"""Background work for the GUI: named single-thread lanes.

Each lane runs one job at a time in order (indexing never races indexing; searches queue
behind each other and the newest cancels the rest). Results come back to the GUI thread
through Qt signals on QObjects that live there; a signal emitted from a worker thread is
delivered by a queued connection. Nothing here ever terminates a thread: cancel is
cooperative, through the CancelToken each indexer call takes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)


def failure_message(exc: Exception, what: str) -> str:
    """One line for people about a failed job. A QuarryError already says what went wrong;
    anything else is a bug, logged with its traceback (call this inside the except block)."""
    from indexer.errors import QuarryError

    if isinstance(exc, QuarryError):
        return str(exc)
    log.exception("%s failed", what)
    return f"{what} failed: {exc}"


class Lane:
    def __init__(self, name: str) -> None:
        self.name = name
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"quarry-{name}")
        self.closed = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any] | None:
        """Queue ``fn``; once the lane is shut down (the app is closing) work is dropped."""
        if self.closed:
            log.debug("lane %s is shut down; dropped %s", self.name, getattr(fn, "__name__", fn))
            return None
        future = self._executor.submit(fn, *args)
        future.add_done_callback(self._log_failure)
        return future

    def _log_failure(self, future: Future[Any]) -> None:
        if not future.cancelled() and future.exception() is not None:
            log.error("job on lane %s failed", self.name, exc_info=future.exception())

    def shutdown(self) -> None:
        self.closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)


class Lanes:
    """The app's lanes: models (loading), index (writes), search (reads and reranking), downloads."""

    def __init__(self) -> None:
        self.models = Lane("models")
        self.index = Lane("index")
        self.search = Lane("search")
        self.downloads = Lane("downloads")

    def shutdown(self) -> None:
        for lane in (self.search, self.index, self.models, self.downloads):
            lane.shutdown()
