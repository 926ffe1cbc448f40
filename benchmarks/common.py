"""Helpers shared by the benchmark scripts: machine details, tables, paths."""

from __future__ import annotations

import os
import platform
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("QUARRY_SHARED") or ROOT.parent / "shared").resolve()
MODELS = SHARED / "models"
PDFS = SHARED / "data" / "pdfs"
EMBEDDER = MODELS / "all-MiniLM-L6-v2-q8_0.gguf"
RERANKER = MODELS / "quarry-test-reranker-minilm-l6-q8_0.gguf"


def default_reranker() -> Path:
    """The reranker file the app picks from ../shared/models (models.pick)."""
    from indexer.models.files import find_models, pick

    return pick(find_models([MODELS]), "reranker")


def machine() -> str:
    from indexer.runtime.variants import cpu_model

    return (
        f"{cpu_model()}, {os.cpu_count()} cores, llama.cpp CPU variant {cpu_variant()}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def cpu_variant() -> str:
    """The llama.cpp CPU variant Quarry runs on this machine (indexer.runtime.variants)."""
    from indexer.runtime import variants

    try:
        return variants.choose(variants.default_cache_dir()).name
    except RuntimeError as exc:
        return f"none ({exc})"


def peak_rss_mb() -> float:
    """This process's peak RSS so far (VmHWM) in MB. Not getrusage's ru_maxrss: Linux keeps
    that across exec, so a process started by a large parent reported the parent's peak (the
    "2,607 MB" search process of session 7 was its parent's index runs)."""
    return peak_rss_of_mb(os.getpid())


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells]
    return "\n".join([line, rule, *body])


def process_memory_mb(pid: int) -> dict[str, float]:
    """A process's resident memory now, in MB, from /proc (Linux); {} where there is none:
    RSS, PSS (shared pages split among their users) and anon (its own heap and stacks, the
    part that file-backed library and model pages, reclaimable by the system, are not)."""
    found: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("Rss", "Pss", "Anonymous"):
                found[{"Anonymous": "anon"}.get(key, key.lower())] = round(int(value.split()[0]) / 1024, 1)
    except (OSError, ValueError):
        pass
    return found


def start_worker(device: str = "auto") -> tuple[object, object]:
    """An inference worker, as the app starts one, and the placement it gives: (worker,
    placement). llama.cpp then runs there, never in the benchmark's own process."""
    from indexer.runtime.hardware import place
    from indexer.runtime.supervisor import InferenceWorker

    worker = InferenceWorker()
    return worker, place(worker.hardware(), device)


def peak_rss_of_mb(pid: int | None) -> float:
    """Another process's peak RSS so far (VmHWM) in MB; 0 where unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0
