"""llama.cpp runs in a supervised worker process: killing it (SIGKILL, SIGSEGV, SIGILL) or
freezing it in the middle of real work never loses an index run or a search."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from indexer.engine import Engine, EngineOptions
from indexer.paths import AppPaths
from indexer.runtime import variants
from indexer.search.searcher import SearchOptions
from tests.conftest import GOLDEN
from tests.test_crash_safety import check_consistent, make_corpus

QUERY = "boiler pressure"


def kill_on(engine: Engine, method: str, sig: int, after: int = 0) -> list[int]:
    """Send ``sig`` to the worker just after its ``after``-th ``method`` request was sent:
    the worker dies (or stops) holding that request. Returns the pids signalled."""
    seen, killed = [0], []

    def hook(name: str, pid: int) -> None:
        if name == method:
            seen[0] += 1
            if seen[0] == after + 1:
                killed.append(pid)
                os.kill(pid, sig)

    engine.worker.on_request = hook
    return killed


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV], ids=["SIGKILL", "SIGSEGV"])
def test_a_worker_killed_mid_index_run_loses_nothing(tmp_path: Path, sig: int):
    docs = tmp_path / "docs"
    # The embedding pass sends 32 passages a request: 40 notes of 3 passages make 4 requests,
    # so the kill on the 4th lands mid-pass, with vectors already embedded.
    make_corpus(docs, files=40)
    home = tmp_path / "home"
    engine = Engine(AppPaths.from_base(home), EngineOptions(use_reranker=False))
    try:
        killed = kill_on(engine, "embed", sig, after=3)
        report = engine.indexer.run([docs])
        assert killed, "the worker was never signalled"
        assert engine.worker.pid not in (None, killed[0]), "a new worker took over"
        assert len(report.added) == 40 and not report.skipped, report.summary()
        assert report.chunks_embedded == engine.store.passage_counts().vectors == engine.store.chunks.count_rows()
        crash = engine.worker.crashes[-1]
        assert crash.signal_name == signal.Signals(sig).name and crash.request == "embed"
        assert crash.model.startswith("all-MiniLM")
    finally:
        engine.close()
    documents, chunks = check_consistent(home)  # every document once, no orphan chunk
    assert documents == 40 and chunks > 40


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> AppPaths:
    base = tmp_path_factory.mktemp("worker")
    paths = AppPaths.from_base(base / "home")
    docs = shutil.copytree(GOLDEN, base / "docs")
    engine = Engine(paths, EngineOptions())
    try:
        engine.indexer.run([docs])
    finally:
        engine.close()
    return paths


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV], ids=["SIGKILL", "SIGSEGV"])
def test_a_worker_killed_mid_rerank_leaves_first_stage_results_and_the_next_search_reranks(indexed, sig: int):
    engine = Engine(indexed, EngineOptions())
    try:
        killed = kill_on(engine, "score", sig)
        result = engine.searcher.search(QUERY)
        assert killed
        assert result.hits and Path(result.hits[0].path).name == "boiler-maintenance.md"
        assert "rerank" not in result.method
        assert "inference worker stopped" in result.notice and signal.Signals(sig).name in result.notice
        engine.worker.on_request = None
        again = engine.searcher.search(QUERY)
        assert "rerank" in again.method and again.hits[0].rerank_score is not None
        assert Path(again.hits[0].path).name == "boiler-maintenance.md"
        assert engine.worker.pid != killed[0]
    finally:
        engine.close()


def test_a_stuck_rerank_is_ended_at_its_deadline(indexed):
    engine = Engine(indexed, EngineOptions())
    try:
        frozen = kill_on(engine, "score", signal.SIGSTOP)  # the decode never returns
        result = engine.searcher.search(QUERY, SearchOptions(deadline_s=0.5))
        assert frozen and result.hits
        assert "deadline" in result.notice and "did not finish" in result.notice
        assert all(h.rerank_score is None for h in result.hits)
        engine.worker.on_request = None
        again = engine.searcher.search(QUERY)
        assert again.hits[0].rerank_score is not None
    finally:
        engine.close()


def test_an_illegal_instruction_moves_to_the_next_cpu_variant(indexed, tmp_path: Path):
    if len(variants.find_variants()) < 2:
        pytest.skip("this llama.cpp build has no loadable CPU variants to fall back on")
    paths = AppPaths.from_base(tmp_path / "home")  # its own verdict cache
    paths = AppPaths(paths.config, indexed.data, paths.cache, paths.logs, paths.models).ensure()
    engine = Engine(paths, EngineOptions())
    try:
        first = engine.worker.choice
        assert first is not None and first.path
        kill_on(engine, "embed", signal.SIGILL)
        result = engine.searcher.search(QUERY)  # the query embedding is retried in a new worker
        assert result.hits and Path(result.hits[0].path).name == "boiler-maintenance.md"
        assert engine.worker.choice.name != first.name
        assert (first.name, "SIGILL in the inference worker") in engine.worker.choice.skipped
        assert f"{first.name} CPU variant crashed" in result.notice
    finally:
        engine.close()
    # The verdict is kept: a new start passes over the failed variant without probing it.
    assert variants.choose(paths.cache).name != first.name


def test_no_llama_in_the_app_process_and_requests_are_answered(tmp_path: Path):
    """The process that owns the worker never loads llama.cpp itself."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from indexer.engine import Engine, EngineOptions\n"
        "from pathlib import Path\nfrom indexer.paths import AppPaths\n"
        f"engine = Engine(AppPaths.from_base(Path({str(tmp_path / 'home')!r})), EngineOptions())\n"
        "vector = engine.embedder.embed_query('boiler pressure')\n"
        "assert vector.shape == (engine.embedder.dimension,)\n"
        "engine.close()\n"
        "assert 'llama_cpp' not in sys.modules, 'llama_cpp imported in the app process'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=Path(__file__).parent.parent
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_an_idle_worker_gives_back_its_compute_buffers_and_scores_the_same_after(placement):
    """Models unused for context_idle_s free llama.cpp's compute buffers (the weights stay
    loaded), and the next request makes the contexts again with the same scores."""
    import time

    from benchmarks.common import process_memory_mb
    from indexer.models.rerank import Reranker
    from indexer.models.score_cache import ScoreCache
    from indexer.runtime.supervisor import InferenceWorker
    from tests.conftest import RERANKER_F16

    documents = [f"passage {i} about the boiler pressure and its relief valve " * 12 for i in range(8)]
    with InferenceWorker(context_idle_s=1.0) as worker:
        reranker = Reranker(RERANKER_F16, placement, cache=ScoreCache(0), worker=worker)
        before = reranker.score("boiler pressure", documents).raw
        busy = process_memory_mb(worker.pid or 0)["anon"]
        deadline = time.monotonic() + 60
        while process_memory_mb(worker.pid or 0)["anon"] > busy - 20 and time.monotonic() < deadline:
            # Asked something twice a second (a request that does not use the model): the
            # worker must still find the model idle.
            assert reranker.loaded
            time.sleep(0.5)
        trimmed = process_memory_mb(worker.pid or 0)["anon"]
        assert trimmed <= busy - 20, (busy, trimmed)
        assert reranker.loaded  # the weights stayed
        after = reranker.score("boiler pressure", documents).raw
        assert max(abs(a - b) for a, b in zip(before, after, strict=True)) < 1e-4
        reranker.close()
