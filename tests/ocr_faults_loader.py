"""A loader for the OCR fault tests, run in the extraction child process: by a word in the
file name, recognising page 2 hangs ('ocr-hang') or fails ('ocr-fail'), or the OCR engine is
not installed ('no-engine'); every other page, and every other file, reads normally."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from indexer.ingest import loaders, ocr
from indexer.types import LoadedDocument

_real_read_pages = ocr.read_pages


def _faulty(fault: str) -> Callable[..., list[ocr.PageOcr]]:
    def read_pages(numbers: list[int], image_of: Callable[[int], Any]) -> list[ocr.PageOcr]:
        def image(number: int) -> Any:  # called once the page's OCR has started
            if number == 2 and fault == "ocr-hang":
                time.sleep(3600)
            if number == 2 and fault == "ocr-fail":
                raise RuntimeError("the recogniser gave up on this page")
            return image_of(number)

        return _real_read_pages(numbers, image)

    return read_pages


def load(path: Path) -> LoadedDocument:
    ocr.read_pages = _real_read_pages
    for fault in ("ocr-hang", "ocr-fail"):
        if fault in path.name:
            ocr.read_pages = _faulty(fault)
    if "no-engine" in path.name:
        # What a Python without the packages does: the import fails.
        sys.modules["rapidocr"] = None  # type: ignore[assignment]
        ocr._engine = None
    return loaders.load(path)
