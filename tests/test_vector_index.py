"""The approximate (ANN) vector index: Store.optimize builds it once enough passages have
vectors (ANN_MIN_PASSAGES, small here so the tests stay quick), trains it again when the
collection has doubled, and vector search through it still finds the nearest passages."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from indexer.ingest.pipeline import Indexer
from indexer.store import lance
from indexer.store.lance import META_FILE, DocumentRecord, Store, doc_id_for
from indexer.types import Chunk
from tests.conftest import GOLDEN

DIMENSION = 384
PER_DOC = 50


def clustered(count: int, seed: int) -> np.ndarray:
    """Unit vectors around 20 topics, as passages about a few subjects are."""
    rng = np.random.default_rng(seed)
    topics = np.random.default_rng(0).standard_normal((20, DIMENSION))
    vectors = topics[rng.integers(0, 20, count)] + 0.6 * rng.standard_normal((count, DIMENSION))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def write_documents(store: Store, first: int, docs: int, embedded: bool = True, seed: int = 1) -> np.ndarray:
    """Documents ``first`` .. ``first + docs`` of 50 passages each; returns their vectors."""
    vectors = clustered(docs * PER_DOC, seed + first)
    records, chunks, by_doc = [], {}, {}
    for n in range(docs):
        path = f"/docs/{first + n}.txt"
        record = DocumentRecord(
            doc_id_for(path), path, "/docs", 1, 1, hashlib.sha1(path.encode()).hexdigest(), path, 1, PER_DOC,
            "ok", "", 0.0,
        )  # fmt: skip
        records.append(record)
        chunks[record.doc_id] = [Chunk(f"passage {k} of {path}", 1, 0, 9, k, path) for k in range(PER_DOC)]
        if embedded:
            by_doc[record.doc_id] = vectors[n * PER_DOC : (n + 1) * PER_DOC]
    store.write(records, chunks, by_doc)
    return vectors


@pytest.fixture
def small_store(tmp_path: Path) -> Store:
    return Store(tmp_path / "index", DIMENSION, "test|ann")


def test_optimize_builds_the_index_at_the_threshold_and_search_through_it_finds_neighbours(small_store: Store):
    vectors = write_documents(small_store, 0, 12)
    small_store.optimize(ann_min_passages=601)
    assert small_store.vector_index() is None
    small_store.optimize(ann_min_passages=600)
    assert small_store.vector_index() is not None
    assert json.loads((small_store.folder / META_FILE).read_text())["vector_index_rows"] == 600
    recalls = []
    for k in range(0, 600, 60):
        exact = [c.chunk_id for c in small_store.vector_search(vectors[k], 10, exact=True)]
        approximate = small_store.vector_search(vectors[k], 10)
        assert approximate[0].chunk_id == exact[0] and approximate[0].score == pytest.approx(1.0, abs=1e-3)
        recalls.append(len(set(exact) & {c.chunk_id for c in approximate}) / 10)
    assert np.mean(recalls) >= 0.9


def test_passages_without_vectors_do_not_count_until_the_backfill_writes_them(small_store: Store):
    write_documents(small_store, 0, 6)
    write_documents(small_store, 6, 6, embedded=False)
    small_store.optimize(ann_min_passages=400)
    assert small_store.vector_index() is None  # 600 passages, 300 with vectors
    missing = small_store.missing_vectors(1000)
    assert len(missing) == 300
    assert small_store.fill_vectors(missing, clustered(300, 9)) == 300
    small_store.optimize(ann_min_passages=400)
    assert small_store.vector_index() is not None
    hits = small_store.vector_search(clustered(1, 5)[0], 20)
    assert len(hits) == 20 and all(h.score is not None for h in hits)


def test_the_index_is_trained_again_once_the_collection_has_doubled(small_store: Store):
    write_documents(small_store, 0, 6)
    assert small_store.ensure_vector_index(300)
    write_documents(small_store, 6, 6)  # 600: not past twice 300
    assert not small_store.ensure_vector_index(300)
    write_documents(small_store, 12, 1)  # 650
    assert small_store.ensure_vector_index(300)
    assert small_store.meta["vector_index_rows"] == 650


def test_an_index_run_past_the_threshold_ends_with_an_ann_index(store: Store, embedder, monkeypatch):
    monkeypatch.setattr(lance, "ANN_MIN_PASSAGES", 4)
    Indexer(store, embedder).run([GOLDEN])
    assert store.vector_index() is not None
    (best, *_) = store.vector_search(embedder.embed_query("how long should rye dough proof"), 3)
    assert best.path.endswith("sourdough.txt")


def fragments(store: Store) -> int:
    return int(store.chunks.stats()["fragment_stats"]["num_fragments"])


@pytest.mark.parametrize("max_segments", [2, 1000])
def test_small_index_runs_leave_a_bounded_number_of_fragments(small_store: Store, monkeypatch, max_segments: int):
    monkeypatch.setattr(lance, "ANN_MAX_SEGMENTS", max_segments)
    first = write_documents(small_store, 0, 8)
    small_store.optimize(ann_min_passages=300)
    counts = []
    for run in range(8):  # eight index runs, one new document each, each ending in optimize
        write_documents(small_store, 8 + run, 1)
        small_store.optimize(ann_min_passages=300)
        counts.append(fragments(small_store))
    if max_segments == 2:
        assert max(counts) <= 4 and small_store._vector_index().num_segments <= 3
        nearest = small_store.vector_search(first[0], 1)  # still found through the rebuilt index
        assert nearest[0].score == pytest.approx(1.0, abs=1e-3)
    else:  # without rebuilds LanceDB never merges them: one more fragment every run
        assert counts == sorted(counts) and counts[-1] >= counts[0] + 7
