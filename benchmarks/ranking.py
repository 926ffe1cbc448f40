"""How should rerank scores and the first stage's order make the final order? Compares every
configuration on SciFact dev (in domain for the test reranker) and the page-labelled book
questions (out of its domain), from rerank scores computed once and cached.

    python benchmarks/ranking.py collect-books --basedir DIR benchmarks/queries/books-*.jsonl
    python benchmarks/ranking.py collect-beir --basedir DIR ../shared/data/scifact
    python benchmarks/ranking.py compare
    python benchmarks/ranking.py compare-windows books-choosing scifact-train-100 --windows 0 64 128
    python benchmarks/ranking.py collect-books --basedir DIR --pdfs BOOKS3 --collection books3 SETS
    python benchmarks/ranking.py calibrate

`--selfcheck` (collect-*) also runs the reranker self-check (indexer.search.selfcheck) on the
collection and caches its records as `<collection>-selfcheck.json`; `compare` then scores the
self-check's weight per collection, and `calibrate` fits the shown score
(indexer.search.calibration) on the choosing sets.

`collect-*` run the first stage (hybrid, with BM25 and vector ranks) and the reranker over its
top candidates once per query, and write them to .cache/ranking/ (git-ignored); `compare`
then scores every configuration offline: nDCG@10 for SciFact (document level), hit@1, hit@3
and MRR@10 per page for the books."""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import EMBEDDER, MODELS, PDFS, ROOT, machine, table
from indexer.search.fusion import fuse, mmr, order_by_keys
from indexer.search.passage_window import rerank_text
from indexer.search.searcher import Searcher

log = logging.getLogger("benchmarks.ranking")
CACHE = ROOT / ".cache" / "ranking"
RERANKER = MODELS / "quarry-test-reranker-minilm-l6-f16.gguf"
"""Named, not picked: models.pick prefers the smallest f16 reranker, which in ../shared/models is
the random-weight conformance/qwen3-reranker-f16.gguf (a test fixture, not a reranker)."""
CANDIDATES = 50
DEPTH = 100


def _models(basedir: Path):
    from indexer.models.embedding import Embedder
    from indexer.models.rerank import Reranker
    from indexer.runtime.hardware import detect, place

    placement = place(detect(), "cpu")
    embedder = Embedder(EMBEDDER, placement)
    reranker = Reranker(RERANKER, placement, tuned_dir=basedir / "tuned")
    return embedder, reranker


def _record(searcher: Searcher, reranker, query: str, depth: int, candidates: int, window: int) -> dict:
    found, _ = searcher.first_stage(query, depth, "hybrid")
    head = found[:candidates]
    t0 = time.perf_counter()
    scores = reranker.score(query, [rerank_text(c.chunk, query, window) for c in head]).scores if head else []
    ms = (time.perf_counter() - t0) * 1000
    weights = searcher.topic_weights(query, head)
    return {
        "query": query,
        "rerank_ms": round(ms, 1),
        "candidates": [
            {
                "path": c.chunk.path,
                "page": c.chunk.page,
                "rank": c.rank,
                "bm25": c.bm25_rank,
                "vector": c.vector_rank,
                "similarity": round(c.similarity, 5),
                "rerank": None if i >= len(head) else round(scores[i], 6),
                "topic": None if i >= len(head) else round(weights[i], 4),
                "text": c.chunk.text if i < len(head) else "",
            }
            for i, c in enumerate(found)
        ],
    }


def run_selfcheck(searcher: Searcher, collection: str) -> None:
    """The reranker self-check on the searcher's collection, its finding cached for compare."""
    from indexer.search import selfcheck

    t0 = time.perf_counter()
    finding = selfcheck.run(searcher, searcher.store.folder, searcher.reranker_id, searcher.embedder.fingerprint, 2.0)
    log.info("%s self-check: %s (%.1f s)", collection, finding.describe(), time.perf_counter() - t0)
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / f"{collection}-selfcheck.json").write_text(
        (searcher.store.folder / selfcheck.FILE_NAME).read_text("utf-8"), "utf-8"
    )


