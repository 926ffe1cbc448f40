"""The topic weight: the embedder's similarity gate, or every query word close together."""

from __future__ import annotations

import pytest

from indexer.search.topic import TopicCheck, holds_phrase, similarity_gate


def test_similarity_gate_fades_between_its_bounds():
    assert similarity_gate(0.1, (0.35, 0.45)) == 0.0
    assert similarity_gate(0.35, (0.35, 0.45)) == 0.0
    assert similarity_gate(0.40, (0.35, 0.45)) == pytest.approx(0.5)
    assert similarity_gate(0.9, (0.35, 0.45)) == 1.0
    assert similarity_gate(-0.5, None) == 1.0


@pytest.mark.parametrize(
    ("terms", "text"),
    [
        (["speckled", "band"], "The Adventure of the Speckled Band. On glancing over my notes"),
        (["heat", "ray"], "the Martians turned the Heat-Ray upon the crowd"),
        (["queen", "hearts"], "said the Queen of Hearts, and the gardeners"),
        (["martian"], "Two Martians stood by the pit"),
        (["martians"], "the Martian stood by the pit"),
        (["bow", "tie"], "a small bow tie, a larger tie bow"),
        (["insurance", "excess"], "the insurer's excess is 250 pounds"),  # same stem
        (["memorising", "speech"], "memorise the speeches"),
    ],
)
def test_a_phrase_is_found(terms, text):
    assert holds_phrase(terms, text)


@pytest.mark.parametrize(
    ("terms", "text"),
    [
        # Every word is there, but scattered: "what time does the library open".
        (["time", "library", "open"], "At that time the gate was open. " + "Later on, " * 5 + "in the library."),
        (["capital", "australia"], "Australia is dry; " + "farmers need water, " * 3 + "and capital to invest."),
        (["bow", "tie"], "the Tie2 receptor and a bow"),  # a word part is not the word
        (["insurance", "excess"], "the insurer pays; " + "and so on, " * 3 + "less the excess"),
        (["puppy"], "training toddlers to sit"),
        ([], "anything at all"),
    ],
)
def test_scattered_or_missing_words_are_not_a_phrase(terms, text):
    assert not holds_phrase(terms, text)


def test_the_window_grows_with_the_query():
    text = "red " + "x " * 4 + "blue " + "y " * 4 + "green"
    assert not holds_phrase(["red", "blue"], text)  # 6 words apart, window 4
    assert holds_phrase(["red", "blue", "green"], "red a blue b green")  # 5 words, window 6
    assert not holds_phrase(["red", "blue", "green"], text)  # 11 words, window 6


def test_a_phrase_lifts_the_gate_and_nothing_else_does():
    check = TopicCheck("the speckled band", (0.35, 0.45))
    assert check.terms == ["speckled", "band"]
    assert check.weight(0.30, ("The Adventures of Sherlock Holmes", "VIII. The Adventure of the Speckled Band")) == 1.0
    assert check.weight(0.30, ("Sherlock Holmes", "a band of gypsies and a speckled hen" + " x" * 20)) == 0.0
    assert check.weight(0.40, ("", "nothing here")) == pytest.approx(0.5)
    assert check.weight(0.60, ("", "nothing here")) == 1.0
    assert TopicCheck("anything", None).weight(-1.0, ("", "")) == 1.0
