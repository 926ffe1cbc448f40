"""The Qt binding keeps Python's reference counts: PySide6 6.12.0 dropped a reference to
True on every emit of a signal declared in Python, and on Python 3.11 (True not immortal)
the window aborted with "Fatal Python error: bool_dealloc" after enough progress updates.
pyproject.toml keeps that version out; this test says so if one like it comes back."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    nothing = Signal()
    value = Signal(object)
    flag = Signal(bool)


def test_emitting_signals_keeps_the_reference_counts_of_true_false_and_none(qapp):
    emitter = _Emitter()
    received: list[object] = []
    emitter.nothing.connect(lambda: received.append(None))
    emitter.value.connect(received.append)
    emitter.flag.connect(received.append)
    before = [sys.getrefcount(x) for x in (True, False, None)]
    for _ in range(200):
        emitter.nothing.emit()
        emitter.value.emit(True)
        emitter.flag.emit(False)
    del received[:]  # the slots' own references to the values go again
    moved = [sys.getrefcount(x) - b for x, b in zip((True, False, None), before, strict=True)]
    # 600 emits: the broken binding loses 200 or more; other threads of the test process
    # may hold a few references to True or None for a moment, hence the margin.
    assert all(m > -50 for m in moved), f"reference counts of True, False, None moved by {moved}"
