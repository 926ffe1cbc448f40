"""Searcher.search: a hybrid first stage (BM25 + vectors, fused by RRF), then the
cross-encoder re-scores the candidates and the final order fuses both (indexer.search.fusion).

While an index run's embedding pass is still backfilling vectors, BM25 reaches every stored
passage and vector search only the embedded ones; the result says how far meaning search
has got (SearchResult.vectors_ready).

Nothing the first stage found is hidden by the minimum score: it labels. A result whose best
hit scores under it is a weak set ("No strong matches — closest passages"), shown as such."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from indexer.cancel import NEVER, Activity, CancelToken, SearchFirst
from indexer.constants import DEFAULT_CANDIDATES, DEFAULT_RESULTS, MIN_SCORE, RERANK_WINDOW_WORDS
from indexer.errors import Cancelled
from indexer.ingest.normalise import clean_text
from indexer.models.catalogue import entry_for_file
from indexer.models.embedding import Embedder
from indexer.models.endpoints.embed import EndpointEmbedder
from indexer.models.endpoints.http import EndpointError
from indexer.models.endpoints.rerank import EndpointReranker
from indexer.models.rerank import Reranker
from indexer.search import calibration, selfcheck
from indexer.search.fusion import (
    RANKINGS,
    effective_weight,
    final_scores,
    fuse,
    mmr,
    order_by_keys,
    relative_keys,
    rrf,
    unscored_as_none,
)
from indexer.search.passage_window import rerank_text
from indexer.search.snippets import make_snippet
from indexer.search.topic import Bounds, TopicCheck
from indexer.store.lance import Store, StoredChunk
from indexer.types import Hit, SearchResult

log = logging.getLogger(__name__)

MODES = ("hybrid", "vector", "text")
_first_stage_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="quarry-bm25")


DEFAULT_RANKING = "rrf"
"""Chosen by the worst case over SciFact dev and the book questions (docs/quality.md)."""

DEFAULT_RERANK_WEIGHT = 5.0
"""The reranker's weight in the final fusion on a collection its self-check has not measured
yet (indexer.search.selfcheck): session 5's choice, 5 × agreement ** GUARD_POWER."""

GUARD_POWER = 2.0
"""The per-query guard on the reranker's vote: its weight is multiplied by agreement ** this
(indexer.search.fusion.agreement), so a query whose reranked favourites the embedder finds off
topic keeps the first stage's order even where the collection's weight is high."""

FUSION_K = 10
"""The 'rrf' ranking's k (indexer.search.fusion.fuse)."""


@dataclass(frozen=True, slots=True)
class SearchOptions:
    k: int = DEFAULT_RESULTS
    candidates: int = DEFAULT_CANDIDATES
    rerank: bool = True
    mode: str = "hybrid"
    """First stage: 'hybrid' (BM25 + vectors, RRF), 'vector' or 'text' (BM25 only)."""
    ranking: str = DEFAULT_RANKING
    """How rerank scores and the first-stage order make the final order (indexer.search.fusion.RANKINGS;
    docs/quality.md compares them)."""
    min_score: float = MIN_SCORE
    """A reranked hit scoring below this (rerank score × topic weight, 0..1) is weak; a result
    with no hit above it is a weak set. Nothing is removed for it."""
    topic_gate: bool = True
    """Multiply the rerank score by the topic weight (indexer.search.topic: the embedder's similarity
    gate, or a phrase match), so a query the corpus knows nothing about scores low even when
    the cross-encoder is confident. False: the rerank score alone."""
    deadline_s: float | None = None
    """Stop reranking after this long; the rest keep first-stage order."""
    rerank_window: int = RERANK_WINDOW_WORDS
    """Words of each passage the reranker reads, centred on the query's words
    (indexer.search.passage_window); 0: the whole passage."""
    diversity: float = 0.0
    """0..1: maximal marginal relevance over the final order (indexer.search.fusion.mmr), a hit
    that repeats the words of those above it moving down; 0 (the default) leaves the order."""


