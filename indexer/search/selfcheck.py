"""Does the reranker help on *this* collection? A self-check on pseudo-queries made from the
collection's own passages decides how much the reranker's order counts (issue 34).

A cross-encoder trained on one kind of text can be confidently wrong on another (the shared
test reranker, trained on SciFact, gives 0.99 to book passages that merely share a word with
a question). One fixed rule for how far to trust it cannot fit every collection, so Quarry
measures it where it is used:

1. **Pseudo-queries** (the Inverse Cloze Task of Lee et al. 2019, as GPL and InPars use
   synthetic queries): a sentence is taken *out of* a sampled passage and becomes the query;
   what is left of the passage is the answer. Two kinds per sentence: ``sentence`` (the
   sentence as written: a paraphrase-like question whose answer is the context around it)
   and ``words`` (its content words alone, as a person types keywords). Passages are sampled
   with a seed, so the same collection gives the same queries.
2. **Candidates**: the app's own first stage for the query (``Searcher.first_stage``), with the
   source passage in the pool as its remainder (the sentence cut out), ranked again among the
   pool by BM25 and cosine similarity fused by RRF, as the first stage does over the store.
   So the first stage cannot win by finding the sentence verbatim.
3. **Measured**: the mean reciprocal rank (MRR) of the source passage under the first-stage
   order, rerank alone, and the final fusion (indexer.search.fusion 'rrf') at each weight of
   ``WEIGHTS``. The chosen weight is the one whose *worst* gain over the first stage, across
   the two kinds, is largest, and it must beat the first stage by more than the noise (one
   standard error of the paired differences) on both kinds; otherwise it is 0 and the
   first-stage order stands.

The finding is a small JSON file beside the index (``selfcheck.json``), written after every
query so a killed check resumes where it stopped, and measured again when the reranker or
the embedder changes or the collection grows or shrinks by a tenth. Cost: at most
``MAX_QUERIES`` pseudo-queries of ``POOL`` pairs each (a fixed cost, whatever the collection's
size; docs/quality.md gives it per 10,000 passages).
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from indexer.atomic import write_text_atomic
from indexer.cancel import NEVER, CancelToken
from indexer.errors import Cancelled
from indexer.models.score_cache import model_identity
from indexer.search.fusion import RRF_K, fuse, order_by_keys, rrf
from indexer.search.passage_window import rerank_text
from indexer.search.terms import STOPWORDS, WORD, stem
from indexer.search.topic import TopicCheck

log = logging.getLogger(__name__)

FILE_NAME = "selfcheck.json"
VERSION = 1

MAX_QUERIES = 48
"""Pseudo-queries per check (half of each kind): 48 × POOL = 960 pairs, ~30 s of reranking on
two cores. Enough for a paired standard error near 0.03 MRR; more costs linearly."""

POOL = 20
"""Candidates reranked per pseudo-query: the first stage's top POOL (the source passage among
them). The app reranks 50, but the source passage is nearly always in the top 20 and each
pair costs the same."""

WEIGHTS = (0.0, 0.5, 1.0, 2.0, 3.0, 5.0)
"""The reranker's weights tried in the final fusion (0: the first-stage order)."""

MIN_QUERIES = 16
"""A check with fewer usable pseudo-queries decides nothing (the collection is too small)."""

REDO_GROWTH = 0.10
"""The check is measured again once the passage count has changed by this share."""

SAMPLE_FACTOR = 4
"""Passages sampled per pseudo-query wanted: many passages yield no usable sentence."""

_SENTENCE = re.compile(r"[^.!?]+[.!?]+[\"')\]]*(?=\s|$)")
SENTENCE_WORDS = (8, 40)
"""A usable sentence has this many words: shorter ones are headings or fragments, longer ones
leave too little of the passage behind."""


@dataclass(frozen=True, slots=True)
class PseudoQuery:
    kind: str
    """'sentence' or 'words'."""
    query: str
    chunk_id: str
    """The passage the sentence was taken from: the one right answer."""
    context: str
    """The passage's text with the sentence taken out."""


