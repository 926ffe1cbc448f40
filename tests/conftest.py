"""Shared fixtures: real models from ../shared/models, real LanceDB in temp folders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("QUARRY_SHARED") or ROOT.parent / "shared").resolve()
MODELS = SHARED / "models"
PDFS = SHARED / "data" / "pdfs"
GOLDEN = ROOT / "tests" / "data" / "golden"
EMBEDDER = MODELS / "all-MiniLM-L6-v2-q8_0.gguf"
RERANKER_Q8 = MODELS / "quarry-test-reranker-minilm-l6-q8_0.gguf"
RERANKER_F16 = MODELS / "quarry-test-reranker-minilm-l6-f16.gguf"

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def quarry(
    basedir: Path | None, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the command line as a person would, in a process of its own; ``basedir`` None
    leaves the folders to the environment ($QUARRY_HOME)."""
    where = ["--basedir", str(basedir)] if basedir is not None else []
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *where, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    missing = [p for p in (EMBEDDER, RERANKER_Q8, RERANKER_F16, PDFS) if not p.exists()]
    if missing:
        raise pytest.UsageError(f"test models/data missing (expected ../shared beside the repo): {missing}")


@pytest.fixture(autouse=True)
def _model_dirs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test finds the shared models and nothing from the developer's own folders."""
    monkeypatch.setenv("QUARRY_MODEL_DIRS", str(MODELS))
    monkeypatch.delenv("QUARRY_HOME", raising=False)


@pytest.fixture(scope="session")
def placement():
    from indexer.runtime.hardware import detect, place

    return place(detect(), "cpu")


@pytest.fixture(scope="session")
def embedder(placement):
    from indexer.models.embedding import Embedder

    model = Embedder(EMBEDDER, placement)
    yield model
    model.close()


@pytest.fixture(scope="session")
def reranker(placement):
    from indexer.models.rerank import Reranker

    model = Reranker(RERANKER_Q8, placement)
    yield model
    model.close()


@pytest.fixture
def store(tmp_path: Path, embedder):
    from indexer.store.lance import Store

    return Store(tmp_path / "index", embedder.dimension, embedder.fingerprint)


@pytest.fixture
def basedir(tmp_path: Path) -> Path:
    return tmp_path / "quarry-home"


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target
