"""Words as keyword search reads them, in every language: the tokeniser behind the full-text
(BM25) column and, through indexer.search.terms, behind every query-word match.

A word is a run of letters, digits and underscores (``\\w+``) of the text as written. For
matching only, each word is NFKC-folded and case-folded (full-width ``Ｈａｕｓ`` and ``HAUS``
read as ``haus``), then cut into keys:

- a run of a script written without spaces (Han, Hiragana, Katakana, Hangul, Thai, Lao,
  Khmer, Myanmar) becomes its overlapping character bigrams (``长城是中国`` → 长城 城是 是中
  中国; one character alone is its own key). A query word made the same way finds itself
  inside a sentence (长城), and a Korean word inside its particles (수도 in 수도입니다);
- any other word becomes its Snowball stem in the passage's language (``Häuser`` → ``haus``
  in German, ``станции`` → ``станц`` in Russian); English when the language is unknown or has
  no stemmer.

A passage's language comes from py3langid (:func:`detect_language`). The stored text is never
changed: snippets, the details pane and the preview show the document's own characters.

Pure functions with caches; no state beyond them, nothing done at import time.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import cache, lru_cache

import snowballstemmer

WORD = re.compile(r"\w+", re.UNICODE)
"""A word, in a query or a text: a run of letters, digits and underscores."""

_UNSPACED = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1100-\u11ff"  # Hangul Jamo
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3130-\u318f"  # Hangul compatibility Jamo
    "\u31f0-\u31ff"  # Katakana extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0003134f"  # CJK extensions B-G
)
UNSPACED_RUN = re.compile(f"[{_UNSPACED}]+")
"""A run of characters of a script written without spaces between words."""
_SPLIT = re.compile(f"[{_UNSPACED}]+|[^{_UNSPACED}]+")

RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur", "yi", "ps", "ug"})
"""Languages (ISO 639-1) written right to left."""

STEMMERS = {
    "ar": "arabic", "ca": "catalan", "cs": "czech", "da": "danish", "de": "german", "el": "greek",
    "en": "english", "es": "spanish", "et": "estonian", "eu": "basque", "fa": "persian", "fi": "finnish",
    "fr": "french", "ga": "irish", "hi": "hindi", "hu": "hungarian", "hy": "armenian", "id": "indonesian",
    "it": "italian", "lt": "lithuanian", "ne": "nepali", "nl": "dutch", "no": "norwegian", "nb": "norwegian",
    "pl": "polish", "pt": "portuguese", "ro": "romanian", "ru": "russian", "sr": "serbian", "sv": "swedish",
    "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}  # fmt: skip
"""ISO 639-1 code -> its Snowball stemmer (snowballstemmer.algorithms())."""

DEFAULT_LANGUAGE = "en"
"""The language of a text too short or too mixed to tell (its words get English stems)."""


@cache
def _stemmer(language: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(STEMMERS.get(language, "english"))


def fold(word: str) -> str:
    """``word`` as matching reads it: NFKC-folded and case-folded ('Ｈａｕｓ' -> 'haus')."""
    return unicodedata.normalize("NFKC", word).casefold()


@lru_cache(maxsize=262_144)
def stem(word: str, language: str = DEFAULT_LANGUAGE) -> str:
    """The word's Snowball stem in ``language`` (ISO 639-1; English where there is no
    stemmer for it), folded first: stem('Häuser', 'de') == stem('Haus', 'de') == 'haus'."""
    return _stemmer(language).stemWord(fold(word))


def bigrams(run: str) -> list[str]:
    """Overlapping character bigrams of a run of unspaced script ('长城是' -> ['长城', '城是']);
    one character alone is its own key."""
    return [run] if len(run) < 2 else [run[i : i + 2] for i in range(len(run) - 1)]


def word_keys(word: str, language: str = DEFAULT_LANGUAGE) -> list[str]:
    """The search keys of one word (a WORD match): bigrams of its unspaced runs, the stem of
    the rest (see the module docstring)."""
    return list(_word_keys(word, language))


@lru_cache(maxsize=262_144)
def _word_keys(word: str, language: str) -> tuple[str, ...]:
    # Cached: a book says the same few thousand words again and again, and the pure-Python
    # Snowball stemmer was two thirds of the keyword pass (455,960 calls for the shared PDFs).
    folded = fold(word)
    keys: list[str] = []
    for part in _SPLIT.findall(folded):
        if UNSPACED_RUN.fullmatch(part):
            keys.extend(bigrams(part))
        else:
            keys.append(_stemmer(language).stemWord(part))
    return tuple(keys)


PLURAL_S_LANGUAGES = frozenset({"fr", "es", "pt", "ca"})
"""Languages whose plurals add -s or -es and whose Snowball stemmer does not always give a
plural and its singular one stem: French 'vignerons' -> 'vign' but 'vigneron' -> 'vigneron'
(it reads -erons as a verb ending), Spanish 'ciudades' -> 'ciudad' but 'ciudad' -> 'ciud'.
English is not among them: its stemmer conflates plurals (and 'news' less s is 'new')."""


def singular_forms(word: str, language: str) -> tuple[str, ...]:
    """The forms a plural word of a text in ``language`` may have in the singular (less -s,
    less -es), where that language's stemmer may not give them its stem; () for other
    languages and words not ending in -s. The text side only: a query is matched in several
    languages at once, and 'news' in French would become 'new' in English passages."""
    folded = fold(word)
    if language not in PLURAL_S_LANGUAGES or len(folded) < 4 or not folded.endswith("s") or is_unspaced(folded):
        return ()
    return (word[:-1], word[:-2]) if folded.endswith("es") else (word[:-1],)


@lru_cache(maxsize=262_144)
def text_keys(word: str, language: str) -> tuple[str, ...]:
    """The keys a word of a text in ``language`` is indexed under: its own (word_keys) and
    those of its singular forms (singular_forms), each once."""
    keys = _word_keys(word, language)
    forms = singular_forms(word, language)
    if not forms:
        return keys
    return tuple(dict.fromkeys(keys + tuple(k for form in forms for k in _word_keys(form, language))))


def search_text(text: str, language: str = DEFAULT_LANGUAGE) -> str:
    """The text as the full-text index reads it: every word's keys (text_keys), joined by
    spaces, for a whitespace tokenizer with no stemming or folding of its own."""
    return " ".join(key for m in WORD.finditer(text) for key in text_keys(m.group(), language))


def query_keys(words: Iterable[str], languages: Iterable[str]) -> list[str]:
    """The keys of query words in each of ``languages``, each once, in order: a query is
    matched in every language it may be in, its own and the passage's."""
    langs = list(dict.fromkeys(languages)) or [DEFAULT_LANGUAGE]
    return list(dict.fromkeys(key for w in words for lang in langs for key in word_keys(w, lang)))


