"""A passage's id holds its document's id and its ordinal: one pair of functions makes and
reads it (indexer.types.chunk_id_for / ordinal_of), and nothing else formats or parses it."""

from __future__ import annotations

import re
import time

import pytest

from indexer.store.lance import DocumentRecord, doc_id_for
from indexer.types import Chunk, Hit, chunk_id_for, ordinal_of
from tests.conftest import ROOT


@pytest.mark.parametrize("ordinal", [0, 7, 99_999, 123_456])
def test_the_ordinal_comes_back(ordinal):
    doc_id = doc_id_for("/home/ann/notes/a-b-c.txt")
    chunk_id = chunk_id_for(doc_id, ordinal)
    assert chunk_id.startswith(f"{doc_id}-") and ordinal_of(chunk_id) == ordinal
    hit = Hit(1, 0.5, "/a.txt", None, "", "", "", chunk_id, doc_id, 1, 0.5)
    assert hit.ordinal == ordinal


def test_ids_keep_their_stored_form_and_bad_ones_are_refused():
    assert chunk_id_for("d1", 3) == "d1-00003"  # the form existing indexes hold
    assert ordinal_of("d1-00000") == 0
    for bad in ("d1", "d1-", "-00003", "d1-x3"):
        with pytest.raises(ValueError, match="not a passage id"):
            ordinal_of(bad)


def test_the_store_writes_the_ids_the_pair_reads(store):
    path = "/docs/tide-tables.txt"
    doc_id = doc_id_for(path)
    texts = ["High water at dawn.", "Low water at noon.", "Spring tides in March."]
    chunks = [Chunk(t, None, 0, len(t), n, "Tide tables") for n, t in enumerate(texts)]
    record = DocumentRecord(doc_id, path, "/docs", 60, 0, "h", "Tide tables", 1, 3, "ok", "", time.time())
    store.write([record], {doc_id: chunks}, {})
    stored = store.chunks_of(doc_id, range(3))
    assert [c.chunk_id for c in stored] == [chunk_id_for(doc_id, n) for n in range(3)]
    assert [ordinal_of(c.chunk_id) for c in stored] == [c.ordinal for c in stored] == [0, 1, 2]


def test_no_other_module_formats_or_parses_a_passage_id():
    wrong = []
    for folder in ("app", "indexer", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "indexer" / "types.py":
                continue
            source = path.read_text(encoding="utf-8")
            if re.search(r"chunk_id\.(r?split|r?partition)\(|chunk_id\[|ordinal:05d", source):
                wrong.append(str(path.relative_to(ROOT)))
    assert not wrong
    for gui in ("app/services.py", "app/widgets/main_window.py"):
        assert "hit.ordinal" in (ROOT / gui).read_text(encoding="utf-8"), gui
