"""A team index in object storage, against a real S3 server (SeaweedFS on 127.0.0.1 free
ports, tests/s3_server.py): index from one basedir and search from another, readers while a
writer adds, changes and deletes, a writer killed at random moments, a second writer refused,
a server that ignores If-None-Match refused, and no credential in any log, setting or message."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import GOLDEN, ROOT, quarry
from tests.s3_server import SECRET_KEY, HeaderDroppingProxy, start_seaweedfs

BUCKET = "team"
LEASE_S = "3"


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory):
    server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"), BUCKET)
    yield server
    server.stop()


@pytest.fixture
def s3_env(s3, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of a team member: the server's credentials in the AWS variables."""
    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("QUARRY_LEASE_SECONDS", LEASE_S)
    return {**os.environ, "QUARRY_MODEL_DIRS": os.environ["QUARRY_MODEL_DIRS"]}


def _prefix(request: pytest.FixtureRequest) -> str:
    return f"s3://{BUCKET}/{request.node.name[:40]}-{random.randrange(10**9)}"


def _location(uri: str, local: Path):
    from indexer.store.location import Location

    return Location.of(uri, local)


def _no_secret_in(*folders: Path, texts: tuple[str, ...] = ()) -> None:
    for text in texts:
        assert SECRET_KEY not in text
    for folder in folders:
        for file in folder.rglob("*"):
            if file.is_file() and file.stat().st_size < 50_000_000:
                assert SECRET_KEY.encode() not in file.read_bytes(), file


def _doc(path: str, text_parts: list[str]):
    from indexer.store.lance import DocumentRecord, doc_id_for
    from indexer.types import Chunk

    doc_id = doc_id_for(path)
    digest = str(abs(hash(tuple(text_parts))))
    record = DocumentRecord(doc_id, path, "/team", 1, 1, digest, "t", 1, len(text_parts), "ok", "", time.time())
    chunks = [Chunk(text, 1, 0, len(text), i, "t") for i, text in enumerate(text_parts)]
    return record, chunks


def test_index_into_s3_and_search_from_another_basedir(s3_env, tmp_path, request):
    url = _prefix(request)
    writer_home, reader_home = tmp_path / "alice", tmp_path / "bob"
    indexed = quarry(writer_home, "--index", url, "index", str(GOLDEN), env=s3_env)
    assert indexed.returncode == 0, indexed.stderr
    found = quarry(reader_home, "--index", url, "search", "--json", "--no-rerank", "boiler pressure", env=s3_env)
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)["hits"]
    assert hits and Path(hits[0]["path"]).name == "boiler-maintenance.md"
    assert "page" in hits[0]
    # The reader's basedir holds no index: the tables and index.json are in the bucket.
    assert not (reader_home / "data" / "index").exists()
    location = _location(url, tmp_path / "local")
    names = location.list_names("chunks.lance/_versions/")
    assert names and all(len(Path(n).stem) == 20 for n in names), names  # V2 manifest paths
    assert location.read("index.json") is not None
    assert location.read("_quarry/writer.lease") is None  # released at the end of the run
    status = quarry(reader_home, "--index", url, "status", "--json", env=s3_env)
    assert json.loads(status.stdout)["documents"] == 4, status.stderr
    # QUARRY_INDEX works as --index does.
    again = quarry(reader_home, "search", "--json", "--no-rerank", "sourdough", env={**s3_env, "QUARRY_INDEX": url})
    assert Path(json.loads(again.stdout)["hits"][0]["path"]).name == "sourdough.txt"
    _no_secret_in(writer_home, reader_home, texts=(indexed.stderr, found.stderr, found.stdout, status.stdout))


def test_new_shared_tables_mark_the_passage_id_as_primary_key(s3_env, tmp_path, request, embedder):
    from indexer.store.lance import Store

    store = Store(
        tmp_path / "l", embedder.dimension, embedder.fingerprint, location=_location(_prefix(request), tmp_path / "l")
    )
    try:
        meta = store.chunks.schema.field("chunk_id").metadata
        assert meta[b"lance-schema:unenforced-primary-key"] == b"true"
        assert store.keep_versions.days >= 7
    finally:
        store.close()


def test_a_second_writer_is_refused_and_writes_nothing(s3_env, tmp_path, request, embedder):
    from indexer.store.lance import Store

    url = _prefix(request)
    first = Store(tmp_path / "a", embedder.dimension, embedder.fingerprint, location=_location(url, tmp_path / "a"))
    try:
        refused = quarry(tmp_path / "bob", "--index", url, "index", str(GOLDEN), env=s3_env)
        assert refused.returncode == 1
        assert "is being written by" in refused.stderr and "lease ends at" in refused.stderr
        assert "nothing was written" in refused.stderr
        assert first.documents.count_rows() == 0 and first.chunks.count_rows() == 0
        _no_secret_in(tmp_path / "bob", texts=(refused.stderr,))
    finally:
        first.close()


