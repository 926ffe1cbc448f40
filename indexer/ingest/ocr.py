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
a line), with a blank line where the gap between lines says a new paragraph starts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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


@dataclass(slots=True)
class OcrJob:
    """What the parent tells the reader about OCR for one file (pickled across processes)."""

    enabled: bool = True
    skip: dict[int, str] = field(default_factory=dict)
    """Page number -> reason: pages not to recognise (they overran their budget or crashed)."""
    known: dict[int, str] = field(default_factory=dict)
    """Page number -> recognised text, from an earlier attempt at this file."""


Channel = Callable[[tuple[Any, ...]], None]
"""Sends a message to the parent: ("ocr", page number, k, n) as page k of the n pages to
recognise starts, ("ocr-done", page number, text, or None if it failed) when it is done."""


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
    """One recognised line: its text, its box in pixels (left, top, right, bottom) and the
    engine's confidence, 0..1."""

    text: str
    box: tuple[float, float, float, float]
    score: float


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
    """The text lines in a greyscale (H, W) or BGR (H, W, 3) uint8 image, unordered.

    Raises:
        OcrUnavailable: the engine cannot be loaded.
        Exception: whatever the engine raises on this image.
    """
    result = engine()(image)
    if not result.txts:
        return []
    lines = []
    for points, text, score in zip(result.boxes.tolist(), result.txts, result.scores, strict=True):
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        if text.strip():
            lines.append(OcrLine(text.strip(), (min(xs), min(ys), max(xs), max(ys)), float(score)))
    return lines


def layout(lines: list[OcrLine]) -> str:
    """Recognised lines as page text in reading order: boxes whose vertical middle lies within
    the line above are one line (left to right); a gap of more than one line height between
    lines starts a paragraph."""
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda item: (item.box[1], item.box[0])):
        middle = (line.box[1] + line.box[3]) / 2
        if rows and middle < max(item.box[3] for item in rows[-1]):
            rows[-1].append(line)
        else:
            rows.append([line])
    out: list[str] = []
    previous_bottom, previous_height = None, 0.0
    for row in rows:
        top, bottom = min(item.box[1] for item in row), max(item.box[3] for item in row)
        if previous_bottom is not None and top - previous_bottom > max(previous_height, bottom - top):
            out.append("")
        out.append(" ".join(item.text for item in sorted(row, key=lambda item: item.box[0])))
        previous_bottom, previous_height = bottom, bottom - top
    return "\n".join(out)


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
            results.append(PageOcr(number, job.known[number]))
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
            text = layout(recognise(np.asarray(fit(image_of(number)))))
        except Exception as exc:  # noqa: BLE001 - one bad page must not lose the file
            log.info("OCR of page %d failed: %s: %s", number, type(exc).__name__, exc)
            results.append(PageOcr(number, reason=f"OCR failed: {type(exc).__name__}: {exc}"[:300]))
            _send(("ocr-done", number, None))
            continue
        _send(("ocr-done", number, text))
        results.append(PageOcr(number, text))
    return results
