"""`quarry --smoke-test`: index the bundled samples, run one query, print the top hit, and check
that the scanned sample (an image-only PDF) was read by OCR and is found by its words."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from indexer.paths import AppPaths

SCANNED_SAMPLE = "scanned-sample.pdf"
"""An image-only PDF (no text layer) of two lines about a lighthouse keeper."""
SCANNED_SAMPLE_QUERY = "lighthouse keeper trims the lamp wick"


def resources_dir() -> Path:
    """resources/ beside the app, or inside a frozen bundle."""
    base = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent.parent))
    return base / "resources"


def smoke_test(paths: AppPaths, options: Any) -> int:
    from indexer.engine import Engine
    from indexer.search.searcher import SearchOptions

    engine = Engine(paths, options)
    sample = resources_dir() / "samples"
    report = engine.indexer.run([sample])
    result = engine.searcher.search("How do I reset the index?", SearchOptions(k=1))
    if not result.hits:
        print(f"smoke test failed: no hits ({report.summary()})", file=sys.stderr)
        return 1
    hit = result.hits[0]
    scanned = engine.searcher.search(SCANNED_SAMPLE_QUERY, SearchOptions(k=3, mode="text", rerank=False)).hits
    read = [h for h in scanned if Path(h.path).name == SCANNED_SAMPLE and h.ocr]
    if not read:
        reasons = "; ".join(s.reason for s in report.skipped) or "no reason given"
        print(f"smoke test failed: the scanned sample was not read by OCR ({reasons})", file=sys.stderr)
        return 1
    print(
        f"smoke test ok: {Path(hit.path).name} score {hit.score:.3f} ({result.method}, {engine.device_label}); "
        f"OCR read {SCANNED_SAMPLE} page {read[0].page}"
    )
    return 0