def is_unspaced(word: str) -> bool:
    """Whether the (folded) word is all unspaced script (its keys are bigrams)."""
    return bool(UNSPACED_RUN.fullmatch(word))


def find_unspaced(needle: str, text: str, pos: int, endpos: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each place in ``text[pos:endpos]`` where the unspaced word ``needle``
    occurs inside a word (长城 in 长城是…, 수도 in 수도입니다), compared as written (these
    scripts have no case), so offsets are those of ``text``."""
    if not needle:
        return
    start = text.find(needle, pos, endpos)
    while start >= 0:
        yield start, start + len(needle)
        start = text.find(needle, start + len(needle), endpos)


def detect_language(text: str) -> str:
    """The ISO 639-1 code of the language ``text`` is written in, by py3langid (a naive Bayes
    model over byte n-grams shipped in its wheel, 97 languages); DEFAULT_LANGUAGE for text with
    fewer than 3 letters. About 1 ms for a 1,000-character passage."""
    letters = sum(1 for c in text[:2000] if c.isalpha())
    if letters < 3:
        return DEFAULT_LANGUAGE
    import py3langid  # loads its model (about 0.3 s) on the first call, not at import

    return str(py3langid.classify(text[:2000])[0])


def is_rtl(language: str) -> bool:
    """Whether ``language`` (ISO 639-1) is written right to left."""
    return language in RTL_LANGUAGES
