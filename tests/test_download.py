"""Model downloads against a stand-in hub on 127.0.0.1: progress, resume, and refusal of
wrong hashes, web pages and non-GGUF files, with nothing half-written left behind."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from indexer.cancel import CancelToken
from indexer.errors import Cancelled
from indexer.models.catalogue import CatalogueEntry, entry
from indexer.models.download import PARTIAL_DIR, DownloadError, download
from indexer.types import Progress
from tests.conftest import EMBEDDER, RERANKER_Q8, quarry
from tests.hub_server import Hub, Served

GOOD = RERANKER_Q8.read_bytes()
HTML = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please log in</body></html>"


def item(name: str, repo: str = "test/models", sha256: str | None = None, kind: str = "reranker") -> CatalogueEntry:
    return CatalogueEntry(
        name=name,
        kind=kind,
        repo=repo,
        filename=f"{name}.gguf",
        size_mb=25,
        architecture="bert",
        licence="test",
        languages=("en",),
        sha256=sha256,
    )


@pytest.fixture
def hub():
    with Hub() as server:
        yield server


def leftovers(models: Path) -> list[str]:
    """Everything in the models folder, partial folder included."""
    return sorted(str(p.relative_to(models)) for p in models.rglob("*") if p.is_file())


def test_good_file_lands_with_progress(hub, tmp_path):
    hub.add("test/models", "good.gguf", Served(GOOD))
    seen: list[Progress] = []
    path = download(item("good"), tmp_path, seen.append, endpoint=hub.endpoint)
    assert path == tmp_path / "good.gguf"
    assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(GOOD).digest()
    downloading = [p for p in seen if p.stage == "downloading"]
    assert downloading[-1].done == len(GOOD) and downloading[-1].total == len(GOOD)
    assert len(downloading) > 2 and [p.done for p in downloading] == sorted(p.done for p in downloading)
    assert seen[-1].stage == "downloaded"
    assert leftovers(tmp_path) == ["good.gguf"]


def test_truncated_transfer_resumes_from_where_it_stopped(hub, tmp_path):
    # huggingface_hub writes in 10 MB blocks, so cut past the first one.
    served = hub.add("test/models", "cut.gguf", Served(GOOD, cut_first_at=len(GOOD) * 2 // 3))
    path = download(item("cut", sha256=hashlib.sha256(GOOD).hexdigest()), tmp_path, endpoint=hub.endpoint)
    assert path.read_bytes() == GOOD
    assert served.gets[0] == "" and len(served.gets) == 2
    resumed_at = int(served.gets[1].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= len(GOOD) * 2 // 3


def test_cancelled_download_resumes_next_time(hub, tmp_path):
    served = hub.add("test/models", "later.gguf", Served(GOOD))
    cancel = CancelToken()

    def stop_after_a_few_megabytes(p: Progress) -> None:
        if p.done > 4_000_000:
            cancel.cancel()

    with pytest.raises(Cancelled):
        download(item("later"), tmp_path, stop_after_a_few_megabytes, cancel, endpoint=hub.endpoint)
    assert not (tmp_path / "later.gguf").exists()
    part = tmp_path / PARTIAL_DIR / "later.gguf.part"
    kept = part.stat().st_size
    assert 4_000_000 < kept < len(GOOD)
    path = download(item("later"), tmp_path, endpoint=hub.endpoint)
    assert path.read_bytes() == GOOD
    assert served.gets[-1] == f"bytes={kept}-"
    assert leftovers(tmp_path) == ["later.gguf"]


def test_wrong_hash_is_refused_and_removed(hub, tmp_path):
    hub.add("test/models", "tampered.gguf", Served(GOOD))
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download(item("tampered", sha256="0" * 64), tmp_path, endpoint=hub.endpoint)
    assert leftovers(tmp_path) == []


def test_hub_etag_is_checked_when_the_catalogue_has_no_hash(hub, tmp_path):
    hub.add("test/models", "swapped.gguf", Served(GOOD, etag="f" * 64))
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download(item("swapped"), tmp_path, endpoint=hub.endpoint)
    assert leftovers(tmp_path) == []


def test_html_page_is_refused_as_a_web_page(hub, tmp_path):
    hub.add("test/models", "portal.gguf", Served(HTML, content_type="text/html"))
    with pytest.raises(DownloadError, match="web page instead of the model"):
        download(item("portal"), tmp_path, endpoint=hub.endpoint)
    assert leftovers(tmp_path) == []


def test_non_gguf_file_is_refused(hub, tmp_path):
    hub.add("test/models", "zip.gguf", Served(b"PK\x03\x04" + os.urandom(50_000)))
    with pytest.raises(DownloadError, match="not a GGUF model"):
        download(item("zip"), tmp_path, endpoint=hub.endpoint)
    assert leftovers(tmp_path) == []


def test_embedder_offered_as_reranker_is_refused_after_download(hub, tmp_path):
    hub.add("test/models", "not-a-reranker.gguf", Served(EMBEDDER.read_bytes()))
    with pytest.raises(DownloadError, match="not a reranker"):
        download(item("not-a-reranker"), tmp_path, endpoint=hub.endpoint)
    assert leftovers(tmp_path) == []


def test_missing_file_and_unreachable_hub_say_so(hub, tmp_path):
    with pytest.raises(DownloadError, match=r"not in test/models|hub answered"):
        download(item("absent"), tmp_path, endpoint=hub.endpoint)
    with pytest.raises(DownloadError, match="cannot reach the model hub"):
        download(item("absent"), tmp_path, endpoint="http://127.0.0.1:9")
    assert leftovers(tmp_path) == []


def test_models_pull_on_the_command_line(hub, tmp_path):
    wanted = entry("all-minilm-l6-v2")
    hub.add(wanted.repo, wanted.filename, Served(EMBEDDER.read_bytes()))
    env = {**os.environ, "HF_ENDPOINT": hub.endpoint, "QUARRY_MODEL_DIRS": ""}
    done = quarry(tmp_path, "models", "pull", "all-minilm-l6-v2", env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    landed = tmp_path / "models" / wanted.filename
    assert landed.read_bytes() == EMBEDDER.read_bytes()
    assert "downloaded" in done.stdout.lower()
    listed = quarry(tmp_path, "models", "--json", env=env)
    models = json.loads(listed.stdout)
    names = {m["name"]: m for m in models["catalogue"]}
    assert names["all-minilm-l6-v2"]["on_disk"] is True
    assert names["bge-reranker-v2-m3"]["on_disk"] is False
    assert models["device"]


def test_pull_of_an_unknown_name_lists_the_catalogue(tmp_path):
    done = quarry(tmp_path, "models", "pull", "no-such-model", env={**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9"})
    assert done.returncode != 0
    assert "bge-reranker-v2-m3" in done.stderr and "Traceback" not in done.stderr
