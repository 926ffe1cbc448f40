"""Local OCR for pages without a usable text layer: scanned PDF pages and image files.

The engine is RapidOCR (PaddleOCR's PP-OCRv6 detection and recognition networks as ONNX,
run by onnxruntime). Its wheel carries the models, so nothing is downloaded and no system
package is needed; one multilingual model reads ~50 languages (Latin script, Chinese,
Japanese), so there is no language to choose. Why this engine: docs/benchmarks.md ("OCR").

OCR runs where the loaders run, in the extraction child process (indexer.ingest.extract). The
parent hands each file over with an :class:`OcrJob` (OCR on or off, pages to skip, pages
already recognised) and this module reports each page it starts and finishes through the
job's channel, so the parent can show "OCR page 3 of 40 — file.pdf", give every page its own
time budget, and, when a page overruns it or crashes the process, restart the child with
that page skipped and the finished pages kept.

Recognised text is laid out as lines in reading order (top to bottom, left to right within
a line), with a blank line where the gap between lines says a new paragraph starts. Each
recognised word keeps its box, normalised to the page (0..1, so independent of the render's
dpi), in the same reading order: the page preview marks a passage on a scanned page by them
(indexer.store.ocr_words stores them, indexer.search.preview draws them).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from indexer.types import OcrWord

log = logging.getLogger(__name__)

OCR_DPI = 300
"""Resolution PDF pages are rendered at for OCR: the usual scanning resolution. At 150 dpi the
English book pages read almost as well (benchmarks/ocr.py), but small print needs more."""

OCR_MAX_SIDE_PX = 4000
"""Longest side of an image handed to the engine (an A4 page at 300 dpi is 3508 px); larger
renders and photos are scaled down first, which bounds the time and memory of one page."""

OCR_PAGE_TIMEOUT_S = 120.0
"""Each page being recognised gets this long (about 15x the measured mean on 2 busy cores);
a page that overruns it is skipped with its reason and the rest of the file still reads."""

MIN_TEXT_LAYER_CHARS = 32
"""A page with images and fewer visible characters than this in its text layer is treated
as scanned (a stamp or a page number over a scan is not a text layer)."""

ENGINE_NAME = "RapidOCR (PP-OCRv6, onnxruntime)"
INSTALL_HINT = "pip install rapidocr onnxruntime (both are in Quarry's requirements: reinstall Quarry)"

SCANNED_REASON = "no text layer (a scanned page)"
OCR_OFF_REASON = "OCR is off in the settings"
ENGINE_MISSING_REASON = "no OCR engine"
"""The start of the reason given when the engine cannot be loaded; the rest says why and how
to get it. The indexer reads a document again once OCR is on or the engine is back."""


Box = tuple[float, float, float, float]
"""(left, top, right, bottom), y downwards."""

Word = OcrWord
"""A recognised word and its box normalised to the page (indexer.types.OcrWord)."""


@dataclass(slots=True)
class OcrJob:
    """What the parent tells the reader about OCR for one file (pickled across processes)."""

    enabled: bool = True
    skip: dict[int, str] = field(default_factory=dict)
    """Page number -> reason: pages not to recognise (they overran their budget or crashed)."""
    known: dict[int, tuple[str, tuple[Word, ...]]] = field(default_factory=dict)
    """Page number -> (recognised text, its words), from an earlier attempt at this file."""


Channel = Callable[[tuple[Any, ...]], None]
"""Sends a message to the parent: ("ocr", page number, k, n) as page k of the n pages to
recognise starts, ("ocr-done", page number, text, or None if it failed, words) when it is done."""


def _nowhere(_: tuple[Any, ...]) -> None:
    """The channel outside the reader process: nobody listens."""


_state = threading.local()


def begin(job: OcrJob, channel: Channel = _nowhere) -> None:
    """Set the OCR job for the file the reader is about to load (in the reader process)."""
    _state.job, _state.channel = job, channel


def end() -> None:
    _state.job, _state.channel = OcrJob(), _nowhere


def current_job() -> OcrJob:
    """The job set by :func:`begin`; outside the reader, OCR on and nothing to skip."""
    return getattr(_state, "job", None) or OcrJob()


def _send(message: tuple[Any, ...]) -> None:
    getattr(_state, "channel", _nowhere)(message)


class OcrUnavailable(Exception):
    """The OCR engine or its models cannot be loaded; the message says how to get them."""


@dataclass(frozen=True, slots=True)
class OcrLine:
    """One recognised line: its text, its box in pixels (left, top, right, bottom), the
    engine's confidence, 0..1, and its words with their boxes in pixels, left to right."""

    text: str
    box: Box
    score: float
    words: tuple[tuple[str, Box], ...] = ()


