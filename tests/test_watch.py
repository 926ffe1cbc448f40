"""Watched folders: the index follows files created, changed, renamed and deleted in a
temp folder within seconds; a rename embeds nothing new; the watcher survives its folder
disappearing and coming back."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from indexer.ingest.pipeline import Indexer
from indexer.ingest.watch import FolderWatcher
from indexer.types import IndexReport

WAIT_S = 30.0


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def watched(tmp_path: Path, store, embedder):
    folder = tmp_path / "live"
    folder.mkdir()
    (folder / "first.md").write_text("# First\n\nThe lighthouse keeper logs the weather every morning.\n")
    indexer = Indexer(store, embedder)
    indexer.run([folder])
    reports: list[IndexReport] = []
    lock = threading.Lock()

    def reindex(roots: list[Path]) -> None:
        with lock:
            reports.append(indexer.run(roots))

    def settle() -> None:
        """Let pending changes fire, then wait for the run in progress to finish."""
        time.sleep(1.5)
        with lock:
            pass

    watcher = FolderWatcher([folder], reindex, debounce_s=0.5).start()
    watcher.ready.wait(10)
    yield folder, store, reports, settle
    watcher.stop()


def paths_in(store) -> set[str]:
    return {Path(d.path).name for d in store.all_documents().values() if d.ok}


def test_index_follows_create_modify_rename_delete(watched):
    folder, store, reports, settle = watched
    assert paths_in(store) == {"first.md"}

    (folder / "second.txt").write_text("Ferry timetables change in winter; the last boat leaves at six.\n")
    wait_for(lambda: "second.txt" in paths_in(store), "a new file")

    (folder / "second.txt").write_text("Ferry timetables change in summer; the last boat leaves at nine.\n")
    wait_for(lambda: any("nine" in c.text for c in store.text_search("boat", 5)), "a changed file")

    settle()
    embedded_before = sum(r.chunks_embedded for r in reports)
    (folder / "first.md").rename(folder / "renamed.md")
    wait_for(lambda: paths_in(store) == {"renamed.md", "second.txt"}, "a renamed file")
    wait_for(lambda: sum(r.chunks_reused for r in reports) >= 1, "the rename's run to report")
    assert sum(r.chunks_embedded for r in reports) == embedded_before  # nothing new embedded
    hits = store.text_search("lighthouse", 5)
    assert [Path(h.path).name for h in hits] == ["renamed.md"]

    (folder / "second.txt").unlink()
    wait_for(lambda: paths_in(store) == {"renamed.md"}, "a deleted file")
    assert store.chunks.count_rows() == sum(d.chunks for d in store.all_documents().values() if d.ok)


def test_watcher_survives_its_folder_going_away_and_coming_back(watched, tmp_path: Path):
    folder, store, _reports, _settle = watched
    parked = tmp_path / "unplugged"
    folder.rename(parked)
    time.sleep(3)  # the watcher notices; the documents stay (an unplugged drive comes back)
    assert paths_in(store) == {"first.md"}
    parked.rename(folder)
    time.sleep(3)
    (folder / "after.md").write_text("# After\n\nThe drive was plugged back in and this note appeared.\n")
    wait_for(lambda: "after.md" in paths_in(store), "a file in the returned folder")


def test_hidden_and_junk_folders_do_not_trigger_runs(watched):
    folder, _store, reports, _settle = watched
    hidden = folder / ".cache"
    hidden.mkdir()
    for i in range(5):
        (hidden / f"noise-{i}.txt").write_text("noise")
    shutil.rmtree(hidden)
    time.sleep(2)
    assert reports == []
