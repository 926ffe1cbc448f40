"""What the window shows must hold (issue 27), in the real window over real models and LanceDB:
the selected passage stays selected while the reranked order replaces the first stage's; a
search repeated under a deadline too tight to rerank anything ends on the same list every
time; a reranker that does not separate relevant from irrelevant passages needs a second OK;
OK on a catalogue model that is not downloaded starts its download and keeps the dialog open;
the text pages of a folder are keyword-searchable before any page is recognised by OCR."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt

from benchmarks.ocr import mixed_pdf, text_layer
from indexer.ingest.ocr import available as ocr_available
from indexer.search.searcher import SearchOptions
from indexer.types import Progress
from tests.conftest import MODELS, PDFS
from tests.hub_server import Hub, Served
from tests.test_gui import INDEX_TIMEOUT, app_window, drop, index_golden  # noqa: F401 - shared fixture and helpers
from tests.test_jobs import window  # noqa: F401 - the real window without models

QUERY = "what should I do before the adjuster visits"
RANDOM_RERANKER = MODELS / "conformance" / "modernbert-f16.gguf"
"""Random weights: `quarry models check` says it does not separate (tests/test_conformance.py)."""


def final_result(qtbot, shown, query: str):
    """Search ``query`` in the window and wait for its last refinement (every candidate
    reranked); the result shown then."""
    shown.search_field.setText(query)
    shown.search_now()
    qtbot.waitUntil(
        lambda: (
            shown.reranked
            and shown.model.result is not None
            and shown.model.result.query == query
            and shown.model.result.complete
        ),
        timeout=60_000,
    )
    return shown.model.result


def clear(qtbot, shown) -> None:
    qtbot.keyClick(shown, Qt.Key.Key_Escape)
    assert shown.model.rowCount() == 0


def test_the_selected_passage_stays_selected_when_the_reranked_order_arrives(qtbot, app_window, tmp_path: Path):  # noqa: F811
    index_golden(qtbot, app_window, tmp_path)
    shown = final_result(qtbot, app_window, QUERY)
    assert len(shown.hits) >= 3
    # The reader selects the second row of the list on screen.
    app_window.results.setCurrentIndex(app_window.model.index(1))
    picked = app_window.current_hit()
    assert "shown #2" in app_window.details.toPlainText()
    changes: list[str] = []
    app_window.results.selectionModel().currentChanged.connect(
        lambda index, _previous: changes.append(app_window.model.hits[index.row()].chunk_id if index.isValid() else "")
    )
    # A refinement arrives through the window's own signal: the same passages in another
    # order (the order a reranker with a say would give), with new scores.
    reordered = list(reversed(shown.hits))
    refined = replace(
        shown,
        hits=[replace(h, rank=n + 1, score=0.9 - 0.1 * n) for n, h in enumerate(reordered)],
        method="hybrid + rerank",
    )
    app_window.searching.reranked.emit(app_window.generation, refined)
    row = [h.chunk_id for h in refined.hits].index(picked.chunk_id)
    assert row != 1  # it moved
    assert app_window.current_hit().chunk_id == picked.chunk_id
    assert app_window.results.currentIndex().row() == row
    assert app_window.results.selectionModel().isRowSelected(row, app_window.results.rootIndex())
    assert changes == []  # the details pane was never pointed at another passage, nor cleared
    # The details pane shows the passage's new score, not the one it had before.
    assert app_window.current_hit().score == refined.hits[row].score
    assert f"score {refined.hits[row].score:.2f}" in app_window.details.toPlainText()
    assert f"shown #{row + 1}" in app_window.details.toPlainText()


def test_a_search_repeated_under_a_tight_deadline_ends_on_the_same_list(qtbot, app_window, tmp_path: Path):  # noqa: F811
    index_golden(qtbot, app_window, tmp_path)
    app_window.searching.options = replace(app_window.searching.options, deadline_s=0.001)
    cut: list[bool] = []
    app_window.searching.reranked.connect(lambda _g, result: cut.append(not result.complete))
    lists = []
    for _ in range(3):
        app_window.engines.engine.reranker.cache.clear()  # every repeat reranks from nothing
        lists.append([(h.chunk_id, round(h.score, 6)) for h in final_result(qtbot, app_window, QUERY).hits])
        clear(qtbot, app_window)
    assert any(cut), "the deadline never cut a rerank: the test did not test the cut"
    assert lists[0] == lists[1] == lists[2]
    # The same list as a search with no deadline at all.
    app_window.searching.options = replace(app_window.searching.options, deadline_s=None)
    app_window.engines.engine.reranker.cache.clear()
    assert [(h.chunk_id, round(h.score, 6)) for h in final_result(qtbot, app_window, QUERY).hits] == lists[0]


def test_a_reranker_that_does_not_separate_needs_a_second_ok(qtbot, app_window):  # noqa: F811
    dialog = app_window.open_settings()
    page = dialog.rerankers
    page.add_file(RANDOM_RERANKER)
    qtbot.waitUntil(lambda: page.selected() is not None and page.selected().path == RANDOM_RERANKER, timeout=30_000)
    before = app_window.preferences.settings.reranker
    dialog.accept()
    qtbot.waitUntil(lambda: not dialog.checking, timeout=120_000)
    assert dialog.isVisible(), "the dialog closed on a reranker that does not separate"
    assert "does not separate relevant from irrelevant passages" in page.problem.text()
    assert "Press OK again to use it anyway" in page.problem.text()
    assert app_window.preferences.settings.reranker == before  # nothing applied yet
    with qtbot.waitSignal(app_window.preferences.reranker_changed, timeout=60_000) as changed:
        dialog.accept()  # on purpose
    assert changed.args[0].startswith(RANDOM_RERANKER.stem)  # '… (bf16 for this CPU)' where it runs so
    assert not dialog.isVisible()


def test_ok_on_a_model_not_downloaded_starts_its_download_and_keeps_the_dialog(qtbot, window, monkeypatch):  # noqa: F811
    from indexer.models.catalogue import entry

    item = entry("bge-reranker-v2-m3")
    with Hub() as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        served = Served(b"GGUF" + b"\0" * 4096)
        hub.add(item.repo, item.filename, served)
        dialog = window.open_settings()
        page = dialog.rerankers
        row = next(
            r for r in range(page.list.count()) if page.list.item(r).data(Qt.ItemDataRole.UserRole).name == item.name
        )
        page.list.setCurrentRow(row)
        page.enabled.setChecked(True)
        dialog.accept()
        assert dialog.isVisible() and dialog.tabs.currentWidget() is page
        assert page.downloading and page.progress.isVisible()
        assert f"{item.name} is not downloaded yet: it is downloading now" in page.problem.text()
        qtbot.waitUntil(lambda: not page.downloading, timeout=60_000)
        assert served.gets, "the stand-in hub was never asked for the file"
    assert window.preferences.settings.reranker != item.filename  # not applied before it is on disk


def test_text_pages_are_keyword_searchable_before_any_ocr_runs(qtbot, app_window, tmp_path: Path):  # noqa: F811
    if not ocr_available():
        raise AssertionError("the OCR engine is part of make install; without it this test tests nothing")
    war = PDFS / "The-War-of-the-Worlds.pdf"
    folder = tmp_path / "books"
    folder.mkdir()
    mixed_pdf(war, [1, 11], {1}, 150, folder / "a-war-of-the-worlds.pdf")  # an image cover first
    mixed_pdf(war, [12], set(), 150, folder / "b-war-chapter.pdf")
    phrases = {
        "a-war-of-the-worlds.pdf": " ".join(text_layer(war, 11).split()[20:28]),
        "b-war-chapter.pdf": " ".join(text_layer(war, 12).split()[20:28]),
    }
    found_when_ocr_began: dict[str, list[str]] = {}

    def at_first_ocr(progress: Progress) -> None:
        if progress.step != "recognising" or found_when_ocr_began:
            return
        searcher = app_window.engines.engine.searcher
        for name, phrase in phrases.items():
            hits = searcher.search(phrase, SearchOptions(k=5, mode="text", rerank=False)).hits
            found_when_ocr_began[name] = [Path(h.path).name for h in hits]

    app_window.indexing.progress.connect(at_first_ocr)
    with qtbot.waitSignal(app_window.indexing.finished, timeout=INDEX_TIMEOUT):
        drop(app_window, [folder])
    assert found_when_ocr_began, "no page was recognised: the cover was not left for OCR"
    for name, names in found_when_ocr_began.items():
        assert names and names[0] == name, (name, names)
    shutil.rmtree(folder)


def test_a_collection_mostly_not_in_english_is_offered_the_multilingual_models_once(qtbot, app_window, tmp_path: Path):  # noqa: F811
    from benchmarks.multilingual import FOLDER
    from indexer.models.advice import multilingual_models

    folder = shutil.copytree(FOLDER, tmp_path / "notes")  # 24 notes in 8 languages, none in English
    with qtbot.waitSignal(app_window.indexing.finished, timeout=INDEX_TIMEOUT):
        drop(app_window, [folder])
    qtbot.waitUntil(lambda: app_window.advice.isVisible(), timeout=30_000)
    embedder, reranker = multilingual_models()
    text = app_window.advice.text()
    assert "100 % of these passages are not English" in text and embedder in text and reranker in text
    assert app_window.preferences.settings.language_advice_shown
    dialog = app_window.on_advice_link("choose")
    assert not app_window.advice.isVisible() and dialog.isVisible()
    assert dialog.embedders.selected().name == embedder and dialog.rerankers.selected().name == reranker
    dialog.reject()
    # Said once: the next counts do not bring it back, nor does the next start.
    with qtbot.waitSignal(app_window.indexing.stats, timeout=30_000):
        app_window.indexing.refresh()
    assert not app_window.advice.isVisible()


def test_the_advice_speaks_only_for_a_collection_mostly_not_english_under_an_english_embedder():
    from indexer.models.advice import multilingual_advice
    from tests.conftest import EMBEDDER

    assert multilingual_advice({"en": 40, "de": 10}, EMBEDDER) == ""  # mostly English
    assert multilingual_advice({"de": 3}, EMBEDDER) == ""  # too few passages to say
    said = multilingual_advice({"en": 10, "ja": 30, "zh": 20, "de": 5, "fr": 4, "ru": 1}, EMBEDDER)
    assert said.startswith("86 % of these passages are not English (ja, zh, de, fr, …)")
    assert multilingual_advice({"ja": 30}, None) == ""  # a remote embedder is not judged
    assert multilingual_advice({"ja": 30}, Path("bge-m3-Q8_0.gguf")) == ""  # already multilingual