def test_a_reader_never_writes(s3_env, tmp_path, request, embedder):
    from indexer.errors import QuarryError
    from indexer.store.lance import Store

    url = _prefix(request)
    writer = Store(tmp_path / "w", embedder.dimension, embedder.fingerprint, location=_location(url, tmp_path / "w"))
    writer.close()
    reader = Store(
        tmp_path / "r", embedder.dimension, embedder.fingerprint, location=_location(url, tmp_path / "r"), writer=False
    )
    record, chunks = _doc("/team/a.txt", ["alpha"])
    for attempt in (lambda: reader.write([record], {record.doc_id: chunks}, {}), reader.optimize, reader.repair):
        with pytest.raises(QuarryError, match="reading only"):
            attempt()


def test_a_server_that_ignores_if_none_match_is_refused(tmp_path, monkeypatch, embedder):
    from indexer.store.lance import Store
    from indexer.store.location import SharedStoreError

    server = start_seaweedfs(tmp_path / "open-server", BUCKET, credentials=False)
    try:
        with HeaderDroppingProxy(server.port) as proxy:
            for key, value in server.env(proxy.endpoint).items():
                monkeypatch.setenv(key, value)
            location = _location(f"s3://{BUCKET}/ignored", tmp_path / "l")
            with pytest.raises(SharedStoreError, match="ignores conditional PUT") as refused:
                Store(tmp_path / "l", embedder.dimension, embedder.fingerprint, location=location)
            assert proxy.dropped >= 2
            assert SECRET_KEY not in str(refused.value)
            assert location.list_names("chunks.lance") == []  # nothing was committed
            # The same server without the proxy enforces it and is accepted.
            monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
            direct = _location(f"s3://{BUCKET}/direct", tmp_path / "d")
            Store(tmp_path / "d", embedder.dimension, embedder.fingerprint, location=direct).close()
    finally:
        server.stop()


def test_credentials_never_reach_a_message(s3_env, tmp_path, monkeypatch, embedder):
    from indexer.store.lance import Store
    from indexer.store.location import SharedStoreError

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "wrong-key")  # refused by the server: an error message
    with pytest.raises(SharedStoreError) as failed:
        Store(tmp_path / "l", embedder.dimension, embedder.fingerprint, location=_location("s3://team/x", tmp_path))
    assert SECRET_KEY not in str(failed.value) and "wrong-key" not in str(failed.value)
    with pytest.raises(SharedStoreError, match="credentials"):
        _location(f"s3://key:{SECRET_KEY}@team/x", tmp_path)


