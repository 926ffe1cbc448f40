"""The llama.cpp CPU variant is proven in a child process before use: a variant that dies
is skipped with its reason, and indexing and search go on with the next one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from indexer.runtime import variants
from tests.conftest import GOLDEN, quarry

pytestmark = pytest.mark.skipif(not variants.find_variants(), reason="llama.cpp built without loadable CPU variants")

FAKE_VARIANT_C = r"""
#include <signal.h>
/* Claims to be the best CPU variant there is, then dies like an AMX kernel on a Xeon
   that did not grant the tile permission. */
int ggml_backend_score(void) { return 1 << 30; }
void * ggml_backend_init(void) { raise(SIGILL); return 0; }
"""


def fake_variant_folder(tmp_path: Path) -> Path:
    """The real variants and a fake, best-scoring one that raises SIGILL, in one folder."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build the fake variant")
    folder = tmp_path / "backends"
    folder.mkdir()
    for real in variants.find_variants() + variants.other_backends(variants.find_variants()[0]):
        (folder / real.name).symlink_to(real)
    source = tmp_path / "fake.c"
    source.write_text(FAKE_VARIANT_C)
    subprocess.run([compiler, "-shared", "-fPIC", "-o", str(folder / "libggml-cpu-fake.so"), str(source)], check=True)
    return folder


def test_a_variant_that_dies_is_skipped_and_indexing_and_search_work(tmp_path: Path):
    env = {**os.environ, variants.BACKEND_DIR_ENV: str(fake_variant_folder(tmp_path))}
    env.pop(variants.VARIANT_ENV, None)
    docs = shutil.copytree(GOLDEN, tmp_path / "docs")
    home = tmp_path / "home"
    indexed = quarry(home, "index", str(docs), env=env)
    assert indexed.returncode == 0, indexed.stderr[-2000:]
    found = quarry(home, "search", "boiler pressure", "--json", env=env)
    assert found.returncode == 0, found.stderr[-2000:]
    result = json.loads(found.stdout)
    assert Path(result["hits"][0]["path"]).name == "boiler-maintenance.md" and "rerank" in result["method"]
    listed = quarry(home, "models", "--json", env=env)
    variant = json.loads(listed.stdout)["cpu_variant"]
    assert variant["name"] != "fake"
    skipped = {s["name"]: s["reason"] for s in variant["skipped"]}
    assert "SIGILL" in skipped["fake"], skipped
    text = quarry(home, "models", env=env).stdout
    assert "fake: SIGILL" in text and f"llama.cpp CPU variant: {variant['name']}" in text


def test_the_verdict_is_kept_and_a_forced_variant_is_used_as_is(tmp_path: Path, monkeypatch):
    monkeypatch.delenv(variants.VARIANT_ENV, raising=False)
    chosen = variants.choose(tmp_path)
    assert chosen.path and chosen.probe_s > 0
    verdicts = json.loads((tmp_path / variants.VERDICT_FILE).read_text())
    assert [entry["name"] for entry in verdicts.values()] == [chosen.name]
    again = variants.choose(tmp_path)
    assert (again.name, again.probe_s) == (chosen.name, 0.0)  # from the cache, no probe
    baseline = min(variants.find_variants(), key=lambda p: len(p.name))
    monkeypatch.setenv(variants.VARIANT_ENV, variants.variant_name(baseline))
    forced = variants.choose(tmp_path)
    assert forced.forced and forced.path == str(baseline)


def test_the_chosen_variant_gives_the_baselines_numbers():
    found = {variants.variant_name(p): p for p in variants.find_variants()}
    chosen = variants.choose(variants.default_cache_dir())
    best = variants.probe_variant(Path(chosen.path))
    baseline = variants.probe_variant(found.get("x64") or found.get("sse42") or Path(chosen.path))
    assert best.ok and baseline.ok, (best.reason, baseline.reason)
    assert set(best.outputs) == {"query", "passage", "pairs"}
    assert variants.max_difference(best.outputs, baseline.outputs) <= variants.MATCH_TOLERANCE


def test_a_failing_probe_says_why():
    outcome = variants.probe_variant(Path("/nonexistent/libggml-cpu-nothing.so"))
    assert not outcome.ok and outcome.reason


def test_the_bf16_copy_is_made_only_when_the_variant_that_runs_has_bf16_kernels(tmp_path: Path):
    from indexer.engine import Engine, EngineOptions
    from indexer.paths import AppPaths
    from tests.conftest import RERANKER_F16

    names = set(variants.available_variants())
    if "haswell" not in names:
        pytest.skip("no AVX2-only variant in this build")
    paths = AppPaths.from_base(tmp_path / "home")
    engine = Engine(paths, EngineOptions(reranker=str(RERANKER_F16), cpu_variant="haswell"))
    try:
        assert engine.hardware.cpu_variant == "haswell" and not engine.hardware.cpu_has_bf16
        assert engine.reranker.loaded_path == RERANKER_F16  # no bf16 kernels there: the file as it is
    finally:
        engine.close()
    engine = Engine(paths, EngineOptions(reranker=str(RERANKER_F16)))
    try:
        if engine.hardware.cpu_has_bf16:
            assert engine.reranker.loaded_path.name.endswith(".bf16.gguf")
        else:
            assert engine.reranker.loaded_path == RERANKER_F16
    finally:
        engine.close()
