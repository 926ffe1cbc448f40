"""Snippets: the window of a passage that holds most of the query's words."""

from __future__ import annotations

import re

from indexer.constants import SNIPPET_CHARS

WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    "a an and are as at be by for from has have how i in is it its of on or that the this to was what when "
    "where which who why with do does did not no can we you they he she my our your their me us about into "
    "should would could will shall may might".split()
)


def query_terms(query: str) -> list[str]:
    """Lower-cased words of the query worth highlighting."""
    terms = [w.lower() for w in WORD.findall(query)]
    return [t for t in dict.fromkeys(terms) if t not in STOPWORDS and len(t) > 1]


def term_pattern(query: str) -> re.Pattern[str] | None:
    """A pattern matching the query's words in a text (case-insensitive), or None when the
    query has none worth marking. Words of four letters or more also match their inflections
    (train -> trains); short ones only match whole, so "we" never lights up "weep"."""
    terms = query_terms(query)
    if not terms:
        return None
    parts = [re.escape(t) + (r"\w*" if len(t) >= 4 else r"\b") for t in terms]
    return re.compile(r"\b(?:" + "|".join(parts) + ")", re.IGNORECASE)


def make_snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    terms = query_terms(query)
    positions = [m.start() for m in WORD.finditer(text) if m.group().lower() in terms] if terms else []
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