def test_two_readers_see_the_writer_add_change_and_delete(s3_env, tmp_path, request, embedder):
    from indexer.store.lance import Store

    url = _prefix(request)
    dim = embedder.dimension
    writer = Store(tmp_path / "w", dim, embedder.fingerprint, location=_location(url, tmp_path / "w"))
    try:
        readers = [
            Store(
                tmp_path / f"r{i}", dim, embedder.fingerprint, location=_location(url, tmp_path / f"r{i}"), writer=False
            )
            for i in range(2)
        ]
        seen: list[list[frozenset[str]]] = [[], []]
        errors: list[BaseException] = []
        stop = threading.Event()

        def read(i: int) -> None:
            try:
                while not stop.is_set():
                    texts = frozenset(c.text for c in readers[i].text_search("quokka", 20))
                    if not seen[i] or seen[i][-1] != texts:
                        seen[i].append(texts)
                    time.sleep(0.05)
            except Exception as exc:  # noqa: BLE001 - the test reports it below
                errors.append(exc)

        threads = [threading.Thread(target=read, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        states = [
            frozenset({"quokka one", "quokka two"}),
            frozenset({"quokka changed"}),
            frozenset(),
        ]
        record, chunks = _doc("/team/q.txt", ["quokka one", "quokka two"])
        vectors = {record.doc_id: np.ones((2, dim), dtype=np.float32) / np.sqrt(dim)}
        writer.write([record], {record.doc_id: chunks}, vectors)
        writer.ensure_text_index()
        _wait_all_saw(seen, states[0])
        record, chunks = _doc("/team/q.txt", ["quokka changed"])
        writer.write([record], {record.doc_id: chunks}, {record.doc_id: vectors[record.doc_id][:1]})
        _wait_all_saw(seen, states[1])
        writer.delete_documents([record.doc_id])
        _wait_all_saw(seen, states[2])
        stop.set()
        for thread in threads:
            thread.join()
        assert not errors, errors
        for history in seen:
            # Every state a reader saw was one the writer committed: never half a change.
            assert set(history) <= {*states}, history
    finally:
        writer.close()


def _wait_all_saw(seen: list[list[frozenset[str]]], state: frozenset[str], bound_s: float = 60) -> None:
    """Poll until each reader's latest view is ``state`` (a bound, not a speed target)."""
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        if all(history and history[-1] == state for history in seen):
            return
        time.sleep(0.05)
    raise AssertionError(f"readers never saw {set(state)}: {seen}")


KILLS = int(os.environ.get("QUARRY_TEST_KILLS", "10"))


@pytest.mark.slow
def test_a_writer_killed_at_random_moments_loses_and_doubles_nothing(s3_env, tmp_path, request):
    url = _prefix(request)
    docs = tmp_path / "docs"
    docs.mkdir()
    words = "granite basalt marble quartz slate shale gneiss schist".split()
    for i in range(24):
        body = "\n\n".join(f"Paragraph {p} of note {i}: " + " ".join(random.choices(words, k=60)) for p in range(6))
        (docs / f"note-{i:02d}.txt").write_text(body)
    home = tmp_path / "writer"
    command = [sys.executable, "-m", "app.cli", "--basedir", str(home), "--index", url, "index", str(docs)]
    rng = random.Random(33)
    killed = 0
    # A writer started just after a kill may find the dead writer's lease and leave at once,
    # or finish before its moment comes: such runs are not counted, the loop starts another.
    for attempt in range(4 * KILLS):
        if killed == KILLS:
            break
        # The documents change between runs too: all of them each time, so every run has its
        # 144 passages to embed and write (with one changed note a run could end before its
        # kill moment on a fast CPU: session 12's Zen 5 embeds ~50 passages/s).
        for i in range(24):
            body = "\n\n".join(f"Rewritten {attempt}, part {p}: " + " ".join(rng.choices(words, k=60)) for p in range(6))
            (docs / f"note-{i:02d}.txt").write_text(body)
        process = subprocess.Popen(command, cwd=ROOT, env=s3_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 5.0))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait(60)
    assert killed >= KILLS // 2, f"only {killed} of {KILLS} writers were still running when killed"
    # A writer started at once may find the dead writer's lease; it is refused until it expires.
    deadline = time.monotonic() + 120
    while True:
        final = quarry(home, "--index", url, "index", str(docs), env=s3_env)
        if final.returncode == 0:
            break
        assert "is being written by" in final.stderr, final.stderr
        assert time.monotonic() < deadline, "the dead writer's lease never expired"
        time.sleep(1)
    status = quarry(tmp_path / "reader", "--index", url, "status", "--json", env=s3_env)
    counts = json.loads(status.stdout)
    assert counts["documents"] == 24 and counts["passages"] == counts["chunks"] == counts["with_vectors"]
    _check_every_passage_once(url, tmp_path, docs)


def _check_every_passage_once(url: str, tmp_path: Path, docs: Path) -> None:
    import lancedb

    location = _location(url, tmp_path / "check")
    db = lancedb.connect(url, storage_options=location.lance_options())
    documents = db.open_table("documents").to_arrow().to_pylist()
    chunks = db.open_table("chunks").to_arrow().select(["chunk_id", "doc_id", "ordinal"]).to_pylist()
    assert sorted(Path(d["path"]).name for d in documents) == sorted(p.name for p in docs.iterdir())
    ids = [c["chunk_id"] for c in chunks]
    assert len(ids) == len(set(ids)), "a passage was stored twice"
    by_doc: dict[str, list[int]] = {}
    for c in chunks:
        by_doc.setdefault(c["doc_id"], []).append(c["ordinal"])
    for d in documents:
        assert sorted(by_doc.get(d["doc_id"], [])) == list(range(d["chunks"])), d["path"]


def test_a_second_index_run_on_a_local_index_is_refused(tmp_path, embedder):
    from indexer.store.lance import Store
    from indexer.store.lease import LOCK_FILE, LeaseInfo

    home = tmp_path / "home"
    index = home / "data" / "index"
    store = Store(index, embedder.dimension, embedder.fingerprint)
    with store.write_lease():  # an index run in another process, as far as the CLI can tell
        refused = quarry(home, "index", str(GOLDEN))
        assert refused.returncode == 1, refused.stderr
        assert "is being written by" in refused.stderr and f"pid {os.getpid()}" in refused.stderr
        assert store.documents.count_rows() == 0
    assert not (index / LOCK_FILE).exists()  # released with the run
    # A lock left by a process that is gone (killed) is taken over at once.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    import socket

    stale = LeaseInfo("someone", socket.gethostname(), int(dead.stdout), "t", time.time(), time.time() + 3600)
    (index / LOCK_FILE).write_bytes(stale.to_bytes())
    indexed = quarry(home, "index", str(GOLDEN))
    assert indexed.returncode == 0, indexed.stderr
    assert store.documents.count_rows() == 4


def test_the_shared_index_setting_holds_a_url_and_never_a_credential(tmp_path):
    from dataclasses import replace

    from indexer import settings

    chosen = replace(settings.Settings(), shared_index="s3://team/idx").checked()
    settings.save(tmp_path / "settings.json", chosen)
    assert settings.load(tmp_path / "settings.json").settings.shared_index == "s3://team/idx"
    for bad in (f"s3://key:{SECRET_KEY}@team/idx", "/local/folder", "ftp://x/y"):
        with pytest.raises(ValueError) as refused:
            replace(settings.Settings(), shared_index=bad).checked()
        assert SECRET_KEY not in str(refused.value)
