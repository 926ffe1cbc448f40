"""From a drop to search: index a folder (default ../shared/data/pdfs) in one thread, as the
window's index lane does, while another thread searches it as a person typing would (first
stage, hybrid, no rerank, every --poll-s seconds). Reports the time from the start of the run
to the first keyword hit, to a hit for every query, to the end of the keyword pass (every
passage searchable by BM25) and to full meaning search (every passage embedded), and the
first stage's latency while the embedding pass runs beside it.

The models are loaded before the clock starts: in the window they are loaded before
anything can be dropped."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import EMBEDDER, PDFS, machine, start_worker, table
from benchmarks.worker import percentile

QUERIES = ["Sherlock Holmes", "Martians", "White Rabbit", "stage fright"]
"""One query per book of ../shared/data/pdfs, each answered by one book's words."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?", default=str(PDFS))
    parser.add_argument("--query", action="append", help=f"a query to wait for (repeatable; default {QUERIES})")
    parser.add_argument("--poll-s", type=float, default=0.25, help="seconds between searches (default 0.25)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from indexer.ingest.pipeline import Indexer
    from indexer.models.embedding import Embedder
    from indexer.search.searcher import Searcher, SearchOptions
    from indexer.store.lance import Store
    from indexer.types import Progress

    queries = args.query or QUERIES
    worker, placement = start_worker()
    loaded = time.perf_counter()
    tuned = tempfile.TemporaryDirectory()  # the bf16 copy the app keeps in its cache, where the CPU has AVX512-BF16
    embedder = Embedder(EMBEDDER, placement, worker=worker, tuned_dir=Path(tuned.name))
    load_s = time.perf_counter() - loaded
    options = SearchOptions(rerank=False, k=5)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "index", embedder.dimension, embedder.fingerprint)
        searcher = Searcher(store, embedder)
        stages: dict[str, float] = {}
        reports: list[object] = []
        start = time.perf_counter()

        def progress(p: Progress) -> None:
            stages.setdefault(p.stage, time.perf_counter() - start)

        run = threading.Thread(
            target=lambda: reports.append(Indexer(store, embedder).run([Path(args.folder)], progress=progress))
        )
        run.start()
        hit_s: dict[str, float] = {}
        samples: list[tuple[float, float, float]] = []  # (seconds since start, first stage ms, vectors ready)
        while run.is_alive():
            waiting = [q for q in queries if q not in hit_s] or queries[:1]
            for query in waiting:
                t0 = time.perf_counter()
                found = searcher.search(query, options)
                t1 = time.perf_counter()
                samples.append((t1 - start, (t1 - t0) * 1000, getattr(found, "vectors_ready", float("nan"))))
                if found.hits and query not in hit_s:
                    hit_s[query] = t1 - start
            time.sleep(args.poll_s)
        run.join()
        total_s = time.perf_counter() - start
        final = searcher.search(queries[0], options)
        report = reports[0]
        passages = store.chunks.count_rows()
    worker.close()
    keyword_end = stages.get("embedding")  # the embedding pass starts when the keyword pass is done
    during = [ms for t, ms, _ in samples if keyword_end is not None and t >= keyword_end]
    result = {
        "folder": args.folder,
        "documents": len(report.added),
        "pages": report.pages_read,
        "passages": passages,
        "model_load_s": round(load_s, 2),
        "first_keyword_hit_s": round(min(hit_s.values()), 2) if hit_s else None,
        "every_query_hit_s": round(max(hit_s.values()), 2) if len(hit_s) == len(queries) else None,
        "query_hit_s": {q: round(s, 2) for q, s in hit_s.items()},
        "keyword_pass_s": round(keyword_end, 2) if keyword_end is not None else None,
        "full_meaning_search_s": round(total_s, 2),
        "vectors_ready_at_end": getattr(final, "vectors_ready", None),
        "first_stage_ms_during_backfill": (
            {"p50": round(percentile(during, 0.5), 1), "p95": round(percentile(during, 0.95), 1), "n": len(during)}
            if during
            else None
        ),
        "stage_seconds": {k: round(v, 2) for k, v in report.stage_seconds.items()},
        "device": placement.label,
        "machine": machine(),
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"From a drop of {args.folder} to search, on {placement.label}\nMachine: {machine()}\n")
    latency = result["first_stage_ms_during_backfill"]
    print(
        table(
            [
                "documents",
                "pages",
                "passages",
                "first keyword hit s",
                "every query hit s",
                "keyword pass s",
                "full meaning search s",
                "first stage during backfill p50 / p95 ms",
            ],
            [
                [
                    result["documents"],
                    result["pages"],
                    passages,
                    result["first_keyword_hit_s"],
                    result["every_query_hit_s"],
                    result["keyword_pass_s"],
                    result["full_meaning_search_s"],
                    f"{latency['p50']:.0f} / {latency['p95']:.0f}" if latency else "-",
                ]
            ],
        )
    )
    print(
        "\n" + table(["query", "first hit s"], [[q, f"{s:.2f}"] for q, s in sorted(hit_s.items(), key=lambda x: x[1])])
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
