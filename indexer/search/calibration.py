"""The score a person reads: a calibrated 0..1 chance that a hit answers the query.

A raw cross-encoder probability is not that: out of its domain the test reranker gives 0.99
to pages that only share a word with the question, and a right answer the first stage found
by meaning could show 0.00. So the shown score is a logistic model (Platt scaling) over three
numbers that are defined in both phases of a search, before and after reranking:

- ``place``: the hit's key in the final fusion as a share of the best possible key
  (indexer.search.fusion.relative_keys): 1 for a passage both the first stage and the
  reranker put first, falling with its places. It decreases down the list, so the scores
  do too: rows are always in score order.
- ``topicality``: the best topic weight among the first five hits (indexer.search.topic: the
  embedder finds the passage close, or it holds the query's words together). Low when the
  collection knows nothing of the query.
- ``rerank``: the reranker's best strength (rerank score × topic weight) among the first five
  hits, times the reranker's share of the vote (w / (w + 1), w its weight for this query in the
  fusion): 0 before reranking and where the self-check found that the reranker does not help
  on this collection (indexer.search.selfcheck).

Two more features let the top of the list stand apart: place × topicality and place⁴
(``features``). The coefficients were fitted by ``benchmarks/ranking.py calibrate`` on the
choosing sets only (SciFact dev half a with the SciFact off-topic queries, and books-choosing
over the shared PDFs), one row per shown hit labelled by the qrels or the page labels; how well
the scores match what is relevant on the held-out sets is in docs/quality.md (session 12).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

COEFFICIENTS: tuple[float, ...] = (-6.952, 1.125, 1.050, 0.283, 1.974, 2.874)
"""(bias, place, topicality, rerank, place × topicality, place⁴) of the logistic model
(``features``): fitted by `benchmarks/ranking.py calibrate` on 4,360 shown hits of the
choosing sets (docs/quality.md, session 12). On the five held-out sets the hits it scores
0.5 or more are relevant 64–86 % of the time, those under 0.2 2–3 %."""

STRONG = 0.5
"""A hit at least this likely to answer is a strong match: more likely than not."""

POSSIBLE = 0.2
"""Below STRONG and at least this: a possible match; below it: weak."""

EVIDENCE_TOP = 5
"""How many of the first hits the query-level evidence looks at."""


def features(place: float, topicality: float, rerank: float) -> tuple[float, ...]:
    """What the logistic model reads, in COEFFICIENTS' order after the bias: the three numbers
    of the module docstring, then place × topicality (a first place means more where the
    collection knows the query) and place⁴ (the top of the list apart from the rest)."""
    return (place, topicality, rerank, place * topicality, place**4)


def relevance(place: float, topicality: float, rerank: float) -> float:
    """The calibrated chance, 0..1, that a hit answers the query (see the module docstring)."""
    return logistic(COEFFICIENTS, features(place, topicality, rerank))


def logistic(coefficients: Sequence[float], values: Sequence[float]) -> float:
    """1 / (1 + e^-z) for z = bias + Σ weight × value, (bias, *weights) = ``coefficients``;
    ``values`` may be shorter (the weights past them are unused)."""
    bias, *weights = coefficients
    z = bias + sum(w * v for w, v in zip(weights, values, strict=False))
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def rises_with_place(coefficients: Sequence[float], steps: int = 20) -> bool:
    """Whether the model's score never falls as ``place`` rises, at every topicality and
    rerank evidence in 0..1 (a grid of ``steps``): what keeps the rows in score order."""
    grid = [i / steps for i in range(steps + 1)]
    for topicality in grid:
        for rerank in grid:
            scores = [logistic(coefficients, features(place, topicality, rerank)) for place in grid]
            if any(b < a - 1e-12 for a, b in itertools.pairwise(scores)):
                return False
    return True


def query_evidence(
    topic_weights: Sequence[float], strengths: Sequence[float | None], rerank_share: float
) -> tuple[float, float]:
    """(topicality, rerank) for one result from its first EVIDENCE_TOP hits in final order:
    their topic weights and rerank strengths (None: not reranked), and the reranker's share of
    the vote, 0..1."""
    top_topic = max(topic_weights[:EVIDENCE_TOP], default=0.0)
    scored = [s for s in strengths[:EVIDENCE_TOP] if s is not None]
    return top_topic, rerank_share * max(scored, default=0.0)


def strength(score: float, strong: float = STRONG) -> str:
    """The word shown beside a score: 'strong', 'possible' or 'weak'."""
    if score >= strong:
        return "strong"
    if score >= min(POSSIBLE, strong):
        return "possible"
    return "weak"
