"""Every reranker fault gives first-stage results with a notice: never an empty list and
never a dead process; a model that fails to load is not retried on every search."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from indexer.engine import Engine, EngineOptions
from indexer.models.rerank import Reranker
from indexer.paths import AppPaths
from indexer.search.searcher import SearchOptions
from tests.conftest import EMBEDDER, GOLDEN, MODELS, RERANKER_Q8

QUERY = "boiler pressure"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> AppPaths:
    base = tmp_path_factory.mktemp("faults")
    paths = AppPaths.from_base(base / "home")
    docs = shutil.copytree(GOLDEN, base / "docs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QUARRY_MODEL_DIRS", str(MODELS))
        engine = Engine(paths, EngineOptions())
        engine.indexer.run([docs])
        engine.close()
    return paths


def first_stage_with_notice(engine: Engine, notice: str, options: SearchOptions = SearchOptions()) -> None:
    result = engine.searcher.search(QUERY, options)
    assert result.hits, "a reranker fault must never empty the results"
    assert Path(result.hits[0].path).name == "boiler-maintenance.md"
    assert notice in result.notice, result.notice


@pytest.mark.parametrize(
    ("make_file", "notice"),
    [
        (lambda tmp: "no-such-reranker.gguf", "no reranker model named"),
        (lambda tmp: _truncated(tmp), "truncated"),
        (lambda tmp: str(EMBEDDER), "not a reranker"),
        (lambda tmp: _not_gguf(tmp), "not a GGUF"),
    ],
    ids=["missing", "corrupt", "wrong-kind", "not-gguf"],
)
def test_unusable_model_gives_first_stage_results_with_a_notice(indexed, tmp_path, make_file, notice):
    engine = Engine(indexed, EngineOptions(reranker=make_file(tmp_path)))
    try:
        assert engine.reranker is None
        first_stage_with_notice(engine, notice)
    finally:
        engine.close()


def _truncated(tmp: Path) -> str:
    path = tmp / "truncated-reranker.gguf"
    path.write_bytes(RERANKER_Q8.read_bytes()[:2_000_000])
    return str(path)


def _not_gguf(tmp: Path) -> str:
    path = tmp / "page.gguf"
    path.write_bytes(b"<html><body>502 Bad Gateway</body></html>")
    return str(path)


def test_a_failed_load_is_not_retried_on_every_search(indexed, monkeypatch):
    attempts = []
    original = Engine._load_reranker

    def counting(self, wanted, endpoint=None):
        attempts.append(wanted)
        return original(self, wanted, endpoint)

    monkeypatch.setattr(Engine, "_load_reranker", counting)
    engine = Engine(indexed, EngineOptions(reranker="no-such-reranker.gguf"))
    try:
        for _ in range(5):
            first_stage_with_notice(engine, "no reranker model named")
        assert attempts == ["no-such-reranker.gguf"]
    finally:
        engine.close()


class ExplodingReranker(Reranker):
    """A real reranker whose scoring fails, as a driver or a bad model might."""

    def score(self, *args, **kwargs):
        raise RuntimeError("GPU device lost")


def test_a_reranker_that_throws_leaves_first_stage_results(indexed):
    engine = Engine(indexed, EngineOptions())
    try:
        engine.searcher.reranker = ExplodingReranker(RERANKER_Q8, engine.placement, worker=engine.worker)
        first_stage_with_notice(engine, "reranking failed (GPU device lost)")
    finally:
        engine.close()


def test_a_reranker_past_its_deadline_leaves_first_stage_order(indexed):
    engine = Engine(indexed, EngineOptions())
    try:
        first_stage_with_notice(engine, "deadline", SearchOptions(deadline_s=1e-9))
    finally:
        engine.close()


def test_over_long_query_and_passages_are_truncated_not_fatal(indexed, tmp_path):
    engine = Engine(indexed, EngineOptions())
    try:
        long_query = "boiler pressure " + " ".join(f"word{i}" for i in range(5000))
        result = engine.searcher.search(long_query, SearchOptions(min_score=0.0))
        assert result.hits and result.method.endswith("rerank")
        scores = engine.reranker.score("boiler", ["pressure " * 20_000, "x"])
        assert all(0.0 <= s <= 1.0 for s in scores.scores)
    finally:
        engine.close()
