"""One normalisation step between every loader and the chunker.

Whatever a parser hands back (PDFium, pypdf, an HTML or Office library, a plain file) passes
through :func:`normalise_document` before it is chunked, embedded, stored and searched:

- non-text payloads (``data:`` URIs, base64 runs, long hex runs, hex dumps) are dropped by
  the one rule of indexer.ingest.payload, with a count in the log;
- lone UTF-16 surrogates are dropped (a split pair is re-paired first), so the text always
  encodes as UTF-8 and one bad file can never stop a LanceDB write;
- control characters go (tab, line and page breaks become plain whitespace);
- soft hyphens, zero-width and other invisible format characters are removed, so they no
  longer split ``pass\\u00adword`` into two keywords;
- compatibility characters are folded with NFKC (``ﬁ`` → ``fi``, no-break space → space),
  except super- and subscripts, which stay readable (``m²``), and East Asian full- and
  half-width forms and punctuation, shown as written (``首都，也是`` keeps its comma; keyword
  search folds widths for matching only, indexer.words);
- a word hyphenated at a line end is joined only where the joined word occurs elsewhere in the
  same document (``pres-\\nsure`` → ``pressure`` when ``pressure`` is used elsewhere), otherwise the
  hyphen stays (``well-\\nknown`` → ``well-known``);
- a page whose text is mostly undecodable (glyph ids from a font without a Unicode map, private-
  use characters) is not stored as words: it is emptied and named in ``skipped_pages``.

Pure functions; no state, nothing done at import time.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from dataclasses import replace
from functools import cache

from indexer.errors import ExtractionFailed
from indexer.ingest.payload import drop_payloads
from indexer.types import LoadedDocument, Page

log = logging.getLogger(__name__)

# Invisible format characters (Unicode category Cf, less the few that print, such as the
# Arabic number signs U+0600..0605), plus invisible marks and fillers of other categories:
# combining grapheme joiner, Hangul fillers, variation selectors, tags.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f\U000e0100-\U000e01ef]"
)
# C0/C1 controls other than tab and newline; \r, \f and \v are handled before this.
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_PRIVATE_USE = re.compile("[\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd]")
# Kept as they are by the compatibility fold: NFKC would read 'm²' as 'm2' and 'H₂O' as 'H2O',
# and the full- and half-width forms of East Asian text ('首都，也是', 'ｶﾀｶﾅ', 'Ａ') as ASCII
# or other widths: the text is shown as written; keyword matching folds width itself
# (indexer.words.fold).
_KEEP = re.compile("[\u00b2\u00b3\u00b9\u2070-\u209f\u3001-\u303f\uff01-\uffef]+")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")
# A word, a hyphen (ASCII or U+2010) at the end of a line, and the word continuing the next line.
_LINE_END_HYPHEN = re.compile(r"(\w+)[-\u2010] *\n[ \t]*(\w+)")
_WORD = re.compile(r"\w+")
_HYPHENATED = re.compile(r"\w+-\w+")

UNDECODABLE_SHARE = 0.05
"""A page is undecodable when more than this share of its visible characters are controls,
private-use characters or U+FFFD (a font's glyph ids, not letters). Real text has none of these:
a typical glyph-id page has one control per word (the space's glyph id, 3), about 15%."""

UNDECODABLE_MIN_BAD = 3
"""... and at least this many of them, so one stray control in a short page is not a verdict."""


def fix_surrogates(text: str) -> str:
    """Re-pair surrogate halves that belong together and drop lone ones."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore")


def _fold(text: str) -> str:
    """NFKC, leaving super- and subscripts alone."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    out: list[str] = []
    pos = 0
    for match in _KEEP.finditer(text):
        out.append(unicodedata.normalize("NFKC", text[pos : match.start()]))
        out.append(match.group())
        pos = match.end()
    out.append(unicodedata.normalize("NFKC", text[pos:]))
    return "".join(out)


GLYPH_SHIFT = 29
"""In a TrueType font's standard glyph order, glyph number = character code - 29 (space is
glyph 3): a font without a Unicode map read as character codes gives 'The keeper' as
'7KH\x03NHHSHU'."""


# Frequent short words of English, German, French and Spanish: text that holds them only once
# shifted back is glyph numbers, not an all-capitals notice (which holds them as it is).
_FUNCTION_WORDS = frozenset(
    "the and of to in is that for it with as was on be at by this are from or an his her which "
    "der die das und ist nicht mit den von zu le la les et des est une dans pour el los las que por con".split()
)


def _function_words(text: str) -> int:
    return sum(1 for word in _WORD.findall(text.lower()) if word in _FUNCTION_WORDS)


def reads_as_words(text: str) -> bool:
    """Whether ``text`` holds ordinary words of the languages _FUNCTION_WORDS covers (English,
    German, French, Spanish): at least one function word per 50 words. Text drawn in a font
    whose glyphs are themselves shifted reads as 'HY_YYdYf hf] ag' even to OCR."""
    return _function_words(text) >= max(1, len(_WORD.findall(text)) // 50)


_ASCII_LOWER = re.compile("[a-z]")
_ASCII_UPPER = re.compile("[A-Z]")
_NOT_SHIFTABLE = re.compile("[^\x01-\x5f]+")


@cache
def _shift_table() -> dict[int, int]:
    return {code: code + GLYPH_SHIFT for code in range(1, 0x60)}


def _glyph_shifted(text: str) -> bool:
    """Text whose words read as ordinary words once shifted back by GLYPH_SHIFT and not as they
    are ('7KH NHHSHU WULPV WKH ODPS' is 'The keeper trims the lamp')."""
    sample = text[:4000]
    # Glyph numbers of a font's letters are capitals, digits and punctuation: text with lower-
    # case letters in it is read as it is ('Stationery order 12' is no code, though '12' shifts
    # to 'NO'), and so is text in other scripts.
    upper = len(_ASCII_UPPER.findall(sample))
    if upper < 20 or len(_ASCII_LOWER.findall(sample)) > 0.1 * upper:
        return False
    shifted = _NOT_SHIFTABLE.sub(" ", sample).translate(_shift_table())
    found, as_is = _function_words(shifted), _function_words(sample)
    return found >= max(2, 3 * as_is)


def undecodable_reason(text: str) -> str:
    """Why ``text`` (one page, as the parser gave it) cannot be stored as words, or ''."""
    visible = len(text) - sum(text.count(ch) for ch in " \n\r\t\f\v\u00a0")
    if not visible:
        return ""
    if _glyph_shifted(text):
        return "text cannot be decoded: the font has no Unicode map (glyph numbers instead of letters)"
    controls = len(_CONTROL.findall(text))
    private = len(_PRIVATE_USE.findall(text))
    replaced = text.count("\ufffd")
    bad = controls + private + replaced
    if bad < UNDECODABLE_MIN_BAD or bad / visible <= UNDECODABLE_SHARE:
        return ""
    if private >= controls and private >= replaced:
        return "text cannot be decoded: private-use characters (a symbol font or missing Unicode map)"
    if controls >= replaced:
        return "text cannot be decoded: the font has no Unicode map (glyph numbers instead of letters)"
    return "text cannot be decoded: mostly replacement characters"


def clean_text(text: str) -> str:
    """Every step except line-end hyphenation, which needs the whole document."""
    text = fix_surrogates(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n").replace("\v", "\n")
    text = _CONTROL.sub("", text)
    text = _INVISIBLE.sub("", text)
    text = _PRIVATE_USE.sub("", text)
    text = text.replace("\ufffd", "")
    text = _fold(text)
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _MANY_NEWLINES.sub("\n\n", text).strip()


def join_hyphenation(texts: list[str]) -> list[str]:
    """Join ``word-\\nrest`` as ``wordrest`` where that word occurs elsewhere in ``texts`` (one
    document's pages) at least as often as ``word-rest`` does, else as ``word-rest``: the hyphen
    at a line end is kept unless the text itself shows the word is written without it."""
    if not any("-\n" in t or "\u2010\n" in t or "- \n" in t for t in texts):
        return texts
    known = Counter(w.lower() for t in texts for w in _WORD.findall(t))
    hyphenated = Counter(m.group().lower() for t in texts for m in _HYPHENATED.finditer(t))

    def join(match: re.Match[str]) -> str:
        head, tail = match.group(1), match.group(2)
        joined = head + tail
        written_joined = known[joined.lower()]
        if written_joined and written_joined >= hyphenated[f"{head}-{tail}".lower()]:
            return joined
        return f"{head}-{tail}"

    return [_LINE_END_HYPHEN.sub(join, t) for t in texts]


def normalise_document(document: object) -> LoadedDocument:
    """The one normalisation step (see the module docstring) over a loader's answer.

    Returns a new LoadedDocument whose pages hold clean text; pages found undecodable are
    emptied and listed in ``skipped_pages`` as (page number or 0, reason).

    Raises:
        ExtractionFailed: the loader did not return a LoadedDocument of text pages, or every
            page with text was undecodable (the reason says which).
    """
    if not isinstance(document, LoadedDocument) or not isinstance(document.pages, list):
        raise ExtractionFailed(f"the reader returned {type(document).__name__}, not a document")
    try:
        return _normalise(document)
    except ExtractionFailed:
        raise
    except Exception as exc:
        raise ExtractionFailed(f"the reader's answer cannot be used: {type(exc).__name__}: {exc}"[:300]) from exc


def _normalise(document: LoadedDocument) -> LoadedDocument:
    pages: list[Page] = []
    skipped: list[tuple[int, str]] = [(int(n), str(r)) for n, r in document.skipped_pages or []]
    texts: list[str] = []
    payloads = payload_chars = 0
    for index, page in enumerate(document.pages):
        if not isinstance(page, Page) or not isinstance(page.text, str):
            raise ExtractionFailed("the reader returned a page that is not text")
        if page.number is not None and (type(page.number) is not int or not 0 < page.number < 2**31):
            raise ExtractionFailed(f"the reader returned a page number that is not one: {page.number!r}"[:300])
        text, dropped, dropped_chars = drop_payloads(page.text)
        payloads += dropped
        payload_chars += dropped_chars
        reason = undecodable_reason(text)
        if reason:
            skipped.append((page.number or index + 1, reason))
            texts.append("")
        else:
            texts.append(clean_text(text))
    if payloads:
        log.info("dropped %d non-text payloads (%d characters: data: URIs, base64, hex)", payloads, payload_chars)
    if skipped and not any(t.strip() for t in texts):
        reasons = sorted({r for _, r in skipped})
        raise ExtractionFailed("; ".join(reasons))
    for page, text in zip(document.pages, join_hyphenation(texts), strict=True):
        label = clean_text(page.label) if isinstance(page.label, str) else ""
        pages.append(replace(page, text=text, label=label))
    title = clean_text(document.title) if isinstance(document.title, str) else ""
    if skipped:
        log.info("%d pages not stored as words: %s", len(skipped), skipped[:5])
    return LoadedDocument(pages=pages, title=" ".join(title.split())[:200], skipped_pages=skipped)
