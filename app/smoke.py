"""`quarry --smoke-test`: index the bundled sample document, run one query, print the top hit."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from indexer.paths import AppPaths


def resources_dir() -> Path:
    """resources/ beside the app, or inside a frozen bundle."""
    base = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent.parent))
    return base / "resources"


def smoke_test(paths: AppPaths, options: Any) -> int:
    from indexer.engine import Engine
    from indexer.search import SearchOptions

    engine = Engine(paths, options)
    sample = resources_dir() / "samples"
    report = engine.indexer.run([sample])
    result = engine.searcher.search("How do I reset the index?", SearchOptions(k=1))
    if not result.hits:
        print(f"smoke test failed: no hits ({report.summary()})", file=sys.stderr)
        return 1
    hit = result.hits[0]
    print(f"smoke test ok: {Path(hit.path).name} score {hit.score:.3f} ({result.method}, {engine.device_label})")
    return 0
