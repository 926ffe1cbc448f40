"""Rank fusion and score blending."""

from __future__ import annotations

from indexer.fusion import RRF_K, blend, position_weight, rrf


def test_rrf_rewards_agreement():
    fused = rrf([["a", "b", "c"], ["b", "d"]])
    assert max(fused, key=fused.get) == "b"
    assert fused["a"] == 1 / (RRF_K + 1)
    assert fused["b"] == 1 / (RRF_K + 2) + 1 / (RRF_K + 1)
    assert set(fused) == {"a", "b", "c", "d"}


def test_blend_protects_the_top_of_the_first_stage():
    assert position_weight(1) > position_weight(5) > position_weight(20)
    # A first-stage winner with a middling rerank score stays above a deep candidate the
    # reranker likes a little more...
    assert blend(0.6, 1) > blend(0.7, 30)
    # ...but a deep candidate the reranker is sure of still climbs past a weak mid one.
    assert blend(0.99, 30) > blend(0.2, 8)