@dataclass(slots=True)
class Finding:
    """What the check found for one (reranker, embedder) pair on one collection."""

    reranker: str
    embedder: str
    passages: int
    """Passages in the store when the check began."""
    queries: list[dict[str, Any]] = field(default_factory=list)
    """The pseudo-queries (PseudoQuery as a dict), fixed when the check began."""
    records: list[dict[str, Any]] = field(default_factory=list)
    """One per pseudo-query measured: its kind, the source passage's place, and the pool's
    first-stage ranks, rerank scores and topic weights."""
    done: bool = False
    weight: float | None = None
    """The reranker's weight in the final fusion (0: the first-stage order stands); None
    until the check is done."""
    mrr: dict[str, float] = field(default_factory=dict)
    """MRR of the source passage: 'first stage', 'rerank', 'chosen' (and per kind)."""
    measured_at: str = ""
    seconds: float = 0.0
    """Wall time the check took, over every run that worked on it."""

    @property
    def helps(self) -> bool:
        return bool(self.done and self.weight)

    def describe(self) -> str:
        """One line for the window, the CLI and the MCP server alike."""
        if not self.done:
            return f"reranker self-check: {len(self.records)} of {len(self.queries)} pseudo-queries measured"
        n = len(self.records)
        first, chosen = self.mrr.get("first stage", 0.0), self.mrr.get("chosen", 0.0)
        when = self.measured_at[:10]
        if self.weight is None:
            return f"reranker self-check: too few passages to measure ({n} pseudo-queries); the default weighting is used"
        if self.weight:
            return (
                f"on this collection the reranker helps: MRR {first:.3f} → {chosen:.3f} on {n} self-checks"
                f" (weight {self.weight:g}, measured {when})"
            )
        rerank = self.mrr.get("rerank", 0.0)
        return (
            f"on this collection the reranker does not help (MRR {first:.3f} first stage, {rerank:.3f} reranked,"
            f" {n} self-checks, measured {when}): the first-stage order is kept"
        )


def load(folder: Path) -> Finding | None:
    """The finding stored beside the index in ``folder``, or None (none yet, or unreadable)."""
    path = folder / FILE_NAME
    try:
        data = json.loads(path.read_text("utf-8"))
        if data.pop("version", None) != VERSION:
            return None
        return Finding(**data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        log.warning("the reranker self-check in %s could not be read (%s); it will be measured again", path, exc)
        return None


def save(folder: Path, finding: Finding) -> None:
    write_text_atomic(folder / FILE_NAME, json.dumps({"version": VERSION, **asdict(finding)}, ensure_ascii=False))


def reranker_identity(reranker: Any) -> str:
    """What a finding is keyed by: a local reranker file's identity (path, size, time, so a
    replaced file is measured again), or a remote reranker's name."""
    path = getattr(reranker, "path", None)
    try:
        return model_identity(path) if path is not None else f"endpoint:{reranker.name}"
    except OSError:
        return str(path)


def current(finding: Finding | None, reranker: str, embedder: str, passages: int) -> bool:
    """Whether ``finding`` still holds: same models, and the collection within a tenth of its
    size when measured."""
    if finding is None or finding.reranker != reranker or finding.embedder != embedder:
        return False
    return abs(passages - finding.passages) <= REDO_GROWTH * max(finding.passages, 1)


def weight_for(finding: Finding | None, reranker: str, embedder: str, passages: int) -> float | None:
    """The collection's reranker weight from a current, finished finding, else None (not
    measured yet: the caller uses the default weighting)."""
    if finding is not None and finding.done and current(finding, reranker, embedder, passages):
        return finding.weight
    return None


# -- pseudo-queries -----------------------------------------------------------------------------


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the text's sentences."""
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text)]


def content_words(sentence: str, limit: int = 6) -> str:
    """The sentence's first ``limit`` content words (no stop words, no short words), each once."""
    words, seen = [], set()
    for w in WORD.findall(sentence):
        key = stem(w)
        if len(w) < 3 or w.lower() in STOPWORDS or key in seen or w.isdigit():
            continue
        seen.add(key)
        words.append(w)
        if len(words) == limit:
            break
    return " ".join(words)