_engine: Any = None
_engine_lock = threading.Lock()


def engine() -> Any:
    """The process's RapidOCR instance, loaded on first use (about a second).

    Raises:
        OcrUnavailable: rapidocr or onnxruntime is not installed, or its models are missing.
    """
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _load_engine()
        return _engine


def _load_engine() -> Any:
    try:
        import onnxruntime  # noqa: F401 - RapidOCR imports it lazily; fail here with the hint
        import rapidocr
        from rapidocr import RapidOCR
    except ImportError as exc:
        raise OcrUnavailable(f"{exc}; install it with: {INSTALL_HINT}") from exc
    from pathlib import Path

    models = Path(rapidocr.__file__).resolve().parent / "models"
    detector, recogniser = models / "PP-OCRv6_det_small.onnx", models / "PP-OCRv6_rec_small.onnx"
    missing = [p.name for p in (detector, recogniser) if not p.is_file()]
    if missing:
        raise OcrUnavailable(f"the OCR models {', '.join(missing)} are missing from {models}; {INSTALL_HINT}")
    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    # Explicit model paths: RapidOCR never looks for (or downloads) anything else. The angle
    # classifier is off: it turned italic lines upside down (CER 3.4% -> 0.3% on Alice without it).
    return RapidOCR(
        params={
            "Global.log_level": "warning",
            "Global.use_cls": False,
            "Det.model_path": str(detector),
            "Rec.model_path": str(recogniser),
        }
    )


def available() -> bool:
    """Whether the engine's packages are installed (cheap: does not load the models)."""
    from importlib.util import find_spec

    return find_spec("rapidocr") is not None and find_spec("onnxruntime") is not None


def recognise(image: np.ndarray) -> list[OcrLine]:
    """The text lines in a greyscale (H, W) or BGR (H, W, 3) uint8 image, unordered, each with
    its words' boxes (RapidOCR's word boxes, from where the recogniser put each character;
    a line it gives none for is split by character count, see :func:`split_line`).

    Raises:
        OcrUnavailable: the engine cannot be loaded.
        Exception: whatever the engine raises on this image.
    """
    result = engine()(image, return_word_box=True)
    if not result.txts:
        return []
    # RapidOCR leaves out the word list of a line it found no words in, so the lists are
    # matched to the lines by their letters, in order, not by position.
    groups = [tuple(group) for group in (result.word_results or ()) if group]
    at = 0
    lines = []
    for points, text, score in zip(result.boxes.tolist(), result.txts, result.scores, strict=True):
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        words: tuple[tuple[str, Box], ...] = ()
        if at < len(groups) and _letters("".join(w[0] for w in groups[at])) == _letters(text):
            words = tuple((str(w), _bounds(b)) for w, _score, b in groups[at] if str(w).strip())
            at += 1
        if text.strip():
            line = OcrLine(text.strip(), (min(xs), min(ys), max(xs), max(ys)), float(score), words)
            lines.append(line if words else split_line(line))
    return lines


def _letters(text: str) -> str:
    return "".join(text.split())


def _bounds(points: Any) -> Box:
    xs, ys = [float(p[0]) for p in points], [float(p[1]) for p in points]
    return (min(xs), min(ys), max(xs), max(ys))


def split_line(line: OcrLine) -> OcrLine:
    """``line`` with word boxes made by splitting its box at its spaces, each word as wide as
    its share of the line's characters: the fallback where the engine gave no word boxes."""
    left, top, right, bottom = line.box
    per_char = (right - left) / max(1, len(line.text))
    words = []
    position = 0
    for word in line.text.split():
        start = line.text.index(word, position)
        position = start + len(word)
        words.append((word, (left + start * per_char, top, left + position * per_char, bottom)))
    return OcrLine(line.text, line.box, line.score, tuple(words))


