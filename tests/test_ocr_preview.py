"""The page preview of OCR hits: a scanned PDF page and an image file are shown with the passage
marked by the boxes of the words OCR recognised (kept at index time, indexer.store.ocr_words), and
the marks lie where the passage's text was drawn. A page with a text layer, in the same file,
is still marked by PDFium's character boxes.

Real OCR on two small pages (one scanned PDF page, one PNG, 150 dpi): seconds each on 2 cores.
Where the text was drawn is known from the book the scans were made of: PDFium's character
boxes on its text layer, normalised to the page, as the scans are the same pages.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PySide6.QtGui import QColor

from app.jobs import Lanes
from app.widgets.main_window import MainWindow
from app.widgets.preview import PagePreview
from benchmarks.ocr import mixed_pdf, render, text_layer
from indexer.ingest.pipeline import Indexer
from indexer.search.preview import PageCache, _char_text, ocr_words_in, render_page
from indexer.search.searcher import Searcher, SearchOptions
from indexer.store import ocr_words
from indexer.store.lance import Store, doc_id_for
from tests.conftest import PDFS

WAR = PDFS / "The-War-of-the-Worlds.pdf"
"""Small pages (396 x 540 pt, ~1300 characters): the quickest to recognise."""
SCANNED, IMAGE = 12, 20
"""The book's pages scanned: page 2 of the mixed PDF, and the PNG."""


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, embedder):
    """A folder with a mixed PDF (page 1 a text layer, page 2 a 150-dpi scan) and a 150-dpi
    PNG, indexed with OCR; its store and searcher."""
    base = tmp_path_factory.mktemp("ocr-preview")
    folder = base / "docs"
    folder.mkdir()
    mixed_pdf(WAR, [11, SCANNED], {SCANNED}, 150, folder / "mixed.pdf")
    render(WAR, IMAGE, 150).save(folder / "scan.png")
    store = Store(base / "index", embedder.dimension, embedder.fingerprint)
    report = Indexer(store, embedder, ocr=True).run([folder])
    assert not report.skipped and len(report.added) == 2
    return folder, store, Searcher(store, embedder)


@pytest.fixture
def preview(qtbot, indexed):
    _, store, _ = indexed
    lanes = Lanes()
    widget = PagePreview(lanes, PageCache(words_of=ocr_words_in(store.folder)))
    qtbot.addWidget(widget)
    widget.resize(700, 900)
    widget.show()
    yield widget
    lanes.shutdown()


def hit_for(searcher: Searcher, page_of_book: int, query_words: slice) -> tuple[object, str]:
    query = " ".join(text_layer(WAR, page_of_book).split()[query_words])
    hits = searcher.search(query, SearchOptions(k=3, mode="text", rerank=False)).hits
    return hits[0], query


def folded(text: str) -> tuple[str, list[int]]:
    """The letters and digits of ``text``, lower-cased, and where each came from."""
    kept = [(i, ch.lower()) for i, ch in enumerate(text) if ch.isalnum()]
    return "".join(ch for _, ch in kept), [i for i, _ in kept]


def drawn_at(source_page: int, passage: str, width: int, height: int) -> list[tuple[float, float]]:
    """Where the book's text layer drew the characters of ``passage`` (as OCR read it) on its
    page ``source_page``: box centres scaled to a ``width`` x ``height`` image. The passage's
    characters are those it shares with the page in runs of 4 letters or more, so an OCR slip
    does not lose the rest (a running footer the text layer puts elsewhere in its order, or a
    logo that is not text there, is left out)."""
    document = pdfium.PdfDocument(str(WAR))
    page = document[source_page - 1]
    page_w, page_h = page.get_size()
    textpage = page.get_textpage()
    text = _char_text(textpage, textpage.count_chars())
    hay, where = folded(text)
    needle, _ = folded(passage)
    matcher = difflib.SequenceMatcher(None, hay, needle, autojunk=False)
    shared = [where[b.a + k] for b in matcher.get_matching_blocks() if b.size >= 4 for k in range(b.size)]
    assert len(shared) >= 0.8 * len(needle), "the passage is not on the book's page"
    centres = []
    for i in shared:
        left, bottom, right, top = textpage.get_charbox(i)
        centres.append(((left + right) / 2 / page_w * width, (1 - (top + bottom) / 2 / page_h) * height))
    document.close()
    return centres


def ink(rendered, rect) -> float:
    """The share of dark pixels (ink) of the bare rendered page within ``rect``."""
    left, top, right, bottom = (int(v) for v in rect)
    dark = total = 0
    for y in range(max(0, top), min(rendered.height, bottom + 1)):
        row = y * rendered.stride
        for x in range(max(0, left), min(rendered.width, right + 1)):
            total += 1
            dark += rendered.pixels[row + 4 * x] < 128
    return dark / max(1, total)


def inside(x: float, y: float, rects: list, pad: float = 0.0) -> bool:
    return any(a - pad <= x <= c + pad and b - pad <= y <= d + pad for a, b, c, d in rects)


def words_of_passage(words, rects) -> list:
    """The stored OCR words whose box centre lies in one of the marked rectangles."""
    return [w for w in words if inside((w[1] + w[3]) / 2, (w[2] + w[4]) / 2, rects)]


