"""Does a search still rerank inside its deadline while a folder is being indexed? Indexes
the shared PDFs with the app's engine and, once passages are in the index, runs reranked
searches with the window's 2 s deadline; reports how many of the 50 candidates each rerank
scored before its deadline, with indexing yielding to the search (the app: embedding waits
before its next batch while a search reranks) and without (the rerank and the embedding
share the processor)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import MODELS, PDFS, machine, median, table

QUERIES = (
    "which train do we take to Windermere",
    "the Martians' heat ray destroys the crowd",
    "how should a speaker use pauses",
    "what did the audit find about the church hall",
)
STOPPED = re.compile(r"after (\d+) of (\d+) candidates")


def scored(result, candidates: int) -> int:
    """How many candidates the rerank scored (all, unless its deadline stopped it)."""
    match = STOPPED.search(result.notice)
    return int(match.group(1)) if match else (candidates if "rerank" in result.method else 0)


def run(
    folder: Path, yielding: bool | None, queries: tuple[str, ...], deadline_s: float, min_passages: int = 400
) -> dict:
    """``yielding`` None: the same searches once indexing has stopped (the machine's own limit)."""
    from indexer.cancel import CancelToken, SearchFirst
    from indexer.engine import Engine, EngineOptions
    from indexer.paths import AppPaths
    from indexer.search.searcher import SearchOptions

    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(AppPaths.from_base(Path(tmp)).ensure(), EngineOptions())
        if not yielding:
            engine.indexer.priority = SearchFirst()  # not the searcher's: indexing never waits
        cancel = CancelToken()
        indexing = threading.Thread(target=engine.indexer.run, args=([folder], cancel))
        indexing.start()
        while indexing.is_alive() and engine.store.chunks.count_rows() < min_passages:
            time.sleep(0.5)  # search once the index holds enough passages for 50 candidates
        time.sleep(1.0)  # and the embedding is busy again
        if yielding is None:
            cancel.cancel()
            indexing.join()
        options = SearchOptions(deadline_s=deadline_s)
        rows = []
        for query in queries:
            started = time.perf_counter()
            found, timings = engine.searcher.first_stage(query, options.candidates, options.mode)
            result = engine.searcher.finish(query, found, timings, options)
            rows.append(
                {
                    "query": query,
                    "candidates": len(found),
                    "scored": scored(result, len(found)),
                    "rerank_ms": round(result.timings_ms.get("rerank", 0.0)),
                    "total_ms": round((time.perf_counter() - started) * 1000),
                    "indexing": indexing.is_alive(),
                }
            )
        waits = engine.indexer.priority.waits + engine.indexer.priority.interrupted
        cancel.cancel()
        indexing.join()
        engine.close()
    return {"yielding": yielding, "searches": rows, "indexing_waits": waits}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?", default=str(PDFS))
    parser.add_argument("--deadline", type=float, default=2.0)
    parser.add_argument("--queries", type=int, default=len(QUERIES), help="how many searches per row")
    parser.add_argument("--min-passages", type=int, default=400, help="search once the index holds this many")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("QUARRY_MODEL_DIRS", str(MODELS))
    queries = QUERIES[: max(1, args.queries)]
    runs = [
        run(Path(args.folder), yielding, queries, args.deadline, args.min_passages) for yielding in (False, True, None)
    ]
    if args.json:
        print(json.dumps({"runs": runs, "machine": machine(), "deadline_s": args.deadline}))
        return 0
    print(f"Reranked within a {args.deadline:.0f} s deadline while indexing {args.folder}\nMachine: {machine()}\n")
    rows = []
    for r in runs:
        counts = [s["scored"] for s in r["searches"]]
        rows.append(
            [
                {True: "yields to the search", False: "does not yield", None: "stopped (baseline)"}[r["yielding"]],
                " / ".join(f"{s['scored']} of {s['candidates']}" for s in r["searches"]),
                median(counts),
                median([s["rerank_ms"] for s in r["searches"]]),
                r["indexing_waits"],
            ]
        )
    print(table(["indexing", "scored per search", "median scored", "median rerank ms", "batches held"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
