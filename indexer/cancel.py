"""Cooperative cancellation shared by every long-running call."""

from __future__ import annotations

import threading
import time

from indexer.errors import Cancelled


class CancelToken:
    """A flag a worker checks between steps; setting it never interrupts native code."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled")


NEVER = CancelToken()
"""A token nobody cancels, for callers that do not need one."""


class _Interruptible(CancelToken):
    """Set by its own event (a search started) or by the caller's token."""

    __slots__ = ("outer",)

    def __init__(self, outer: CancelToken) -> None:
        super().__init__()
        self.outer = outer

    @property
    def cancelled(self) -> bool:
        return self._event.is_set() or self.outer.cancelled

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise Cancelled("cancelled")


class SearchFirst:
    """While a search reranks, indexing waits, so the rerank has the processor and finishes
    inside its deadline. Shared by one engine's Searcher (``searching()`` around a rerank)
    and Indexer: ``wait_turn()`` before an embedding batch, and ``interruptible(cancel)``
    for the token the batch runs under, which a search starting sets (the worker stops the
    batch at its next decode; the indexer waits and embeds the batch again). Thread-safe."""

    MAX_WAIT_S = 10.0
    """Indexing never waits longer than this per batch, however many searches follow."""

    def __init__(self) -> None:
        self._active = 0
        self._changed = threading.Condition()
        self._running: set[CancelToken] = set()
        self.waits = 0
        """How many times indexing waited (benchmarks read it)."""
        self.interrupted = 0
        """How many embedding batches a search stopped."""

    @property
    def busy(self) -> bool:
        return self._active > 0

    def searching(self) -> _Searching:
        """A context manager: a search reranks inside it."""
        return _Searching(self)

    def interruptible(self, cancel: CancelToken = NEVER) -> CancelToken:
        """A token set by ``cancel`` or by the next search that starts; give it back with
        ``release`` when the work it guards is over."""
        token = _Interruptible(cancel)
        with self._changed:
            self._running.add(token)
            if self._active:
                token.cancel()
        return token

    def release(self, token: CancelToken) -> None:
        with self._changed:
            self._running.discard(token)

    def _enter(self) -> None:
        with self._changed:
            self._active += 1
            for token in self._running:
                token.cancel()
            self.interrupted += len(self._running)

    def _exit(self) -> None:
        with self._changed:
            self._active -= 1
            self._changed.notify_all()

    def wait_turn(self, cancel: CancelToken = NEVER, max_wait_s: float = MAX_WAIT_S) -> float:
        """Block while a search reranks (at most ``max_wait_s``); returns the seconds waited.
        Raises Cancelled if ``cancel`` is set meanwhile."""
        import time

        if not self._active:
            return 0.0
        started = time.monotonic()
        self.waits += 1
        with self._changed:
            while self._active and time.monotonic() - started < max_wait_s:
                self._changed.wait(0.05)
                cancel.raise_if_cancelled()
        return time.monotonic() - started


class _Searching:
    __slots__ = ("gate",)

    def __init__(self, gate: SearchFirst) -> None:
        self.gate = gate

    def __enter__(self) -> None:
        self.gate._enter()

    def __exit__(self, *exc: object) -> None:
        self.gate._exit()


class Activity:
    """When a kind of work (searches, index runs) last ran: a context manager around each
    piece of work. ``busy`` while any runs; ``ended`` is when the last one ended (monotonic
    clock; construction time before the first). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self.ended = time.monotonic()

    def __enter__(self) -> Activity:
        with self._lock:
            self._running += 1
        return self

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self._running -= 1
            self.ended = time.monotonic()

    @property
    def busy(self) -> bool:
        return self._running > 0