def check_marks(qtbot, preview: PagePreview, hit, query: str, source_page: int, store: Store) -> None:
    """The preview of an OCR hit shows its page with the passage marked by the stored word
    boxes, where the book drew the passage's text, and the query's words marked within."""
    preview.show_hit(hit, query)
    qtbot.waitUntil(lambda: preview.rendered is not None and not preview.busy, timeout=30_000)
    qtbot.waitUntil(lambda: not preview.busy and not preview.resize_timer.isActive(), timeout=30_000)
    rendered = preview.rendered
    assert rendered.by_ocr and rendered.page == (hit.page or 1) and rendered.span is not None
    assert rendered.passage and rendered.words
    width, height = rendered.width, rendered.height
    # The stored words: normalised boxes, in reading order, independent of the render's size.
    stored = ocr_words.load(store.folder, doc_id_for(hit.path), hit.path, hit.page or 1)
    assert stored and all(0 <= w[1] < w[3] <= 1 and 0 <= w[2] < w[4] <= 1 for w in stored)
    scaled = [(t, a * width, b * height, c * width, d * height) for t, a, b, c, d in stored]
    # The marked words are the passage's words: their letters read as the passage.
    marked = words_of_passage(scaled, rendered.passage)
    letters = "".join(ch for w in marked for ch in w[0].lower() if ch.isalnum())
    passage_letters = "".join(ch for ch in hit.text.lower() if ch.isalnum())
    assert abs(len(letters) - len(passage_letters)) <= 0.05 * len(passage_letters)
    assert letters[:30] == passage_letters[:30] and letters[-30:] == passage_letters[-30:]
    # Every box of those words is covered by the marks.
    for _, a, b, c, d in marked:
        assert inside(a, b, rendered.passage, 1) and inside(c, d, rendered.passage, 1)
    # Where the book drew the passage: (nearly) every character lies in the marks.
    centres = drawn_at(source_page, hit.text, width, height)
    outside = [(x, y) for x, y in centres if not inside(x, y, rendered.passage, 2)]
    assert len(outside) <= 0.02 * len(centres), f"{len(outside)} of {len(centres)} characters unmarked"
    # No mark on blank paper: each one covers ink of the rendered page.
    for rect in rendered.passage:
        assert ink(rendered, rect) >= 0.05, rect
    # The query's words are marked inside the passage, on words that are the query's.
    terms = {w.lower().strip(".,;:!?'\"") for w in query.split() if len(w) >= 4}
    for a, b, c, d in rendered.words:
        assert inside((a + c) / 2, (b + d) / 2, rendered.passage)
        (word,) = [w for w in scaled if inside((a + c) / 2, (b + d) / 2, [w[1:]])]
        assert any(word[0].lower().startswith(t[:4]) for t in terms) or len(word[0].strip(".,;:!?")) < 4
    # The marks are on the screen: the passage's pixels are tinted, a bare corner is not.
    shown = preview.image.pixmap().toImage()
    for left, top, right, bottom in rendered.passage:
        x, y = int((left + right) / 2), int((top + bottom) / 2)
        at = y * rendered.stride + 4 * x
        assert shown.pixelColor(x, y) != QColor(rendered.pixels[at], rendered.pixels[at + 1], rendered.pixels[at + 2])
    assert shown.pixelColor(2, 2) == QColor(rendered.pixels[8], rendered.pixels[9], rendered.pixels[10])


def test_a_scanned_pdf_page_is_marked_by_its_ocr_words(qtbot, indexed, preview):
    _, store, searcher = indexed
    hit, query = hit_for(searcher, SCANNED, slice(30, 38))
    assert (Path(hit.path).name, hit.page, hit.ocr) == ("mixed.pdf", 2, True)
    check_marks(qtbot, preview, hit, query, SCANNED, store)
    # The words are kept in page units: a larger render marks the same places, scaled.
    rendered = preview.rendered
    bigger = preview.cache.get(hit.path, 2, rendered.scale * 2, hit.text, query, ocr=True)
    assert bigger.by_ocr and len(bigger.passage) == len(rendered.passage)
    for small, large in zip(rendered.passage, bigger.passage, strict=True):
        assert all(abs(2 * s - g) <= 2 for s, g in zip(small, large, strict=True))


def test_an_image_file_is_its_own_page_marked_by_its_ocr_words(qtbot, indexed, preview):
    _, store, searcher = indexed
    hit, query = hit_for(searcher, IMAGE, slice(40, 47))
    assert (Path(hit.path).name, hit.page, hit.ocr) == ("scan.png", None, True)
    assert MainWindow.has_page_view(hit)  # the window shows images as pages
    check_marks(qtbot, preview, hit, query, IMAGE, store)
    assert preview.rendered.pages == 1 and preview.page_label.text() == "Page 1 of 1"


def test_a_text_layer_page_is_still_marked_by_pdfium(qtbot, indexed, preview):
    _, _, searcher = indexed
    hit, query = hit_for(searcher, 11, slice(20, 28))
    assert (Path(hit.path).name, hit.page, hit.ocr) == ("mixed.pdf", 1, False)
    preview.show_hit(hit, query)
    qtbot.waitUntil(lambda: preview.rendered is not None and not preview.busy, timeout=30_000)
    rendered = preview.rendered
    assert not rendered.by_ocr and rendered.span is not None and rendered.passage
    assert rendered.passage == render_page(hit.path, 1, rendered.scale, hit.text, query).passage


def test_the_ocr_words_go_with_their_document(tmp_path: Path, embedder):
    """A removed document's OCR words go with it."""
    copy = tmp_path / "copy"
    copy.mkdir()
    render(WAR, IMAGE, 72).save(copy / "scan.png")  # small: a quick OCR
    own = Store(tmp_path / "index", embedder.dimension, embedder.fingerprint)
    Indexer(own, embedder, ocr=True).run([copy])
    kept = ocr_words.sidecar(own.folder, doc_id_for(copy / "scan.png"))
    assert kept.is_file()
    (copy / "scan.png").unlink()
    Indexer(own, embedder, ocr=True).run([copy])
    assert not kept.exists()
