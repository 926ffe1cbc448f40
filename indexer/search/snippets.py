"""Snippets: the window of a passage that holds most of the query's words (indexer.search.terms)."""

from __future__ import annotations

from indexer.constants import SNIPPET_CHARS
from indexer.search.terms import query_words


def make_snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """About ``width`` characters of ``text`` (whitespace collapsed), cut at spaces: the window
    holding the most of the query's words (compared by stem, indexer.search.terms), starting a
    little before the first of them; the opening words when none is there. '… ' and ' …' mark
    the cuts. A text no longer than ``width`` comes back whole."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    positions = [m.start() for m in query_words(query).finditer(text)]
    if not positions:
        return text[:width].rsplit(" ", 1)[0] + " …"
    # The window start that covers the most matches.
    best_start, best_count, j = positions[0], 0, 0
    for i, pos in enumerate(positions):
        while positions[j] < pos - width + 40:
            j += 1
        if i - j + 1 > best_count:
            best_count, best_start = i - j + 1, positions[j]
    start = max(0, best_start - 40)
    if start:
        start = text.find(" ", start) + 1
    end = min(len(text), start + width)
    if end < len(text):
        end = text.rfind(" ", start, end) if text.rfind(" ", start, end) > start else end
    return ("… " if start else "") + text[start:end].strip() + (" …" if end < len(text) else "")
