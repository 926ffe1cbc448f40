"""Keyword search across languages (issue 30): index ``benchmarks/queries/multilingual/`` into a
fresh index and run every query of ``multilingual.jsonl`` with ``--no-rerank`` (the hybrid first
stage) and at the defaults (reranked). Per language: the keyword hit share (queries whose target
note is among the BM25 list, i.e. a hit of it has a BM25 rank) and hit@1, for each setting; also
the indexing time and the index size of the folder.

Usage: ``QUARRY_MODEL_DIRS=../shared/models python benchmarks/multilingual.py [--json]``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import MODELS, ROOT, machine, table

FOLDER = ROOT / "benchmarks" / "queries" / "multilingual"
QUERIES = ROOT / "benchmarks" / "queries" / "multilingual.jsonl"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--folder", type=Path, default=FOLDER)
    parser.add_argument("--queries", type=Path, default=QUERIES)
    args = parser.parse_args()
    os.environ.setdefault("QUARRY_MODEL_DIRS", str(MODELS))
    from indexer.engine import Engine, EngineOptions
    from indexer.paths import AppPaths
    from indexer.search.searcher import SearchOptions

    rows = [json.loads(line) for line in args.queries.read_text("utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as base:
        engine = Engine(AppPaths.from_base(Path(base)).ensure(), EngineOptions())
        started = time.perf_counter()
        report = engine.indexer.run([args.folder])
        seconds = time.perf_counter() - started
        size = sum(f.stat().st_size for f in Path(base).rglob("*") if f.is_file() and ".lance" in str(f))
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for row in rows:
            lang = row["language"]
            counts[lang]["n"] += 1
            for name, options in (("no-rerank", SearchOptions(rerank=False)), ("default", SearchOptions())):
                hits = engine.searcher.search(row["query"], options).hits
                mine = [h for h in hits if Path(h.path).name == row["file"]]
                counts[lang][f"{name} bm25"] += any(h.bm25_rank is not None for h in mine)
                counts[lang][f"{name} hit@1"] += bool(hits) and Path(hits[0].path).name == row["file"]
    result = {lang: {k: v for k, v in c.items()} for lang, c in counts.items()}
    if args.json:
        print(json.dumps({"languages": result, "index_s": seconds, "index_bytes": size, "report": report.summary()}))
        return 0
    names = ["no-rerank bm25", "no-rerank hit@1", "default bm25", "default hit@1"]
    body = [[lang, c["n"], *(f"{c[k]}/{c['n']}" for k in names)] for lang, c in result.items()]
    total = {k: sum(c[k] for c in result.values()) for k in ["n", *names]}
    body.append(["all", total["n"], *(f"{total[k]}/{total['n']}" for k in names)])
    print(
        table(
            [
                "language",
                "queries",
                "keyword hit (no-rerank)",
                "hit@1 (no-rerank)",
                "keyword hit (default)",
                "hit@1 (default)",
            ],
            body,
        )
    )
    print(
        f"index: {report.summary()} in {seconds:.1f} s, {size / 1e3:.0f} kB; {machine()}; load {os.getloadavg()[0]:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
