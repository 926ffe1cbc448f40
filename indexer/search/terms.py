"""What counts as a query word, and where a query's words are in a text: the one rule behind
the snippet chooser (indexer.search.snippets), the reranker's passage window
(indexer.search.passage_window), the topic check's phrase match (indexer.search.topic), the
page preview's word marks (indexer.search.preview), the viewer's search text (app/opener.py)
and the bold words of a result (app/widgets/results_view.py).

A query's words are its runs of letters, digits and underscores (``\\w+``), folded (NFKC,
case), each once, leaving out stop words and one-letter words (a single Han, kana or Hangul
character stays: 茶 is a word). A word of a text is one of them when the two have the same
Snowball stem in the query's own language or in the text's (indexer.words: py3langid tells
each, English when unsure): "insurer" finds "insurance" ('insur'), "Häuser" finds "Haus",
"станции" finds "станция", "train" finds "training" but not "trainee". A query word of a
script written without spaces (Chinese, Japanese, Korean, Thai) is found inside the text's
words, as written: 长城 in 长城是中国…, 수도 in 수도입니다. The full-text index (BM25) keys
passages and queries by the same rule (indexer.words.search_text, query_keys). So a passage
that the topic check keeps because it says "insurance excess" for the query "insurer excess"
shows a snippet centred on those words, with both in bold.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache

from indexer import words
from indexer.words import WORD, fold, is_unspaced

STOPWORDS = frozenset(
    "a an and are as at be by for from has have how i in is it its of on or that the this to was what when "
    "where which who why with do does did not no can we you they he she my our your their me us about into "
    "should would could will shall may might".split()
)
"""Query words left out: they say nothing of what is sought."""


@lru_cache(maxsize=65_536)
def stem(word: str, language: str = words.DEFAULT_LANGUAGE) -> str:
    """The word's Snowball stem in ``language`` (ISO 639-1, English by default), folded:
    'insurer' and 'insurance' -> 'insur', 'Martians' -> 'martian', stem('Häuser', 'de') ->
    'haus'. Words of a language without a stemmer pass folded but unchanged."""
    return words.stem(word, language)


def query_terms(query: str) -> list[str]:
    """The query's words, folded, each once, in the order typed: stop words and one-letter
    words left out, except a single character of an unspaced script ('How to tie a bow tie'
    -> ['tie', 'bow'])."""
    terms = [fold(w) for w in WORD.findall(query)]
    return [t for t in dict.fromkeys(terms) if t not in STOPWORDS and (len(t) > 1 or is_unspaced(t))]


@lru_cache(maxsize=1024)
def text_language(text: str) -> str:
    """The language of a passage or page text (indexer.words.detect_language), kept for the
    last 1,024 texts: the results list asks for every row it paints."""
    return words.detect_language(text)


def right_to_left(text: str) -> bool:
    """Whether ``text`` is in a language written right to left (Arabic, Hebrew, Persian,
    Urdu…, by text_language): the views lay it out right to left."""
    return words.is_rtl(text_language(text))


class _Span:
    """Where a query word is in a text: start(), end() and group(), as a re.Match has."""

    __slots__ = ("_end", "_start", "_text")

    def __init__(self, text: str, start: int, end: int) -> None:
        self._text, self._start, self._end = text, start, end

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end

    def group(self) -> str:
        return self._text[self._start : self._end]


class QueryWords:
    """One query's words and the rule that finds them in a text (compared by stem in the
    query's language and the text's, or inside words for unspaced scripts)."""

    __slots__ = ("_stems", "language", "stems", "terms", "unspaced")

    def __init__(self, query: str) -> None:
        self.terms: tuple[str, ...] = tuple(query_terms(query))
        """The query's words (query_terms)."""
        self.language: str = words.detect_language(query) if self.terms else words.DEFAULT_LANGUAGE
        """The query's own language (indexer.words.detect_language; unsure on one word)."""
        self.unspaced: tuple[str, ...] = tuple(t for t in self.terms if is_unspaced(t))
        """Its words of unspaced scripts, found inside a text's words as written."""
        self._stems: dict[str, frozenset[str]] = {}
        self.stems: frozenset[str] = self.stems_in(words.DEFAULT_LANGUAGE) | self.stems_in(self.language)
        """Their stems in English and in the query's own language."""

    def __bool__(self) -> bool:
        return bool(self.terms)

    def stems_in(self, language: str) -> frozenset[str]:
        """The query words' stems in ``language`` (ISO 639-1)."""
        found = self._stems.get(language)
        if found is None:
            found = self._stems[language] = frozenset(stem(t, language) for t in self.terms if not is_unspaced(t))
        return found

    def matches(self, word: str, language: str | None = None) -> bool:
        """Whether ``word`` (one word of a text, any case) is one of the query's words: the
        same stem in English, the query's language or ``language`` (the text's), or an
        unspaced query word inside it."""
        if stem(word) in self.stems or stem(word, self.language) in self.stems:
            return True
        if language is not None and any(
            stem(form, language) in self.stems_in(language) for form in (word, *words.singular_forms(word, language))
        ):
            return True
        return any(u in fold(word) for u in self.unspaced)

    def finditer(
        self, text: str, pos: int = 0, endpos: int | None = None, language: str | None = None
    ) -> Iterator[re.Match[str] | _Span]:
        """The query's words in ``text[pos:endpos]``, in order, with ``start()``/``end()``
        character offsets in ``text`` and ``group()`` the text as written. ``language``: the
        text's (ISO 639-1); None: detected from ``text``."""
        end = len(text) if endpos is None else endpos
        lang = text_language(text) if language is None and self.terms else (language or words.DEFAULT_LANGUAGE)
        for m in WORD.finditer(text, pos, end):
            word = m.group()
            if self.unspaced and UNSPACED_ANY.search(word):
                spans = sorted(s for u in self.unspaced for s in words.find_unspaced(u, text, m.start(), m.end()))
                for start, stop in spans:
                    yield _Span(text, start, stop)
                if spans:
                    continue
            if (
                stem(word) in self.stems
                or stem(word, self.language) in self.stems
                or (stem(word, lang) in self.stems_in(lang))
                or any(stem(form, lang) in self.stems_in(lang) for form in words.singular_forms(word, lang))
            ):
                yield m


UNSPACED_ANY = words.UNSPACED_RUN


def term_positions(terms: Sequence[str], text: str) -> list[tuple[int, int]]:
    """(word position, term index) for each word of ``text`` that is one of ``terms``
    (query_terms), in order: the same stem in English or the text's language, or an
    unspaced term inside the word. Word positions count WORD matches from 0."""
    langs = tuple(dict.fromkeys((words.DEFAULT_LANGUAGE, text_language(text))))
    wanted: dict[tuple[str, str], list[int]] = {}
    unspaced: list[tuple[str, int]] = []
    for k, term in enumerate(terms):
        if is_unspaced(term):
            unspaced.append((term, k))
        for lang in langs:
            wanted.setdefault((lang, stem(term, lang)), []).append(k)
    hits: list[tuple[int, int]] = []
    for position, match in enumerate(WORD.finditer(text)):
        word = match.group()
        found = {
            k
            for lang in langs
            for form in (word, *words.singular_forms(word, lang))
            for k in wanted.get((lang, stem(form, lang)), ())
        }
        found.update(k for term, k in unspaced if term in fold(word))
        hits.extend((position, k) for k in sorted(found))
    return hits


@lru_cache(maxsize=64)
def query_words(query: str) -> QueryWords:
    """QueryWords for ``query``, kept for the last 64 queries: the results list asks again for
    every row it paints."""
    return QueryWords(query)
