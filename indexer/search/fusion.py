"""Pure rank arithmetic: reciprocal rank fusion, and the ways a reranker's scores can be
combined with the first stage's order (compared in docs/quality.md, chosen there)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

RRF_K = 60
"""The constant from Cormack et al. (2009); LanceDB's RRF reranker uses the same."""


def rrf(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> dict[str, float]:
    """Fused score per id: the sum over rankings of 1 / (k + rank), rank from 1."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
    return fused


def position_weight(first_stage_rank: int) -> float:
    """How much the first stage keeps of its say at this rank (qmd's position-aware blend):
    the top few first-stage hits are rarely wrong, so the reranker moves them less."""
    if first_stage_rank <= 3:
        return 0.75
    if first_stage_rank <= 10:
        return 0.60
    return 0.40


def blend(rerank_score: float, first_stage_rank: int) -> float:
    weight = position_weight(first_stage_rank)
    return weight * (1.0 / first_stage_rank) + (1.0 - weight) * rerank_score


def ranks(scores: Sequence[float | None]) -> list[int | None]:
    """1-based rank of each score, highest first (ties keep input order); None stays None."""
    order = sorted((i for i, s in enumerate(scores) if s is not None), key=lambda i: -scores[i])  # type: ignore[operator]
    out: list[int | None] = [None] * len(scores)
    for rank, i in enumerate(order, start=1):
        out[i] = rank
    return out


RANKINGS = ("rerank", "rerank*topic", "blend", "rrf", "interp")
"""How the final order is made from rerank scores (times the topic weight, indexer.search.topic) and
first-stage ranks:
- 'rerank': the rerank score alone;
- 'rerank*topic': the rerank score times the topic weight (sessions 3-4's default);
- 'blend': qmd's position-aware blend of rerank score and 1/first-stage rank;
- 'rrf': reciprocal rank fusion of the rerank×topic order with the first-stage order, the
  rerank order weighted by how far the embedder agrees with the reranker (`agreement`);
- 'interp': alpha × rerank×topic + (1 - alpha) × the calibrated first-stage score."""


def first_stage_strength(first_stage_rank: int, k: int = RRF_K) -> float:
    """The first stage's rank as a 0..1 score: k+1 / (k + rank), 1 for its best candidate."""
    return (k + 1) / (k + first_stage_rank)


AGREEMENT_TOP = 5
"""How many of the reranker's best candidates `agreement` looks at."""


def agreement(rerank_scores: Sequence[float | None], topic_weights: Sequence[float], top: int = AGREEMENT_TOP) -> float:
    """0..1: the mean topic weight (indexer.search.topic) of the reranker's `top` best candidates. Near 1
    where the embedder (or a phrase match) vouches for what the reranker likes best, as on the
    reranker's own domain; low where the reranker is sure of passages that only share a word,
    as a reranker out of its domain is. 1 when nothing was scored."""
    scored = sorted(
        ((s, w) for s, w in zip(rerank_scores, topic_weights, strict=True) if s is not None), key=lambda p: -p[0]
    )[:top]
    return sum(w for _, w in scored) / len(scored) if scored else 1.0


def rerank_ranks(strengths: Sequence[float | None]) -> list[int]:
    """1-based rank of each candidate in the reranker's vote: the scored by their strength,
    highest first; then the unscored (None) in the order given (first-stage order)."""
    out = ranks(strengths)
    scored = sum(r is not None for r in out)
    tail = iter(range(scored + 1, len(out) + 1))
    return [r if r is not None else next(tail) for r in out]


def effective_weight(
    rerank_weight: float, rerank_scores: Sequence[float | None], topic_weights: Sequence[float], power: float
) -> float:
    """The reranker's vote in the final fusion for one query: the collection's weight (from
    the self-check, indexer.search.selfcheck; DEFAULT_RERANK_WEIGHT before one) times the
    per-query guard, agreement ** power (`agreement`: does the embedder vouch for what the
    reranker likes best)."""
    if rerank_weight <= 0:
        return 0.0
    return rerank_weight * agreement(rerank_scores, topic_weights) ** power


def relative_keys(keys: Sequence[float], weight: float, k: int = 10) -> list[float]:
    """Each 'rrf' key as a share of the best a candidate can get (first in both votes):
    (weight + 1) / (k + 1). 1 for a candidate both orders put first; it falls with the
    candidate's places, the same way for any weight."""
    best = (weight + 1.0) / (k + 1.0)
    return [key / best for key in keys]


def unscored_as_none(raw_scores: Sequence[float]) -> list[float | None]:
    """A reranker's scores with NaN (a pair not scored by its deadline) as None."""
    return [None if math.isnan(s) else s for s in raw_scores]


def final_scores(rerank_scores: Sequence[float | None], topic_weights: Sequence[float]) -> list[float | None]:
    """The final score of each candidate, 0..1: its rerank score times its topic weight
    (indexer.search.topic); None (not scored) stays None. The one rule for it: the score a hit
    shows (Hit.score), the one the minimum score is compared with, the 'rerank*topic' order,
    and what `quarry eval` and benchmarks/min_score.py measure."""
    return [None if s is None else s * w for s, w in zip(rerank_scores, topic_weights, strict=True)]


def order_by_keys(keys: Sequence[float | None]) -> list[int]:
    """Candidate indices (of a list in first-stage order) in final order: those with a key,
    highest key first (ties keep first-stage order), then those without one (not scored by
    the deadline), in first-stage order."""
    return sorted(range(len(keys)), key=lambda i: (keys[i] is None, -(keys[i] or 0.0), i))


def final_order(
    ranking: str,
    first_stage_ranks: Sequence[int],
    rerank_scores: Sequence[float | None],
    topic_weights: Sequence[float],
    **knobs: float,
) -> list[int]:
    """The final order of the reranked candidates (indices into the lists, which are in
    first-stage order): ``fuse``'s keys under ``ranking`` (``knobs``: its k, rerank_weight,
    alpha, power), sorted by order_by_keys. What Searcher.search shows and `quarry eval`
    scores. Raises ValueError for an unknown ranking."""
    return order_by_keys(fuse(ranking, first_stage_ranks, rerank_scores, topic_weights, **knobs))


def fuse(
    ranking: str,
    first_stage_ranks: Sequence[int],
    rerank_scores: Sequence[float | None],
    topic_weights: Sequence[float],
    k: int = 10,
    rerank_weight: float = 5.0,
    alpha: float = 0.5,
    power: float = 2.0,
) -> list[float | None]:
    """The sort key of each candidate, higher first. Under 'rrf' every candidate has one: a
    candidate a deadline left unscored ranks, in the reranker's vote, after every scored one
    (in first-stage order), so it keeps its first-stage place among its neighbours instead of
    dropping to the bottom. Under the other rankings an unscored candidate's key is None: those
    go below every scored candidate, in first-stage order.

    'rrf' (the default ranking): rerank_weight × agreement**power / (k + rank by rerank×topic)
    + 1 / (k + first-stage rank). With k=10, weight 5 and power 2, chosen by the worst case
    over SciFact dev and the book questions (docs/quality.md): where the embedder vouches for
    all of the reranker's favourites, the rerank order counts five times the first stage's; at
    agreement 0.45 the two count alike; below, the first stage leads."""
    strengths = final_scores(rerank_scores, topic_weights)
    if ranking == "rerank":
        return list(rerank_scores)
    if ranking == "rerank*topic":
        return strengths
    if ranking == "blend":
        return [None if s is None else blend(s, r) for s, r in zip(rerank_scores, first_stage_ranks, strict=True)]
    if ranking == "rrf":
        weight = effective_weight(rerank_weight, rerank_scores, topic_weights, power)
        return [
            weight / (k + rr) + 1.0 / (k + fr)
            for rr, fr in zip(rerank_ranks(strengths), first_stage_ranks, strict=True)
        ]
    if ranking == "interp":
        return [
            None if s is None else alpha * s + (1 - alpha) * first_stage_strength(fr)
            for s, fr in zip(strengths, first_stage_ranks, strict=True)
        ]
    raise ValueError(f"unknown ranking {ranking!r}")


_WORDS = re.compile(r"\w+")


def word_set(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in _WORDS.findall(text) if len(w) > 2)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def mmr(order: Sequence[int], texts: Sequence[str], keep: int, diversity: float = 0.3) -> list[int]:
    """Maximal marginal relevance over an already ranked list: each next pick maximises
    (1 - diversity) × relevance - diversity × its largest word overlap (Jaccard) with the picks so
    far, relevance being 1 for the first of ``order`` falling linearly to 0 for the last."""
    if diversity <= 0 or len(order) < 3:
        return list(order)[:keep]
    words = {i: word_set(texts[i]) for i in order}
    relevance = {i: 1.0 - n / len(order) for n, i in enumerate(order)}
    left, picked = list(order), []
    while left and len(picked) < keep:
        best = max(
            left,
            key=lambda i: (
                (1 - diversity) * relevance[i]
                - diversity * max((jaccard(words[i], words[j]) for j in picked), default=0.0)
            ),
        )
        picked.append(best)
        left.remove(best)
    return picked
