"""Keyword search first, vectors after: an index run stores passages for BM25 before it embeds
them; a search meanwhile finds them by keyword and says how far meaning search has got; an
interrupted embedding pass (cancelled, or the process killed) resumes without duplicates."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import lancedb
import pytest

from indexer.cancel import CancelToken
from indexer.ingest.pipeline import Indexer
from indexer.search.searcher import Searcher, SearchOptions
from indexer.store.lance import CHUNKS
from indexer.types import Progress
from tests.conftest import GOLDEN, ROOT, quarry
from tests.test_crash_safety import WORDS, check_consistent
from tests.test_gui import INDEX_TIMEOUT, app_window  # noqa: F401 - the fixture


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = shutil.copytree(GOLDEN, tmp_path / "docs")
    notes(root / "notes", files=12, words=700)  # 3 passages each
    return root


def notes(folder: Path, files: int, words: int) -> None:
    """Notes of random words, each with its own findable word: note-0007.md says 'marker0007'."""
    rng = random.Random(21)
    folder.mkdir()
    for i in range(files):
        body = " ".join(rng.choice(WORDS) for _ in range(words))
        (folder / f"note-{i:04d}.md").write_text(f"# Note {i}\n\nmarker{i:04d} {body}.\n")


def embedded_ids(store) -> set[str]:
    rows = store.chunks.search().where("embedded").select(["chunk_id"]).limit(None).to_arrow()
    return set(rows.column("chunk_id").to_pylist())


def test_a_search_during_the_backfill_finds_keywords_and_says_not_ready(folder: Path, store, embedder, reranker):
    indexer = Indexer(store, embedder)
    keyword = indexer.run([folder], embed=False)
    assert len(keyword.added) == 16 and keyword.chunks_embedded == 0 and not keyword.skipped
    counts = store.passage_counts()
    assert counts.passages > 32 and counts.keyword == counts.passages and counts.vectors == 0
    rows = store.chunks.search().select(["vector", "embedded"]).limit(None).to_arrow()
    assert rows.column("vector").null_count == rows.num_rows  # null, never a stand-in vector
    assert not any(rows.column("embedded").to_pylist())

    searcher = Searcher(store, embedder, reranker)
    found = searcher.search("marker0007", SearchOptions(rerank=False))
    top = found.hits[0]
    assert Path(top.path).name == "note-0007.md" and top.bm25_rank == 1 and top.vector_rank is None
    assert found.vectors_ready == 0.0 and found.readiness == "meaning search: 0 % ready"
    assert searcher.search("boiler pressure", SearchOptions(rerank=False, mode="vector")).hits == []
    # Reranked: a passage without a vector has no similarity to gate by, so the topic check
    # leaves the reranker's score alone (a gate on similarity 0 would zero it).
    reranked = searcher.search("marker0007 zeppelin", SearchOptions(k=3))
    assert reranked.method == "hybrid + rerank" and reranked.readiness
    assert all(h.topic_weight == 1.0 and h.vector_rank is None for h in reranked.hits)

    # Part of the embedding pass, then a cancel: what was embedded is kept.
    cancel = CancelToken()
    seen: list[Progress] = []

    def stop_after_the_first_batch(progress: Progress) -> None:
        seen.append(progress)
        if progress.stage == "embedding" and progress.done > 0:
            cancel.cancel()

    partial = indexer.run([folder], cancel, stop_after_the_first_batch)
    assert partial.cancelled and partial.unchanged == 16
    assert 0 < partial.chunks_embedded < counts.passages
    assert next(p.total for p in seen if p.stage == "embedding") == counts.passages
    middle = store.passage_counts()
    assert middle.vectors == partial.chunks_embedded and middle.keyword == counts.passages
    found = searcher.search("marker0007", SearchOptions(rerank=False))
    assert Path(found.hits[0].path).name == "note-0007.md"
    assert 0 < found.vectors_ready < 1
    assert found.readiness == f"meaning search: {int(100 * middle.vectors / middle.passages)} % ready"
    # Vector search reaches exactly the embedded passages, never one without its vector.
    near = store.vector_search(embedder.embed_query("harbour lantern granite"), 1000)
    assert {c.chunk_id for c in near} == embedded_ids(store)

    # The next run, with nothing changed on disk, embeds only what is missing.
    rest = indexer.run([folder])
    assert not rest.cancelled and rest.unchanged == 16 and not rest.added
    assert rest.chunks_embedded == counts.passages - middle.vectors
    final = store.passage_counts()
    assert final.passages == counts.passages and final.vectors == final.passages
    assert store.chunks.search().select(["vector"]).limit(None).to_arrow().column("vector").null_count == 0
    done = searcher.search("boiler pressure", SearchOptions(rerank=False))
    assert done.vectors_ready == 1.0 and done.readiness == ""
    assert Path(done.hits[0].path).name == "boiler-maintenance.md" and done.hits[0].vector_rank is not None
    assert indexer.run([folder]).chunks_embedded == 0


def test_a_copy_of_a_document_not_yet_embedded_is_embedded_too(folder: Path, store, embedder):
    indexer = Indexer(store, embedder)
    indexer.run([folder], embed=False)
    shutil.copy(folder / "sourdough.txt", folder / "sourdough-copy.txt")
    report = indexer.run([folder])
    assert report.chunks_reused == 0  # the original had no vectors to lend
    counts = store.passage_counts()
    assert counts.vectors == counts.passages == report.chunks_embedded


def vector_counts(home: Path) -> tuple[int, int]:
    """(passages, passages with vectors), read as a plain LanceDB reader: no repair, no writes."""
    index = home / "data" / "index"
    if not (index / f"{CHUNKS}.lance").exists():
        return 0, 0
    table = lancedb.connect(index).open_table(CHUNKS)
    return table.count_rows(), table.count_rows("embedded")


def test_a_killed_backfill_resumes_without_duplicates(tmp_path: Path):
    files = 1200
    folder = tmp_path / "notes"
    # One short passage a note: quick to embed, so a corpus that outlasts the first commit of
    # vectors (at most WRITE_BATCH_CHUNKS passages) is still quick to index.
    notes(folder, files, words=12)
    home = tmp_path / "home"
    env = {**os.environ, "QUARRY_HOME": str(home)}
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "index", str(folder)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and process.poll() is None:
            passages, vectors = vector_counts(home)
            if passages == files and vectors > 0:
                break  # every passage stored, the first vectors committed: mid-backfill
            time.sleep(0.1)
        assert process.poll() is None, "the run ended before it could be killed mid-backfill"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    passages, at_kill = vector_counts(home)
    assert passages == files and 0 < at_kill < files
    assert check_consistent(home) == (files, files)  # every note once, every passage once

    status = json.loads(quarry(None, "status", "--json", env=env).stdout)
    assert (status["passages"], status["keyword_searchable"], status["with_vectors"]) == (files, files, at_kill)
    searched = quarry(None, "search", "marker0123", "--json", "--no-rerank", env=env)
    result = json.loads(searched.stdout)
    assert Path(result["hits"][0]["path"]).name == "note-0123.md"
    assert 0 < result["vectors_ready"] < 1 and re.fullmatch(r"meaning search: \d+ % ready", result["readiness"])

    resumed = quarry(None, "index", env=env, timeout=600)  # no change on disk: only the backfill
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"0 added, 0 updated, {files} unchanged" in resumed.stderr
    assert f"— {files - at_kill} passages embedded" in resumed.stderr  # nothing embedded twice
    assert check_consistent(home) == (files, files)
    assert vector_counts(home) == (files, files)
    table = lancedb.connect(home / "data" / "index").open_table(CHUNKS)
    assert table.search().select(["vector"]).limit(None).to_arrow().column("vector").null_count == 0
    status = json.loads(quarry(None, "status", "--json", env=env).stdout)
    assert status["with_vectors"] == status["passages"] == files and status["vectors_ready"] == 1


def test_the_window_shows_both_counts_and_resumes_the_backfill(qtbot, app_window, folder: Path):  # noqa: F811
    engine = app_window.engines.engine
    engine.indexer.run([folder], embed=False)  # as if the app had been closed mid-backfill
    passages = engine.store.passage_counts().passages
    app_window.indexing.refresh()
    qtbot.waitUntil(lambda: "(0 % ready)" in app_window.index_label.text(), timeout=10_000)
    assert f"{passages} passages: {passages} by keyword, 0 by meaning" in app_window.index_label.text()

    with qtbot.waitSignal(app_window.searching.first_stage, timeout=30_000):
        app_window.search_field.setText("marker0007")
        app_window.search_now()
    assert app_window.notice.text().startswith("meaning search: 0 % ready")
    assert Path(app_window.model.hits[0].path).name == "note-0007.md"

    # The window opens on an index with passages left to embed: it embeds them by itself.
    with qtbot.waitSignal(app_window.indexing.finished, timeout=INDEX_TIMEOUT) as finished:
        app_window.engines.load(app_window.preferences.engine_options)
    assert finished.args[0].chunks_embedded == passages
    qtbot.waitUntil(lambda: f"{passages} by meaning" in app_window.index_label.text(), timeout=10_000)
    assert "ready)" not in app_window.index_label.text()
