"""First start with no models at all: the window offers the recommended downloads (served
here by a stand-in hub on 127.0.0.1) or a local file, and then works, without a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.main import build_window
from indexer.models.catalogue import entry
from indexer.paths import AppPaths
from tests.conftest import EMBEDDER, RERANKER_Q8
from tests.hub_server import Hub, Served


@pytest.fixture
def bare_window(qtbot, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("QUARRY_MODEL_DIRS", "")
    paths = AppPaths.from_base(tmp_path / "home").ensure()
    window, lanes, engines = build_window(paths)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(engines.failed, timeout=30_000) as failed:
        engines.load(window.preferences.engine_options)
    assert "no embedder model" in str(failed.args[0])
    yield window
    window.indexing.stop_watching()
    lanes.shutdown()
    if engines.engine:
        engines.engine.close()


def test_first_start_offers_and_downloads_the_recommended_models(qtbot, bare_window, monkeypatch):
    window = bare_window
    assert window.pages.currentWidget() is window.first_run
    assert "no embedder model" in window.first_run.reason.text()
    with Hub() as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        embedder, reranker = entry("all-minilm-l6-v2"), entry("bge-reranker-base")
        hub.add(embedder.repo, embedder.filename, Served(EMBEDDER.read_bytes()))
        # The test reranker's bytes stand in for the catalogue's reranker file.
        hub.add(reranker.repo, reranker.filename, Served(RERANKER_Q8.read_bytes()))
        progress = []
        window.preferences.download_progress.connect(progress.append)
        with qtbot.waitSignal(window.engines.ready, timeout=120_000) as ready:
            qtbot.mouseClick(window.first_run.download_button, qtbot_button())
    models = window.preferences.paths.models
    assert (models / embedder.filename).exists() and (models / reranker.filename).exists()
    assert any(p.done == p.total and p.total > 0 for p in progress)
    engine = ready.args[0]
    assert engine.reranker is not None and engine.reranker.path.name == reranker.filename
    assert window.pages.currentWidget() is not window.first_run


def test_first_start_can_use_a_local_model_file(qtbot, bare_window):
    window = bare_window
    with qtbot.waitSignal(window.engines.ready, timeout=60_000):
        window.first_run.use_file(EMBEDDER)
    assert window.preferences.settings.embedder == str(EMBEDDER)
    assert window.engines.engine.embedder.path == EMBEDDER


def test_a_wrong_file_is_explained_on_the_first_run_page(qtbot, bare_window):
    window = bare_window
    window.first_run.use_file(RERANKER_Q8)
    qtbot.waitUntil(lambda: not window.first_run.failure.isHidden(), timeout=30_000)
    assert window.first_run.failure.text().startswith("Not usable: ")
    assert "not an embedding model" in window.first_run.failure.text()
    assert window.engines.engine is None


def qtbot_button():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton
