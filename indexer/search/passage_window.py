"""The part of a passage the reranker reads: a window of words centred on the query.

A cross-encoder's cost grows with the pair's length (llama.cpp's encoder attends over the
whole pair and every layer's matrices scale with it). A 256-token passage is mostly text
around the sentence that answers; cutting it to the window that holds most of the query's
words (indexer.search.terms: compared by stem, as the topic check does) keeps the answer and halves the pair.
benchmarks/rerank_window.py measures what it costs in ranking and gains in speed.
"""

from __future__ import annotations

from indexer.search.terms import WORD, query_words
from indexer.store.lance import StoredChunk
from indexer.types import model_text


def rerank_text(chunk: StoredChunk, query: str, window_words: int) -> str:
    """What the reranker reads for ``query``: the passage's title, then its text cut to the
    ``window_words``-word window centred on the query's words (0: the whole text), joined as
    the embedder's text is (indexer.types.model_text: no title, no leading line end)."""
    return model_text(chunk.title, query_window(chunk.text, query, window_words))


def query_window(text: str, query: str, words: int) -> str:
    """``text`` cut to the ``words``-word window holding the most query words (by stem; the
    earliest such window, the opening words when none match). ``words`` <= 0, or a text
    no longer than that, returns ``text`` unchanged."""
    if words <= 0:
        return text
    spans = [(m.start(), m.end()) for m in WORD.finditer(text)]
    if len(spans) <= words:
        return text
    wanted = query_words(query)
    hits = [i for i, (start, end) in enumerate(spans) if wanted.matches(text[start:end])]
    best_start, best_count, j = 0, 0, 0
    for i, position in enumerate(hits):
        while hits[j] <= position - words:
            j += 1
        if i - j + 1 > best_count:
            best_count, best_start = i - j + 1, hits[j]
    # Centre the best run of hits in the window, within the text.
    run_end = next((hits[k] for k in range(len(hits) - 1, -1, -1) if hits[k] < best_start + words), best_start)
    start = max(0, min(len(spans) - words, (best_start + run_end) // 2 - words // 2)) if best_count else 0
    end = start + words - 1
    return text[spans[start][0] : spans[end][1]]
