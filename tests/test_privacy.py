"""Indexing and searching open no network connection (with a remote endpoint in the
settings: none but to its host and port), and the logs hold no document text, queries or
API keys at the default level."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.models.endpoints.config import Endpoint
from indexer.paths import AppPaths
from indexer.settings import Settings, save
from tests.conftest import GOLDEN, ROOT
from tests.endpoint_server import EndpointServer


def guard(allowed: tuple[str, int] | None = None) -> str:
    """Python that runs the command line under an audit hook failing any network use, except
    connections to ``allowed`` (a configured endpoint's host and port)."""
    return f"""
import socket, sys
ALLOWED = {allowed!r}
def guard(event, args):
    if event == "socket.__new__" and len(args) > 1 and args[1] in (socket.AF_INET, socket.AF_INET6):
        if ALLOWED is None:
            raise RuntimeError("network socket opened during index/search")
    elif event == "socket.getaddrinfo" and (ALLOWED is None or (args[0], int(args[1] or 0)) != ALLOWED):
        raise RuntimeError(f"network use during index/search: {{event}} {{args!r}}")
    elif event == "socket.connect" and (ALLOWED is None or tuple(args[1])[:2] != ALLOWED):
        raise RuntimeError(f"network use during index/search: {{event}} {{args!r}}")
    elif event in ("socket.gethostbyname", "socket.sendto", "socket.sendmsg"):
        raise RuntimeError(f"network use during index/search: {{event}} {{args!r}}")
sys.addaudithook(guard)
from app.cli import main
sys.exit(main(sys.argv[1:]))
"""


GUARD = guard()


def quarry(basedir: Path, *args: str, code: str = GUARD) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QUARRY_HOME": str(basedir)}
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def test_index_and_search_open_no_network_socket(tmp_path: Path):
    docs = shutil.copytree(GOLDEN, tmp_path / "docs")
    indexed = quarry(tmp_path / "home", "index", str(docs))
    assert indexed.returncode == 0, indexed.stderr[-3000:]
    found = quarry(tmp_path / "home", "search", "boiler pressure", "--json")
    assert found.returncode == 0, found.stderr[-3000:]
    assert "boiler-maintenance.md" in found.stdout
    assert "network" not in indexed.stderr + found.stderr


@pytest.mark.parametrize("allowed", [None, ("127.0.0.1", 8999)])
def test_the_guard_would_catch_a_connection(tmp_path: Path, allowed: tuple[str, int] | None):
    """The audit hook above really fires: a connection attempt under it fails the run, also
    while another host and port are allowed."""
    code = guard(allowed).replace(
        "from app.cli import main\nsys.exit(main(sys.argv[1:]))", "socket.create_connection(('127.0.0.1', 9), 1)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "network use during index/search" in done.stderr


def test_the_allowed_endpoint_is_let_through(tmp_path: Path):
    with EndpointServer("llama-server") as server:
        code = guard(("127.0.0.1", server.port)).replace(
            "from app.cli import main\nsys.exit(main(sys.argv[1:]))",
            f"socket.create_connection(('127.0.0.1', {server.port}), 5).close()",
        )
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_only_the_configured_endpoint_is_contacted(tmp_path: Path):
    """With a remote reranker and embeddings endpoint in the settings (one llama-server-like
    server answers both), index and search talk to that host and port and to nothing else,
    `quarry search --json` says the remote reranker ordered the hits, and the API key is in
    no log."""
    key = "sk-privacy-test-4c1e8b"
    docs = shutil.copytree(GOLDEN, tmp_path / "docs")
    home = tmp_path / "home"
    with EndpointServer("llama-server") as server:
        settings = Settings(
            reranker_endpoint=Endpoint("llama-server", server.url, "test-reranker", key),
            embedder_endpoint=Endpoint("openai", server.url, "test-embedder", key),
        )
        save(AppPaths.from_base(home).settings_file, settings)
        code = guard(("127.0.0.1", server.port))
        indexed = quarry(home, "index", str(docs), code=code)
        assert indexed.returncode == 0, indexed.stderr[-3000:]
        found = quarry(home, "search", "boiler pressure", "--json", code=code)
        assert found.returncode == 0, found.stderr[-3000:]
    result = json.loads(found.stdout)
    assert result["method"] == f"hybrid + remote rerank: test-reranker at 127.0.0.1:{server.port}"
    assert Path(result["hits"][0]["path"]).name == "boiler-maintenance.md"
    assert not result["notice"] and all(h["reranked"] for h in result["hits"])
    assert {r.path for r in server.requests} == {"/v1/embeddings", "/v1/rerank"}
    assert "network" not in indexed.stderr + found.stderr
    logs = "".join(p.read_text(errors="replace") for p in (home / "logs").glob("quarry.log*"))
    assert f"reranking through test-reranker at 127.0.0.1:{server.port}" in logs
    assert key not in logs + indexed.stderr + found.stderr + found.stdout


def test_logs_hold_no_document_text_or_queries(tmp_path: Path):
    docs = shutil.copytree(GOLDEN, tmp_path / "docs")
    (docs / "secret.md").write_text("# Diary\n\nThe zephyrprivate passphrase is written here.\n")
    home = tmp_path / "home"
    assert quarry(home, "index", str(docs)).returncode == 0
    assert quarry(home, "search", "zephyrprivate passphrase").returncode == 0
    logs = "".join(p.read_text(errors="replace") for p in (home / "logs").glob("quarry.log*"))
    assert "indexing:" in logs  # the log is written
    assert "zephyrprivate" not in logs and "passphrase" not in logs