def collect_books(args: argparse.Namespace) -> None:
    from indexer.ingest.pipeline import Indexer
    from indexer.store.lance import Store

    embedder, reranker = _models(args.basedir)
    folder = args.basedir / ("books-index" if args.collection == "pdfs" else f"{args.collection}-index")
    store = Store(folder, embedder.dimension, embedder.fingerprint)
    t0 = time.perf_counter()
    report = Indexer(store, embedder).run([args.pdfs])
    log.info("%s index: %s (%.1f s)", args.collection, report.summary(), time.perf_counter() - t0)
    searcher = Searcher(store, embedder, reranker)
    if args.selfcheck:
        run_selfcheck(searcher, args.collection)
    CACHE.mkdir(parents=True, exist_ok=True)
    for set_file in args.sets:
        rows = [json.loads(line) for line in set_file.read_text("utf-8").splitlines() if line.strip()]
        out = CACHE / f"{set_file.stem}{_suffix(args.window)}.jsonl"
        with out.open("w", encoding="utf-8") as handle:
            for row in rows:
                record = _record(searcher, reranker, row["query"], CANDIDATES, CANDIDATES, args.window)
                record["label"] = row
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        log.info("%s: %d queries -> %s", set_file.name, len(rows), out)


def collect_beir(args: argparse.Namespace) -> None:
    from indexer.search.evaluation import eval_store_dir, index_corpus, load_beir
    from indexer.store.lance import Store

    embedder, reranker = _models(args.basedir)
    folder = args.dataset.resolve()
    dataset = load_beir(folder, args.split)
    store_dir = eval_store_dir(args.basedir / "cache", folder, embedder.fingerprint, len(dataset.corpus))
    store = Store(store_dir, embedder.dimension, embedder.fingerprint, reset_on_mismatch=True)
    if not (store_dir / "complete").exists():
        index_corpus(dataset, store, embedder)
        (store_dir / "complete").write_text("ok")
    searcher = Searcher(store, embedder, reranker)
    if args.selfcheck:
        run_selfcheck(searcher, folder.name)
        if not args.queries:
            return
    CACHE.mkdir(parents=True, exist_ok=True)
    if args.off_topic:
        from benchmarks.topic_queries import (
            OFF_TOPIC,
            OFF_TOPIC_HELD_OUT,
            OFF_TOPIC_SESSION_3,
            OFF_TOPIC_SESSION_4,
            OFF_TOPIC_SESSION_4B,
        )

        queries = [*OFF_TOPIC, *OFF_TOPIC_HELD_OUT, *OFF_TOPIC_SESSION_3, *OFF_TOPIC_SESSION_4, *OFF_TOPIC_SESSION_4B]
        with (CACHE / f"{folder.name}-off-topic.jsonl").open("w", encoding="utf-8") as handle:
            for query in queries:
                record = _record(searcher, reranker, query, CANDIDATES, CANDIDATES, args.window)
                record["label"] = {"file": None}
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    part = f"-{args.limit}" if args.limit else f"-half-{args.half}" if args.half else ""
    out = CACHE / f"{folder.name}-{args.split}{part}{_suffix(args.window)}.jsonl"
    query_ids = sorted(dataset.queries)
    if args.limit and args.limit < len(query_ids):
        query_ids = sorted(random.Random(0).sample(query_ids, args.limit))
    elif args.half:  # two fixed halves: one to choose on, one to report untouched
        first = set(random.Random(0).sample(query_ids, len(query_ids) // 2))
        query_ids = [q for q in query_ids if (q in first) == (args.half == "a")]
    with out.open("w", encoding="utf-8") as handle:
        for n, qid in enumerate(query_ids, start=1):
            record = _record(searcher, reranker, dataset.queries[qid], DEPTH, CANDIDATES, args.window)
            record["label"] = {"qid": qid, "qrels": dataset.qrels[qid]}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            if n % 20 == 0:
                log.info("%d of %d queries", n, len(query_ids))


def _suffix(window: int) -> str:
    return f"-w{window}" if window else ""


# -- offline comparison ----------------------------------------------------------------------
Order = Callable[[list[dict]], list[int]]


def configuration(
    ranking: str | None,
    *,
    k: int = 10,
    w: float = 5.0,
    power: float = 2.0,
    alpha: float = 0.5,
    diversity: float = 0.0,
    topic: bool = True,
    pages: str = "max",
) -> Order:
    def order(cands: list[dict]) -> list[int]:
        head = [c for c in cands if c["rerank"] is not None]
        if ranking is None:
            ranked = list(range(len(cands)))
        else:
            keys = fuse(
                ranking,
                [c["rank"] for c in head],
                [c["rerank"] for c in head],
                [c["topic"] if topic else 1.0 for c in head],
                k=k,
                rerank_weight=w,
                alpha=alpha,
                power=power,
            )
            if pages == "sum2":  # a page scores the sum of its two best passages' keys
                best: dict[tuple, list[float]] = {}
                for c, key in zip(head, keys, strict=True):
                    best.setdefault((c["path"], c["page"]), []).append(key or 0.0)
                keys = [sum(sorted(best[(c["path"], c["page"])], reverse=True)[:2]) for c in head]
            ranked = order_by_keys(keys) + list(range(len(head), len(cands)))
        if diversity:
            ranked = mmr(ranked[: len(head)], [c["text"] for c in cands], len(head), diversity) + ranked[len(head) :]
        return ranked

    return order


DEFAULT = "**RRF k=10, rerank weight 5 × agreement² (default)**"
CONFIGS: dict[str, Order] = {
    "first stage (hybrid RRF)": configuration(None),
    "rerank alone": configuration("rerank"),
    "rerank × topic (session 4 default)": configuration("rerank*topic"),
    "position-aware blend (qmd)": configuration("blend"),
    **{
        f"interpolation α={a}: rerank×topic, first-stage rank": configuration("interp", alpha=a)
        for a in (0.3, 0.5, 0.7)
    },
    **{f"RRF(rerank×topic, first stage) k={k}": configuration("rrf", k=k, w=1.0, power=0.0) for k in (5, 10, 20, 60)},
    "RRF(rerank alone, first stage) k=10": configuration("rrf", w=1.0, power=0.0, topic=False),
    "RRF k=10, rerank weight 2": configuration("rrf", w=2.0, power=0.0),
    "RRF k=10, rerank weight 5": configuration("rrf", w=5.0, power=0.0),
    "RRF k=10, rerank weight 1 × agreement": configuration("rrf", w=1.0, power=1.0),
    "RRF k=10, rerank weight 3 × agreement²": configuration("rrf", w=3.0),
    DEFAULT: configuration("rrf"),
    "RRF k=5, rerank weight 5 × agreement²": configuration("rrf", k=5),
    "RRF k=20, rerank weight 5 × agreement²": configuration("rrf", k=20),
    "RRF k=10, rerank weight 8 × agreement²": configuration("rrf", w=8.0),
    "default + pages: sum of 2 best passages": configuration("rrf", pages="sum2"),
    "default + MMR 0.2": configuration("rrf", diversity=0.2),
    "default + MMR 0.4": configuration("rrf", diversity=0.4),
    "rerank × topic + MMR 0.2": configuration("rerank*topic", diversity=0.2),
}


def ndcg10(ranked_docs: list[str], qrels: dict[str, int]) -> float:
    gains = [qrels.get(d, 0) for d in ranked_docs[:10]]
    dcg = sum(g / math.log2(n + 2) for n, g in enumerate(gains))
    ideal = sorted(qrels.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(n + 2) for n, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def unique(keys: list) -> list:
    return list(dict.fromkeys(keys))


def score_beir(records: list[dict], order: Order) -> dict[str, float]:
    total, rr = 0.0, 0.0
    for rec in records:
        cands = rec["candidates"]
        docs = unique([cands[i]["path"].removeprefix("beir:") for i in order(cands)])
        qrels = rec["label"]["qrels"]
        total += ndcg10(docs, qrels)
        rr += next((1 / (n + 1) for n, d in enumerate(docs[:10]) if qrels.get(d, 0) > 0), 0.0)
    return {"nDCG@10": total / len(records), "MRR@10": rr / len(records)}


def score_books(records: list[dict], order: Order, min_score: float = 0.2) -> dict[str, float]:
    hit1 = hit3 = rr = 0.0
    answerable = [r for r in records if r["label"]["file"]]
    off = [r for r in records if not r["label"]["file"]]
    weak_in = weak_off = 0
    for rec in records:
        cands = rec["candidates"]
        shown: dict[tuple, dict] = {}  # as the app shows them: the best placed passage of each page
        for i in order(cands):
            shown.setdefault((Path(cands[i]["path"]).name, cands[i]["page"]), cands[i])
        pages = list(shown)
        top = [c for c in list(shown.values())[:10] if c["rerank"] is not None]
        weak = not any(c["rerank"] * c["topic"] >= min_score for c in top)
        label = rec["label"]
        if not label["file"]:
            weak_off += weak
            continue
        weak_in += weak
        wanted = {(label["file"], p) for p in label["pages"]}
        place = next((n for n, p in enumerate(pages[:10], start=1) if p in wanted), None)
        hit1 += place == 1
        hit3 += place is not None and place <= 3
        rr += 1 / place if place else 0.0
    n = len(answerable)
    return {
        "hit@1": hit1 / n,
        "hit@3": hit3 / n,
        "MRR@10": rr / n,
        "weak in-domain": weak_in,
        "weak off-topic": weak_off,
        "n": n,
        "off": len(off),
    }


def load(name: str) -> list[dict]:
    path = CACHE / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()] if path.exists() else []


def compare(args: argparse.Namespace) -> None:
    scifact = load("scifact-dev")
    books = {name: load(name) for name in ("books-choosing", "books-unseen", "books-unseen-2") if name not in args.skip}
    print(f"Machine: {machine()}\n")
    rows = []
    for name, order in CONFIGS.items():
        row: list[object] = [name]
        if scifact:
            m = score_beir(scifact, order)
            row += [f"{m['nDCG@10']:.4f}", f"{m['MRR@10']:.4f}"]
        for records in books.values():
            if records:
                m = score_books(records, order)
                row += [f"{m['hit@1']:.3f}", f"{m['hit@3']:.3f}", f"{m['MRR@10']:.3f}"]
        rows.append(row)
    headers = ["configuration"]
    if scifact:
        headers += ["SciFact nDCG@10", "SciFact MRR@10"]
    for name, records in books.items():
        if records:
            headers += [f"{name} hit@1", "hit@3", "MRR@10"]
    print(table(headers, rows))
    print("\nWeak sets (no hit of the top 10 with rerank × topic ≥ 0.2), by configuration:")
    weak_rows = []
    off_scifact = load("scifact-off-topic")
    for name in ("rerank × topic (session 4 default)", DEFAULT):
        row = [name]
        if scifact:
            row.append(f"{weak_count(scifact, CONFIGS[name])}/{len(scifact)}")
        if off_scifact:
            row.append(f"{weak_count(off_scifact, CONFIGS[name])}/{len(off_scifact)}")
        for records in books.values():
            if records:
                m = score_books(records, CONFIGS[name])
                row += [f"{m['weak in-domain']}/{m['n']}", f"{m['weak off-topic']}/{m['off']}"]
        weak_rows.append(row)
    headers = ["configuration"]
    if scifact:
        headers.append("SciFact dev: weak")
    if off_scifact:
        headers.append("SciFact off-topic: weak")
    for name, records in books.items():
        if records:
            headers += [f"{name} in-domain: weak", "off-topic: weak"]
    print(table(headers, weak_rows))


def compare_windows(args: argparse.Namespace) -> None:
    """The default ranking with the reranker reading query-centred windows of each size
    (collected with --window; 0 = whole passages): quality per set, rerank ms per query."""
    print(f"Machine: {machine()}\n")
    headers, rows = ["window (words)"], []
    for window in args.windows:
        row: list[object] = [window or "whole passage"]
        for name in args.sets:
            records = load(f"{name}{_suffix(window)}")
            if not records:
                row += ["-", "-"]
                continue
            ms = sum(r["rerank_ms"] for r in records) / len(records)
            if "qid" in records[0]["label"]:
                m = score_beir(records, CONFIGS[DEFAULT])
                row += [f"{m['nDCG@10']:.4f}", f"{ms:.0f}"]
            else:
                m = score_books(records, CONFIGS[DEFAULT])
                row += [f"{m['hit@1']:.3f} / {m['hit@3']:.3f} / {m['MRR@10']:.3f}", f"{ms:.0f}"]
        rows.append(row)
    for name in args.sets:
        headers += [f"{name} ({'nDCG@10' if 'scifact' in name else 'hit@1 / hit@3 / MRR@10'})", "rerank ms/query"]
    print(table(headers, rows))


def weak_count(records: list[dict], order: Order, min_score: float = 0.2) -> int:
    """Results flagged weak: no hit among the top 10 (one per page or document) scores rerank ×
    topic ≥ min_score."""
    weak = 0
    for rec in records:
        cands = rec["candidates"]
        shown: dict[tuple, dict] = {}
        for i in order(cands):
            shown.setdefault((cands[i]["path"], cands[i]["page"]), cands[i])
        top = [c for c in list(shown.values())[:10] if c["rerank"] is not None]
        weak += not any(c["rerank"] * c["topic"] >= min_score for c in top)
    return weak


# -- the reranker self-check per collection, and the shown score ---------------------------------
def collection_of(name: str) -> str:
    """The collection a cached query set searches: its self-check's name."""
    if name.startswith("scifact"):
        return "scifact"
    if name.startswith(("books3", "books4")):
        return name.split("-", 1)[0]
    return "pdfs"


def finding_records(collection: str) -> list[dict]:
    path = CACHE / f"{collection}-selfcheck.json"
    if not path.exists():
        return []
    return [r for r in json.loads(path.read_text("utf-8"))["records"] if not r.get("gone")]


def selfcheck_weight(collection: str, power: float) -> float | None:
    from indexer.search.selfcheck import MIN_QUERIES, decide

    records = finding_records(collection)
    return decide(records, power)[0] if len(records) >= MIN_QUERIES else None


def score_set(records: list[dict], order: Order) -> dict[str, float]:
    return score_beir(records, order) if "qid" in records[0]["label"] else score_books(records, order)


def compare_selfcheck(args: argparse.Namespace) -> None:
    """Per set: the first stage, rerank alone, session 5's default, and the self-check's weight
    for the set's collection under each guard power; then every fixed weight, to see how
    often the self-check picks the best one."""
    from indexer.search.selfcheck import WEIGHTS, decide

    print(f"Machine: {machine()}\n")
    for collection in ("pdfs", "books3", "books4", "scifact"):
        records = finding_records(collection)
        if not records:
            continue
        for power in (0.0, 1.0, 2.0):
            weight, mrr = decide(records, power)
            line = ", ".join(f"{k} {v:.3f}" for k, v in mrr.items())
            print(f"self-check {collection} (guard power {power:g}): weight {weight:g}; {line}")
    print()
    rows = []
    for name in args.sets:
        records = load(name)
        if not records:
            continue
        metric = "nDCG@10" if "qid" in records[0]["label"] else "hit@3"
        configs: dict[str, Order] = {
            "first stage": configuration(None),
            "rerank alone": configuration("rerank"),
            "session 5 default (5 × agreement²)": configuration("rrf"),
        }
        for power in (0.0, 1.0, 2.0):
            weight = selfcheck_weight(collection_of(name), power)
            if weight is not None:
                configs[f"self-check weight {weight:g} × agreement^{power:g}"] = configuration("rrf", w=weight, power=power)
        fixed = {w: score_set(records, configuration("rrf", w=w, power=2.0) if w else configuration(None)) for w in WEIGHTS}
        best = max(fixed, key=lambda w: (round(fixed[w][metric], 4), -w))
        for label, order in configs.items():
            m = score_set(records, order)
            if metric == "nDCG@10":
                rows.append([name, label, f"{m['nDCG@10']:.4f}", "", "", f"{m['MRR@10']:.4f}"])
            else:
                rows.append([name, label, "", f"{m['hit@1']:.3f}", f"{m['hit@3']:.3f}", f"{m['MRR@10']:.3f}"])
        rows.append([name, f"best fixed weight (× agreement²): {best:g}", f"{fixed[best][metric]:.4f}", "", "", ""])
    print(table(["set", "configuration", "nDCG@10", "hit@1", "hit@3", "MRR@10"], rows))


CHOOSING = ("books-choosing", "scifact-dev-half-a", "scifact-off-topic")


def calibration_rows(records: list[dict], weight: float, power: float) -> list[tuple[list[float], int]]:
    """(features, label) of every shown hit (top 10, one per page or document), as Searcher
    computes them, in both phases: before reranking (the first stage's order) and after."""
    from indexer.search.calibration import features, query_evidence
    from indexer.search.fusion import effective_weight, relative_keys

    out = []
    for rec in records:
        cands = [c for c in rec["candidates"] if c["rerank"] is not None]
        if not cands:
            continue
        ranks_ = [c["rank"] for c in cands]
        scores = [c["rerank"] for c in cands]
        topics = [c["topic"] for c in cands]
        strengths = [s * t for s, t in zip(scores, topics, strict=True)]
        label = rec["label"]
        for phase in ("first", "final"):
            if phase == "first":
                keys, vote = [1.0 / (10 + r) for r in ranks_], 0.0
            else:
                keys = fuse("rrf", ranks_, scores, topics, k=10, rerank_weight=weight, power=power)
                vote = effective_weight(weight, scores, topics, power)
            places = relative_keys(keys, vote, 10)
            picked, seen = [], set()
            for i in order_by_keys(keys):
                key = (cands[i]["path"], cands[i]["page"]) if "qid" not in label else cands[i]["path"]
                if key in seen:
                    continue
                seen.add(key)
                picked.append(i)
                if len(picked) == 10:
                    break
            topicality, rerank = query_evidence(
                [topics[i] for i in picked], [strengths[i] for i in picked] if vote else [None], vote / (vote + 1)
            )
            for i in picked:
                c = cands[i]
                if "qid" in label:
                    relevant = int(label["qrels"].get(c["path"].removeprefix("beir:"), 0) > 0)
                elif label.get("file"):
                    relevant = int(Path(c["path"]).name == label["file"] and c["page"] in label["pages"])
                else:
                    relevant = 0
                out.append((list(features(places[i], topicality, rerank)), relevant))
    return out


def fit_logistic(rows: list[tuple[list[float], int]], l2: float = 1e-3) -> list[float]:
    """Newton's method on the mean log loss (small L2 on the weights): (bias, *weights)."""
    import numpy as np

    x = np.array([[1.0, *f] for f, _ in rows])
    y = np.array([lab for _, lab in rows], dtype=float)
    beta = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-x @ beta))
        grad = x.T @ (p - y) / len(y) + l2 * np.r_[0, beta[1:]]
        hess = (x.T * (p * (1 - p))) @ x / len(y) + l2 * np.diag([0, *([1] * (x.shape[1] - 1))])
        beta -= np.linalg.solve(hess, grad)
    return [float(b) for b in beta]


