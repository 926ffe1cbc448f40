"""The reranker reads a query-centred window of each passage (indexer.search.passage_window)."""

from __future__ import annotations

from indexer.search.passage_window import query_window

FILLER_BEFORE = " ".join(f"before{i}" for i in range(120))
FILLER_AFTER = " ".join(f"after{i}" for i in range(120))
ANSWER = "In the end the Martians were slain by the putrefactive bacteria against which their systems were unprepared."


def test_the_window_holds_the_words_the_query_shares_with_the_passage():
    text = f"{FILLER_BEFORE} {ANSWER} {FILLER_AFTER}"
    window = query_window(text, "what killed the martian invaders, bacteria?", 40)
    assert "Martians were slain by the putrefactive bacteria" in window
    assert len(window.split()) == 40
    assert window in text  # a slice of the text as written, never rewritten


def test_stems_match_and_the_run_of_matches_is_centred():
    text = f"{FILLER_BEFORE} insurers pay the insurance excess {FILLER_AFTER}"
    window = query_window(text, "insurer excess", 21).split()
    middle = window.index("insurance")
    assert 6 <= middle <= 14  # the matches sit near the middle, with context both sides


def test_no_match_keeps_the_opening_and_short_texts_and_zero_stay_whole():
    text = f"{FILLER_BEFORE} {FILLER_AFTER}"
    assert query_window(text, "zebra crossing", 10) == " ".join(f"before{i}" for i in range(10))
    assert query_window("a short passage", "passage", 10) == "a short passage"
    assert query_window(text, "before3", 0) == text


def test_the_window_stays_inside_the_text_at_its_ends():
    text = f"bacteria {FILLER_AFTER}"
    assert query_window(text, "bacteria", 30).startswith("bacteria")
    text = f"{FILLER_BEFORE} bacteria"
    assert query_window(text, "bacteria", 30).endswith("bacteria")
