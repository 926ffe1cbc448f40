"""Local OCR: scanned PDF pages and image files become searchable, page by page.

The corpus is made here from the shared book PDFs: pages rendered to images (what a scanner
makes) and wrapped as image-only PDFs, PNGs and a multi-page TIFF. Each test recognises only a
few pages: OCR costs seconds per page on 2 cores (benchmarks/ocr.py has the measurements).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmarks.ocr import character_error_rate, image_only_pdf, mixed_pdf, render, text_layer
from indexer.errors import ExtractionFailed
from indexer.ingest import loaders, ocr
from indexer.ingest.extract import Extractor
from indexer.ingest.pipeline import Indexer
from indexer.search.searcher import Searcher, SearchOptions
from indexer.types import Progress
from tests.conftest import PDFS

SHERLOCK = PDFS / "Adventures-Of-Sherlock-Holmes.pdf"
ALICE = PDFS / "Alice-In-Wonderland.pdf"
WAR = PDFS / "The-War-of-the-Worlds.pdf"
"""Small pages (396 x 540 pt, ~1300 characters): the quickest to recognise."""


def test_scanned_book_pages_read_within_5_percent_cer_at_300_dpi(tmp_path: Path):
    scan = image_only_pdf([render(SHERLOCK, 11, 300), render(ALICE, 11, 300)], 300, tmp_path / "scan.pdf")
    assert not any(text_layer(scan, n).strip() for n in (1, 2))  # no text layer to fall back on
    document = loaders.load(scan)
    assert [p.number for p in document.pages] == [1, 2] and all(p.ocr for p in document.pages)
    assert not document.skipped_pages
    for page, (source, number) in zip(document.pages, [(SHERLOCK, 11), (ALICE, 11)], strict=True):
        assert character_error_rate(text_layer(source, number), page.text) <= 0.05, page.text[:300]


def test_a_page_with_a_text_layer_is_not_ocred(tmp_path: Path):
    document = loaders.load(mixed_pdf(WAR, [11], set(), 150, tmp_path / "text.pdf"))
    assert not document.pages[0].ocr and "chronometer struck midnight" in " ".join(document.pages[0].text.split())


def test_a_mixed_pdf_indexes_every_page_once_with_its_number(tmp_path: Path, store, embedder):
    folder = tmp_path / "docs"
    folder.mkdir()
    book = mixed_pdf(WAR, [11, 12, 13], {12}, 300, folder / "mixed.pdf")
    # OCR off: the scanned page is named as not indexed, with the reason.
    report = Indexer(store, embedder, ocr=False).run([folder])
    (note,) = [s.reason for s in report.skipped]
    assert note.startswith("page 2 of 3 not indexed: no text layer") and ocr.OCR_OFF_REASON in note
    assert {c.page for c in _chunks(store)} == {1, 3}
    # OCR on: the unchanged file is read again and page 2 joins pages 1 and 3.
    seen: list[Progress] = []
    report = Indexer(store, embedder, ocr=True).run([folder], progress=seen.append)
    assert not report.skipped and report.updated == [book]
    assert "OCR page 1 of 1 — mixed.pdf" in [p.label for p in seen]
    chunks = _chunks(store)
    assert {c.page for c in chunks} == {1, 2, 3}
    assert all(c.ocr == (c.page == 2) for c in chunks)
    for number, page in ((11, 1), (12, 2), (13, 3)):
        words = " ".join(text_layer(WAR, number).split()[10:16])
        holding = [c.page for c in chunks if words in " ".join(c.text.split())]
        assert holding == [page], (words, holding)  # each page's text is stored once, on its page
    searcher = Searcher(store, embedder)
    phrase = " ".join(text_layer(WAR, 12).split()[20:30])
    hit = searcher.search(phrase, SearchOptions(k=3, mode="text", rerank=False)).hits[0]
    assert (Path(hit.path).name, hit.page, hit.ocr) == ("mixed.pdf", 2, True)
    assert set(phrase.lower().split()[:3]) <= set(hit.snippet.lower().replace(",", "").split())


def test_image_files_are_searchable(tmp_path: Path, store, embedder):
    folder = tmp_path / "images"
    folder.mkdir()
    render(WAR, 20, 150).save(folder / "page.png")
    first, second = render(WAR, 30, 200), render(WAR, 31, 200)
    first.save(folder / "two-pages.tiff", save_all=True, append_images=[second], compression="tiff_lzw")
    report = Indexer(store, embedder).run([folder])
    assert not report.skipped and len(report.added) == 2
    searcher = Searcher(store, embedder)
    for number, name, page in ((20, "page.png", None), (31, "two-pages.tiff", 2)):
        phrase = " ".join(text_layer(WAR, number).split()[20:28])
        hit = searcher.search(phrase, SearchOptions(k=3, mode="text", rerank=False)).hits[0]
        assert (Path(hit.path).name, hit.page, hit.ocr) == (name, page, True), phrase


def test_a_page_whose_ocr_hangs_is_skipped_and_the_rest_is_read(tmp_path: Path):
    pages = [render(WAR, n, 150) for n in (11, 12, 13)]
    hanging = image_only_pdf(pages, 150, tmp_path / "ocr-hang.pdf")
    after = image_only_pdf(pages[:1], 150, tmp_path / "after.pdf")
    with Extractor("tests.ocr_faults_loader:load", ocr_page_budget=20) as extractor:
        extractor.submit(hanging)
        extractor.submit(after)
        heard: list[tuple[int, int]] = []
        document = extractor.result(on_ocr=lambda k, n: heard.append((k, n)))
        assert [bool(p.text.strip()) for p in document.pages] == [True, False, True]
        assert document.pages[0].ocr and document.pages[2].ocr and not document.pages[1].ocr
        ((number, reason),) = document.skipped_pages
        assert number == 2 and "OCR took longer than 20 s" in reason
        assert (1, 3) in heard and (2, 3) in heard and (3, 3) in heard
        assert extractor.result().pages[0].ocr  # the next file, asked for before, still reads


def test_a_page_whose_ocr_fails_is_skipped_with_its_reason(tmp_path: Path, store, embedder):
    folder = tmp_path / "docs"
    folder.mkdir()
    image_only_pdf([render(WAR, n, 150) for n in (11, 12)], 150, folder / "ocr-fail.pdf")
    report = Indexer(store, embedder, loader="tests.ocr_faults_loader:load").run([folder])
    (note,) = [s.reason for s in report.skipped]
    assert note.startswith("page 2 of 2 not indexed") and "OCR failed: RuntimeError: the recogniser gave up" in note
    assert {c.page for c in _chunks(store)} == {1}


def test_without_the_engine_the_skipped_pages_say_how_to_get_it(tmp_path: Path):
    scan = image_only_pdf([render(WAR, 11, 72)], 72, tmp_path / "no-engine.pdf")
    with Extractor("tests.ocr_faults_loader:load") as extractor, pytest.raises(ExtractionFailed) as caught:
        extractor.load(scan)
    assert ocr.ENGINE_MISSING_REASON in str(caught.value) and "pip install rapidocr onnxruntime" in str(caught.value)


def test_layout_puts_lines_in_reading_order_and_marks_paragraphs():
    def line(text: str, left: float, top: float) -> ocr.OcrLine:
        return ocr.OcrLine(text, (left, top, left + 100, top + 20), 0.9)

    lines = [line("second half", 130, 12), line("next line", 10, 30), line("first half", 10, 10), line("new", 10, 80)]
    assert ocr.layout(lines) == "first half second half\nnext line\n\nnew"
    # Without the engine's word boxes, a line is split by character count; the words come in
    # the layout's reading order, their boxes normalised to the page (200 x 100 pixels here).
    words = ocr.page_words([ocr.split_line(item) for item in lines], 200, 100)
    assert " ".join(w[0] for w in words) == "first half second half next line new"
    first, half = words[0], words[1]
    assert first[1:] == (0.05, 0.1, 0.05 + 100 * 5 / 10 / 200, 0.3)  # 'first': 5 of the line's 10 characters
    assert half[1] == pytest.approx(0.05 + 100 * 6 / 10 / 200) and half[3] == pytest.approx(0.55)
    assert all(0 <= w[1] < w[3] <= 1 and 0 <= w[2] < w[4] <= 1 for w in words)


def _chunks(store) -> list[SimpleNamespace]:
    rows = store.chunks.search().select(["page", "text", "ocr"]).limit(None).to_arrow().to_pylist()
    return [SimpleNamespace(page=r["page"], text=r["text"], ocr=bool(r["ocr"])) for r in rows]