def _rows(lines: list[OcrLine]) -> list[list[OcrLine]]:
    """The lines grouped into rows in reading order: boxes whose vertical middle lies within
    the row above are one row; each row left to right."""
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda item: (item.box[1], item.box[0])):
        middle = (line.box[1] + line.box[3]) / 2
        if rows and middle < max(item.box[3] for item in rows[-1]):
            rows[-1].append(line)
        else:
            rows.append([line])
    return [sorted(row, key=lambda item: item.box[0]) for row in rows]


def layout(lines: list[OcrLine]) -> str:
    """Recognised lines as page text in reading order: boxes whose vertical middle lies within
    the line above are one line (left to right); a gap of more than one line height between
    lines starts a paragraph."""
    out: list[str] = []
    previous_bottom, previous_height = None, 0.0
    for row in _rows(lines):
        top, bottom = min(item.box[1] for item in row), max(item.box[3] for item in row)
        if previous_bottom is not None and top - previous_bottom > max(previous_height, bottom - top):
            out.append("")
        out.append(" ".join(item.text for item in row))
        previous_bottom, previous_height = bottom, bottom - top
    return "\n".join(out)


def page_words(lines: list[OcrLine], width: int, height: int) -> tuple[Word, ...]:
    """The words of ``lines`` in the reading order of :func:`layout`, their boxes normalised
    by the image's ``width`` and ``height`` in pixels (so 0..1 of the page)."""
    w, h = float(max(1, width)), float(max(1, height))
    out: list[Word] = []
    for row in _rows(lines):
        for line in row:
            for text, (left, top, right, bottom) in line.words:
                out.append(
                    (
                        text,
                        round(min(max(left / w, 0.0), 1.0), 5),
                        round(min(max(top / h, 0.0), 1.0), 5),
                        round(min(max(right / w, 0.0), 1.0), 5),
                        round(min(max(bottom / h, 0.0), 1.0), 5),
                    )
                )
    return tuple(out)


def fit(image: Any) -> Any:
    """A PIL image as greyscale, scaled down so its longest side is at most OCR_MAX_SIDE_PX."""
    from PIL import Image

    image = image.convert("L")
    longest = max(image.size)
    if longest > OCR_MAX_SIDE_PX:
        scale = OCR_MAX_SIDE_PX / longest
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)
    return image


@dataclass(frozen=True, slots=True)
class PageOcr:
    """What happened to one page that needed OCR: its text, or why it has none."""

    number: int
    text: str = ""
    reason: str = ""
    """Empty when the page was recognised (a blank page has no text and no reason)."""
    words: tuple[Word, ...] = ()
    """The recognised words in reading order with their boxes normalised to the page."""


def read_pages(numbers: list[int], image_of: Callable[[int], Any]) -> list[PageOcr]:
    """Recognise the pages ``numbers`` of one file, in order, under the current job.

    ``image_of(number)`` gives the page as a PIL image (rendered or decoded); it is called only
    for pages that are recognised now. Never raises for one page: a page whose rendering or
    recognition fails, that the job skips, or that OCR is off or unavailable for, comes back
    with its reason and no text.
    """
    job = current_job()
    results: list[PageOcr] = []
    total = len(numbers)
    for k, number in enumerate(numbers, start=1):
        if number in job.known:
            text, words = job.known[number]
            results.append(PageOcr(number, text, words=words))
            continue
        if number in job.skip:
            results.append(PageOcr(number, reason=job.skip[number]))
            continue
        if not job.enabled:
            results.append(PageOcr(number, reason=OCR_OFF_REASON))
            continue
        try:
            engine()
        except OcrUnavailable as exc:
            log.warning("OCR unavailable: %s", exc)
            results.extend(PageOcr(n, reason=f"{ENGINE_MISSING_REASON} ({exc})"[:300]) for n in numbers[k - 1 :])
            break
        _send(("ocr", number, k, total))
        try:
            image = fit(image_of(number))
            lines = recognise(np.asarray(image))
            text, words = layout(lines), page_words(lines, image.width, image.height)
        except Exception as exc:  # noqa: BLE001 - one bad page must not lose the file
            log.info("OCR of page %d failed: %s: %s", number, type(exc).__name__, exc)
            results.append(PageOcr(number, reason=f"OCR failed: {type(exc).__name__}: {exc}"[:300]))
            _send(("ocr-done", number, None, ()))
            continue
        _send(("ocr-done", number, text, words))
        results.append(PageOcr(number, text, words=words))
    return results
