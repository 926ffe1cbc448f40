"""Retrieval evaluation on BEIR-format data (corpus.jsonl, queries.jsonl, qrels/<split>.tsv),
and at page level on page-labelled questions over a folder (benchmarks/queries/README.md).

BEIR: the corpus is chunked and embedded like any document, into a store of its own; each query
then goes through every configuration. Metrics come from ir-measures (pytrec_eval inside),
at the document level: a document ranks where its best chunk ranks.

Pages: each question goes through Searcher.search as the app runs it, per configuration;
hit@1, hit@3 and MRR@10 of the first labelled page among the hits (one hit per page), and for
off-topic questions whether the result is flagged weak.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer.cancel import NEVER, CancelToken
from indexer.constants import RERANK_WINDOW_WORDS
from indexer.errors import QuarryError
from indexer.ingest.chunking import chunk_pages
from indexer.models.embedding import Embedder
from indexer.models.rerank import Reranker
from indexer.search.fusion import final_order, unscored_as_none
from indexer.search.passage_window import rerank_text
from indexer.search.searcher import DEFAULT_RANKING, Candidate, Searcher, SearchOptions
from indexer.store.lance import DocumentRecord, Store, doc_id_for
from indexer.types import Page, Progress, ProgressCallback, no_progress

log = logging.getLogger(__name__)

RERANKED = {
    "hybrid+rerank": "rerank",
    "hybrid+rerank+gate": "rerank*topic",
    "hybrid+rerank(blend)": "blend",
    "hybrid+rerank(rrf)": "rrf",
}
"""Configuration name -> indexer.search.fusion ranking of the reranked head."""
CONFIGURATIONS = ("bm25", "dense", "hybrid", *RERANKED)
DEFAULT_CONFIGURATION = next(name for name, ranking in RERANKED.items() if ranking == DEFAULT_RANKING)
"""What the app does by default (SearchOptions()): see docs/quality.md for why."""
RECALL_DEPTH = 100


@dataclass(slots=True)
class Dataset:
    corpus: dict[str, tuple[str, str]]  # id -> (title, text)
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load_beir(folder: Path, split: str) -> Dataset:
    corpus_file, queries_file, qrels_file = (
        folder / "corpus.jsonl",
        folder / "queries.jsonl",
        folder / "qrels" / f"{split}.tsv",
    )
    for needed in (corpus_file, queries_file, qrels_file):
        if not needed.exists():
            raise QuarryError(
                f"{needed} not found: a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/{split}.tsv"
            )
    corpus = {}
    with corpus_file.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            corpus[str(row["_id"])] = (row.get("title") or "", row.get("text") or "")
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    with qrels_file.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            qrels[str(row["query-id"])][str(row["corpus-id"])] = int(row["score"])
    queries = {}
    with queries_file.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if str(row["_id"]) in qrels:
                queries[str(row["_id"])] = row["text"]
    return Dataset(corpus=corpus, queries=queries, qrels=dict(qrels))


def index_corpus(
    dataset: Dataset,
    store: Store,
    embedder: Embedder,
    cancel: CancelToken = NEVER,
    progress: ProgressCallback = no_progress,
) -> None:
    """Chunk and embed every corpus document into ``store`` (path 'beir:<id>')."""
    ids = sorted(dataset.corpus)
    batch_records: list[DocumentRecord] = []
    batch_chunks, batch_vectors = {}, {}
    for done, corpus_id in enumerate(ids):
        cancel.raise_if_cancelled()
        title, text = dataset.corpus[corpus_id]
        path = f"beir:{corpus_id}"
        chunks = chunk_pages([Page(text, None)], title, embedder.count_tokens)
        if not chunks:
            continue
        record = DocumentRecord(
            doc_id=doc_id_for(path),
            path=path,
            root="beir",
            size=len(text),
            mtime_ns=0,
            content_hash=hashlib.sha1(text.encode()).hexdigest(),
            title=title,
            pages=1,
            chunks=len(chunks),
            status="ok",
            reason="",
            indexed_at=time.time(),
        )
        batch_records.append(record)
        batch_chunks[record.doc_id] = chunks
        batch_vectors[record.doc_id] = embedder.embed_documents([c.indexed_text for c in chunks], cancel)
        if len(batch_records) >= 256 or done == len(ids) - 1:
            store.write(batch_records, batch_chunks, batch_vectors)
            batch_records, batch_chunks, batch_vectors = [], {}, {}
            progress(Progress("indexing", done + 1, len(ids)))
    store.optimize()


def eval_store_dir(cache: Path, folder: Path, fingerprint: str, corpus_size: int) -> Path:
    """Where the eval index of a dataset lives, reused while dataset and embedder are the same."""
    key = hashlib.sha1(f"{folder}|{fingerprint}|{corpus_size}".encode()).hexdigest()[:12]
    return cache / "eval" / f"{folder.name}-{key}"


@dataclass(slots=True)
class Evaluation:
    metrics: dict[str, dict[str, float]]
    queries: int
    candidates: int
    seconds: float
    latency_ms: dict[str, float] = field(default_factory=dict)


def _documents(ranked_paths: list[str]) -> list[str]:
    """Corpus ids in order of their best chunk."""
    seen: dict[str, None] = {}
    for path in ranked_paths:
        seen.setdefault(path.removeprefix("beir:"), None)
    return list(seen)


def query_rankings(
    query: str,
    searcher: Searcher,
    reranker: Reranker | None,
    candidates: int = 50,
    rerank_window: int = RERANK_WINDOW_WORDS,
    stage_ms: dict[str, list[float]] | None = None,
) -> dict[str, list[str]]:
    """Corpus ids, best first (a document where its best passage ranks), per configuration:
    'bm25', 'dense' and 'hybrid' (the first stage, RECALL_DEPTH deep), and with a reranker
    each of RERANKED: the hybrid first stage's top ``candidates`` in the final order
    (indexer.search.fusion.final_order, as Searcher.search orders them), then the rest in
    first-stage order. Each stage's milliseconds are appended to ``stage_ms``."""
    times: dict[str, list[float]] = defaultdict(list) if stage_ms is None else stage_ms
    rankings: dict[str, list[str]] = {}
    hybrid: list[Candidate] = []
    for name, mode in (("bm25", "text"), ("dense", "vector"), ("hybrid", "hybrid")):
        found, timings = searcher.first_stage(query, RECALL_DEPTH, mode)
        times[f"{name} first stage"].append(timings["retrieve"] + timings["embed_query"] * (mode != "text"))
        rankings[name] = _documents([c.chunk.path for c in found])
        if mode == "hybrid":
            hybrid = found
    if reranker is not None and hybrid:
        head = hybrid[:candidates]
        t0 = time.perf_counter()
        scores = unscored_as_none(
            reranker.score(query, [rerank_text(c.chunk, query, rerank_window) for c in head]).scores
        )
        times["rerank"].append((time.perf_counter() - t0) * 1000)
        tail = [c.chunk.path for c in hybrid[candidates:]]
        weights = searcher.topic_weights(query, head)
        for name, ranking in RERANKED.items():
            order = final_order(ranking, [c.rank for c in head], scores, weights)
            rankings[name] = _documents([head[i].chunk.path for i in order] + tail)
    return rankings


