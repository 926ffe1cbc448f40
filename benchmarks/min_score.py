"""Calibrate the default minimum score: rerank scores of relevant passages (SciFact dev)
against the best score that off-topic queries reach. Needs the index `quarry eval` builds
(run `quarry --basedir DIR eval ../shared/data/scifact` first, with the same DIR)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import SHARED, table

OFF_TOPIC = [
    "chocolate cake recipe with buttercream frosting",
    "how do I change a bicycle tyre",
    "best hiking trails in Scotland",
    "the stock market crashed today",
    "who won the football world cup",
    "how to learn the guitar quickly",
    "cheap flights to Barcelona in May",
    "what time does the library open",
    "python list comprehension syntax",
    "renew my passport online",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--basedir", required=True)
    parser.add_argument("-n", type=int, default=50)
    args = parser.parse_args(argv)
    from indexer.engine import Engine, EngineOptions
    from indexer.evaluation import eval_store_dir, load_beir
    from indexer.paths import AppPaths
    from indexer.search import Searcher
    from indexer.store import Store

    folder = (SHARED / "data" / "scifact").resolve()
    dataset = load_beir(folder, "dev")
    paths = AppPaths.default(args.basedir)
    engine = Engine(paths, EngineOptions())
    store_dir = eval_store_dir(paths.cache, folder, engine.embedder.fingerprint, len(dataset.corpus))
    if not (store_dir / "complete").exists():
        raise SystemExit(f"no eval index at {store_dir}: run quarry eval first")
    store = Store(store_dir, engine.embedder.dimension, engine.embedder.fingerprint)
    searcher = Searcher(store, engine.embedder, engine.reranker)
    relevant: list[float] = []
    for qid, query in sorted(dataset.queries.items()):
        found, _ = searcher.first_stage(query, args.n)
        scores = engine.reranker.score(query, [f"{c.chunk.title}\n{c.chunk.text}" for c in found]).scores
        wanted = {f"beir:{d}" for d, s in dataset.qrels[qid].items() if s > 0}
        relevant += [s for c, s in zip(found, scores, strict=True) if c.chunk.path in wanted]
    off = []
    for query in OFF_TOPIC:
        found, _ = searcher.first_stage(query, args.n)
        off.append(max(engine.reranker.score(query, [f"{c.chunk.title}\n{c.chunk.text}" for c in found]).scores))
    rel = np.asarray(relevant)
    rows = [
        [f"{t:.2f}", f"{(rel >= t).mean():.1%}", f"{np.mean(np.asarray(off) < t):.0%}"]
        for t in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7)
    ]
    print(
        f"{len(rel)} relevant passages among top-{args.n} candidates of {len(dataset.queries)} dev queries; "
        f"{len(OFF_TOPIC)} off-topic queries (best scores: {', '.join(f'{x:.2f}' for x in sorted(off))})\n"
    )
    print(table(["minimum score", "relevant passages kept", "off-topic queries with no result"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
