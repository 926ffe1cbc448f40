"""Rank fusion and score blending."""

from __future__ import annotations

from indexer.search.fusion import (
    RANKINGS,
    RRF_K,
    agreement,
    blend,
    fuse,
    mmr,
    order_by_keys,
    position_weight,
    ranks,
    relative_keys,
    rerank_ranks,
    rrf,
)


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


def test_rrf_follows_the_reranker_where_the_embedder_agrees():
    # Candidate 0 is first-stage #1 that the reranker puts last; candidate 2 the reranker's #1.
    first, scores = [1, 2, 3, 4], [0.1, 0.5, 0.9, 0.6]
    assert agreement(scores, [1.0] * 4) == 1.0
    keys = fuse("rrf", first, scores, [1.0] * 4)
    assert sorted(range(4), key=lambda i: -keys[i]) == [2, 3, 1, 0], "the rerank order, as rerank alone"
    assert fuse("rerank", first, scores, [1.0] * 4) == scores


def test_rrf_keeps_the_first_stage_where_the_embedder_disagrees():
    # The reranker is sure of candidates 2 and 3, which the topic check finds off topic: its
    # vote shrinks (agreement 0.5 over all four) and the first stage's top two stay on top.
    first, scores, topic = [1, 2, 3, 4], [0.3, 0.5, 0.99, 0.98], [1.0, 1.0, 0.0, 0.0]
    assert agreement(scores, topic) == 0.5
    keys = fuse("rrf", first, scores, topic)
    order = sorted(range(4), key=lambda i: -keys[i])
    assert set(order[:2]) == {0, 1}
    assert sorted(range(4), key=lambda i: -scores[i])[0] == 2, "the reranker alone would bury it"


def test_unscored_candidates_have_no_key_except_under_rrf():
    for ranking in RANKINGS:
        if ranking == "rrf":
            continue
        keys = fuse(ranking, [1, 2, 3], [0.4, None, 0.8], [1.0, 1.0, 0.5])
        assert keys[1] is None and keys[0] is not None and keys[2] is not None, ranking


def test_rrf_keeps_unscored_candidates_in_their_first_stage_places():
    # A deadline scored the first stage's 1, 2 and 4; 3 and 5 are unscored. In the reranker's
    # vote they come after the scored, in first-stage order, and keep their first-stage term.
    scores = [0.2, 0.9, None, 0.5, None]
    assert rerank_ranks(scores) == [3, 1, 4, 2, 5]
    keys = fuse("rrf", [1, 2, 3, 4, 5], scores, [1.0] * 5)
    assert all(k is not None for k in keys)
    order = order_by_keys(keys)
    assert order.index(2) < order.index(4), "unscored candidates keep their first-stage order"
    assert order.index(2) < len(order) - 1, "an unscored candidate is not sent to the bottom"
    # The same scores give the same order every time: nothing depends on timing.
    assert order == order_by_keys(fuse("rrf", [1, 2, 3, 4, 5], scores, [1.0] * 5))


def test_relative_keys_put_the_best_possible_place_at_one():
    keys = fuse("rrf", [1, 2], [0.9, 0.1], [1.0, 1.0], k=10, rerank_weight=3.0, power=0.0)
    places = relative_keys(keys, 3.0, 10)
    assert places[0] == 1.0 and 0 < places[1] < 1.0
    assert relative_keys([1 / 11, 1 / 12], 0.0, 10) == [1.0, 11 / 12]


def test_weight_zero_keeps_the_first_stage_order():
    keys = fuse("rrf", [1, 2, 3], [0.1, 0.5, 0.99], [1.0, 1.0, 1.0], rerank_weight=0.0)
    assert order_by_keys(keys) == [0, 1, 2]


def test_topic_weight_counts_in_the_rerank_order():
    # The reranker's 0.9 is off topic (weight 0.1): under rrf it ranks below the on-topic 0.5.
    keys = fuse("rrf", [2, 1], [0.9, 0.5], [0.1, 1.0])
    assert keys[1] > keys[0]


def test_ranks_and_mmr():
    assert ranks([0.2, None, 0.9, 0.5]) == [3, None, 1, 2]
    texts = ["the red weed chokes the river", "the red weed chokes the river Thames", "bacteria killed the Martians"]
    assert mmr([0, 1, 2], texts, keep=3, diversity=0.5) == [0, 2, 1]
    assert mmr([0, 1, 2], texts, keep=3, diversity=0.0) == [0, 1, 2]
