"""Indexing throughput on ../shared/data/pdfs: pages/s, chunks/s and where the time goes."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import EMBEDDER, PDFS, machine, peak_rss_mb, peak_rss_of_mb, start_worker, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?", default=str(PDFS))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from indexer.ingest.pipeline import Indexer
    from indexer.models.embedding import Embedder
    from indexer.store.lance import Store

    worker, placement = start_worker()
    tuned = tempfile.TemporaryDirectory()  # the bf16 copy the app keeps in its cache, where the CPU has AVX512-BF16
    embedder = Embedder(EMBEDDER, placement, worker=worker, tuned_dir=Path(tuned.name))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "index", embedder.dimension, embedder.fingerprint)
        start = time.perf_counter()
        report = Indexer(store, embedder).run([Path(args.folder)])
        seconds = time.perf_counter() - start
        second = Indexer(store, embedder).run([Path(args.folder)])
    result = {
        "documents": len(report.added),
        "pages": report.pages_read,
        "chunks": report.chunks_embedded,
        "seconds": seconds,
        "pages_per_s": report.pages_read / seconds,
        "chunks_per_s": report.chunks_embedded / seconds,
        "stage_seconds": report.stage_seconds,
        "rerun_seconds": second.seconds,
        "peak_rss_mb": peak_rss_mb(),
        "worker_peak_rss_mb": peak_rss_of_mb(worker.pid),
        "device": placement.label,
        "machine": machine(),
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"Indexing {args.folder} on {placement.label}\nMachine: {machine()}\n")
    print(
        table(
            ["documents", "pages", "chunks", "seconds", "pages/s", "chunks/s", "unchanged re-run s", "peak RSS MB"],
            [
                [
                    result["documents"],
                    result["pages"],
                    result["chunks"],
                    f"{seconds:.1f}",
                    f"{result['pages_per_s']:.1f}",
                    f"{result['chunks_per_s']:.1f}",
                    f"{second.seconds:.2f}",
                    f"{result['peak_rss_mb']:.0f}",
                ]
            ],
        )
    )
    print()
    print(
        table(
            ["stage", "seconds", "share"],
            [
                [stage, f"{secs:.1f}", f"{100 * secs / seconds:.0f}%"]
                for stage, secs in sorted(report.stage_seconds.items())
            ],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
