"""The job API (app.jobs): results and exception objects come back on the GUI thread, and the
window shows a failure by its kind: Cancelled not at all, a QuarryError as its message,
anything else as a short message with the traceback behind "Copy details"."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from app.main import build_window
from indexer.engine import EngineOptions
from indexer.errors import Cancelled, QuarryError
from indexer.paths import AppPaths


@pytest.fixture
def window(qtbot, tmp_path: Path):
    """The real window over its services; no models loaded (these tests need none)."""
    paths = AppPaths.from_base(tmp_path / "home").ensure()
    window, lanes, engines = build_window(paths)
    qtbot.addWidget(window)
    window.show()
    yield window
    lanes.shutdown()
    if engines.engine:
        engines.engine.close()


def settle(qtbot, window) -> None:
    """Wait until every job queued on the search lane so far has reported back."""
    flag: list[bool] = []
    window.engines.lanes.run("search", lambda: True, done=flag.append)
    qtbot.waitUntil(lambda: flag == [True], timeout=10_000)


def test_a_result_comes_back_on_the_gui_thread(qtbot, window):
    seen: list[tuple[int, bool]] = []
    gui = threading.current_thread()
    window.engines.lanes.run(
        "index", lambda: threading.current_thread() is not gui, done=lambda off: seen.append((1, off))
    )
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    assert seen == [(1, True)]  # ran on the lane's thread, answered here
    with pytest.raises(ValueError, match="no lane named"):
        window.engines.lanes.run("nowhere", lambda: None)


def test_a_bug_shows_a_short_message_and_copies_its_traceback(qtbot, window):
    def broken_parser() -> None:
        raise KeyError("xref table entry 17")

    window.engines.lanes.run("search", broken_parser, what="reading a page")
    qtbot.waitUntil(lambda: window.failure is not None and window.failure.isVisible(), timeout=10_000)
    box: QMessageBox = window.failure
    assert box.text() == "Reading a page failed: KeyError: 'xref table entry 17'"
    copy = next(b for b in box.buttons() if isinstance(b, QPushButton) and b.text() == "Copy details")
    QApplication.clipboard().clear()
    copy.click()
    copied = QApplication.clipboard().text()
    assert copied.startswith("Traceback (most recent call last):")
    assert "in broken_parser" in copied and copied.rstrip().endswith("KeyError: 'xref table entry 17'")
    assert box.isVisible()  # copying leaves the message open


def test_a_quarry_error_shows_its_message_only(qtbot, window):
    def refuse() -> None:
        raise QuarryError("report.pdf is encrypted; Quarry cannot read it")

    window.engines.lanes.run("search", refuse, what="reading report.pdf")
    qtbot.waitUntil(lambda: window.failure is not None, timeout=10_000)
    assert window.failure.text() == "report.pdf is encrypted; Quarry cannot read it"
    assert [b.text() for b in window.failure.buttons() if b.text() == "Copy details"] == []


def test_cancelled_shows_nothing(qtbot, window):
    caught: list[BaseException] = []

    def cancelled() -> None:
        raise Cancelled("a newer search replaced this one")

    window.engines.lanes.run("search", cancelled)
    window.engines.lanes.run("search", cancelled, failed=caught.append)
    settle(qtbot, window)
    assert window.failure is None
    assert [type(e) for e in caught] == [Cancelled]  # an explicit callback still gets the object


def test_an_engine_failure_says_what_failed_instead_of_models_missing(qtbot, window):
    """The index folder is a file: opening the index fails, and the window says so rather
    than offering a model download."""
    paths = window.engines.paths
    if paths.index.exists():
        paths.index.rmdir()
    paths.index.write_text("not a folder")
    with qtbot.waitSignal(window.engines.failed, timeout=60_000) as failed:
        window.engines.load(EngineOptions())
    assert isinstance(failed.args[0], FileExistsError)
    qtbot.waitUntil(lambda: window.failure is not None, timeout=10_000)
    assert window.failure.text().startswith("Loading the models (opening the index) failed: FileExistsError")
    assert window.pages.currentWidget() is not window.first_run
    assert window.index_label.text() == "Quarry could not start"
    assert "opening the index" in window.empty.text()