def pseudo_queries(chunks: Sequence[Any], want: int, seed: int) -> list[PseudoQuery]:
    """Up to ``want`` pseudo-queries from ``chunks`` (StoredChunk-like: chunk_id, text), half
    of each kind, one sentence per passage; deterministic for a seed."""
    rng = random.Random(seed)
    out: list[PseudoQuery] = []
    for chunk in chunks:
        spans = sentences(chunk.text)
        usable = [
            (a, b)
            for a, b in spans
            if SENTENCE_WORDS[0] <= len(chunk.text[a:b].split()) <= SENTENCE_WORDS[1]
        ]
        if len(spans) < 3 or not usable:
            continue  # the passage must keep enough of itself once the sentence is out
        a, b = rng.choice(usable)
        sentence = " ".join(chunk.text[a:b].split())
        context = (chunk.text[:a] + " " + chunk.text[b:]).strip()
        if len(context.split()) < 20:
            continue
        kind = "sentence" if len(out) % 2 == 0 else "words"
        query = sentence if kind == "sentence" else content_words(sentence)
        if len(query.split()) < 3:
            continue
        out.append(PseudoQuery(kind, query, chunk.chunk_id, context))
        if len(out) == want:
            break
    return out


# -- measuring ------------------------------------------------------------------------------------


def bm25_ranks(query: str, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> list[int | None]:
    """1-based BM25 rank of each text within ``texts`` for ``query`` (words compared by stem,
    IDF from the texts themselves); None for a text holding none of the query's words."""
    docs = [[stem(w) for w in WORD.findall(t)] for t in texts]
    terms = {stem(w) for w in WORD.findall(query) if w.lower() not in STOPWORDS}
    n = len(docs)
    avg = sum(len(d) for d in docs) / max(n, 1)
    df = {t: sum(t in set(d) for d in docs) for t in terms}
    scores: list[float | None] = []
    for d in docs:
        s = 0.0
        for t in terms:
            tf = d.count(t)
            if tf:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                s += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(d) / max(avg, 1)))
        scores.append(s or None)
    order = sorted((i for i, s in enumerate(scores) if s), key=lambda i: -scores[i])  # type: ignore[operator]
    ranks: list[int | None] = [None] * n
    for r, i in enumerate(order, start=1):
        ranks[i] = r
    return ranks


def first_stage_ranks(bm25: Sequence[int | None], similarity: Sequence[float]) -> list[int]:
    """The first stage's fusion within a pool: RRF (k=60) of the BM25 and cosine orders, ties
    to the better BM25 rank, as Searcher.first_stage fuses over the store."""
    ids = [str(i) for i in range(len(similarity))]
    by_vector = sorted(range(len(similarity)), key=lambda i: -similarity[i])
    by_text = sorted((i for i in range(len(bm25)) if bm25[i] is not None), key=lambda i: bm25[i])  # type: ignore[arg-type,return-value]
    fused = rrf([[ids[i] for i in by_vector], [ids[i] for i in by_text]], RRF_K)
    order = sorted(range(len(ids)), key=lambda i: (-fused.get(ids[i], 0.0), bm25[i] or math.inf))
    ranks = [0] * len(ids)
    for r, i in enumerate(order, start=1):
        ranks[i] = r
    return ranks


def measure_one(searcher: Any, pq: PseudoQuery, cancel: CancelToken = NEVER) -> dict[str, Any] | None:
    """One pseudo-query through the first stage and the reranker; None when the source
    passage is gone from the store."""
    found, _ = searcher.first_stage(pq.query, POOL)
    pool = [c.chunk for c in found if c.chunk.chunk_id != pq.chunk_id][: POOL - 1]
    source = searcher.store.chunk_by_id(pq.chunk_id)
    if source is None or source.vector is None:
        return None
    target = replace(source, text=pq.context)
    pool.insert(0, target)
    query_vector = searcher.embedder.embed_query(pq.query)
    target_vector = searcher.embedder.embed_documents([target.passage])[0]
    similarity = [float(np.dot(query_vector, target_vector))]
    similarity += [float(np.dot(query_vector, c.vector)) if c.vector is not None else 0.0 for c in pool[1:]]
    ranks = first_stage_ranks(bm25_ranks(pq.query, [c.passage for c in pool]), similarity)
    texts = [rerank_text(c, pq.query, 0) for c in pool]
    while True:  # background work: a search starting stops this rerank, which is then done again
        searcher.priority.wait_turn(cancel)
        token = searcher.priority.interruptible(cancel)
        try:
            scores = searcher.reranker.score(pq.query, texts, token).scores
            break
        except Cancelled:
            if cancel.cancelled:
                raise
        finally:
            searcher.priority.release(token)
    check = TopicCheck(pq.query, searcher.topic_gate)
    topics = [check.weight(s, (c.title, c.text)) for s, c in zip(similarity, pool, strict=True)]
    return {
        "kind": pq.kind,
        "ranks": ranks,
        "rerank": [round(s, 6) for s in scores],
        "topic": [round(t, 4) for t in topics],
    }


