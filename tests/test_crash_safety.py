"""kill -9 at twenty random moments of an indexing run: after each, the store opens and
holds no half-written document, no orphan chunk and no duplicate; then a final run
finishes the job."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from indexer.store.lance import META_FILE, Store
from tests.conftest import ROOT

WORDS = (
    "harbour lantern granite orchard meadow copper willow thunder saddle compass ferry "
    "quarry lighthouse barley timber chalk basalt estuary cobble pewter"
).split()


def make_corpus(folder: Path, files: int = 36) -> None:
    rng = random.Random(11)
    folder.mkdir()
    for i in range(files):
        paragraphs = [" ".join(rng.choice(WORDS) for _ in range(90)) + "." for _ in range(6)]
        (folder / f"note-{i:02d}.md").write_text(f"# Note {i}\n\n" + "\n\n".join(paragraphs) + f"\n\nmarker{i:02d}\n")


def check_consistent(home: Path) -> tuple[int, int]:
    """Open the store as a reader would and check it; returns (documents ok, chunks)."""
    meta_file = home / "data" / "index" / META_FILE
    if not meta_file.exists():
        return 0, 0
    meta = json.loads(meta_file.read_text())
    store = Store(home / "data" / "index", int(meta["dimension"]), meta["fingerprint"])
    docs = {d.doc_id: d for d in store.all_documents().values()}
    rows = store.chunks.search().select(["chunk_id", "doc_id", "doc_hash"]).limit(None).to_arrow().to_pylist()
    paths = Counter(d.path for d in docs.values())
    assert not [p for p, n in paths.items() if n > 1], "duplicate documents"
    ids = Counter(r["chunk_id"] for r in rows)
    assert not [c for c, n in ids.items() if n > 1], "duplicate chunks"
    per_doc = Counter(r["doc_id"] for r in rows)
    for doc_id in per_doc:
        doc = docs.get(doc_id)
        assert doc is not None and doc.ok, f"chunks without their document: {doc_id}"
    for doc in docs.values():
        if doc.ok:
            assert per_doc.get(doc.doc_id, 0) == doc.chunks, f"{doc.path}: {per_doc.get(doc.doc_id, 0)} of {doc.chunks}"
            hashes = {r["doc_hash"] for r in rows if r["doc_id"] == doc.doc_id}
            assert hashes == {doc.content_hash}
    return sum(d.ok for d in docs.values()), len(rows)


def test_sigkill_at_twenty_random_points_leaves_a_consistent_store(tmp_path: Path):
    folder = tmp_path / "notes"
    make_corpus(folder)
    home = tmp_path / "home"
    env = {**os.environ, "QUARRY_HOME": str(home)}
    command = [sys.executable, "-m", "app.cli", "index", str(folder)]
    rng = random.Random(20)
    kills = 0
    for _ in range(20):
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.8, 6.0))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.wait()
        check_consistent(home)
        # Sometimes a file changes between runs, so a kill can land mid-update too.
        victim = folder / f"note-{rng.randrange(36):02d}.md"
        victim.write_text(victim.read_text() + f"\n\nedited {rng.random()}\n")
    assert kills >= 10, "the runs finished too fast to be killed; make the corpus bigger"
    final = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr[-2000:]
    documents, chunks = check_consistent(home)
    assert documents == 36 and chunks >= 36


def test_a_crash_between_the_chunk_and_document_writes_is_repaired_on_open(tmp_path: Path, embedder):
    """The window a random kill rarely hits, made on purpose: chunks written, their
    document row not. The next opener removes them before anyone reads."""
    import numpy as np

    from indexer.store.lance import DocumentRecord, _chunk_table
    from indexer.types import Chunk

    store = Store(tmp_path / "index", embedder.dimension, embedder.fingerprint)
    record = DocumentRecord("d1", "/x/half.md", "/x", 1, 1, "h1", "Half", 1, 1, "ok", "", 0.0)
    chunk = Chunk("half written", 1, 0, 12, 0, "Half")
    vectors = np.ones((1, embedder.dimension), dtype=np.float32)
    store.chunks.add(_chunk_table([record], {"d1": [chunk]}, {"d1": vectors}, embedder.dimension))
    assert store.chunks.count_rows() == 1 and not store.all_documents()  # the crash state
    reopened = Store(tmp_path / "index", embedder.dimension, embedder.fingerprint)
    assert reopened.chunks.count_rows() == 0


def test_repair_reads_chunks_in_batches_and_keeps_whole_documents(tmp_path: Path, embedder, monkeypatch):
    """The opener reads (document, version) pairs a batch at a time (a million passages as
    one list held ~330 MB): passages of a newer version than the document row, straddling
    batches, go with that document; a whole document's passages in the same batches stay."""
    import numpy as np

    from indexer.store import lance
    from indexer.store.lance import DocumentRecord, _chunk_table
    from indexer.types import Chunk

    monkeypatch.setattr(lance, "REPAIR_BATCH", 3)
    store = Store(tmp_path / "index", embedder.dimension, embedder.fingerprint)
    records = [DocumentRecord(d, f"/x/{d}.md", "/x", 1, 1, f"h-{d}", d, 1, 5, "ok", "", 0.0) for d in ("d0", "d1")]
    passages = {r.doc_id: [Chunk(f"{r.doc_id} passage {i}", 1, 0, 16, i, r.title) for i in range(5)] for r in records}
    vectors = {r.doc_id: np.ones((5, embedder.dimension), dtype=np.float32) for r in records}
    store.write(records, passages, vectors)
    # d1 edited: the run wrote its new passages and died before their document row.
    newer = DocumentRecord("d1", "/x/d1.md", "/x", 2, 2, "h-d1-new", "d1", 1, 4, "ok", "", 0.0)
    edited = [Chunk(f"d1 new passage {i}", 1, 0, 18, 10 + i, "d1") for i in range(4)]
    store.chunks.add(
        _chunk_table(
            [newer], {"d1": edited}, {"d1": np.ones((4, embedder.dimension), dtype=np.float32)}, embedder.dimension
        )
    )
    assert store.chunks.count_rows() == 14
    reopened = Store(tmp_path / "index", embedder.dimension, embedder.fingerprint)
    # d1 goes whole (its row and every passage), to be read again by the next run; d0 stays.
    assert [d.doc_id for d in reopened.all_documents().values()] == ["d0"]
    assert reopened.chunks.count_rows() == 5
