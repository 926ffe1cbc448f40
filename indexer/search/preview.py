"""A PDF page as an image with a passage marked on it: PDFium renders the page and its text
page gives the character boxes of the passage and of the query's words.

The passage stored in the index is normalised text (indexer.ingest.normalise), so it is found on the
page by its letters and digits alone (NFKC-folded, case-folded): spaces, line ends, hyphens
and punctuation that extraction changed do not matter. Where even that fails (text that
normalisation dropped in the middle), the passage's first and last 40 letters are found on
their own and everything between them is marked.

Qt-free: the window turns ``RenderedPage.pixels`` into an image on its side.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from indexer.errors import QuarryError
from indexer.search.terms import query_words

log = logging.getLogger(__name__)

ANCHOR_CHARS = 40
"""Letters matched at each end of a passage when the whole does not match at once."""
MAX_PIXELS = 40_000_000
"""A rendered page never has more pixels than this (about 160 MB at 4 bytes a pixel)."""

Rect = tuple[float, float, float, float]
"""(left, top, right, bottom) in pixels of the rendered image, y downwards."""


@dataclass(frozen=True, slots=True)
class RenderedPage:
    """One rendered page with the boxes to mark on it."""

    path: str
    page: int
    """1-based physical page number."""
    pages: int
    """How many pages the document has."""
    label: str
    """The page's printed label ('' when PDFium finds none)."""
    scale: float
    """Pixels per PDF point (1/72 inch)."""
    width: int
    height: int
    stride: int
    """Bytes per row of ``pixels``."""
    pixels: bytes = field(repr=False)
    """RGBX, 8 bits a channel, rows top to bottom."""
    passage: list[Rect] = field(default_factory=list)
    """The passage's boxes, one per line PDFium sees (merged character boxes)."""
    words: list[Rect] = field(default_factory=list)
    """The boxes of the query's words within the passage (indexer.search.terms: by stem)."""
    span: tuple[int, int] | None = None
    """(first, last) PDFium character index of the passage on this page; None when the
    passage was not asked for or not found here."""


def _folded(text: str) -> tuple[str, list[int]]:
    """The letters and digits of ``text``, NFKC-folded and case-folded, and for each the
    index of the character of ``text`` it came from."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).casefold():
            if c.isalnum():
                out.append(c)
                where.append(i)
    return "".join(out), where


def find_span(page_text: str, passage: str) -> tuple[int, int] | None:
    """(first, last) index in ``page_text`` of the characters of ``passage`` (inclusive), or
    None when the passage is not on the page. Compares letters and digits only (see the
    module docstring); the first occurrence wins."""
    hay, where = _folded(page_text)
    needle, _ = _folded(passage)
    if not needle or not hay:
        return None
    at = hay.find(needle)
    if at >= 0:
        return where[at], where[at + len(needle) - 1]
    k = min(ANCHOR_CHARS, len(needle))
    head = hay.find(needle[:k])
    if head < 0:
        return None
    tail = hay.find(needle[-k:], head + k)
    end = tail + k - 1 if 0 <= tail <= head + 2 * len(needle) else min(len(hay) - 1, head + len(needle) - 1)
    return where[head], where[end]


def _char_text(textpage: object, count: int) -> str:
    """The page's text with exactly one character per PDFium character index."""
    import pypdfium2.raw as pdfium_c

    chars = []
    for i in range(count):
        code = pdfium_c.FPDFText_GetUnicode(textpage, i)
        chars.append(chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else " ")
    return "".join(chars)


