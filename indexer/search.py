"""Searcher.search: first-stage retrieval, then the cross-encoder re-scores the candidates."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from indexer.cancel import NEVER, CancelToken
from indexer.constants import DEFAULT_CANDIDATES, DEFAULT_RESULTS
from indexer.embedding import Embedder
from indexer.errors import Cancelled
from indexer.rerank import Reranker
from indexer.snippets import make_snippet
from indexer.store import Store, StoredChunk
from indexer.types import Hit, SearchResult

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SearchOptions:
    k: int = DEFAULT_RESULTS
    candidates: int = DEFAULT_CANDIDATES
    rerank: bool = True
    deadline_s: float | None = None
    """Stop reranking after this long; the rest keep first-stage order."""


class Searcher:
    def __init__(
        self, store: Store, embedder: Embedder, reranker: Reranker | None = None, reranker_problem: str = ""
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.reranker = reranker
        self.reranker_problem = reranker_problem

    def first_stage(self, query: str, candidates: int) -> tuple[list[StoredChunk], dict[str, float]]:
        t0 = time.perf_counter()
        vector = self.embedder.embed_query(query)
        t1 = time.perf_counter()
        found = self.store.vector_search(vector, candidates)
        t2 = time.perf_counter()
        return found, {"embed_query": (t1 - t0) * 1000, "retrieve": (t2 - t1) * 1000}

    def search(self, query: str, options: SearchOptions = SearchOptions(), cancel: CancelToken = NEVER) -> SearchResult:
        started = time.perf_counter()
        query = query.strip()
        if not query:
            return SearchResult(query, "none", [], {"total": 0.0})
        found, timings = self.first_stage(query, max(options.candidates, options.k))
        cancel.raise_if_cancelled()
        method, notice = "vector", ""
        order = list(range(len(found)))
        scores: list[float | None] = [None] * len(found)
        if options.rerank and found:
            if self.reranker is None:
                notice = self.reranker_problem or "no reranker model: results are in first-stage order"
            else:
                t0 = time.perf_counter()
                deadline = time.monotonic() + options.deadline_s if options.deadline_s else None
                try:
                    result = self.reranker.score(query, [f"{c.title}\n{c.text}" for c in found], cancel, deadline)
                except Cancelled:
                    raise
                except Exception as exc:
                    log.exception("reranking failed")
                    notice = f"reranking failed ({exc}); results are in first-stage order"
                else:
                    scores = [None if math.isnan(s) else s for s in result.scores]
                    # Scored candidates by rerank score; any the deadline left keep first-stage order after them.
                    order.sort(key=lambda i: (scores[i] is None, -(scores[i] or 0.0), i))
                    method = "vector + rerank"
                    if not result.complete:
                        done = sum(s is not None for s in scores)
                        notice = f"reranking stopped at its deadline after {done} of {len(found)} candidates"
                timings["rerank"] = (time.perf_counter() - t0) * 1000
        hits = []
        for rank, i in enumerate(order[: options.k], start=1):
            chunk = found[i]
            rerank_score = scores[i]
            shown = rerank_score if rerank_score is not None else max(0.0, min(1.0, chunk.score))
            hits.append(
                Hit(
                    rank=rank,
                    score=shown,
                    path=chunk.path,
                    page=chunk.page,
                    snippet=make_snippet(chunk.text, query),
                    text=chunk.text,
                    title=chunk.title,
                    chunk_id=chunk.chunk_id,
                    doc_id=chunk.doc_id,
                    first_stage_rank=i + 1,
                    first_stage_score=chunk.score,
                    rerank_score=rerank_score,
                    start=chunk.start,
                    end=chunk.end,
                )
            )
        timings["total"] = (time.perf_counter() - started) * 1000
        return SearchResult(query=query, method=method, hits=hits, timings_ms=timings, notice=notice)