def evaluate(
    dataset: Dataset,
    searcher: Searcher,
    reranker: Reranker | None,
    candidates: int = 50,
    limit: int | None = None,
    seed: int = 0,
    progress: ProgressCallback = no_progress,
    rerank_window: int = RERANK_WINDOW_WORDS,
) -> Evaluation:
    import ir_measures
    from ir_measures import RR, R, nDCG

    started = time.perf_counter()
    query_ids = sorted(dataset.queries)
    if limit and limit < len(query_ids):
        query_ids = sorted(random.Random(seed).sample(query_ids, limit))
    runs: dict[str, list[ir_measures.ScoredDoc]] = {name: [] for name in CONFIGURATIONS}
    stage_ms: dict[str, list[float]] = defaultdict(list)
    for done, qid in enumerate(query_ids):
        rankings = query_rankings(dataset.queries[qid], searcher, reranker, candidates, rerank_window, stage_ms)
        for name, docs in rankings.items():
            runs[name].extend(
                ir_measures.ScoredDoc(qid, doc, float(RECALL_DEPTH - rank))
                for rank, doc in enumerate(docs[:RECALL_DEPTH])
            )
        progress(Progress("evaluating", done + 1, len(query_ids)))
    qrels = [ir_measures.Qrel(q, d, s) for q in query_ids for d, s in dataset.qrels[q].items()]
    metrics: dict[str, dict[str, float]] = {}
    latency = {stage: float(np.mean(values)) for stage, values in stage_ms.items()}
    for name, run in runs.items():
        if not run:
            continue
        values = ir_measures.calc_aggregate([nDCG @ 10, R @ 100, RR @ 10], qrels, run)
        first = {"bm25": "bm25 first stage", "dense": "dense first stage"}.get(name, "hybrid first stage")
        ms = latency.get(first, 0.0) + (latency.get("rerank", 0.0) if "rerank" in name else 0.0)
        metrics[name] = {
            "ndcg@10": round(float(values[nDCG @ 10]), 4),
            "recall@100": round(float(values[R @ 100]), 4),
            "mrr@10": round(float(values[RR @ 10]), 4),
            "latency_ms": round(ms, 1),
        }
    if DEFAULT_CONFIGURATION in metrics:
        metrics["default"] = dict(metrics[DEFAULT_CONFIGURATION])
    return Evaluation(metrics, len(query_ids), candidates, time.perf_counter() - started, latency)


