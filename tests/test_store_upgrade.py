"""An index written before chunks had a location (schema 1), an OCR mark (schema 2) or an
embedded flag (schema 3) opens, is upgraded in place, keeps its passages and vectors (nothing
is embedded again), and takes new documents with locations."""

from __future__ import annotations

import json
from pathlib import Path

import lancedb
import numpy as np
import pyarrow as pa

from indexer.ingest.pipeline import Indexer
from indexer.store.lance import CHUNKS, DOCUMENTS, META_FILE, SCHEMA_VERSION, Store, chunks_schema, documents_schema
from tests.conftest import SHARED


def old_index(
    folder: Path,
    dimension: int,
    fingerprint: str,
    version: int = 1,
    text: str = "The zephyrold passage written by an older Quarry.",
) -> None:
    folder.mkdir(parents=True)
    new = ("language", "search_text")
    later = {1: ("location", "ocr", "embedded"), 2: ("ocr", "embedded"), 3: ("embedded",), 4: ()}[version] + new
    schema = pa.schema([f for f in chunks_schema(dimension) if f.name not in later])
    db = lancedb.connect(folder)
    vector = np.zeros(dimension, dtype=np.float32)
    vector[0] = 1.0
    row = {
        "chunk_id": "d1-00000",
        "doc_id": "d1",
        "doc_hash": "h1",
        "path": "/old/notes.txt",
        "page": None,
        "ordinal": 0,
        "start": 0,
        "end": 40,
        "title": "notes",
        "text": text,
        "vector": vector.tolist(),
        **({"location": ""} if version >= 2 else {}),
        **({"ocr": False, "embedded": True} if version >= 4 else {}),
    }
    table = db.create_table(CHUNKS, data=pa.Table.from_pylist([row], schema=schema))
    if version >= 4:  # schema 4's full-text index, on the text itself
        from lancedb.index import FTS

        table.create_index("text", config=FTS())
    doc = {
        "doc_id": "d1",
        "path": "/old/notes.txt",
        "root": "/old",
        "size": 40,
        "mtime_ns": 1,
        "content_hash": "h1",
        "title": "notes",
        "pages": 1,
        "chunks": 1,
        "status": "ok",
        "reason": "",
        "indexed_at": 0.0,
    }
    db.create_table(DOCUMENTS, data=pa.Table.from_pylist([doc], schema=documents_schema()))
    meta = {"schema": version, "fingerprint": fingerprint, "dimension": dimension, "roots": ["/old"]}
    (folder / META_FILE).write_text(json.dumps(meta))


def test_a_schema_1_index_is_upgraded_and_keeps_its_vectors(tmp_path: Path, embedder):
    folder = tmp_path / "index"
    old_index(folder, embedder.dimension, embedder.fingerprint)
    store = Store(folder, embedder.dimension, embedder.fingerprint)
    assert {"location", "ocr", "embedded"} <= set(store.chunks.schema.names)
    assert json.loads((folder / META_FILE).read_text())["schema"] == SCHEMA_VERSION
    store.ensure_text_index()
    (old,) = store.text_search("zephyrold", 3)
    assert old.location == "" and not old.ocr and old.vector is not None and old.vector[0] == 1.0
    docs = tmp_path / "docs"
    docs.mkdir()
    labelled = SHARED / "data" / "fidelity" / "B07" / "roman_front_matter.pdf"
    (docs / "book.pdf").write_bytes(labelled.read_bytes())
    Indexer(store, embedder).run([docs])
    (hit,) = [c for c in store.text_search("tide gauge harbour", 5) if c.page == 6]
    assert hit.location == "p. 2 (6 of 12)"
    assert Store(folder, embedder.dimension, embedder.fingerprint).text_search("zephyrold", 3)


def test_a_schema_2_index_keeps_its_vectors_and_embeds_nothing_again(tmp_path: Path, embedder):
    folder = tmp_path / "index"
    old_index(folder, embedder.dimension, embedder.fingerprint, version=2)
    store = Store(folder, embedder.dimension, embedder.fingerprint)
    assert store.chunks.schema.names[-3:] == ["embedded", "language", "search_text"]
    assert json.loads((folder / META_FILE).read_text())["schema"] == SCHEMA_VERSION
    counts = store.passage_counts()
    assert (counts.passages, counts.vectors, counts.vectors_ready) == (1, 1, 1.0)
    query = np.zeros(embedder.dimension, dtype=np.float32)
    query[0] = 1.0
    (old,) = store.vector_search(query, 5)
    assert old.chunk_id == "d1-00000" and abs(old.score - 1.0) < 1e-6
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "new.md").write_text("# New\n\nA passage written after the upgrade, about tide gauges.\n")
    report = Indexer(store, embedder).run([docs])
    assert report.chunks_embedded == 1  # the new passage only; the old one kept its vector
    assert store.passage_counts().vectors == 2


def test_a_schema_4_index_gains_search_text_and_finds_an_inflected_word(tmp_path: Path, embedder):
    folder = tmp_path / "index"
    text = "In der Altstadt stehen viele alte Häuser aus dem Mittelalter, sorgfältig restauriert."
    old_index(folder, embedder.dimension, embedder.fingerprint, version=4, text=text)
    store = Store(folder, embedder.dimension, embedder.fingerprint)
    (row,) = store.chunks.to_arrow().select(["language", "search_text", "vector"]).to_pylist()
    assert row["language"] == "de" and "haus" in row["search_text"].split() and row["vector"][0] == 1.0
    assert [i.columns for i in store.chunks.list_indices() if i.index_type == "FTS"] == [["search_text"]]
    (old,) = store.text_search("Haus", 3)
    assert old.text == text
    assert json.loads((folder / META_FILE).read_text())["languages"] == ["de"]
