"""Extraction in a child process: hangs are stopped, crashes are contained, order is kept."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from indexer.errors import ExtractionFailed
from indexer.ingest.extract import Extractor
from tests.conftest import PDFS


def write(folder: Path, name: str, text: str = "Some words worth indexing here.") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_reads_in_order_with_requests_in_flight(tmp_path: Path):
    paths = [write(tmp_path, f"n{i}.txt", f"note number {i} says hello") for i in range(4)]
    with Extractor() as extractor:
        for path in paths:
            extractor.submit(path)
        texts = [extractor.result().pages[0].text for _ in paths]
        pdf = extractor.load(PDFS / "The-Man-Without-A-Body.pdf")
    assert texts == [f"note number {i} says hello" for i in range(4)]
    assert len(pdf.pages) == 4


def test_reasons_cross_the_process_boundary(tmp_path: Path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with Extractor() as extractor, pytest.raises(ExtractionFailed, match="empty file"):
        extractor.load(empty)


def test_a_hanging_file_is_stopped_and_the_next_one_still_reads(tmp_path: Path):
    hang, after = write(tmp_path, "hang.txt"), write(tmp_path, "after.txt", "read after the hang")
    with Extractor("tests.misbehaving_loader:load", budget=lambda _: 3.0) as extractor:
        extractor.submit(hang)
        extractor.submit(after)
        started = time.monotonic()
        with pytest.raises(ExtractionFailed, match="took longer than 3 s"):
            extractor.result()
        assert time.monotonic() - started < 15
        assert extractor.result().pages[0].text == "read after the hang"


def test_a_crashing_parser_takes_only_the_child(tmp_path: Path):
    crash, after = write(tmp_path, "crash.txt"), write(tmp_path, "fine.txt", "still here")
    with Extractor("tests.misbehaving_loader:load") as extractor:
        with pytest.raises(ExtractionFailed, match="crashed"):
            extractor.load(crash)
        assert extractor.load(after).pages[0].text == "still here"
