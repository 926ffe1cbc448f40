"""Off-topic queries and the minimum score: how many relevant passages stay visible, and how
many off-topic queries show nothing, under each way of forming the final score.

SciFact: needs the index `quarry eval` builds (run `quarry --basedir DIR eval
../shared/data/scifact` first, with the same DIR). With `--pdfs BASEDIR`, also an app index
holding ../shared/data/pdfs and tests/data/golden (`quarry --basedir BASEDIR add …`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import SHARED, table
from benchmarks.topic_queries import (
    IN_DOMAIN_PDFS,
    IN_DOMAIN_PDFS_HELD_OUT,
    IN_DOMAIN_PDFS_SESSION_4B,
    OFF_TOPIC,
    OFF_TOPIC_HELD_OUT,
    OFF_TOPIC_SESSION_3,
    OFF_TOPIC_SESSION_4,
    OFF_TOPIC_SESSION_4B,
)
from indexer.constants import MIN_SCORE
from indexer.search.fusion import final_scores
from indexer.search.searcher import Searcher, SearchOptions
from indexer.search.topic import Bounds, TopicCheck, similarity_gate
from indexer.types import Hit

OFF_TOPIC_SETS = {
    "set 1 (tuning)": OFF_TOPIC,
    "set 2": OFF_TOPIC_HELD_OUT,
    "set 3": OFF_TOPIC_SESSION_3,
    "set 4": OFF_TOPIC_SESSION_4,
    "set 4B (held out)": OFF_TOPIC_SESSION_4B,
}
IN_DOMAIN = {
    "in-domain (choosing)": IN_DOMAIN_PDFS,
    "in-domain 2": IN_DOMAIN_PDFS_HELD_OUT,
    "in-domain 4B (held out)": IN_DOMAIN_PDFS_SESSION_4B,
}
SESSION_3_GATE: Bounds = (0.25, 0.40)

Rule = Callable[[str, Hit], float]


def default_rule(bounds: Bounds | None) -> Rule:
    """The app's final score (indexer.search.fusion.final_scores): the rerank score times the
    topic weight under ``bounds``."""

    def final(query: str, hit: Hit) -> float:
        weight = TopicCheck(query, bounds).weight(hit.first_stage_score, (hit.title, hit.text))
        return final_scores([hit.rerank_score or 0.0], [weight])[0] or 0.0

    return final


def rules(bounds: Bounds | None) -> dict[str, Rule]:
    """Final score of a hit found with the topic check off, per rule."""
    return {
        "rerank score alone": lambda q, h: h.rerank_score or 0.0,
        "session 3: similarity gate 0.25-0.40": lambda q, h: (
            (h.rerank_score or 0.0) * similarity_gate(h.first_stage_score, SESSION_3_GATE)
        ),
        f"default: topic check {bounds}": default_rule(bounds),
    }


class Runner:
    def __init__(self, searcher: Searcher, n: int) -> None:
        self.searcher = searcher
        self.options = SearchOptions(k=n, candidates=n, min_score=0.0, topic_gate=False)
        self.cache: dict[str, list[Hit]] = {}

    def hits(self, query: str) -> list[Hit]:
        if query not in self.cache:
            self.cache[query] = self.searcher.search(query, self.options).hits
        return self.cache[query]

    def best(self, query: str, rule: Rule) -> tuple[float, Hit | None]:
        scored = [(rule(query, h), h) for h in self.hits(query)]
        return max(scored, key=lambda x: x[0]) if scored else (0.0, None)

    def empty(self, queries: list[str], rule: Rule, minimum: float) -> str:
        return f"{sum(self.best(q, rule)[0] < minimum for q in queries)}/{len(queries)}"

    def shown(self, queries: list[str], rule: Rule, minimum: float) -> list[str]:
        found = []
        for query in queries:
            score, hit = self.best(query, rule)
            if hit is not None and score >= minimum:
                found.append(f'"{query}" -> {score:.2f} {Path(hit.path).name} p. {hit.page}: {hit.snippet[:70]!r}')
        return found


def scifact(runner: Runner, bounds: Bounds | None) -> None:
    from indexer.search.evaluation import load_beir

    dataset = load_beir((SHARED / "data" / "scifact").resolve(), "dev")
    relevant: list[tuple[str, Hit]] = []
    for qid, query in sorted(dataset.queries.items()):
        wanted = {f"beir:{d}" for d, s in dataset.qrels[qid].items() if s > 0}
        relevant += [(query, h) for h in runner.hits(query) if h.path in wanted]
    print(f"\nSciFact dev: {len(relevant)} relevant passages among the top {runner.options.candidates} candidates")
    print(f"of {len(dataset.queries)} queries; off-topic queries with no result at minimum score {MIN_SCORE}:\n")
    rows = []
    for name, rule in rules(bounds).items():
        kept = np.mean([rule(q, h) >= MIN_SCORE for q, h in relevant])
        rows.append([name, f"{kept:.1%}", *(runner.empty(qs, rule, MIN_SCORE) for qs in OFF_TOPIC_SETS.values())])
    print(table(["final score", "relevant kept", *OFF_TOPIC_SETS], rows))
    default = default_rule(bounds)
    every = [q for qs in OFF_TOPIC_SETS.values() for q in qs]
    rows = [
        [f"{t:.2f}", f"{np.mean([default(q, h) >= t for q, h in relevant]):.1%}", runner.empty(every, default, t)]
        for t in (0.05, 0.1, 0.2, 0.3, 0.5)
    ]
    print("\nThe default rule at other minimum scores (all off-topic sets together):\n")
    print(table(["minimum score", "relevant kept", "off-topic with no result"], rows))
    print("\nOff-topic queries that still show a result (default rule):")
    print("\n".join(f"  {line}" for line in runner.shown(every, default, MIN_SCORE)) or "  none")


def pdfs(runner: Runner, bounds: Bounds | None) -> None:
    print(f"\nShared PDFs + tests/data/golden, minimum score {MIN_SCORE}: in-domain queries whose file is among")
    print("the hits, and off-topic queries with no result (sourdough is left out: golden holds a sourdough")
    print("recipe, so 'how to bake sourdough bread at home' is on topic there):\n")
    off = {name: [q for q in qs if "sourdough" not in q] for name, qs in OFF_TOPIC_SETS.items()}
    rows = []
    for name, rule in rules(bounds).items():
        found = []
        for wanted in IN_DOMAIN.values():
            ok = sum(
                any(Path(h.path).name == file and rule(q, h) >= MIN_SCORE for h in runner.hits(q))
                for q, file in wanted.items()
            )
            found.append(f"{ok}/{len(wanted)}")
        rows.append([name, *found, *(runner.empty(qs, rule, MIN_SCORE) for qs in off.values())])
    print(table(["final score", *IN_DOMAIN, *off], rows))
    default = default_rule(bounds)
    print("\nOff-topic queries that still show a result (default rule):")
    print("\n".join(f"  {line}" for line in runner.shown([q for qs in off.values() for q in qs], default, MIN_SCORE)))
    missed = [
        q
        for q, file in {k: v for queries in IN_DOMAIN.values() for k, v in queries.items()}.items()
        if not any(Path(h.path).name == file and default(q, h) >= MIN_SCORE for h in runner.hits(q))
    ]
    print(f"In-domain queries whose file is not shown (default rule): {missed or 'none'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--basedir", required=True, help="where `quarry eval` kept its SciFact index")
    parser.add_argument("--pdfs", help="an app folder whose index holds the shared PDFs and tests/data/golden")
    parser.add_argument("-n", type=int, default=50, help="candidates per query (the app's default is 50)")
    args = parser.parse_args(argv)
    from indexer.engine import Engine, EngineOptions
    from indexer.paths import AppPaths
    from indexer.search.evaluation import eval_store_dir, load_beir
    from indexer.store.lance import Store

    folder = (SHARED / "data" / "scifact").resolve()
    paths = AppPaths.default(args.basedir)
    engine = Engine(paths, EngineOptions())
    store_dir = eval_store_dir(paths.cache, folder, engine.embedder.fingerprint, len(load_beir(folder, "dev").corpus))
    if not (store_dir / "complete").exists():
        raise SystemExit(f"no eval index at {store_dir}: run quarry eval first")
    store = Store(store_dir, engine.embedder.dimension, engine.embedder.fingerprint)
    searcher = Searcher(store, engine.embedder, engine.reranker)
    print(f"reranker {engine.reranker.label if engine.reranker else 'none'}")
    scifact(Runner(searcher, args.n), searcher.topic_gate)
    if args.pdfs:
        pdf_engine = Engine(AppPaths.default(args.pdfs), EngineOptions())
        pdfs(Runner(pdf_engine.searcher, args.n), pdf_engine.searcher.topic_gate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
