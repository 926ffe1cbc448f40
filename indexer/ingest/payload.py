"""Non-text payloads are not text: one rule, for every format, applied by
indexer.ingest.normalise before anything is chunked.

Dropped (replaced by a space):

- ``data:`` URIs (``data:image/png;base64,…``, ``data:image/svg+xml,%3Csvg…``): the URI from
  ``data:`` to its first whitespace, quote, bracket or angle bracket;
- base64 runs: 64 or more characters of the base64 (or base64url) alphabet without a space,
  holding upper- and lower-case letters and either a digit or a case change between at
  least 40 % of neighbouring letters (random letters change case every other one, a
  CamelCase path about one in six): a pasted screenshot, a PEM block's lines, a MIME part
  left encoded; lower-case hex such as a SHA-256 digest is kept;
- hex runs: more than 64 hex digits without a space (longer than any digest people search);
- hex dumps: 8 or more space-separated groups of 2 to 8 hex digits on a line, holding both
  a digit and a letter a–f (``xxd``/``hexdump`` output), with the dump's character column
  (``.PNG........IHDR``, ``|...|``) when at most 40 characters follow them to the line's end.

Words, numbers, URLs with punctuation and digests of 64 digits or fewer are never matched.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

_DATA_URI = re.compile(r"data:[A-Za-z0-9.+-]+/[A-Za-z0-9.+-]+(?:;[^,\s]{0,200})?,[^\s\"'()<>\[\]]*")
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{64,}={0,2}")
_HEX_RUN = re.compile(r"(?<![0-9A-Za-z])(?:0x)?[0-9A-Fa-f]{65,}(?![0-9A-Za-z])")
_HEX_DUMP = re.compile(
    r"(?<![0-9A-Za-z])(?P<groups>(?:[0-9A-Fa-f]{2,8}:?[ \t]{1,3}){7,}[0-9A-Fa-f]{2,8})(?![0-9A-Za-z])"
    r"(?:[^\n]{1,40}(?=\n|\Z))?"  # the dump's character column, to the end of its line
)
_UPPER, _LOWER, _DIGIT = re.compile("[A-Z]"), re.compile("[a-z]"), re.compile("[0-9]")
_HEX_LETTER = re.compile("[A-Fa-f]")


def _base64_like(match: re.Match[str]) -> bool:
    run = match.group()
    if not (_UPPER.search(run) and _LOWER.search(run)):
        return False
    if _DIGIT.search(run):
        return True
    letters = [ch.isupper() for ch in run if ch.isalpha()]
    changes = sum(a != b for a, b in itertools.pairwise(letters))
    return changes >= 0.4 * max(len(letters) - 1, 1)


def _hex_dump_like(match: re.Match[str]) -> bool:
    groups = match.group("groups")
    return bool(_DIGIT.search(groups) and _HEX_LETTER.search(groups))


def drop_payloads(text: str) -> tuple[str, int, int]:
    """``text`` without its non-text payloads (the module's rule).

    Returns (the text, how many runs were dropped, how many characters they held).
    """
    count = 0
    chars = 0

    def cut(match: re.Match[str]) -> str:
        nonlocal count, chars
        count += 1
        chars += len(match.group())
        return " "

    def cut_if(test: Callable[[re.Match[str]], bool]) -> Callable[[re.Match[str]], str]:
        def replace(match: re.Match[str]) -> str:
            return cut(match) if test(match) else match.group()

        return replace

    if "data:" in text:
        text = _DATA_URI.sub(cut, text)
    text = _BASE64.sub(cut_if(_base64_like), text)
    text = _HEX_RUN.sub(cut, text)
    text = _HEX_DUMP.sub(cut_if(_hex_dump_like), text)
    return text, count, chars