@dataclass(frozen=True, slots=True)
class Candidate:
    chunk: StoredChunk
    rank: int
    """First-stage rank, from 1."""
    similarity: float
    """Cosine similarity of query and passage, -1..1, whichever retriever found it."""
    bm25_rank: int | None = None
    """Rank in the full-text (BM25) list, from 1; None if BM25 did not find it."""
    vector_rank: int | None = None
    """Rank in the vector list, from 1; None if vector search did not find it."""
    embedded: bool = True
    """False for a passage stored without its vector yet (a backfill in progress): its
    ``similarity`` is 0 and says nothing, so the topic check cannot use it."""


class Searcher:
    def __init__(
        self,
        store: Store,
        embedder: Embedder | EndpointEmbedder,
        reranker: Reranker | EndpointReranker | None = None,
        reranker_problem: str = "",
        notices: Callable[[], list[str]] | None = None,
    ) -> None:
        """Args:
        embedder, reranker: local models run by the inference worker, or remote endpoints
            (indexer.models.endpoints); the searcher uses both kinds alike.
        notices: fallback notices to show once with the next result (the inference
            worker's: a CPU variant or the GPU was given up after a crash).
        """
        self.store = store
        self.embedder = embedder
        self.reranker = reranker
        self.reranker_problem = reranker_problem
        self.notices = notices
        self.priority = SearchFirst()
        """Shared with the engine's Indexer (Engine sets one for both): a rerank goes first."""
        self.activity = Activity()
        """When a search last ran (the window's idle check reads it)."""
        self.finding: selfcheck.Finding | None = selfcheck.load(store.folder)
        """The reranker self-check's finding on this collection (indexer.search.selfcheck),
        read when the searcher is made; ``reload_finding`` reads it again after a check."""

    def reload_finding(self) -> None:
        self.finding = selfcheck.load(self.store.folder)

    @property
    def reranker_id(self) -> str:
        """What the self-check's finding is keyed by: the reranker file's identity (path, size,
        time), or a remote reranker's name."""
        return selfcheck.reranker_identity(self.reranker)

    def collection_weight(self) -> float | None:
        """The reranker's weight on this collection from a current, finished self-check; None
        before one (DEFAULT_RERANK_WEIGHT is used)."""
        if self.reranker is None:
            return None
        passages = self.store.passage_counts().vectors
        return selfcheck.weight_for(self.finding, self.reranker_id, self.embedder.fingerprint, passages)

    def check_line(self) -> str:
        """What the self-check found, in words ('' without a reranker)."""
        if self.reranker is None:
            return ""
        passages = self.store.passage_counts().vectors
        if self.finding is None or not selfcheck.current(
            self.finding, self.reranker_id, self.embedder.fingerprint, passages
        ):
            return "reranker self-check: not measured on this collection yet (the default weighting is used)"
        return self.finding.describe()

    @property
    def topic_gate(self) -> Bounds | None:
        """Cosine similarities between which the final score fades in (indexer.search.topic). They
        depend on the embedder, so they come from its catalogue entry: for all-MiniLM-L6-v2,
        0.35..0.45 (docs/quality.md says how they were chosen). An embedder without
        calibrated values (a remote one among them) gets no gate."""
        known = entry_for_file(self.embedder.path) if self.embedder.path is not None else None
        return known.topic_gate if known else None

    def first_stage(
        self, query: str, candidates: int, mode: str = "hybrid"
    ) -> tuple[list[Candidate], dict[str, float]]:
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r}")
        # The query is matched against normalised text, so it is normalised the same way
        # ('ﬁeld' or a full-width 'ｆｉｅｌｄ' finds 'field'; a pasted soft hyphen splits nothing).
        query = clean_text(query)
        timings: dict[str, float] = {}

        def full_text() -> list[StoredChunk]:
            start = time.perf_counter()
            found = self.store.text_search(query, candidates) if mode != "vector" else []
            timings["text"] = (time.perf_counter() - start) * 1000
            return found

        # BM25 needs no vector: it runs in LanceDB (GIL released) while the query embeds and
        # the vector search runs, which takes its time off the first stage on two cores.
        text_future = _first_stage_pool.submit(full_text)
        t0 = time.perf_counter()
        vector = self.embedder.embed_query(query)
        t1 = time.perf_counter()
        timings["embed_query"] = (t1 - t0) * 1000
        by_vector = self.store.vector_search(vector, candidates) if mode != "text" else []
        timings["vector"] = (time.perf_counter() - t1) * 1000
        by_text = text_future.result()
        chunks = {c.chunk_id: c for c in by_text}
        chunks.update({c.chunk_id: c for c in by_vector})
        fused = rrf([[c.chunk_id for c in by_vector], [c.chunk_id for c in by_text]])
        vector_scores = {c.chunk_id: c.score for c in by_vector}
        bm25_ranks = {c.chunk_id: n for n, c in enumerate(by_text, start=1)}
        vector_ranks = {c.chunk_id: n for n, c in enumerate(by_vector, start=1)}
        # Equal fused scores go to the better BM25 rank: the words typed, found. It matters
        # while vectors are being filled in: the one passage holding a rare word, not
        # embedded yet, is BM25's #1 and would otherwise tie with vector search's #1.
        order = sorted(fused, key=lambda key: (-fused[key], bm25_ranks.get(key, math.inf)))[:candidates]
        result = []
        for rank, key in enumerate(order, start=1):
            chunk = chunks[key]
            similarity = vector_scores.get(key)
            if similarity is None and chunk.vector is not None:
                similarity = float(np.dot(vector, chunk.vector))
            result.append(
                Candidate(
                    chunk,
                    rank,
                    similarity if similarity is not None else 0.0,
                    bm25_ranks.get(key),
                    vector_ranks.get(key),
                    embedded=similarity is not None,
                )
            )
        timings["retrieve"] = (time.perf_counter() - t1) * 1000
        return result, timings

    def search(
        self,
        query: str,
        options: SearchOptions = SearchOptions(),
        cancel: CancelToken = NEVER,
        first_stage_ready: Callable[[SearchResult], None] | None = None,
    ) -> SearchResult:
        """The hits for ``query``: the first stage (BM25 and vector search over the store's
        passages, ``options.candidates`` deep, fused by RRF), then the reranker over those
        candidates (unless ``options.rerank`` is off or no reranker is loaded; each reads the
        query and the passage's model text cut to ``options.rerank_window`` words), ordered by
        ``options.ranking`` (indexer.search.fusion.final_order) and cut to ``options.k`` hits,
        several passages of one page collapsed into the best placed. The window and
        ``quarry search`` both come through here.

        ``first_stage_ready``: called with the first-stage result (not reranked) before the
        rerank starts, so a window can show it at once; the return value is the final one.

        Scores: Hit.score is 0..1, the rerank score times the topic weight
        (indexer.search.fusion.final_scores), or the first-stage cosine similarity clipped to
        0..1 when nothing was reranked; None for a candidate the deadline left unscored.
        Timings in SearchResult.timings_ms are milliseconds. A blank query gives no hits.

        Reranking that fails (no reranker, a remote endpoint's error, a worker crash) does
        not raise: the hits keep first-stage order and SearchResult.notice says why; a
        deadline (``options.deadline_s``) leaves the rest unscored, also said in the notice.

        Raises:
            Cancelled: ``cancel`` was set.
            ValueError: an unknown ``options.mode`` or ``options.ranking``.
            QuarryError: the query could not be embedded (WorkerDied, EndpointError).
        """
        with self.activity:
            return self._search(query, options, cancel, first_stage_ready)

    def _search(
        self,
        query: str,
        options: SearchOptions,
        cancel: CancelToken,
        first_stage_ready: Callable[[SearchResult], None] | None,
    ) -> SearchResult:
        started = time.perf_counter()
        query = query.strip()
        if not query:
            return SearchResult(query, "none", [], {"total": 0.0}, vectors_ready=self.vectors_ready())
        found, timings = self.first_stage(query, max(options.candidates, options.k), options.mode)
        if first_stage_ready is not None and options.rerank:
            first = self.finish(query, found, timings, replace(options, rerank=False), cancel, started)
            cancel.raise_if_cancelled()
            first_stage_ready(first)
            if not first.hits:
                return first
        return self.finish(query, found, timings, options, cancel, started)

    def finish(
        self,
        query: str,
        found: list[Candidate],
        first_stage_timings: dict[str, float],
        options: SearchOptions,
        cancel: CancelToken = NEVER,
        started: float | None = None,
    ) -> SearchResult:
        """Rerank (if asked) and build the hits from a first stage already run, so a caller
        that shows first-stage results first does not embed and retrieve twice."""
        started = time.perf_counter() if started is None else started
        timings = dict(first_stage_timings)
        cancel.raise_if_cancelled()
        if options.ranking not in RANKINGS:
            raise ValueError(f"unknown ranking {options.ranking!r}")
        method, notice = options.mode, ""
        ranks_ = [c.rank for c in found]
        scores: list[float | None] = [None] * len(found)
        strengths: list[float | None] = [None] * len(found)
        weights = self.topic_weights(query, found, options.topic_gate)
        keys: list[float | None] = [1.0 / (FUSION_K + r) for r in ranks_]  # the first stage's own order
        vote = 0.0  # the reranker's weight in the fusion for this query
        reranked = complete = False
        if options.rerank and found:
            if self.reranker is None:
                notice = self.reranker_problem or "no reranker model: results are in first-stage order"
            else:
                t0 = time.perf_counter()
                deadline = time.monotonic() + options.deadline_s if options.deadline_s else None
                try:
                    passages = [rerank_text(c.chunk, query, options.rerank_window) for c in found]
                    with self.priority.searching():  # indexing waits before its next batch
                        result = self.reranker.score(query, passages, cancel, deadline)
                except Cancelled:
                    raise
                except EndpointError as exc:  # late, unreachable or malformed: said, not a bug
                    log.warning("%s", exc)
                    notice = f"{exc}; results are in first-stage order"
                except Exception as exc:
                    log.exception("reranking failed")
                    notice = f"reranking failed ({exc}); results are in first-stage order"
                else:
                    reranked, complete = True, result.complete
                    scores = unscored_as_none(result.scores)
                    strengths = final_scores(scores, weights)
                    measured = self.collection_weight()
                    weight = DEFAULT_RERANK_WEIGHT if measured is None else measured
                    keys = fuse(
                        options.ranking, ranks_, scores, weights, k=FUSION_K, rerank_weight=weight, power=GUARD_POWER
                    )
                    vote = effective_weight(weight, scores, weights, GUARD_POWER)
                    method = f"{options.mode} + {self.reranker.method}" + (
                        "" if options.ranking == DEFAULT_RANKING else f" ({options.ranking})"
                    )
                    if measured == 0.0:
                        method += " (first-stage order kept: the self-check found no gain here)"
                    if not result.complete:
                        done = sum(s is not None for s in scores)
                        notice = f"reranking stopped at its deadline after {done} of {len(found)} candidates"
                        if result.notice:
                            notice += f" ({result.notice})"
                timings["rerank"] = (time.perf_counter() - t0) * 1000
        order = order_by_keys(keys)
        if options.diversity > 0:
            order = mmr(order, [c.chunk.text for c in found], len(order), options.diversity)
            method += f" + diversity {options.diversity:g}"
        calibrated = options.ranking == DEFAULT_RANKING or not reranked
        places = relative_keys([k or 0.0 for k in keys], vote if reranked else 0.0, FUSION_K)
        picked: list[int] = []
        pages: set[tuple[str, int | None]] = set()
        for i in order:
            page = (found[i].chunk.path, found[i].chunk.page)
            if page in pages:
                continue  # several passages of one page: the best placed one stands for it
            pages.add(page)
            picked.append(i)
            if len(picked) == options.k:
                break
        topicality, rerank_evidence = calibration.query_evidence(
            [weights[i] for i in picked], [strengths[i] for i in picked], vote / (vote + 1.0)
        )
        hits: list[Hit] = []
        for i in picked:
            if calibrated:
                shown: float | None = calibration.relevance(places[i], topicality, rerank_evidence)
            else:  # a comparison ranking (quarry eval): its own strength, no calibration
                shown = strengths[i]
            strong = shown is not None and shown >= options.min_score
            hits.append(
                self._hit(query, found[i], len(hits) + 1, shown, scores[i], weights[i], strong, options.min_score, vote)
            )
        weak = bool(hits) and not hits[0].strong
        if self.notices is not None and options.rerank:  # shown with the final order, once
            notice = "; ".join(n for n in (*self.notices(), notice) if n)
        timings["total"] = (time.perf_counter() - started) * 1000
        used = self.reranker.name if reranked and self.reranker is not None else ""
        return SearchResult(
            query=query,
            method=method,
            hits=hits,
            timings_ms=timings,
            notice=notice,
            reranker=used,
            weak=weak,
            min_score=options.min_score,
            vectors_ready=self.vectors_ready(),
            reranked=reranked,
            complete=complete or not options.rerank or self.reranker is None,
            check=self.check_line() if options.rerank else "",
        )

    def vectors_ready(self) -> float:
        """Share of stored passages with vectors, 0..1 (1 for an empty index): below 1 while
        an embedding backfill runs or after one was interrupted."""
        return self.store.passage_counts().vectors_ready

    def topic_weights(self, query: str, found: Sequence[Candidate], topic_check: bool = True) -> list[float]:
        """Each candidate's topic weight (indexer.search.topic): 1 where the embedder or a phrase
        match vouches for it, less where only the reranker does. A passage not embedded yet
        has no similarity to judge by, so it gets no gate (1), as with an uncalibrated
        embedder: the reranker's score stands until its vector is there."""
        check = TopicCheck(query, self.topic_gate if topic_check else None)
        return [check.weight(c.similarity, (c.chunk.title, c.chunk.text)) if c.embedded else 1.0 for c in found]

    def final_scores(
        self, query: str, scores: Sequence[float | None], found: Sequence[Candidate], topic_check: bool = True
    ) -> list[float | None]:
        """Rerank scores times each candidate's topic weight (indexer.search.fusion.final_scores,
        the one rule for the final score); None stays None (not scored)."""
        return final_scores(scores, self.topic_weights(query, found, topic_check))

    @staticmethod
    def _hit(
        query: str,
        candidate: Candidate,
        rank: int,
        score: float | None,
        rerank_score: float | None,
        topic_weight: float,
        strong: bool,
        threshold: float,
        vote: float,
    ) -> Hit:
        chunk = candidate.chunk
        return Hit(
            rank=rank,
            score=score,
            path=chunk.path,
            page=chunk.page,
            snippet=make_snippet(chunk.text, query),
            text=chunk.text,
            title=chunk.title,
            chunk_id=chunk.chunk_id,
            doc_id=chunk.doc_id,
            first_stage_rank=candidate.rank,
            first_stage_score=candidate.similarity,
            rerank_score=rerank_score,
            start=chunk.start,
            end=chunk.end,
            location=chunk.location,
            bm25_rank=candidate.bm25_rank,
            vector_rank=candidate.vector_rank,
            topic_weight=topic_weight,
            strong=strong,
            ocr=chunk.ocr,
            strength=calibration.strength(score, threshold) if score is not None else "",
            rerank_weight=vote,
        )