def render_page(path: str | Path, page: int, scale: float = 1.5, passage: str = "", query: str = "") -> RenderedPage:
    """Render physical ``page`` (1-based) of the PDF at ``path`` at ``scale`` pixels per point,
    with the boxes of ``passage`` (if found on the page) and of ``query``'s words within it.

    Raises QuarryError when the file cannot be opened or has no such page; the scale is
    lowered so the image stays under MAX_PIXELS.
    """
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(str(path))
    except (pdfium.PdfiumError, OSError) as exc:
        raise QuarryError(f"{Path(path).name} cannot be shown: {exc}") from exc
    try:
        pages = len(document)
        if not 1 <= page <= pages:
            raise QuarryError(f"{Path(path).name} has no page {page} (it has {pages})")
        pdf_page = document[page - 1]
        try:
            width_pt, height_pt = pdf_page.get_size()
            if width_pt * height_pt * scale * scale > MAX_PIXELS:
                scale = (MAX_PIXELS / max(1.0, width_pt * height_pt)) ** 0.5
            bitmap = pdf_page.render(scale=scale, rev_byteorder=True, prefer_bgrx=True)
            convert = bitmap.get_posconv(pdf_page)
            passage_boxes: list[Rect] = []
            word_boxes: list[Rect] = []
            span = None
            if passage:
                textpage = pdf_page.get_textpage()
                try:
                    text = _char_text(textpage, textpage.count_chars())
                    span = find_span(text, passage)
                    if span is not None:
                        passage_boxes = _boxes(textpage, convert, span[0], span[1])
                        for match in query_words(query).finditer(text, span[0], span[1] + 1):
                            word_boxes += _boxes(textpage, convert, match.start(), match.end() - 1)
                finally:
                    textpage.close()
            try:
                label = document.get_page_label(page - 1)  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - a broken label tree only loses the label
                label = ""
            rendered = RenderedPage(
                path=str(path),
                page=page,
                pages=pages,
                label=label or "",
                scale=scale,
                width=bitmap.width,
                height=bitmap.height,
                stride=bitmap.stride,
                pixels=bytes(bitmap.buffer),
                passage=passage_boxes,
                words=word_boxes,
                span=span,
            )
            bitmap.close()
            return rendered
        finally:
            pdf_page.close()
    finally:
        document.close()


def _boxes(textpage: object, convert: object, first: int, last: int) -> list[Rect]:
    """PDFium's rectangles for characters ``first``..``last`` (one per run on a line), in
    bitmap pixels."""
    out: list[Rect] = []
    n = textpage.count_rects(first, last - first + 1)  # type: ignore[attr-defined]
    for i in range(n):
        left, bottom, right, top = textpage.get_rect(i)  # type: ignore[attr-defined]
        x0, y0 = convert.to_bitmap(left, top)  # type: ignore[attr-defined]
        x1, y1 = convert.to_bitmap(right, bottom)  # type: ignore[attr-defined]
        out.append((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
    return out


CACHE_BYTES = 96 * 1024 * 1024
"""The page cache's pixels never take more than this (the newest page is always kept)."""


class PageCache:
    """The last ``size`` rendered pages (at most ``max_bytes`` of pixels), keyed by (path,
    mtime, page, scale, passage, query). Thread-safe: the preview lane fills it, and the GUI
    thread may look."""

    def __init__(self, size: int = 8, max_bytes: int = CACHE_BYTES) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self._pages: OrderedDict[tuple, RenderedPage] = OrderedDict()
        self._lock = threading.Lock()
        self.renders = 0
        """How many pages were rendered (not served from the cache)."""

    def get(self, path: str, page: int, scale: float, passage: str = "", query: str = "") -> RenderedPage:
        """The page from the cache, else rendered (render_page; its errors)."""
        try:
            mtime = Path(path).stat().st_mtime_ns
        except OSError as exc:
            raise QuarryError(f"{Path(path).name} is no longer there: {exc.strerror or exc}") from exc
        key = (path, mtime, page, round(scale, 3), passage, query)
        with self._lock:
            if key in self._pages:
                self._pages.move_to_end(key)
                return self._pages[key]
        rendered = render_page(path, page, scale, passage, query)
        with self._lock:
            self.renders += 1
            self._pages[key] = rendered
            while len(self._pages) > 1 and (
                len(self._pages) > self.size or sum(len(p.pixels) for p in self._pages.values()) > self.max_bytes
            ):
                self._pages.popitem(last=False)
        return rendered
