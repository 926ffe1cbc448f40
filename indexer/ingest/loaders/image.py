"""Image files (PNG, JPEG, TIFF including multi-page, WebP, BMP, GIF) read by local OCR.

Pillow decodes the image (each frame of a multi-page TIFF or GIF is one page, numbered from
1), turned upright by its EXIF orientation (a phone's sideways or upside-down photo, as a
viewer shows it), and indexer.ingest.ocr recognises it, in the extraction child process like every loader. A frame
that cannot be decoded or recognised is skipped with its reason; the others are still read.
"""

from __future__ import annotations

import logging
from pathlib import Path

from indexer.errors import ExtractionFailed
from indexer.ingest import ocr
from indexer.types import LoadedDocument, Page

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".gif"})

MAX_FRAMES = 2000
"""Frames read from one multi-page image: a cap like MAX_PDF_PAGES, for animated GIFs with
thousands of frames that are not documents."""


def load_image(path: Path) -> LoadedDocument:
    """Recognise the text of every frame (page) of an image file.

    Raises:
        ExtractionFailed: Pillow cannot open the file (not an image, truncated, too many pixels).
    """
    from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

    try:
        image = Image.open(path)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        raise ExtractionFailed(f"not a readable image: {exc}"[:300]) from exc
    with image:
        n_frames = min(getattr(image, "n_frames", 1), MAX_FRAMES)
        frames = ImageSequence.Iterator(image)

        def frame(number: int) -> object:
            try:
                return ImageOps.exif_transpose(frames[number - 1])  # a copy, upright
            except (Image.DecompressionBombError, MemoryError) as exc:
                raise ValueError(f"image too large to read ({exc})") from exc

        results = ocr.read_pages(list(range(1, n_frames + 1)), frame)
    paged = n_frames > 1
    pages = [Page(text=r.text, number=r.number if paged else None, ocr=not r.reason, words=r.words) for r in results]
    skipped = [(r.number, r.reason) for r in results if r.reason]
    title = path.stem.replace("_", " ").replace("-", " ")[:200]
    return LoadedDocument(pages=pages, title=title, skipped_pages=skipped)
