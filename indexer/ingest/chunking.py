"""Pages to chunks: sized by the embedding model's own tokenizer, cut at sentence and
paragraph boundaries where possible, with overlap. Pure functions, no models loaded here."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from indexer.constants import CHUNK_MAX_TOKENS, CHUNK_MIN_CHARS, CHUNK_OVERLAP_TOKENS
from indexer.types import Chunk, Page

TokenCounter = Callable[[str], int]

_PARAGRAPH = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'’”)\]]*\s+|\n(?=[A-Z0-9•\-*#])")
_WORD = re.compile(r"\S+\s*")


@dataclass(frozen=True, slots=True)
class _Unit:
    start: int
    end: int
    tokens: int
    paragraph_start: bool


def _spans(text: str, pattern: re.Pattern[str], start: int, end: int) -> Iterator[tuple[int, int]]:
    """Split text[start:end] after each match of pattern, keeping every character."""
    pos = start
    for match in pattern.finditer(text, start, end):
        if match.end() > pos:
            yield pos, match.end()
            pos = match.end()
    if pos < end:
        yield pos, end


def _fit(text: str, start: int, end: int, count: TokenCounter, limit: int) -> Iterator[tuple[int, int, int]]:
    """Pieces of text[start:end] of at most ``limit`` tokens: sentences, else words, else characters."""
    tokens = count(text[start:end])
    if tokens <= limit:
        yield start, end, tokens
        return
    for pattern in (_SENTENCE_END, _WORD):
        pieces = list(_spans(text, pattern, start, end))
        if len(pieces) > 1:
            break
    else:
        # One unbroken run (a hash, a base64 blob, CJK without spaces): halve it.
        middle = (start + end) // 2
        pieces = [(start, middle), (middle, end)]
    buffer_start, buffer_end, buffer_tokens = pieces[0][0], pieces[0][0], 0
    for piece_start, piece_end in pieces:
        piece_tokens = count(text[piece_start:piece_end])
        if piece_tokens > limit:
            if buffer_end > buffer_start:
                yield buffer_start, buffer_end, buffer_tokens
            yield from _fit(text, piece_start, piece_end, count, limit)
            buffer_start, buffer_end, buffer_tokens = piece_end, piece_end, 0
        elif buffer_tokens + piece_tokens > limit:
            yield buffer_start, buffer_end, buffer_tokens
            buffer_start, buffer_end, buffer_tokens = piece_start, piece_end, piece_tokens
        else:
            buffer_end, buffer_tokens = piece_end, buffer_tokens + piece_tokens
    if buffer_end > buffer_start:
        yield buffer_start, buffer_end, buffer_tokens


def sentences(pages: list[Page]) -> list[str]:
    """The pieces the chunker measures first on these pages (each paragraph cut after its
    sentences), so a token counter can be asked about all of them in one batch."""
    return [
        page.text[start:end]
        for page in pages
        for para_start, para_end in _spans(page.text, _PARAGRAPH, 0, len(page.text))
        for start, end in _spans(page.text, _SENTENCE_END, para_start, para_end)
    ]


def _units(text: str, count: TokenCounter, limit: int) -> list[_Unit]:
    units: list[_Unit] = []
    for para_start, para_end in _spans(text, _PARAGRAPH, 0, len(text)):
        first = True
        for sent_start, sent_end in _spans(text, _SENTENCE_END, para_start, para_end):
            for start, end, tokens in _fit(text, sent_start, sent_end, count, limit):
                units.append(_Unit(start, end, tokens, first))
                first = False
    return units


def chunk_page(
    text: str,
    count: TokenCounter,
    max_tokens: int = CHUNK_MAX_TOKENS,
    overlap_tokens: int = CHUNK_OVERLAP_TOKENS,
) -> list[tuple[int, int]]:
    """Character spans of the chunks of one page's text.

    Every span holds at most ``max_tokens`` tokens as the counter counts them (pieces are
    measured on their own, and WordPiece/BPE counts add up across whitespace cuts).
    """
    units = _units(text, count, max_tokens)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        j, total = i, 0
        while j < len(units) and total + units[j].tokens <= max_tokens:
            total += units[j].tokens
            j += 1
        # Prefer ending before a paragraph break once the chunk is three-quarters full.
        for k in range(j - 1, i, -1):
            if units[k].paragraph_start and sum(u.tokens for u in units[i:k]) >= 0.75 * max_tokens:
                j = k
                break
        spans.append((units[i].start, units[j - 1].end))
        if j >= len(units):
            break
        # Step back over whole units for the overlap, but always move forward.
        back, carried = j, 0
        while back - 1 > i and carried + units[back - 1].tokens <= overlap_tokens:
            back -= 1
            carried += units[back].tokens
        i = back
    return spans


def chunk_pages(
    pages: list[Page],
    title: str,
    count: TokenCounter,
    max_tokens: int = CHUNK_MAX_TOKENS,
    overlap_tokens: int = CHUNK_OVERLAP_TOKENS,
) -> list[Chunk]:
    """All chunks of a document, in reading order. Chunks never cross a page boundary,
    so each one has exactly one page to open at."""
    chunks: list[Chunk] = []
    title_tokens = count(title) + 1 if title else 0
    budget = max(32, max_tokens - title_tokens)
    for page in pages:
        for start, end in chunk_page(page.text, count, budget, overlap_tokens):
            raw = page.text[start:end]
            stripped = raw.strip()
            if len(stripped) < CHUNK_MIN_CHARS:
                continue
            lead = len(raw) - len(raw.lstrip())
            chunks.append(
                Chunk(
                    text=stripped,
                    page=page.number,
                    start=start + lead,
                    end=start + lead + len(stripped),
                    ordinal=len(chunks),
                    title=title,
                    location=page.label,
                    ocr=page.ocr,
                )
            )
    return chunks
