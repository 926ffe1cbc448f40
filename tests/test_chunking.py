"""Chunking: token limits, offsets, overlap, sentence and paragraph cuts."""

from __future__ import annotations

import itertools

from indexer.ingest.chunking import chunk_page, chunk_pages
from indexer.types import Page


def words(text: str) -> int:
    return len(text.split())


def test_spans_respect_the_limit_and_cover_the_text():
    text = " ".join(f"This is sentence {i} of the page." for i in range(200))
    spans = chunk_page(text, words, max_tokens=50, overlap_tokens=10)
    assert all(words(text[s:e]) <= 50 for s, e in spans)
    assert spans[0][0] == 0
    assert spans[-1][1] == len(text)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start < end, "consecutive chunks overlap"


def test_cuts_fall_on_sentence_boundaries():
    text = " ".join(f"Sentence {i} ends here." for i in range(60))
    for start, end in chunk_page(text, words, max_tokens=20, overlap_tokens=0):
        assert text[start:end].rstrip().endswith(".")


def test_prefers_paragraph_breaks():
    para = " ".join(["word"] * 9) + "."
    text = "\n\n".join([para] * 10)
    spans = chunk_page(text, words, max_tokens=35, overlap_tokens=0)
    # 35 tokens would fit 3.5 paragraphs; the cut comes after whole paragraphs.
    assert all(text[s:e].strip().count(para) == len(text[s:e].strip().split("\n\n")) for s, e in spans)


def test_unbroken_text_is_split_anyway():
    text = "a" * 5000
    spans = chunk_page(text, lambda t: len(t) // 10 + 1, max_tokens=40, overlap_tokens=0)
    assert all(len(text[s:e]) // 10 + 1 <= 40 for s, e in spans)
    assert sum(e - s for s, e in spans) == len(text)


def test_chunks_keep_page_offsets_and_title():
    pages = [Page("First page. " * 30, 1), Page("", 2), Page("Third page text here. " * 30, 3)]
    chunks = chunk_pages(pages, "My Book", words, max_tokens=40, overlap_tokens=5)
    assert {c.page for c in chunks} == {1, 3}
    for chunk in chunks:
        page_text = pages[chunk.page - 1].text
        assert page_text[chunk.start : chunk.end] == chunk.text
        assert chunk.indexed_text.startswith("My Book\n")
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_tiny_fragments_are_dropped():
    chunks = chunk_pages([Page("12", 1), Page("A real sentence with enough words in it.", 2)], "", words)
    assert [c.page for c in chunks] == [2]
