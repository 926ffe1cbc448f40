"""Background work for the GUI: one call runs a function on a named lane and hands its result,
or the exception object, back to callbacks on the GUI thread.

In the style of Anki's ``QueryOp`` and Picard's ``run_task``::

    lanes.run("search", lambda: engine.store.chunks_of(doc, ordinals),
              done=show_passages, failed=None, what="reading the passage")

Each lane is one thread that runs one job at a time in order (indexing never races indexing;
searches queue behind each other and the newest cancels the rest). ``done(result)`` and
``failed(exc)`` run on the GUI thread, delivered through a queued signal of a QObject that
lives there. Without ``failed``, a failure goes to the lanes' ``on_failure(what, exc)`` (the
window shows it: ``Cancelled`` silently dropped, a ``QuarryError`` as its message, anything else
as a short message with its traceback behind "Copy details"). Nothing here ever terminates a
thread: cancel is cooperative, through the CancelToken each indexer call takes.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Qt, Signal, Slot

from indexer.errors import Cancelled, QuarryError

log = logging.getLogger(__name__)

T = TypeVar("T")

FailureHandler = Callable[[str, BaseException], None]

ENGINE_PARTS: tuple[tuple[str, str], ...] = (
    ("indexer.runtime", "starting the inference worker"),
    ("indexer.runtime.hardware", "detecting the hardware"),
    ("indexer.models.files", "finding the model files"),
    ("indexer.models.gguf_info", "reading a model file's header"),
    ("indexer.models.embedding", "loading the embedding model"),
    ("indexer.models.rerank", "loading the reranker"),
    ("indexer.store.lance", "opening the index"),
)
"""Module prefix -> what that part of the engine does, to say which part failed."""


@dataclass(frozen=True, slots=True)
class FailureReport:
    """What the window shows for a failed job."""

    message: str
    """One line for people."""
    details: str
    """The traceback, for "Copy details"; empty for a QuarryError (its message says it all)."""
    silent: bool = False
    """True for ``Cancelled``: nothing is shown."""


def failed_part(exc: BaseException) -> str:
    """Which part of the engine ``exc`` was raised in ('opening the index'), from the deepest
    frame of its traceback inside one of ``ENGINE_PARTS``; '' when none is."""
    part = ""
    for frame, _line in traceback.walk_tb(exc.__traceback__):
        module = str(frame.f_globals.get("__name__", ""))
        for prefix, name in ENGINE_PARTS:
            if module == prefix or module.startswith(prefix + "."):
                part = name
    return part


def describe(exc: BaseException, what: str) -> FailureReport:
    """The report for ``exc`` raised while ``what`` ('indexing', 'loading the models')."""
    if isinstance(exc, Cancelled):
        return FailureReport("", "", silent=True)
    if isinstance(exc, QuarryError):
        return FailureReport(str(exc), "")
    part = failed_part(exc)
    doing = f"{what} ({part})" if part and part not in what else what
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    summary = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if len(summary) > 200:
        summary = summary[:199] + "…"
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return FailureReport(f"{doing[:1].upper()}{doing[1:]} failed: {summary}", details)


def failure_message(exc: Exception, what: str) -> str:
    """One line for people about a failed job (logged with its traceback unless a QuarryError)."""
    if not isinstance(exc, QuarryError):
        log.error("%s failed", what, exc_info=exc)
    return describe(exc, what).message


class _Relay(QObject):
    """Lives on the GUI thread; a call emitted from a lane runs there, in order."""

    call = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _run(self, thunk: Callable[[], None]) -> None:
        thunk()


class Lane:
    def __init__(self, name: str) -> None:
        self.name = name
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"quarry-{name}")
        self.closed = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any] | None:
        """Queue ``fn`` with no callbacks; once the lane is shut down (the app is closing)
        work is dropped and None returned."""
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
    """The app's lanes: models (loading), index (writes), search (reads and reranking),
    downloads, and preview (page rendering). Create it on the GUI thread."""

    NAMES = ("models", "index", "search", "downloads", "preview")

    def __init__(self) -> None:
        self.models = Lane("models")
        self.index = Lane("index")
        self.search = Lane("search")
        self.downloads = Lane("downloads")
        self.preview = Lane("preview")
        self._relay = _Relay()
        self.on_failure: FailureHandler = self._log_only

    def lane(self, name: str) -> Lane:
        if name not in self.NAMES:
            raise ValueError(f"no lane named {name!r}; lanes: {', '.join(self.NAMES)}")
        lane: Lane = getattr(self, name)
        return lane

    def run(
        self,
        lane: str,
        fn: Callable[[], T],
        done: Callable[[T], None] | None = None,
        failed: Callable[[BaseException], None] | None = None,
        what: str = "",
    ) -> Future[Any] | None:
        """Run ``fn()`` on the lane named ``lane``; then, on the GUI thread, ``done(result)``
        or, if it raised, ``failed(exc)`` (default: ``on_failure(what, exc)``). Returns the
        lane's future, or None once the lanes are shut down. Raises ValueError for an unknown
        lane name."""
        what = what or getattr(fn, "__name__", "a background job")

        def job() -> None:
            try:
                result = fn()
            except Exception as exc:  # handed to the failure callback, with its traceback
                if not isinstance(exc, QuarryError):
                    log.error("%s failed on lane %s", what, lane, exc_info=exc)
                elif not isinstance(exc, Cancelled):
                    log.info("%s: %s", what, exc)
                self.call_soon(failed or partial(self.on_failure, what), exc)
                return
            if done is not None:
                self.call_soon(done, result)

        return self.lane(lane).submit(job)

    def call_soon(self, fn: Callable[..., None], *args: Any) -> None:
        """Run ``fn(*args)`` on the GUI thread (from any thread), after what is already queued."""
        self._relay.call.emit(partial(fn, *args))

    @staticmethod
    def _log_only(what: str, exc: BaseException) -> None:
        if not isinstance(exc, Cancelled):
            log.warning("%s failed and nobody listens: %s", what, exc)

    def shutdown(self) -> None:
        for lane in (self.search, self.preview, self.index, self.models, self.downloads):
            lane.shutdown()
