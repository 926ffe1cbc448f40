"""The settings dialog on the real window: a reranker chosen there scores the next search
without a restart; a broken or wrong-kind model file is refused with its reason."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from PySide6.QtCore import Qt

from indexer.settings import Settings
from tests.conftest import EMBEDDER, MODELS, RERANKER_F16, RERANKER_Q8
from tests.test_gui import app_window, index_golden  # noqa: F401 - fixtures and helpers shared with the window tests

QUERY = "boiler pressure gauge"


def search(qtbot, window) -> object:
    with qtbot.waitSignal(window.searching.reranked, timeout=60_000) as blocker:
        window.search_field.setText(QUERY)
        window.search_now()
    return blocker.args[1]


def select(page, file_name: str) -> None:
    for row in range(page.list.count()):
        choice = page.list.item(row).data(Qt.ItemDataRole.UserRole)
        if choice.path is not None and choice.path.name == file_name:
            page.list.setCurrentRow(row)
            return
    raise AssertionError(f"{file_name} not offered")


def test_choosing_another_reranker_takes_effect_on_the_next_search(qtbot, app_window, tmp_path: Path):  # noqa: F811
    index_golden(qtbot, app_window, tmp_path)
    before = search(qtbot, app_window)
    assert before.reranker == RERANKER_F16.stem  # the default: small models in full precision
    dialog = app_window.open_settings()
    labels = [dialog.rerankers.list.item(r).text() for r in range(dialog.rerankers.list.count())]
    assert any("bge-reranker-v2-m3" in text and "download" in text for text in labels)  # catalogue, not on disk
    assert any(RERANKER_Q8.name in text for text in labels)  # local file
    select(dialog.rerankers, RERANKER_Q8.name)
    with qtbot.waitSignal(app_window.preferences.reranker_changed, timeout=60_000) as changed:
        dialog.accept()
    assert changed.args == [RERANKER_Q8.stem, ""]
    assert RERANKER_Q8.stem in app_window.model_label.text()
    after = search(qtbot, app_window)
    assert after.reranker == RERANKER_Q8.stem
    assert Path(after.hits[0].path).name == "boiler-maintenance.md"
    saved = json.loads(app_window.preferences.paths.settings_file.read_text())
    assert saved["reranker"] == RERANKER_Q8.name


def test_turning_reranking_off_and_search_settings_apply_at_once(qtbot, app_window, tmp_path: Path):  # noqa: F811
    index_golden(qtbot, app_window, tmp_path)
    dialog = app_window.open_settings()
    dialog.rerankers.enabled.setChecked(False)
    dialog.results.setValue(2)
    with qtbot.waitSignal(app_window.preferences.reranker_changed, timeout=60_000):
        dialog.accept()
    with qtbot.waitSignal(app_window.searching.first_stage, timeout=30_000) as blocker:
        app_window.search_field.setText(QUERY)
        app_window.search_now()
    result = blocker.args[1]
    assert len(result.hits) <= 2
    qtbot.waitUntil(lambda: "reranking is off" in app_window.notice.text(), timeout=10_000)


def test_broken_and_wrong_kind_files_are_refused_with_their_reason(qtbot, app_window, tmp_path: Path):  # noqa: F811
    truncated = tmp_path / "half-a-reranker.gguf"
    truncated.write_bytes(RERANKER_Q8.read_bytes()[:3_000_000])
    dialog = app_window.open_settings()
    count = dialog.rerankers.list.count()
    stock = MODELS / "conformance" / "bert-stock-f16.gguf"  # the stock converter's BERT: pooler lost
    for path, reason in ((truncated, "truncated"), (EMBEDDER, "not a reranker"), (stock, "pooler")):
        with qtbot.waitSignal(app_window.preferences.file_checked, timeout=30_000):
            dialog.rerankers.add_file(path)
        assert dialog.rerankers.problem.isVisible()
        assert reason in dialog.rerankers.problem.text()
        assert dialog.rerankers.list.count() == count
    good = Path(shutil.copy(RERANKER_F16, tmp_path / "my-own-reranker.gguf"))
    with qtbot.waitSignal(app_window.preferences.file_checked, timeout=30_000):
        dialog.rerankers.add_file(good)
    assert dialog.rerankers.list.count() == count + 1
    assert dialog.rerankers.selected_value() == str(good)
    dialog.reject()
    assert app_window.preferences.settings == Settings()


def test_hardware_page_says_what_llama_cpp_was_built_with(app_window):  # noqa: F811
    dialog = app_window.open_settings()
    text = dialog.findChildren(type(dialog.rerankers.problem))
    assert any("built with" in label.text() and "CPU" in label.text() for label in text)
    dialog.reject()


def test_exclude_patterns_apply_to_the_next_run(qtbot, app_window, tmp_path: Path):  # noqa: F811
    folder = index_golden(qtbot, app_window, tmp_path)
    dialog = app_window.open_settings()
    dialog.exclude.setText("*.html, drafts")
    dialog.accept()
    qtbot.waitUntil(lambda: app_window.engines.engine.indexer.rules.exclude == ("*.html", "drafts"), timeout=10_000)
    with qtbot.waitSignal(app_window.indexing.finished, timeout=120_000):
        app_window.index_paths([folder])
    names = {Path(d.path).name for d in app_window.engines.engine.store.all_documents().values()}
    assert "team-offsite.html" not in names and "sourdough.txt" in names
