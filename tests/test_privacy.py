"""Indexing and searching open no network connection, and the logs hold no document text
or queries at the default level."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import GOLDEN, ROOT

GUARD = """
import socket, sys
def guard(event, args):
    if event == "socket.__new__" and len(args) > 1 and args[1] in (socket.AF_INET, socket.AF_INET6):
        raise RuntimeError("network socket opened during index/search")
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname"):
        raise RuntimeError(f"network use during index/search: {event} {args!r}")
sys.addaudithook(guard)
from app.cli import main
sys.exit(main(sys.argv[1:]))
"""


def quarry(basedir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QUARRY_HOME": str(basedir)}
    return subprocess.run(
        [sys.executable, "-c", GUARD, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def test_index_and_search_open_no_network_socket(tmp_path: Path):
    docs = shutil.copytree(GOLDEN, tmp_path / "docs")
    indexed = quarry(tmp_path / "home", "index", str(docs))
    assert indexed.returncode == 0, indexed.stderr[-3000:]
    found = quarry(tmp_path / "home", "search", "boiler pressure", "--json")
    assert found.returncode == 0, found.stderr[-3000:]
    assert "boiler-maintenance.md" in found.stdout
    assert "network" not in indexed.stderr + found.stderr


def test_the_guard_would_catch_a_connection(tmp_path: Path):
    """The audit hook above really fires: a connection attempt under it fails the run."""
    code = GUARD.replace(
        "from app.cli import main\nsys.exit(main(sys.argv[1:]))", "socket.create_connection(('127.0.0.1', 9), 1)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "network" in done.stderr


def test_logs_hold_no_document_text_or_queries(tmp_path: Path):
    docs = shutil.copytree(GOLDEN, tmp_path / "docs")
    (docs / "secret.md").write_text("# Diary\n\nThe zephyrprivate passphrase is written here.\n")
    home = tmp_path / "home"
    assert quarry(home, "index", str(docs)).returncode == 0
    assert quarry(home, "search", "zephyrprivate passphrase").returncode == 0
    logs = "".join(p.read_text(errors="replace") for p in (home / "logs").glob("quarry.log*"))
    assert "indexing:" in logs  # the log is written
    assert "zephyrprivate" not in logs and "passphrase" not in logs
