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
from benchmarks.topic_queries import OFF_TOPIC, OFF_TOPIC_HELD_OUT, OFF_TOPIC_SESSION_3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--basedir", required=True)
    parser.add_argument("-n", type=int, default=50)
    args = parser.parse_args(argv)
    from indexer.engine import Engine, EngineOptions
    from indexer.evaluation import eval_store_dir, load_beir
    from indexer.paths import AppPaths
    from indexer.search import Searcher, SearchOptions
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
    options = SearchOptions(k=args.n, candidates=args.n, min_score=0.0)

    def scores(query: str) -> list[tuple[str, float, float]]:
        """(path, final score with the topic gate, rerank score alone) per candidate."""
        hits = searcher.search(query, options).hits
        return [(h.path, h.score, h.rerank_score or 0.0) for h in hits]

    relevant: list[tuple[float, float]] = []
    for qid, query in sorted(dataset.queries.items()):
        wanted = {f"beir:{d}" for d, s in dataset.qrels[qid].items() if s > 0}
        relevant += [(final, raw) for path, final, raw in scores(query) if path in wanted]
    rel = np.asarray(relevant)
    for name, queries in (
        ("tuning", OFF_TOPIC),
        ("held out", OFF_TOPIC_HELD_OUT),
        ("held out, session 3", OFF_TOPIC_SESSION_3),
    ):
        best = np.asarray([[max(x[1] for x in scores(q)), max(x[2] for x in scores(q))] for q in queries])
        rows = [
            [
                f"{t:.2f}",
                f"{(rel[:, 0] >= t).mean():.1%}",
                f"{np.mean(best[:, 0] < t):.0%}",
                f"{(rel[:, 1] >= t).mean():.1%}",
                f"{np.mean(best[:, 1] < t):.0%}",
            ]
            for t in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7)
        ]
        print(
            f"\n{len(rel)} relevant passages among the top {args.n} of {len(dataset.queries)} dev queries; "
            f"{len(queries)} off-topic queries ({name}). Best off-topic scores with the gate: "
            f"{', '.join(f'{x:.2f}' for x in sorted(best[:, 0]))}; without: "
            f"{', '.join(f'{x:.2f}' for x in sorted(best[:, 1]))}\n"
        )
        print(
            table(
                [
                    "minimum score",
                    "relevant kept (gate)",
                    "off-topic empty (gate)",
                    "relevant kept (rerank only)",
                    "off-topic empty (rerank only)",
                ],
                rows,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
