"""What counts as a query word, and where a query's words are in a text: the one rule behind
the snippet chooser (indexer.search.snippets), the reranker's passage window
(indexer.search.passage_window), the topic check's phrase match (indexer.search.topic), the
page preview's word marks (indexer.search.preview), the viewer's search text (app/opener.py)
and the bold words of a result (app/widgets/results_view.py).

A query's words are its runs of letters, digits and underscores (``\\w+``), lower-cased, each
once, leaving out stop words and one-letter words. A word of a text is one of them when the
two have the same English Snowball stem: "insurer" finds "insurance" ('insur'), "Martians"
finds "martian", "train" finds "training" but not "trainee"; a word the stemmer does not know
(most words of other languages) only finds itself, in any case. So a passage that the topic
check keeps because it says "insurance excess" for the query "insurer excess" shows a
snippet centred on those words, with both in bold.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

import snowballstemmer

WORD = re.compile(r"\w+", re.UNICODE)
"""A word, in a query or a text: a run of letters, digits and underscores."""
STOPWORDS = frozenset(
    "a an and are as at be by for from has have how i in is it its of on or that the this to was what when "
    "where which who why with do does did not no can we you they he she my our your their me us about into "
    "should would could will shall may might".split()
)
"""Query words left out: they say nothing of what is sought."""

_STEMMER = snowballstemmer.stemmer("english")


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """The word's English Snowball stem, lower-cased: 'insurer' and 'insurance' -> 'insur',
    'Martians' -> 'martian'. Words of other languages mostly pass unchanged, so they must match
    as written."""
    return _STEMMER.stemWord(word.lower())


def query_terms(query: str) -> list[str]:
    """The query's words, lower-cased, each once, in the order typed: stop words and
    one-letter words left out ('How to tie a bow tie' -> ['tie', 'bow'])."""
    terms = [w.lower() for w in WORD.findall(query)]
    return [t for t in dict.fromkeys(terms) if t not in STOPWORDS and len(t) > 1]


class QueryWords:
    """One query's words and the rule that finds them in a text (compared by stem)."""

    __slots__ = ("stems", "terms")

    def __init__(self, query: str) -> None:
        self.terms: tuple[str, ...] = tuple(query_terms(query))
        """The query's words (query_terms)."""
        self.stems: frozenset[str] = frozenset(stem(t) for t in self.terms)
        """Their stems."""

    def __bool__(self) -> bool:
        return bool(self.terms)

    def matches(self, word: str) -> bool:
        """Whether ``word`` (one word of a text, any case) is one of the query's words."""
        return stem(word) in self.stems

    def finditer(self, text: str, pos: int = 0, endpos: int | None = None) -> Iterator[re.Match[str]]:
        """The query's words in ``text[pos:endpos]``, in order, as matches of WORD (their
        ``start()``/``end()`` are character offsets in ``text``)."""
        end = len(text) if endpos is None else endpos
        return (m for m in WORD.finditer(text, pos, end) if stem(m.group()) in self.stems)


@lru_cache(maxsize=64)
def query_words(query: str) -> QueryWords:
    """QueryWords for ``query``, kept for the last 64 queries: the results list asks again for
    every row it paints."""
    return QueryWords(query)
