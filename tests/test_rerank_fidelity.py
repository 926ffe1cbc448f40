"""Our pair builder and rank pooling reproduce the PyTorch reference scores."""

from __future__ import annotations

import json
import math
from collections import defaultdict

import pytest

from indexer.rerank import Reranker, sigmoid
from indexer.score_cache import ScoreCache
from tests.conftest import MODELS, RERANKER_F16, RERANKER_Q8

REFERENCE = json.loads((MODELS / "quarry-test-reranker-minilm-l6.reference.json").read_text())
PAIRS = REFERENCE["pairs"]


@pytest.mark.parametrize(("path", "tolerance"), [(RERANKER_F16, 0.05), (RERANKER_Q8, 0.5)])
def test_logits_match_reference(placement, path, tolerance):
    reranker = Reranker(path, placement, pairs_per_decode=1)
    try:
        for pair in PAIRS:
            result = reranker.score(pair["query"], [pair["document"]])
            assert abs(result.raw[0] - pair["logit"]) <= tolerance, pair["source"]
            if path == RERANKER_F16:
                assert abs(result.scores[0] - sigmoid(pair["logit"])) <= 0.01
    finally:
        reranker.close()


def test_relevant_outranks_irrelevant(reranker):
    groups = defaultdict(list)
    for pair in PAIRS:
        groups[pair["query"]].append(pair)
    judged = 0
    for query, pairs in groups.items():
        relevant = [p for p in pairs if p["relevant"]]
        irrelevant = [p for p in pairs if not p["relevant"]]
        if not relevant or not irrelevant:
            continue
        scores = reranker.score(query, [p["document"] for p in pairs]).scores
        by_doc = dict(zip([p["document"] for p in pairs], scores, strict=True))
        judged += 1
        assert min(by_doc[p["document"]] for p in relevant) > max(by_doc[p["document"]] for p in irrelevant), query
    assert judged >= 5


def test_several_pairs_per_decode_give_the_same_scores(placement):
    single = Reranker(RERANKER_Q8, placement, pairs_per_decode=1)
    batched = Reranker(RERANKER_Q8, placement, pairs_per_decode=4)
    try:
        query = PAIRS[0]["query"]
        docs = [p["document"] for p in PAIRS[:9]]
        one = single.score(query, docs).raw
        four = batched.score(query, docs).raw
        # q8_0 matmuls round differently per batch shape: ~0.006 logits seen here.
        assert all(abs(a - b) < 0.02 for a, b in zip(one, four, strict=True))
    finally:
        single.close()
        batched.close()


def test_scores_are_probabilities_in_input_order(reranker):
    pair = PAIRS[0]
    result = reranker.score(pair["query"], ["unrelated text about gardening", pair["document"]])
    assert all(0.0 <= s <= 1.0 for s in result.scores)
    assert result.scores[1] > result.scores[0]
    assert result.complete


def test_deadline_leaves_unscored_pairs_nan(reranker):
    pair = PAIRS[0]
    fresh = [f"{pair['document']} (copy {i}, never scored)" for i in range(5)]
    result = reranker.score(pair["query"], fresh, deadline=0.0)
    assert not result.complete
    assert all(math.isnan(s) for s in result.scores)


def test_repeated_pairs_come_from_the_score_cache(placement):
    reranker = Reranker(RERANKER_Q8, placement)
    try:
        query, docs = PAIRS[0]["query"], [p["document"] for p in PAIRS[:4]]
        first = reranker.score(query, docs)
        assert first.from_cache == 0
        again = reranker.score(query, [docs[2], "a passage not seen before", docs[0]])
        assert again.from_cache == 2
        assert again.raw[0] == first.raw[2] and again.raw[2] == first.raw[0]
        # A pair scored from the cache even past the deadline: nothing needs the model.
        cached_only = reranker.score(query, docs, deadline=0.0)
        assert cached_only.complete and cached_only.raw == first.raw
        # Another query never reuses these scores.
        assert reranker.score("an unrelated question", docs[:1]).from_cache == 0
    finally:
        reranker.close()


def test_embedder_offered_as_reranker_is_refused(placement):
    from indexer.errors import ModelInvalid
    from tests.conftest import EMBEDDER

    with pytest.raises(ModelInvalid, match="not a reranker"):
        Reranker(EMBEDDER, placement)


def test_idle_model_is_released_and_reloads_with_the_same_scores(placement):
    reranker = Reranker(RERANKER_Q8, placement, cache=ScoreCache(0))
    try:
        pair = PAIRS[0]
        first = reranker.score(pair["query"], [pair["document"]]).raw[0]
        assert not reranker.model.release_if_idle(3600.0)  # just used: kept
        assert reranker.model.release_if_idle(0.0)
        assert not reranker.model.loaded
        again = reranker.score(pair["query"], [pair["document"]]).raw[0]
        assert reranker.model.loaded
        assert again == pytest.approx(first, abs=1e-5)
    finally:
        reranker.close()