# -- page-labelled questions -----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PageQuery:
    query: str
    file: str | None
    """File name of the answering document; None for an off-topic question."""
    pages: tuple[int, ...]
    kind: str


def load_page_queries(path: Path) -> list[PageQuery]:
    """One JSON object per line: query, file, pages, kind (benchmarks/queries/README.md)."""
    queries = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            queries.append(PageQuery(row["query"], row.get("file"), tuple(row.get("pages") or ()), row.get("kind", "")))
        except (ValueError, KeyError, TypeError) as exc:
            raise QuarryError(f"{path}:{number}: not a page-labelled query ({exc})") from exc
    if not queries:
        raise QuarryError(f"{path}: no queries")
    return queries


PAGE_CONFIGURATIONS: dict[str, SearchOptions] = {
    "hybrid": SearchOptions(rerank=False),
    "hybrid+rerank": SearchOptions(ranking="rerank", topic_gate=False),
    "hybrid+rerank+gate": SearchOptions(ranking="rerank*topic"),
    "hybrid+rerank(blend)": SearchOptions(ranking="blend"),
    "hybrid+rerank(rrf)": SearchOptions(ranking="rrf"),
    "default": SearchOptions(),
}
"""Each runs through Searcher.search (10 hits, one per page); rerank scores are computed once
per pair (the reranker's score cache), so the extra configurations cost little."""


def evaluate_pages(
    queries: list[PageQuery],
    searcher: Searcher,
    candidates: int = 50,
    progress: ProgressCallback = no_progress,
) -> dict[str, dict[str, float]]:
    """hit@1, hit@3, MRR@10 per page over the answerable questions; `weak_in_domain` and
    `weak_off_topic`: how many results of each kind are flagged weak."""
    from dataclasses import replace

    answerable = [q for q in queries if q.file]
    metrics: dict[str, dict[str, float]] = {}
    sums: dict[str, dict[str, float]] = {
        name: {"hit@1": 0.0, "hit@3": 0.0, "mrr@10": 0.0, "weak_in_domain": 0, "weak_off_topic": 0}
        for name in PAGE_CONFIGURATIONS
    }
    for done, item in enumerate(queries):
        for name, options in PAGE_CONFIGURATIONS.items():
            result = searcher.search(item.query, replace(options, k=10, candidates=candidates))
            total = sums[name]
            if not item.file:
                total["weak_off_topic"] += result.weak or not result.hits
                continue
            total["weak_in_domain"] += result.weak
            wanted = {(item.file, p) for p in item.pages}
            place = next((h.rank for h in result.hits if (Path(h.path).name, h.page) in wanted and h.rank <= 10), None)
            total["hit@1"] += place == 1
            total["hit@3"] += place is not None and place <= 3
            total["mrr@10"] += 1.0 / place if place else 0.0
        progress(Progress("evaluating", done + 1, len(queries)))
    for name, total in sums.items():
        n = max(1, len(answerable))
        metrics[name] = {
            "hit@1": round(total["hit@1"] / n, 4),
            "hit@3": round(total["hit@3"] / n, 4),
            "mrr@10": round(total["mrr@10"] / n, 4),
            "answerable": len(answerable),
            "off_topic": len(queries) - len(answerable),
            "weak_in_domain": int(total["weak_in_domain"]),
            "weak_off_topic": int(total["weak_off_topic"]),
        }
    return metrics
