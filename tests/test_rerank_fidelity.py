"""Our pair builder and rank pooling reproduce the PyTorch reference scores."""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import defaultdict
from pathlib import Path

import pytest

from indexer.cancel import NEVER, CancelToken
from indexer.errors import Cancelled
from indexer.models.bf16 import cpu_has_bf16
from indexer.models.gguf_info import read_info
from indexer.models.rerank import Reranker, sigmoid
from indexer.models.score_cache import ScoreCache
from indexer.runtime.context_pool import ContextPool
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
        assert not reranker.release_if_idle(3600.0)  # just used: kept
        assert reranker.release_if_idle(0.0)
        assert not reranker.loaded
        again = reranker.score(pair["query"], [pair["document"]]).raw[0]
        assert reranker.loaded
        assert again == pytest.approx(first, abs=1e-5)
    finally:
        reranker.close()


def test_lanes_score_side_by_side_with_the_same_results(placement):
    one = Reranker(RERANKER_F16, placement, lanes=1, pairs_per_decode=1, cache=ScoreCache(0))
    two = Reranker(RERANKER_F16, placement, lanes=2, pairs_per_decode=1, cache=ScoreCache(0))
    try:
        assert (one.n_lanes, two.n_lanes) == (1, 2)
        query, docs = PAIRS[0]["query"], [p["document"] for p in PAIRS[:9]]
        alone, side_by_side = one.score(query, docs), two.score(query, docs)
        assert side_by_side.complete
        assert side_by_side.raw == pytest.approx(alone.raw, abs=1e-3)
    finally:
        one.close()
        two.close()


def test_a_failing_or_cancelled_lane_stops_the_others_and_raises_in_the_caller():
    done: list[int] = []

    def work(group: list[int], lane: int) -> None:
        if group == [3]:
            raise RuntimeError("lane failed")
        time.sleep(0.01)
        done.append(group[0])

    lanes = ContextPool(2)
    try:
        with pytest.raises(RuntimeError, match="lane failed"):
            lanes.run([[i] for i in range(50)], work, NEVER, None)
        assert len(done) < 49  # the other lane stopped taking groups
        cancelled = CancelToken()
        cancelled.cancel()
        with pytest.raises(Cancelled):
            lanes.run([[i] for i in range(5)], work, cancelled, None)
        done.clear()
        lanes.run([[i] for i in range(10, 20)], work, NEVER, None)  # still usable after a failure
        assert sorted(done) == list(range(10, 20))
    finally:
        lanes.close()


def test_a_bf16_copy_runs_on_cpus_made_for_it_and_leaves_the_source_alone(placement, tmp_path: Path):
    before = hashlib.sha256(RERANKER_F16.read_bytes()).hexdigest()
    reranker = Reranker(RERANKER_F16, placement, pairs_per_decode=1, tuned_dir=tmp_path)
    try:
        if not cpu_has_bf16():
            assert reranker.loaded_path == RERANKER_F16 and not any(tmp_path.iterdir())
            pytest.skip("this CPU has no AVX512-BF16: the file is used as it is (checked above)")
        copy = reranker.loaded_path
        assert copy.parent == tmp_path and copy.name.endswith(".bf16.gguf")
        assert read_info(copy).file_type == 32  # LLAMA_FTYPE_MOSTLY_BF16
        assert "bf16" in reranker.label and reranker.name == RERANKER_F16.stem
        for pair in PAIRS:  # measured: max 0.065 logits from the PyTorch reference
            result = reranker.score(pair["query"], [pair["document"]])
            assert abs(result.raw[0] - pair["logit"]) <= 0.1, pair["source"]
            assert abs(result.scores[0] - sigmoid(pair["logit"])) <= 0.02
    finally:
        reranker.close()
    made = copy.stat().st_mtime_ns
    again = Reranker(RERANKER_F16, placement, tuned_dir=tmp_path)
    quantized = Reranker(RERANKER_Q8, placement, tuned_dir=tmp_path)
    try:
        assert again.loaded_path == copy and copy.stat().st_mtime_ns == made  # made once, reused
        assert quantized.loaded_path == RERANKER_Q8  # never converted twice
    finally:
        again.close()
        quantized.close()
    assert hashlib.sha256(RERANKER_F16.read_bytes()).hexdigest() == before


def test_a_failed_conversion_falls_back_to_the_file_as_it_is(placement, tmp_path: Path, caplog):
    not_a_folder = tmp_path / "tuned-models"
    not_a_folder.write_text("a file where the cache folder should be")
    reranker = Reranker(RERANKER_F16, placement, pairs_per_decode=1, tuned_dir=not_a_folder)
    try:
        assert reranker.loaded_path == RERANKER_F16 and reranker.label == RERANKER_F16.stem
        pair = PAIRS[0]
        assert abs(reranker.score(pair["query"], [pair["document"]]).raw[0] - pair["logit"]) <= 0.05
    finally:
        reranker.close()
    if cpu_has_bf16():
        assert "could not make a bf16 copy" in caplog.text