def reciprocal_rank(record: dict[str, Any], weight: float | None, power: float) -> float:
    """1 / the source passage's place (it is candidate 0) under the fusion at ``weight``;
    None: rerank alone."""
    if weight is None:
        keys = list(record["rerank"])
    elif weight == 0:
        keys = [-r for r in record["ranks"]]
    else:
        keys = fuse("rrf", record["ranks"], record["rerank"], record["topic"], rerank_weight=weight, power=power)
    order = order_by_keys(keys)
    return 1.0 / (order.index(0) + 1)


def decide(records: list[dict[str, Any]], power: float) -> tuple[float, dict[str, float]]:
    """The weight chosen by the worst case over the kinds, and the MRRs behind it."""
    kinds = sorted({r["kind"] for r in records})
    first = {k: [reciprocal_rank(r, 0.0, power) for r in records if r["kind"] == k] for k in kinds}
    best_weight, best_gain = 0.0, 0.0
    for weight in WEIGHTS[1:]:
        gains = []
        for k in kinds:
            diffs = [reciprocal_rank(r, weight, power) - f for r, f in zip((r for r in records if r["kind"] == k), first[k], strict=True)]
            mean = sum(diffs) / len(diffs)
            se = (sum((d - mean) ** 2 for d in diffs) / max(len(diffs) - 1, 1)) ** 0.5 / len(diffs) ** 0.5
            gains.append(mean - se)  # worse than its noise counts as no gain
        worst = min(gains)
        if worst > best_gain:
            best_weight, best_gain = weight, worst
    mrr = {
        "first stage": _mean(reciprocal_rank(r, 0.0, power) for r in records),
        "rerank": _mean(reciprocal_rank(r, None, power) for r in records),
        "chosen": _mean(reciprocal_rank(r, best_weight, power) for r in records),
    }
    for k in kinds:
        mrr[f"first stage ({k})"] = _mean(first[k])
        mrr[f"rerank ({k})"] = _mean(reciprocal_rank(r, None, power) for r in records if r["kind"] == k)
    return best_weight, mrr


def _mean(values: Any) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def run(
    searcher: Any,
    folder: Path,
    reranker_id: str,
    embedder_id: str,
    power: float,
    cancel: CancelToken = NEVER,
    progress: Callable[[int, int], None] | None = None,
    max_queries: int = MAX_QUERIES,
) -> Finding:
    """Measure (or resume measuring) the reranker on the collection in ``searcher.store`` and
    store the finding in ``folder``; returns it. A finding that is current is returned as it
    is. ``progress(done, total)`` hears of each pseudo-query. Raises Cancelled (the work so far
    is kept, and the next call resumes) and whatever the reranker or the store raise."""
    passages = searcher.store.passage_counts().vectors
    finding = load(folder)
    if finding is not None and current(finding, reranker_id, embedder_id, passages):
        if finding.done:
            return finding
    else:
        sample = searcher.store.sample_passages(max_queries * SAMPLE_FACTOR, seed=passages)
        queries = pseudo_queries(sample, max_queries, seed=passages)
        finding = Finding(reranker_id, embedder_id, passages, [asdict(q) for q in queries])
        save(folder, finding)
    started = time.perf_counter()
    total = len(finding.queries)
    while len(finding.records) < total:
        cancel.raise_if_cancelled()
        pq = PseudoQuery(**finding.queries[len(finding.records)])
        record = measure_one(searcher, pq, cancel)
        finding.records.append(record or {"kind": pq.kind, "gone": True})
        finding.seconds += time.perf_counter() - started
        started = time.perf_counter()
        save(folder, finding)
        if progress is not None:
            progress(len(finding.records), total)
    usable = [r for r in finding.records if not r.get("gone")]
    if len(usable) >= MIN_QUERIES:
        finding.weight, finding.mrr = decide(usable, power)
    finding.done = True
    finding.measured_at = datetime.now(UTC).isoformat(timespec="seconds")
    save(folder, finding)
    log.info("%s (%.1f s)", finding.describe(), finding.seconds)
    return finding
