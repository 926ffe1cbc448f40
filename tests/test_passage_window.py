"""The reranker reads a query-centred window of each passage (indexer.search.passage_window)."""

from __future__ import annotations

from indexer.search.passage_window import query_window, rerank_text
from indexer.store.lance import StoredChunk
from indexer.types import Chunk, model_text

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


def test_the_embedder_and_the_reranker_read_one_text_titled_or_not():
    text = f"{FILLER_BEFORE} {ANSWER}"
    for title in ("The War of the Worlds", ""):
        chunk = Chunk(text, 3, 0, len(text), 7, title)
        stored = StoredChunk("doc-00007", "doc", "/books/wotw.pdf", 3, 7, 0, len(text), title, text, 0.0)
        # What the vector was made from (indexing, backfill) is what the reranker reads.
        assert chunk.indexed_text == stored.passage == rerank_text(stored, "martians", 0) == model_text(title, text)
    assert model_text("", text) == text  # no title: no leading line end
    assert model_text("T", text) == f"T\n{text}"
    stored = StoredChunk("doc-00007", "doc", "/books/wotw.pdf", 3, 7, 0, len(text), "", text, 0.0)
    assert rerank_text(stored, "martians bacteria", 12) == query_window(text, "martians bacteria", 12)
