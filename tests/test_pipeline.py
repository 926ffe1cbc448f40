"""Incremental indexing on a real store: exactly the right documents change."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from indexer.cancel import CancelToken
from indexer.ingest.pipeline import Indexer
from indexer.types import Progress
from tests.conftest import GOLDEN, PDFS


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    shutil.copytree(GOLDEN, root)
    shutil.copy(PDFS / "The-Man-Without-A-Body.pdf", root / "man.pdf")
    return root


def test_incremental_runs(folder: Path, store, embedder):
    indexer = Indexer(store, embedder)
    first = indexer.run([folder])
    assert len(first.added) == 5 and not first.skipped
    chunks_after_first = store.chunks.count_rows()
    assert chunks_after_first == first.chunks_embedded > 5

    second = indexer.run([folder])
    assert second.chunks_embedded == 0
    assert (second.unchanged, second.added, second.updated, second.removed) == (5, [], [], [])

    (folder / "sourdough.txt").write_text("Rye bread needs a longer proof than wheat bread.\n" * 5)
    (folder / "insurance-claim.md").unlink()
    (folder / "new-note.md").write_text("# Garden\n\nPlant garlic cloves in October, pointed end up.\n")
    touched = folder / "boiler-maintenance.md"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))

    third = indexer.run([folder])
    assert [p.name for p in third.added] == ["new-note.md"]
    assert [p.name for p in third.updated] == ["sourdough.txt"]
    assert [p.name for p in third.removed] == ["insurance-claim.md"]
    assert third.unchanged == 3  # the touched boiler file was hashed and found unchanged
    assert third.chunks_embedded == 2

    docs = store.all_documents()
    assert str(folder / "insurance-claim.md") not in docs
    assert store.chunks.count_rows("path LIKE '%insurance-claim.md'") == 0
    bread = store.chunks.search().where("path LIKE '%sourdough.txt'").select(["text"]).to_arrow()
    assert bread.num_rows == 1 and "Rye bread" in bread.column("text")[0].as_py()

    fourth = indexer.run([folder])
    assert fourth.chunks_embedded == 0 and fourth.unchanged == 5


def test_bad_files_are_skipped_with_reasons(folder: Path, store, embedder):
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really\n%%EOF")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(os.urandom(4096))
    report = Indexer(store, embedder).run([folder])
    reasons = {s.path.name: s.reason for s in report.skipped}
    assert set(reasons) == {"broken.pdf", "empty.txt", "binary.txt"}
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert reasons["broken.pdf"]
    assert len(report.added) == 5
    skipped_rows = [d for d in store.all_documents().values() if not d.ok]
    assert {Path(d.path).name for d in skipped_rows} == set(reasons)
    # An unchanged broken file is not retried on the next run.
    again = Indexer(store, embedder).run([folder])
    assert not again.skipped and again.unchanged == 8


def test_progress_and_cancel(folder: Path, store, embedder):
    seen: list[Progress] = []
    cancel = CancelToken()

    def progress(p: Progress) -> None:
        seen.append(p)
        if p.stage == "indexing" and p.done == 2:
            cancel.cancel()

    report = Indexer(store, embedder).run([folder], cancel, progress)
    assert report.cancelled
    assert seen[0].stage == "scanning" and seen[-1].stage == "done"
    indexing = [p.done for p in seen if p.stage == "indexing"]
    assert indexing == sorted(indexing)
    # What finished before the cancel is stored whole; the next run does the rest.
    done_docs = {d.path for d in store.all_documents().values()}
    assert len(done_docs) == 2
    for path in done_docs:
        assert store.chunks.count_rows(f"path = '{path}'") > 0
    resumed = Indexer(store, embedder).run([folder])
    assert len(resumed.added) == 3 and resumed.unchanged == 2


def test_embedding_model_change_rebuilds(tmp_path: Path, embedder):
    from indexer.errors import StoreMismatch
    from indexer.store.lance import Store

    Store(tmp_path / "idx", embedder.dimension, embedder.fingerprint)
    with pytest.raises(StoreMismatch):
        Store(tmp_path / "idx", embedder.dimension, "other-model|1|384|1|c1")
    rebuilt = Store(tmp_path / "idx", embedder.dimension, "other-model|1|384|1|c1", reset_on_mismatch=True)
    assert rebuilt.meta["fingerprint"].startswith("other-model")


def test_full_text_index_sees_rows_added_by_later_runs(folder: Path, store, embedder):
    """LanceDB's trap: rows added after the FTS index was built must still be found."""
    indexer = Indexer(store, embedder)
    indexer.run([folder])
    assert any(i.index_type == "FTS" for i in store.chunks.list_indices())
    assert not store.text_search("zyxwvut", 5)
    (folder / "later.md").write_text("# Later\n\nThe zyxwvut protocol was added after the first run.\n")
    indexer.run([folder])
    found = store.text_search("zyxwvut", 5)
    assert [Path(c.path).name for c in found] == ["later.md"]

def test_a_changed_file_is_hashed_once(folder: Path, store, embedder, monkeypatch):
    from indexer.ingest import pipeline

    Indexer(store, embedder).run([folder])
    hashed: list[str] = []
    real_hash = pipeline.file_hash

    def counting_hash(path: Path) -> str:
        hashed.append(path.name)
        return real_hash(path)

    monkeypatch.setattr(pipeline, "file_hash", counting_hash)
    (folder / "sourdough.txt").write_text("Rye bread needs a longer proof than wheat bread.\n")
    (folder / "new-note.md").write_text("# Garden\n\nPlant garlic cloves in October.\n")
    report = Indexer(store, embedder).run([folder])
    assert sorted(p.name for p in [*report.added, *report.updated]) == ["new-note.md", "sourdough.txt"]
    # The changed file is hashed while planning (is it really changed?) and not again; the
    # new one only when it is indexed.
    assert sorted(hashed) == ["new-note.md", "sourdough.txt"]
    stored = store.all_documents()[str(folder / "sourdough.txt")]
    assert stored.content_hash == real_hash(folder / "sourdough.txt")
