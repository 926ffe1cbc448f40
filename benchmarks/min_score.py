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

OFF_TOPIC_HELD_OUT = [
    "how to bake sourdough bread at home",
    "train timetable from London to Edinburgh",
    "fix a leaking kitchen tap",
    "the history of the Roman empire",
    "best budget smartphone this year",
    "how to knit a scarf for beginners",
    "lyrics of a famous Beatles song",
    "rules of chess castling",
    "car insurance quotes for young drivers",
    "how to grow tomatoes on a balcony",
]
"""Written after the topic gate was chosen, so they were never used to tune it."""

OFF_TOPIC_SESSION_3 = [
    "how to unclog a bathroom sink drain",
    "best beaches in Portugal for surfing",
    "how much does a used electric car cost",
    "recipe for vegetable lasagne",
    "how to write a cover letter for a job",
    "when is the next full moon",
    "how to train a puppy to sit",
    "opening hours of the post office on Saturday",
    "how to tie a bow tie",
    "what is the capital of Australia",
]
"""Written in session 3, after the topic gate and the minimum score were fixed, and only
measured: nothing was changed because of them."""

OFF_TOPIC_SESSION_4 = [
    "how to change the oil in my car",
    "best time to visit Japan for cherry blossoms",
    "how to make a paper airplane that flies far",
    "who painted the Mona Lisa",
    "how many players are on a basketball team",
    "set up a wifi router at home",
    "how to remove a red wine stain from carpet",
    "what to pack for a weekend camping trip",
    "how to play texas holdem poker",
    "cheap hotels near the Eiffel Tower",
    "how to fold a fitted sheet",
    "when does daylight saving time end",
    "how to write a haiku",
    "best pizza toppings for a party",
    "how to solve a Rubik's cube",
    "what is the plot of Romeo and Juliet",
    "how to iron a shirt without creases",
    "how to jump start a car",
    "how to clean a cast iron pan",
    "convert miles to kilometres",
]
"""Written in session 4 before any session-4 change was tried and committed unrun: the check
for whatever session 4 changes (and for the session-3 default, measured once beside it)."""


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
