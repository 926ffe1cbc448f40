"""The real window over real services: real models, real LanceDB in a temp base folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from app.main import build_window
from app.opener import find_text, open_command
from app.widgets.main_window import MainWindow
from indexer.engine import EngineOptions
from indexer.paths import AppPaths
from indexer.search.terms import query_words
from tests.conftest import EMBEDDER, GOLDEN, PDFS

LOAD_TIMEOUT = 60_000
INDEX_TIMEOUT = 240_000


@pytest.fixture
def app_window(qtbot, tmp_path: Path):
    paths = AppPaths.from_base(tmp_path / "home").ensure()
    opened: list[list[str]] = []
    window, lanes, engines = build_window(paths, opener=opened.append)
    window.opened_commands = opened
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(engines.ready, timeout=LOAD_TIMEOUT):
        engines.load(EngineOptions())  # the default pick: the MiniLM test reranker, f16 (models.pick)
    yield window
    window.indexing.stop_watching()
    window.indexing.cancel()
    lanes.shutdown()
    if engines.engine:
        engines.engine.close()


def drop(window: MainWindow, folders: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(f)) for f in folders])
    event = QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(event)


def index_golden(qtbot, window: MainWindow, tmp_path: Path) -> Path:
    folder = shutil.copytree(GOLDEN, tmp_path / "docs")
    with qtbot.waitSignal(window.indexing.finished, timeout=INDEX_TIMEOUT):
        drop(window, [folder])
    qtbot.waitUntil(lambda: window.folders.count() == 1, timeout=10_000)
    return folder


def test_empty_index_invites_a_drop(app_window):
    app_window.indexing.refresh()
    app_window.show()
    assert "Drag a folder here" in app_window.empty.text() or app_window.pages.currentIndex() == 0
    assert app_window.device_label.text().startswith(("CPU", "CUDA", "Metal", "Vulkan"))
    assert app_window.search_field.hasFocus() or app_window.search_field.placeholderText()


def test_drop_indexes_with_progress_in_order(qtbot, app_window, tmp_path: Path):
    folder = shutil.copytree(GOLDEN, tmp_path / "docs")
    stages: list[tuple[str, int]] = []
    reports = []
    app_window.indexing.progress.connect(lambda p: stages.append((p.stage, p.done)))
    app_window.indexing.finished.connect(reports.append)
    with qtbot.waitSignals(
        [app_window.indexing.started, app_window.indexing.finished], order="strict", timeout=INDEX_TIMEOUT
    ):
        drop(app_window, [folder])
    report = reports[-1]
    assert len(report.added) == 4 and not report.cancelled
    names = [s for s, _ in stages]
    # The reranker self-check follows the index run, after it is done (all searchable).
    check = [n for n in names if n == "checking"]
    names = [n for n in names if n != "checking"]
    assert names[0] == "scanning" and names[-1] == "done" and "indexing" in names
    assert check, "the reranker self-check ran after the index run"
    assert names.index("finishing") > max(i for i, n in enumerate(names) if n == "indexing")
    done = [d for s, d in stages if s == "indexing"]
    assert done == sorted(done)
    qtbot.waitUntil(lambda: app_window.folders.count() == 1, timeout=10_000)
    assert "4 documents" in app_window.folders.item(0).text()
    assert app_window.index_label.text().startswith("4 documents")


def test_typing_shows_first_stage_then_reranked(qtbot, app_window, tmp_path: Path):
    index_golden(qtbot, app_window, tmp_path)
    seen: list[tuple[str, bool, str]] = []

    def record(_generation: int, result) -> None:
        seen.append((result.method, app_window.model.reranked, Path(result.hits[0].path).name))

    app_window.searching.first_stage.connect(record)
    app_window.searching.reranked.connect(record)
    with qtbot.waitSignals(
        [app_window.searching.first_stage, app_window.searching.reranked], order="strict", timeout=30_000
    ):
        qtbot.keyClicks(app_window.search_field, "how long should the dough bulk ferment")
    query = "how long should the dough bulk ferment"
    qtbot.waitUntil(lambda: app_window.model.reranked and app_window.model.result.query == query, timeout=30_000)
    assert seen[0][0] == "hybrid" and seen[-1][0] == "hybrid + rerank"
    assert Path(app_window.model.hits[0].path).name == "sourdough.txt"
    assert app_window.pages.currentIndex() == 1
    # No weak banner above a strong answer; the line says what the reranker self-check found,
    # the same words `quarry search` prints.
    assert "No strong matches" not in app_window.notice.text()
    assert app_window.model.hits[0].strong and app_window.model.hits[0].strength == "strong"
    assert app_window.model.result.check and app_window.model.result.check in app_window.notice.text()
    # Esc clears the query, the results and the details; Ctrl+F brings focus back to the field.
    app_window.results.setCurrentIndex(app_window.model.index(0))
    qtbot.keyClick(app_window, Qt.Key.Key_Escape)
    assert app_window.search_field.text() == ""
    assert app_window.model.rowCount() == 0 and app_window.preview.hit is None


def test_cancel_stops_indexing_and_leaves_a_consistent_index(qtbot, app_window, tmp_path: Path):
    folder = tmp_path / "pdfs"
    folder.mkdir()
    for name in (
        "Alice-In-Wonderland.pdf",
        "The-Man-Without-A-Body.pdf",
        "Closed-Syllables.pdf",
        "CC_License_Agreement_of_siMPle.pdf",
    ):
        shutil.copy(PDFS / name, folder / name)

    def cancel_when_indexing(progress) -> None:
        if progress.stage == "indexing" and progress.done >= 1:
            app_window.indexing.cancel()

    app_window.indexing.progress.connect(cancel_when_indexing)
    with qtbot.waitSignal(app_window.indexing.finished, timeout=INDEX_TIMEOUT) as blocker:
        app_window.index_paths([folder])
    report = blocker.args[0]
    assert report.cancelled
    store = app_window.engines.engine.store
    docs = [d for d in store.all_documents().values() if d.ok]
    # Keyword-first: the reading pass may finish before the cancel arrives; then it stops the
    # embedding pass, and some passages are left without vectors for the next run.
    counts = store.passage_counts()
    assert 1 <= len(docs) <= 4 and (len(docs) < 4 or counts.vectors < counts.passages)
    for doc in docs:
        assert store.chunks.count_rows(f"doc_id = '{doc.doc_id}'") == doc.chunks
    assert store.chunks.count_rows() == sum(d.chunks for d in docs)
    app_window.indexing.progress.disconnect(cancel_when_indexing)
    with qtbot.waitSignal(app_window.indexing.finished, timeout=INDEX_TIMEOUT) as blocker:
        app_window.index_paths([folder])
    assert not blocker.args[0].cancelled
    assert len(store.all_documents()) == 4


def test_unusable_reranker_still_shows_results_with_a_notice(qtbot, app_window, tmp_path: Path):
    index_golden(qtbot, app_window, tmp_path)
    with qtbot.waitSignal(app_window.engines.ready, timeout=LOAD_TIMEOUT):
        app_window.engines.load(EngineOptions(reranker=str(EMBEDDER)))
    assert app_window.engines.engine.reranker is None
    with qtbot.waitSignal(app_window.searching.first_stage, timeout=30_000):
        app_window.search_field.setText("boiler pressure")
        app_window.search_now()
    qtbot.waitUntil(lambda: app_window.model.rowCount() > 0, timeout=5_000)
    assert Path(app_window.model.hits[0].path).name == "boiler-maintenance.md"
    assert app_window.notice.isVisible()
    assert "not a reranker" in app_window.notice.text()


def test_open_uses_the_configured_viewer_at_the_page(qtbot, app_window, tmp_path: Path):
    folder = tmp_path / "pdf"
    folder.mkdir()
    shutil.copy(PDFS / "The-Man-Without-A-Body.pdf", folder)  # its title is part of what the reranker reads
    with qtbot.waitSignal(app_window.indexing.finished, timeout=INDEX_TIMEOUT):
        app_window.index_paths([folder])
    with qtbot.waitSignal(app_window.searching.reranked, timeout=30_000):
        app_window.search_field.setText("sending a man by telegraph")
        app_window.search_now()
    hit = app_window.model.hits[0]
    assert hit.page is not None
    app_window.viewer = "okular"
    app_window.results.setCurrentIndex(app_window.model.index(0))
    app_window.open_hit()
    query = "sending a man by telegraph"
    find = find_text(query, hit.text)
    # The words of the page the query matches (the one query-word rule: 'sending' ~ 'send').
    assert find and find.lower() in " ".join(hit.text.split()).lower()
    assert find == query or query_words(query).matches(find)
    assert app_window.opened_commands == [["okular", "-p", str(hit.page), f"--find={find}", hit.path]]


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        ("evince", ["evince", "--page-index=7", "/d/a b.pdf"]),
        ("okular", ["okular", "-p", "7", "/d/a b.pdf"]),
        ("zathura", ["zathura", "-P", "7", "/d/a b.pdf"]),
        ("sumatrapdf", ["SumatraPDF.exe", "-page", "7", "/d/a b.pdf"]),
    ],
)
def test_open_commands(viewer, expected):
    assert open_command("/d/a b.pdf", 7, viewer) == expected
    assert open_command("/d/notes.txt", None, viewer) is None
    assert open_command("/d/a b.pdf", 7, None, custom="myviewer --goto {page} {path}") == [
        "myviewer",
        "--goto",
        "7",
        "/d/a b.pdf",
    ]


def test_a_file_added_to_an_indexed_folder_appears_without_asking(qtbot, app_window, tmp_path: Path):
    folder = index_golden(qtbot, app_window, tmp_path)
    assert app_window.indexing.watcher is not None and folder in app_window.indexing.watcher.roots
    with qtbot.waitSignal(app_window.indexing.finished, timeout=60_000):
        (folder / "garden.md").write_text("# Garden\n\nThe quince tree needs pruning in late winter.\n")
    qtbot.waitUntil(lambda: app_window.folder_stats.get(str(folder), (0, 0))[0] == 5, timeout=10_000)


def test_skipped_files_are_shown_with_their_reasons(qtbot, app_window, tmp_path: Path):
    folder = shutil.copytree(GOLDEN, tmp_path / "docs")
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 40)
    with qtbot.waitSignal(app_window.indexing.finished, timeout=INDEX_TIMEOUT):
        drop(app_window, [folder])
    qtbot.waitUntil(lambda: app_window.skipped_button.isVisible(), timeout=10_000)
    assert app_window.skipped_button.text() == "2 files skipped — show"
    qtbot.mouseClick(app_window.skipped_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: hasattr(app_window, "skipped_box"), timeout=10_000)
    details = app_window.skipped_box.detailedText()
    assert "empty.pdf" in details and "empty file" in details and "binary content" in details


def test_a_weak_result_set_is_shown_under_a_banner(qtbot, app_window, tmp_path: Path):
    """An off-topic query shows its closest passages under "No strong matches — closest
    passages", and the details pane says why each hit is where it is."""
    index_golden(qtbot, app_window, tmp_path)
    query = "how to tie a bow tie"
    app_window.search_field.setText(query)
    with qtbot.waitSignal(app_window.searching.reranked, timeout=30_000):
        app_window.search_now()
    qtbot.waitUntil(lambda: app_window.model.reranked and app_window.model.result.query == query, timeout=30_000)
    result = app_window.model.result
    assert result.weak and result.hits
    assert app_window.pages.currentIndex() == 1
    assert "No strong matches — closest passages" in app_window.notice.text() and app_window.notice.isVisible()
    assert not any(h.strong for h in result.hits)
    app_window.results.setCurrentIndex(app_window.model.index(0))
    details = app_window.details.toPlainText()
    assert "First stage #" in details and "rerank score" in details and "weak" in details
    # A text file has no page to show: the text view marks the passage among its neighbours.
    assert app_window.details_stack.currentIndex() == 0 and not app_window.page_view_button.isVisible()
    qtbot.waitUntil(lambda: "background-color" in app_window.details.toHtml(), timeout=10_000)


