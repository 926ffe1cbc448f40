"""The command line as a person uses it: real processes, real models, real store."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import GOLDEN, ROOT, quarry


def test_index_search_status(basedir: Path):
    indexed = quarry(basedir, "index", str(GOLDEN))
    assert indexed.returncode == 0, indexed.stderr
    assert "4 added, 0 updated, 0 unchanged, 0 removed, 0 skipped" in indexed.stderr

    # Named: models.pick would take the random-weight conformance reranker from ../shared/models.
    reranker = "--reranker=quarry-test-reranker-minilm-l6-q8_0.gguf"
    found = quarry(basedir, reranker, "search", "how long should the dough bulk ferment", "--json", "-k", "3")
    assert found.returncode == 0, found.stderr
    result = json.loads(found.stdout)
    assert result["query"] == "how long should the dough bulk ferment"
    assert result["method"] == "hybrid + rerank"
    hit = result["hits"][0]
    assert set(hit) >= {"rank", "score", "path", "page", "snippet", "first_stage_rank", "first_stage_score"}
    assert Path(hit["path"]).is_absolute() and hit["path"].endswith("sourdough.txt")
    assert hit["page"] is None and hit["rank"] == 1 and 0 <= hit["score"] <= 1
    assert "rerank" in result["timings_ms"]
    assert result["weak"] is False and hit["strong"] is True and hit["reranked"] is True
    assert hit["bm25_rank"] or hit["vector_rank"]
    assert hit["strength"] == "strong" and hit["rerank_weight"] >= 0 and hit["passage_id"]

    plain = quarry(basedir, "search", "boiler pressure", "--no-rerank")
    assert plain.returncode == 0
    assert "boiler-maintenance.md" in plain.stdout.splitlines()[0]

    # Off topic: nothing is hidden, the set is flagged weak and says so.
    off_topic = quarry(basedir, reranker, "search", "how to tie a bow tie", "--json", "-k", "3")
    weak = json.loads(off_topic.stdout)
    assert weak["weak"] is True and weak["min_score"] == 0.5 and len(weak["hits"]) == 3
    assert not any(h["strong"] for h in weak["hits"])
    shown = quarry(basedir, reranker, "search", "how to tie a bow tie", "-k", "2")
    assert shown.stdout.startswith("No strong matches — closest passages") and " 2. 0." in shown.stdout

    status = json.loads(quarry(basedir, "status", "--json").stdout)
    assert status["documents"] == 4 and status["chunks"] >= 4
    assert status["folders"] == [{"path": str(GOLDEN), "documents": 4}]

    again = quarry(basedir, "index")
    assert "0 added, 0 updated, 4 unchanged" in again.stderr


def test_models_lists_files_and_device(basedir: Path):
    listed = quarry(basedir, "models", "--json")
    data = json.loads(listed.stdout)
    kinds = {Path(m["path"]).name: m["kind"] for m in data["models"]}
    assert kinds["all-MiniLM-L6-v2-q8_0.gguf"] == "embedder"
    assert kinds["quarry-test-reranker-minilm-l6-q8_0.gguf"] == "reranker"
    assert data["device"].startswith(("CPU", "CUDA", "Metal", "Vulkan"))
    # Which models a search would use now, and why (issue 27: it did not say).
    picked = data["in_use"]
    assert kinds[Path(picked["reranker"]["model"]).name] == "reranker"
    assert picked["reranker"]["why"] == picked["embedder"]["why"] == "picked: the preferred one found"
    assert Path(picked["embedder"]["model"]).name == "all-MiniLM-L6-v2-q8_0.gguf"
    named = quarry(basedir, "--reranker=quarry-test-reranker-minilm-l6-q8_0.gguf", "models")
    assert "In use, reranker: " in named.stdout and "quarry-test-reranker-minilm-l6-q8_0.gguf — named on the command line" in named.stdout
    absent = json.loads(quarry(basedir, "--reranker=no-such.gguf", "models", "--json").stdout)["in_use"]["reranker"]
    assert absent["model"] is None and "no reranker model named 'no-such.gguf'" in absent["why"]


def test_errors_are_one_clear_line(basedir: Path, tmp_path: Path):
    missing = quarry(basedir, "index", str(tmp_path / "nowhere"))
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1].startswith("quarry: ")
    assert "Traceback" not in missing.stderr

    no_models = subprocess.run(
        [sys.executable, "-m", "app.cli", "--basedir", str(basedir), "search", "x"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "QUARRY_MODEL_DIRS": str(tmp_path)},
    )
    assert no_models.returncode == 1
    assert "no embedder model found" in no_models.stderr and "Traceback" not in no_models.stderr


def test_smoke_test(basedir: Path):
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "--basedir", str(basedir), "--smoke-test"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "smoke test ok: quarry-guide.md" in run.stdout and "OCR read scanned-sample.pdf page 1" in run.stdout


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_watch_follows_a_new_file_until_interrupted(tmp_path, basedir):
    folder = tmp_path / "watched"
    folder.mkdir()
    (folder / "one.md").write_text("# One\n\nThe first note.\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--basedir", str(basedir), "watch", str(folder)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell starts a background job (`make test &`, CI runners) with SIGINT ignored,
        # and the child inherits that: Python then installs no Ctrl+C handler and the
        # watcher rightly ignores SIGINT. Ctrl+C in a terminal is what is tested.
        preexec_fn=_default_sigint,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    try:
        seen: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(line)
            if line.startswith("Watching"):
                (folder / "two.md").write_text("# Two\n\nA note written while quarry watches.\n")
            if "1 added" in line and any("Watching" in x for x in seen):
                break
        watching = [i for i, x in enumerate(seen) if x.startswith("Watching")]
        assert watching and any("1 added" in x for x in seen[watching[0] :]), seen
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=120)  # a loaded 2-core machine needs more than 30 s to stop
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 130
