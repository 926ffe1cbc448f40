"""The settings dialog on the real window: a reranker chosen there scores the next search
without a restart; a broken or wrong-kind model file is refused with its reason; a failed
download says why (a stand-in hub on 127.0.0.1), and a bug behind it keeps its traceback
behind "Copy details"."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from indexer.models.download import PARTIAL_DIR
from indexer.settings import Settings
from tests.conftest import EMBEDDER, MODELS, RERANKER_F16, RERANKER_Q8
from tests.hub_server import Hub, Served
from tests.test_gui import app_window, index_golden  # noqa: F401 - fixtures and helpers shared with the window tests
from tests.test_jobs import window  # noqa: F401 - the real window without models

QUERY = "boiler pressure gauge"


def search(qtbot, shown) -> object:
    with qtbot.waitSignal(shown.searching.reranked, timeout=60_000) as blocker:
        shown.search_field.setText(QUERY)
        shown.search_now()
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
        dialog.rerankers.add_file(path)
        qtbot.waitUntil(lambda: dialog.rerankers.problem.isVisible(), timeout=30_000)
        assert reason in dialog.rerankers.problem.text()
        assert not dialog.rerankers.problem.copy_button.isVisible()  # a refusal, not a bug
        assert dialog.rerankers.list.count() == count
    good = Path(shutil.copy(RERANKER_F16, tmp_path / "my-own-reranker.gguf"))
    dialog.rerankers.add_file(good)
    qtbot.waitUntil(lambda: dialog.rerankers.list.count() == count + 1, timeout=30_000)
    assert not dialog.rerankers.problem.isVisible()
    assert dialog.rerankers.selected_value() == str(good)
    dialog.reject()
    assert app_window.preferences.settings == Settings()


def test_hardware_page_says_what_llama_cpp_was_built_with(app_window):  # noqa: F811
    dialog = app_window.open_settings()
    text = dialog.findChildren(QLabel)
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


def download_in_dialog(qtbot, shown, name: str):
    """Open the settings, start the download of the catalogue reranker ``name``, and wait
    until it is over; the reranker page."""
    dialog = shown.open_settings()
    page = dialog.rerankers
    row = next(r for r in range(page.list.count()) if page.list.item(r).data(Qt.ItemDataRole.UserRole).name == name)
    page.list.setCurrentRow(row)
    assert page.download_button.isEnabled()
    page.download_button.click()
    assert page.progress.isVisible()
    qtbot.waitUntil(lambda: not page.downloading, timeout=60_000)
    assert not page.progress.isVisible() and not page.cancel_button.isVisible()
    return page


def test_a_failed_download_says_why_in_the_dialog(qtbot, window, monkeypatch):  # noqa: F811
    with Hub() as hub:  # the hub has no such file: it answers 404
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        page = download_in_dialog(qtbot, window, "bge-reranker-v2-m3")
    assert page.problem.isVisible()
    assert page.problem.text().startswith("bge-reranker-v2-m3: ")
    assert "not in" in page.problem.text() or "hub answered" in page.problem.text()
    assert not page.problem.copy_button.isVisible()  # a QuarryError: its message says it all
    assert page.download_button.isEnabled()  # it can be tried again
    assert window.failure is None  # said in the dialog, not in a second message


def test_a_bug_in_a_download_shows_copy_details_with_its_traceback(qtbot, window, monkeypatch):  # noqa: F811
    from indexer.models.catalogue import entry

    item = entry("bge-reranker-v2-m3")
    models = window.preferences.paths.models
    (models / PARTIAL_DIR).write_text("a file where the download's folder goes")
    with Hub() as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        hub.add(item.repo, item.filename, Served(RERANKER_Q8.read_bytes()))
        page = download_in_dialog(qtbot, window, item.name)
    assert page.problem.text().startswith("Downloading bge-reranker-v2-m3 failed: FileExistsError")
    assert page.problem.copy_button.isVisible()
    QApplication.clipboard().clear()
    page.problem.copy_button.click()
    copied = QApplication.clipboard().text()
    assert copied.startswith("Traceback (most recent call last):")
    assert "indexer/models/download.py" in copied and "FileExistsError" in copied.rstrip().splitlines()[-1]


def test_a_refused_file_says_why_without_models_loaded(qtbot, window):  # noqa: F811
    page = window.open_settings().rerankers
    stock = MODELS / "conformance" / "bert-stock-f16.gguf"  # the stock converter's BERT: pooler lost
    count = page.list.count()
    page.add_file(stock)
    qtbot.waitUntil(lambda: page.problem.isVisible(), timeout=30_000)
    assert page.problem.text().startswith("Not added: ") and "pooler" in page.problem.text()
    assert not page.problem.copy_button.isVisible() and page.list.count() == count
