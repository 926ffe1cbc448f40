"""Writes find their rows through the B-tree index on chunk_id (Store.ensure_id_index), and
rows written after the index was built, outside it, are found all the same: a document
written again is replaced whole whichever fragment its old passages sit in, and the backfill
fills vectors on both sides without inserting a row."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.store.lance import DocumentRecord, Store, doc_id_for
from indexer.types import Chunk

DIMENSION = 8


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "index", DIMENSION, "test-embedder")


def version(path: str, content_hash: str, passages: int, embedded: bool = True):
    """One document's row, passages and vectors (None: stored for the backfill to embed)."""
    doc_id = doc_id_for(path)
    record = DocumentRecord(doc_id, path, "/docs", 1, 1, content_hash, path, 1, passages, "ok", "", 0.0)
    chunks = [Chunk(f"{content_hash} passage {i}", 1, 0, 20, i, path) for i in range(passages)]
    vectors = np.random.default_rng(passages).standard_normal((passages, DIMENSION)).astype(np.float32)
    return record, chunks, vectors if embedded else None


def write(store: Store, *versions) -> None:
    store.write(
        [r for r, _, _ in versions],
        {r.doc_id: c for r, c, _ in versions},
        {r.doc_id: v for r, _, v in versions if v is not None},
    )


def rows_of(store: Store, path: str) -> list[tuple[int, str]]:
    """(ordinal, doc_hash) of every stored passage of the document, sorted; duplicates kept."""
    table = store.chunks.search().where(f"doc_id = '{doc_id_for(path)}'").limit(None).to_arrow()
    return sorted(zip(table.column("ordinal").to_pylist(), table.column("doc_hash").to_pylist(), strict=True))


def test_a_document_written_again_is_replaced_whole_inside_and_outside_the_id_index(store: Store):
    write(store, version("/docs/a.txt", "a1", 5), version("/docs/b.txt", "b1", 4))
    store.optimize()
    assert any(index.columns == ["chunk_id"] for index in store.chunks.list_indices())
    # Longer: ordinals 0-4 are in the index, 5-6 new, in a fragment it does not cover.
    write(store, version("/docs/a.txt", "a2", 7))
    assert rows_of(store, "/docs/a.txt") == [(i, "a2") for i in range(7)]
    # Shorter: the rows it replaces are on both sides of the index; 2-6 must go.
    write(store, version("/docs/a.txt", "a3", 2))
    assert rows_of(store, "/docs/a.txt") == [(0, "a3"), (1, "a3")]
    # No passages left at all.
    write(store, version("/docs/a.txt", "a4", 0))
    assert rows_of(store, "/docs/a.txt") == []
    assert rows_of(store, "/docs/b.txt") == [(i, "b1") for i in range(4)]  # the other document untouched
    assert store.chunks.count_rows() == 4


def test_the_backfill_fills_rows_inside_and_outside_the_id_index_and_never_inserts(store: Store):
    write(store, version("/docs/a.txt", "a1", 3, embedded=False))
    store.optimize()  # a's rows in the index
    write(store, version("/docs/b.txt", "b1", 4, embedded=False))  # b's outside it
    missing = store.missing_vectors(100)
    assert len(missing) == 7
    vectors = np.random.default_rng(7).standard_normal((7, DIMENSION)).astype(np.float32)
    assert store.fill_vectors(missing, vectors) == 7
    assert store.chunks.count_rows() == 7 and store.chunks.count_rows("embedded") == 7
    stored = store.chunks.search().limit(None).to_arrow()
    by_id = dict(zip(stored.column("chunk_id").to_pylist(), stored.column("vector").to_pylist(), strict=True))
    for chunk, vector in zip(missing, vectors, strict=True):
        assert np.allclose(by_id[chunk.chunk_id], vector)
    assert stored.column("text").to_pylist().count("b1 passage 2") == 1  # whole rows, text kept


def test_the_backfill_leaves_a_document_changed_meanwhile(store: Store):
    write(store, version("/docs/a.txt", "a1", 3, embedded=False))
    store.optimize()
    missing = store.missing_vectors(100)
    write(store, version("/docs/a.txt", "a2", 2, embedded=False))  # edited while its vectors were made
    vectors = np.ones((3, DIMENSION), dtype=np.float32)
    assert store.fill_vectors(missing, vectors) == 0
    assert rows_of(store, "/docs/a.txt") == [(0, "a2"), (1, "a2")]
    assert store.chunks.count_rows("embedded") == 0


def test_every_store_caches_in_one_bounded_lancedb_session(tmp_path):
    """LanceDB's own caches default to 6 GB of indexes and 1 GB of metadata per process; the
    stores share one session bounded by INDEX_CACHE_BYTES and METADATA_CACHE_BYTES."""
    from indexer.constants import INDEX_CACHE_BYTES, METADATA_CACHE_BYTES
    from indexer.store import lance

    session = lance._session()
    before = session.approx_num_items
    first = Store(tmp_path / "one", DIMENSION, "test-embedder")
    write(first, version("/docs/a.txt", "a1", 6))
    first.optimize()
    second = Store(tmp_path / "two", DIMENSION, "test-embedder")
    write(second, version("/docs/b.txt", "b1", 3))
    assert first.text_search("passage", 5) and second.chunks.count_rows() == 3
    assert session.approx_num_items > before  # their indexes and metadata were cached there
    assert 0 < session.size_bytes <= INDEX_CACHE_BYTES + METADATA_CACHE_BYTES
