"""Pure rank arithmetic: reciprocal rank fusion and rerank/first-stage blending."""

from __future__ import annotations

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
