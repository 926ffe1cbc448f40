"""Cooperative cancellation shared by every long-running call."""

from __future__ import annotations

import threading

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
