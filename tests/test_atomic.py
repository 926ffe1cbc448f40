"""Atomic JSON writes shared by settings, the index metadata, the model-header cache and the
CPU-variant verdicts; an index from a newer Quarry is refused, not misread."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest

from indexer.atomic import write_text_atomic
from indexer.errors import StoreMismatch
from indexer.store.lance import SCHEMA_VERSION, Store


def test_writers_at_once_leave_one_whole_file_and_no_temporary_files(tmp_path: Path):
    target = tmp_path / "index.json"
    payloads = [json.dumps({"writer": n, "pad": "x" * 200_000}) for n in range(8)]

    def write(text: str) -> None:
        for _ in range(20):
            write_text_atomic(target, text)

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert target.read_text("utf-8") in payloads
    assert [p.name for p in tmp_path.iterdir()] == ["index.json"]


def test_a_secret_file_is_private(tmp_path: Path):
    target = tmp_path / "settings.json"
    write_text_atomic(target, "{}", mode=0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_an_index_from_a_newer_quarry_is_refused(tmp_path: Path):
    folder = tmp_path / "index"
    Store(folder, 8, "fp")
    meta = json.loads((folder / "index.json").read_text("utf-8"))
    meta["schema"] = SCHEMA_VERSION + 1
    (folder / "index.json").write_text(json.dumps(meta), "utf-8")
    with pytest.raises(StoreMismatch, match="newer Quarry"):
        Store(folder, 8, "fp")
