"""The shown score (indexer.search.calibration): the rows of a result stay in score order
whatever the evidence, a first place where the collection knows the query and the reranker
agrees reads strong, and the same place on a query the collection knows nothing of does not."""

from __future__ import annotations

from indexer.search import calibration


def test_the_shipped_model_never_falls_as_the_place_rises():
    assert calibration.rises_with_place(calibration.COEFFICIENTS)


def test_the_check_finds_a_model_that_falls_with_the_place():
    assert not calibration.rises_with_place((0.0, 1.0, 0.0, 0.0, 0.0, -3.0))  # place − 3·place⁴


def test_strength_words_follow_the_evidence():
    on_topic_first = calibration.relevance(1.0, 1.0, 1.0)
    off_topic_first = calibration.relevance(1.0, 0.0, 0.0)
    far_down = calibration.relevance(0.1, 1.0, 1.0)
    assert calibration.strength(on_topic_first) == "strong"
    assert calibration.strength(off_topic_first) != "strong"
    assert off_topic_first < on_topic_first and far_down < on_topic_first
    assert all(0.0 <= s <= 1.0 for s in (on_topic_first, off_topic_first, far_down))
