"""Helpers shared by the benchmark scripts: machine details, tables, paths."""

from __future__ import annotations

import os
import platform
import resource
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
    from indexer.models import find_models, pick

    return pick(find_models([MODELS]), "reranker")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells]
    return "\n".join([line, rule, *body])