def test_a_crash_in_the_inference_worker_leaves_the_window_and_its_results(qtbot, app_window, tmp_path: Path):
    import os
    import signal

    index_golden(qtbot, app_window, tmp_path)
    worker = app_window.engines.engine.worker
    killed: list[int] = []

    def segfault_on_rerank(method: str, pid: int) -> None:
        if method == "score" and not killed:
            killed.append(pid)
            os.kill(pid, signal.SIGSEGV)

    worker.on_request = segfault_on_rerank
    query = "boiler pressure"
    app_window.search_field.setText(query)
    with qtbot.waitSignal(app_window.searching.reranked, timeout=30_000) as blocker:
        app_window.search_now()
    result = blocker.args[-1]
    assert killed and result.hits and Path(result.hits[0].path).name == "boiler-maintenance.md"
    assert "inference worker stopped (SIGSEGV" in result.notice
    qtbot.waitUntil(lambda: app_window.notice.isVisible() and "SIGSEGV" in app_window.notice.text(), timeout=5_000)
    worker.on_request = None
    app_window.search_field.setText(query + " ")
    with qtbot.waitSignal(app_window.searching.reranked, timeout=30_000) as blocker:
        app_window.search_now()
    assert blocker.args[-1].hits[0].rerank_score is not None  # a new worker reranks again