def reliability(rows: list[tuple[list[float], int]], coefficients: list[float]) -> list[list[object]]:
    """Predicted against observed share relevant, in bins of the predicted score (the shown
    score's bins: under 0.2 weak, 0.2–0.5 possible, 0.5 and over strong)."""
    from indexer.search.calibration import logistic

    bins = [(0.0, 0.2), (0.2, 0.5), (0.5, 0.8), (0.8, 1.01)]
    out = []
    for low, high in bins:
        inside = []
        for f, lab in rows:
            p = logistic(coefficients, f)
            if low <= p < high:
                inside.append((p, lab))
        if inside:
            mean_p = sum(p for p, _ in inside) / len(inside)
            observed = sum(lab for _, lab in inside) / len(inside)
            out.append([f"{low:.1f}–{min(high, 1.0):.1f}", len(inside), f"{mean_p:.2f}", f"{observed:.2f}"])
    return out


def calibrate(args: argparse.Namespace) -> None:
    """Fit the shown score on the choosing sets (each under its collection's self-check weight)
    and report its reliability on every cached set."""
    print(f"Machine: {machine()}\n")
    power = args.power

    def rows_of(name: str) -> list[tuple[list[float], int]]:
        records = load(name)
        weight = selfcheck_weight(collection_of(name), power)
        return calibration_rows(records, 5.0 if weight is None else weight, power) if records else []

    from indexer.search.calibration import COEFFICIENTS, rises_with_place

    used = 3 if args.linear else None  # the linear model reads place, topicality and rerank only
    training = [(f[:used], label) for name in CHOOSING for f, label in rows_of(name)]
    coefficients = fit_logistic(training)
    if used:
        coefficients += [0.0] * (len(COEFFICIENTS) - len(coefficients))
    print(f"COEFFICIENTS = ({', '.join(f'{c:.3f}' for c in coefficients)})  # fitted on {len(training)} hits of {CHOOSING}")
    print(f"rises with place everywhere: {rises_with_place(coefficients)}; in the app now: {COEFFICIENTS}\n")
    for name in args.sets:
        rows = rows_of(name)
        if rows:
            print(f"{name}:")
            header = ["predicted", "hits", "mean predicted", "share relevant"]
            print("fitted now:")
            print(table(header, reliability(rows, coefficients)))
            print("in the app now:")
            print(table(header, reliability(rows, list(COEFFICIENTS))))
            print()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("collect-books")
    p.add_argument("--basedir", type=Path, required=True)
    p.add_argument("--pdfs", type=Path, default=PDFS)
    p.add_argument("--collection", default="pdfs", help="the folder's name in the cache (pdfs: the shared PDFs)")
    p.add_argument("sets", type=Path, nargs="*")
    p = sub.add_parser("collect-beir")
    p.add_argument("--basedir", type=Path, required=True)
    p.add_argument("--split", default="dev")
    p.add_argument("--off-topic", action="store_true", help="the off-topic sets of benchmarks/topic_queries.py instead")
    p.add_argument("dataset", type=Path)
    p.add_argument("--limit", type=int, help="a fixed random sample of this many queries")
    p.add_argument("--half", choices=["a", "b"], help="one of two fixed random halves of the queries")
    p.add_argument("--no-queries", dest="queries", action="store_false", help="with --selfcheck: only the check")
    for p in sub.choices.values():
        p.add_argument("--window", type=int, default=0, help="words of each passage the reranker reads (0: all)")
        p.add_argument("--selfcheck", action="store_true", help="also run the reranker self-check on the collection")
    p = sub.add_parser("compare")
    p.add_argument("--skip", nargs="*", default=[], help="cached sets to leave out (e.g. books-unseen while choosing)")
    p = sub.add_parser("compare-windows")
    p.add_argument("--windows", type=int, nargs="+", required=True)
    p.add_argument("sets", nargs="+", help="cached set names, e.g. books-choosing scifact-train-100")
    p = sub.add_parser("compare-selfcheck")
    p.add_argument("sets", nargs="+", help="cached set names")
    p = sub.add_parser("calibrate")
    p.add_argument("--power", type=float, default=2.0, help="the guard power the self-check weight is used with")
    p.add_argument("--linear", action="store_true", help="fit place, topicality and rerank only (session 9's model)")
    p.add_argument("sets", nargs="*", help="cached sets to report the reliability on")
    args = parser.parse_args()
    commands = {"collect-books": collect_books, "collect-beir": collect_beir, "compare": compare}
    commands["compare-windows"] = compare_windows
    commands["compare-selfcheck"] = compare_selfcheck
    commands["calibrate"] = calibrate
    commands[args.command](args)


if __name__ == "__main__":
    main()
