"""A PDF page, or an image file's page, as an image with a passage marked on it: PDFium renders
the page and its text page gives the character boxes of the passage and of the query's words.
A page whose text was recognised by OCR (a scanned PDF page, an image file) has no such
boxes: there the words OCR recognised, kept with their boxes at index time
(indexer.store.ocr_words), mark the passage and the query's words instead.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from indexer.errors import QuarryError
from indexer.ingest.loaders.image import IMAGE_SUFFIXES, MAX_FRAMES
from indexer.search.terms import query_words
from indexer.store import ocr_words
from indexer.types import OcrWord

log = logging.getLogger(__name__)

ANCHOR_CHARS = 40
"""Letters matched at each end of a passage when the whole does not match at once."""
MAX_PIXELS = 40_000_000
"""A rendered page never has more pixels than this (about 160 MB at 4 bytes a pixel)."""

WORD_GAP_LINES = 1.5
"""Neighbouring OCR words of a passage are marked as one box across a gap up to this many
line heights (a space is about a third of one); a wider gap is a column's or a heading's."""
IMAGE_DPI = 96.0
"""Pixels per inch of an image file that does not say (a screen's): it sets the image's size
in points, so zoom and fit-width treat images like PDF pages."""

Rect = tuple[float, float, float, float]
"""(left, top, right, bottom) in pixels of the rendered image, y downwards."""

WordsOf = Callable[[str, int], Sequence[OcrWord] | None]
"""(file path, 1-based page) -> the OCR words kept for that page, or None."""


@dataclass(frozen=True, slots=True)
class RenderedPage:
    """One rendered page with the boxes to mark on it."""

    path: str
    page: int
    """1-based physical page number."""
    pages: int
    """How many pages the document has (frames of an image file)."""
    label: str
    """The page's printed label ('' when PDFium finds none, and for images)."""
    scale: float
    """Pixels per PDF point (1/72 inch); for an image, per 1/72 inch at its dpi."""
    width: int
    height: int
    stride: int
    """Bytes per row of ``pixels``."""
    pixels: bytes = field(repr=False)
    """RGBX, 8 bits a channel, rows top to bottom."""
    passage: list[Rect] = field(default_factory=list)
    """The passage's boxes, one per line PDFium sees (merged character boxes), or one per
    row of recognised words (merged word boxes) on an OCRed page."""
    words: list[Rect] = field(default_factory=list)
    """The boxes of the query's words within the passage (indexer.search.terms: by stem)."""
    span: tuple[int, int] | None = None
    """(first, last) PDFium character index of the passage on this page (with ``by_ocr``:
    index into the recognised words' text, :func:`words_text`); None when the passage was not
    asked for or not found here."""
    by_ocr: bool = False
    """The marks come from the words OCR recognised, not from PDFium's text layer."""


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


def render_page(
    path: str | Path,
    page: int,
    scale: float = 1.5,
    passage: str = "",
    query: str = "",
    words: Sequence[OcrWord] | None = None,
) -> RenderedPage:
    """Render physical ``page`` (1-based) of the PDF or image file at ``path`` at ``scale``
    pixels per point, with the boxes of ``passage`` (if found on the page) and of ``query``'s
    words within it. With ``words`` (the page's OCR words, indexer.store.ocr_words) the marks are
    found among them; otherwise, on a PDF, in PDFium's text layer (an image has none).

    Raises QuarryError when the file cannot be opened or has no such page; the scale is
    lowered so the image stays under MAX_PIXELS.
    """
    if Path(path).suffix.lower() in IMAGE_SUFFIXES:
        rendered = _render_image(path, page, scale)
    else:
        rendered = _render_pdf(path, page, scale, "" if words is not None else passage, query)
    if words is not None and passage:
        boxes, marked, span = mark_words(words, passage, query, rendered.width, rendered.height)
        rendered = replace(rendered, passage=boxes, words=marked, span=span, by_ocr=True)
    return rendered


def _render_pdf(path: str | Path, page: int, scale: float, passage: str, query: str) -> RenderedPage:
    """A PDF page rendered by PDFium, the passage marked by its text layer's boxes."""
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
            scale = _capped(width_pt, height_pt, scale)
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


def _capped(width_pt: float, height_pt: float, scale: float) -> float:
    """``scale``, lowered where the page would have more than MAX_PIXELS pixels."""
    if width_pt * height_pt * scale * scale > MAX_PIXELS:
        return (MAX_PIXELS / max(1.0, width_pt * height_pt)) ** 0.5
    return scale


def _render_image(path: str | Path, page: int, scale: float) -> RenderedPage:
    """Frame ``page`` of an image file (the only frame for most) as the page, ``scale``
    pixels per point of its size at its own dpi (IMAGE_DPI when it does not say)."""
    from PIL import Image, UnidentifiedImageError

    name = Path(path).name
    try:
        image = Image.open(path)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        raise QuarryError(f"{name} cannot be shown: {exc}") from exc
    with image:
        pages = min(getattr(image, "n_frames", 1), MAX_FRAMES)
        if not 1 <= page <= pages:
            raise QuarryError(f"{name} has no page {page} (it has {pages})")
        try:
            image.seek(page - 1)
            dpi = image.info.get("dpi", (IMAGE_DPI, IMAGE_DPI))
            dpi_x = float(dpi[0]) if dpi and float(dpi[0]) >= 20 else IMAGE_DPI
            dpi_y = float(dpi[1]) if len(dpi) > 1 and float(dpi[1]) >= 20 else dpi_x
            width_pt, height_pt = image.width * 72 / dpi_x, image.height * 72 / dpi_y
            scale = _capped(width_pt, height_pt, scale)
            size = (max(1, round(width_pt * scale)), max(1, round(height_pt * scale)))
            frame = image.convert("RGB")
            if frame.size != size:
                frame = frame.resize(
                    size, Image.Resampling.LANCZOS if size[0] < frame.width else Image.Resampling.BILINEAR
                )
            pixels = frame.convert("RGBX").tobytes()
        except (OSError, ValueError, EOFError, Image.DecompressionBombError, MemoryError) as exc:
            raise QuarryError(f"{name} page {page} cannot be shown: {exc}") from exc
    return RenderedPage(
        path=str(path),
        page=page,
        pages=pages,
        label="",
        scale=scale,
        width=size[0],
        height=size[1],
        stride=size[0] * 4,
        pixels=pixels,
    )


def words_text(words: Sequence[OcrWord]) -> tuple[str, list[int]]:
    """The recognised words as one text (joined by spaces), and for each of its characters the
    index of the word it belongs to (-1 for the spaces)."""
    parts: list[str] = []
    owner: list[int] = []
    for i, word in enumerate(words):
        if i:
            parts.append(" ")
            owner.append(-1)
        parts.append(word[0])
        owner.extend([i] * len(word[0]))
    return "".join(parts), owner


def mark_words(
    words: Sequence[OcrWord], passage: str, query: str, width: int, height: int
) -> tuple[list[Rect], list[Rect], tuple[int, int] | None]:
    """(passage boxes, query word boxes, span) of ``passage`` found among the OCR ``words`` of
    a page rendered ``width`` x ``height`` pixels. The passage's boxes are its words' boxes
    merged along each row (not across a gap wider than WORD_GAP_LINES line heights: columns,
    a running head's parts); the query's words are marked one box a word, within the passage;
    the span indexes :func:`words_text`. Nothing is marked when the passage is not found."""
    text, owner = words_text(words)
    span = find_span(text, passage)
    if span is None:
        return [], [], None

    def box(i: int) -> Rect:
        _, left, top, right, bottom = words[i]
        return (left * width, top * height, right * width, bottom * height)

    def covered(first: int, last: int) -> list[int]:
        return sorted({owner[k] for k in range(first, last + 1) if owner[k] >= 0})

    rows: list[Rect] = []
    for i in covered(*span):
        left, top, right, bottom = box(i)
        if rows:
            r_left, r_top, r_right, r_bottom = rows[-1]
            same_row = r_top <= (top + bottom) / 2 <= r_bottom and left >= r_left
            if same_row and left - r_right <= WORD_GAP_LINES * (bottom - top):  # the next word
                rows[-1] = (r_left, min(r_top, top), max(r_right, right), max(r_bottom, bottom))
                continue
        rows.append((left, top, right, bottom))
    marked: list[Rect] = []
    for match in query_words(query).finditer(text, span[0], span[1] + 1):
        marked += [box(i) for i in covered(match.start(), match.end() - 1)]
    return rows, marked, span


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


CACHE_BYTES = 32 * 1024 * 1024
"""The page cache's pixels never take more than this (the newest page is always kept)."""


def ocr_words_in(index_folder: Path) -> WordsOf:
    """The lookup of the OCR words kept in the index at ``index_folder`` (indexer.store.ocr_words)."""
    from indexer.store.lance import doc_id_for

    def words_of(path: str, page: int) -> Sequence[OcrWord] | None:
        return ocr_words.load(index_folder, doc_id_for(path), path, page)

    return words_of


class PageCache:
    """The last ``size`` rendered pages (at most ``max_bytes`` of pixels), keyed by (path,
    mtime, page, scale, passage, query, ocr). Thread-safe: the preview lane fills it, and the
    GUI thread may look. ``words_of`` finds the OCR words of a page (:func:`ocr_words_in`);
    without it, OCRed pages show unmarked."""

    def __init__(self, size: int = 8, max_bytes: int = CACHE_BYTES, words_of: WordsOf | None = None) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self.words_of = words_of
        self._pages: OrderedDict[tuple, RenderedPage] = OrderedDict()
        self._lock = threading.Lock()
        self.renders = 0
        """How many pages were rendered (not served from the cache)."""

    @property
    def bytes(self) -> int:
        """The pixels the cache holds now."""
        with self._lock:
            return sum(len(p.pixels) for p in self._pages.values())

    def get(
        self, path: str, page: int, scale: float, passage: str = "", query: str = "", ocr: bool = False
    ) -> RenderedPage:
        """The page from the cache, else rendered (render_page; its errors). ``ocr``: the
        passage was recognised by OCR, so it is marked by the page's OCR words."""
        try:
            mtime = Path(path).stat().st_mtime_ns
        except OSError as exc:
            raise QuarryError(f"{Path(path).name} is no longer there: {exc.strerror or exc}") from exc
        ocr = ocr and bool(passage)
        key = (path, mtime, page, round(scale, 3), passage, query, ocr)
        with self._lock:
            if key in self._pages:
                self._pages.move_to_end(key)
                return self._pages[key]
        words = self.words_of(path, page) if ocr and self.words_of is not None else None
        if ocr and words is None:
            log.info("no OCR words kept for %s page %d; the page shows unmarked", path, page)
            words = ()
        rendered = render_page(path, page, scale, passage, query, words)
        with self._lock:
            self.renders += 1
            self._pages[key] = rendered
            while len(self._pages) > 1 and (
                len(self._pages) > self.size or sum(len(p.pixels) for p in self._pages.values()) > self.max_bytes
            ):
                self._pages.popitem(last=False)
        return rendered
