"""Is a passage on the query's topic at all?

A cross-encoder can be sure of a passage that merely shares a word with the query ("how to tie
a bow tie" -> a paper on the Tie2 receptor). So the final score is the rerank score times a
topic weight, and the weight is 1 only where a second witness agrees with the reranker:
- the embedder finds the passage close: a gate on cosine similarity, 0 below its lower bound,
  1 above its upper bound, linear between (the bounds belong to the embedder);
- or the passage holds every word of the query (a word of the same stem: indexer.search.terms,
  the rule the snippets and the bold words follow too) close together,
  as a phrase would: a person who types "speckled band" or "heat-ray" wants the pages that
  say so, however the embedder scores two words against a page of prose.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from indexer.search.terms import query_terms, term_positions

Bounds = tuple[float, float]

PHRASE_SPREAD = 2
"""The query's words must all fall within a window of this many words per query word: room
for a short word between each ("Queen of Hearts"), not for words scattered over a page."""


def similarity_gate(similarity: float, bounds: Bounds | None) -> float:
    """0..1 from the first stage's cosine similarity (None: no gate, always 1)."""
    if bounds is None:
        return 1.0
    low, high = bounds
    if similarity <= low:
        return 0.0
    if similarity >= high:
        return 1.0
    return (similarity - low) / (high - low)


def holds_phrase(terms: Sequence[str], text: str) -> bool:
    """Whether every term occurs in the text within a window of PHRASE_SPREAD words per term;
    a word of the text is a term by the one rule of indexer.search.terms (same stem)."""
    if not terms:
        return False
    hits = term_positions(terms, text)  # (word position, which term)
    if len({k for _, k in hits}) < len(terms):
        return False
    limit = PHRASE_SPREAD * len(terms)
    # Smallest window holding every term: slide a left edge behind each new right edge.
    counts: dict[int, int] = {}
    left = 0
    for position, k in hits:
        counts[k] = counts.get(k, 0) + 1
        while len(counts) == len(terms):
            if position - hits[left][0] + 1 <= limit:
                return True
            first = hits[left][1]
            counts[first] -= 1
            if not counts[first]:
                del counts[first]
            left += 1
    return False


class TopicCheck:
    """The topic weight of one query's candidates."""

    def __init__(self, query: str, bounds: Bounds | None) -> None:
        self.terms = query_terms(query)
        self.bounds = bounds

    def weight(self, similarity: float, texts: Iterable[str]) -> float:
        """1 where the embedder or a phrase match says the passage is on topic, less where only
        the reranker thinks so. `texts`: the passage's title and text."""
        gate = similarity_gate(similarity, self.bounds)
        if gate < 1.0 and any(holds_phrase(self.terms, text) for text in texts):
            return 1.0
        return gate
