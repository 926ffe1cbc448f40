"""The page preview: a PDF hit's page rendered by PDFium with its passage marked by its
character boxes, checked against PDFium's own boxes for the passage's characters; and the
window's preview of a real search hit, with previous/next page and the text view."""

from __future__ import annotations

import shutil
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PySide6.QtGui import QColor

from indexer.ingest.chunking import chunk_pages
from indexer.ingest.loaders.pdf import load_pdf
from indexer.ingest.normalise import normalise_document
from indexer.search.preview import PageCache, find_span, render_page
from tests.conftest import PDFS
from tests.test_gui import INDEX_TIMEOUT, app_window  # noqa: F401 - the window fixture

SCALE = 1.5
PUNCTUATION = ".,;:!?'\"()[]“”‘’—–-*"


def passages(name: str, count: int) -> list:
    """Real passages as the index stores them: the loader's text, normalised, chunked."""
    document = normalise_document(load_pdf(PDFS / name))
    chunks = chunk_pages(document.pages, document.title, lambda text: len(text.split()))
    return [c for c in chunks if c.page is not None][:count]


def char_centres(path: Path, page: int, first: int, last: int) -> list[tuple[float, float, str]]:
    """PDFium's own box centre (in pixels at SCALE) of every visible character first..last."""
    document = pdfium.PdfDocument(str(path))
    pdf_page = document[page - 1]
    textpage = pdf_page.get_textpage()
    bitmap = pdf_page.render(scale=SCALE)
    convert = bitmap.get_posconv(pdf_page)
    out = []
    for i in range(first, last + 1):
        char = textpage.get_text_range(i, 1)
        if not char.strip():
            continue
        left, bottom, right, top = textpage.get_charbox(i)
        x0, y0 = convert.to_bitmap(left, top)
        x1, y1 = convert.to_bitmap(right, bottom)
        out.append(((x0 + x1) / 2, (y0 + y1) / 2, char))
    document.close()
    return out


def occurrences(path: Path, page: int, words: str) -> list[tuple[int, int]]:
    """(first, last) character index of every place PDFium's own search finds ``words``."""
    document = pdfium.PdfDocument(str(path))
    textpage = document[page - 1].get_textpage()
    searcher = textpage.search(words)
    found = []
    while (hit := searcher.get_next()) is not None:
        found.append((hit[0], hit[0] + hit[1] - 1))
    document.close()
    return found


@pytest.mark.parametrize("name", ["The-War-of-the-Worlds.pdf", "St-Mary-Witney-Social-Audit.pdf"])
def test_the_marked_boxes_cover_the_passage_characters_pdfium_finds(name):
    path = PDFS / name
    for chunk in passages(name, 12):
        rendered = render_page(path, chunk.page, SCALE, chunk.text, "")
        assert rendered.page == chunk.page and rendered.span is not None, chunk.text[:60]
        first, last = rendered.span
        # Where the passage begins and ends, by PDFium's own search for its first and last words.
        words = [w.strip(PUNCTUATION) for w in chunk.text.split() if w.strip(PUNCTUATION)]
        starts = [a for a, _ in occurrences(path, chunk.page, words[0])]
        ends = [b for _, b in occurrences(path, chunk.page, words[-1])]
        assert first in starts and last in ends, chunk.text[:60]
        centres = char_centres(path, chunk.page, first, last)
        assert len(centres) >= len("".join(words)) * 0.9
        outside = [
            c
            for x, y, c in centres
            if not any(left <= x <= right and top <= y <= bottom for left, top, right, bottom in rendered.passage)
        ]
        assert outside == [], f"{name} page {chunk.page}: {len(outside)} characters unmarked"
        # Nothing far outside: the marked area stays within the passage's lines.
        ys = [y for _, y, _ in centres]
        assert min(t for _, t, _, _ in rendered.passage) >= min(ys) - 20
        assert max(b for _, _, _, b in rendered.passage) <= max(ys) + 20


def test_query_words_are_marked_inside_the_passage():
    path = PDFS / "The-War-of-the-Worlds.pdf"
    chunk = next(c for c in passages("The-War-of-the-Worlds.pdf", 40) if "Martians" in c.text)
    rendered = render_page(path, chunk.page, SCALE, chunk.text, "the martians")
    assert rendered.words
    assert len(rendered.words) >= chunk.text.lower().count("martian")
    for left, top, right, bottom in rendered.words:
        cx, cy = (left + right) / 2, (top + bottom) / 2
        assert any(a <= cx <= c and b <= cy <= d for a, b, c, d in rendered.passage)


def test_find_span_ignores_what_extraction_changed():
    page = "The quick brown fox jum-\r\nps over the ﬁne lazy dog.\r\nNext line."
    assert find_span(page, "brown fox jumps over the fine lazy dog") == (page.index("brown"), page.index("dog") + 2)
    assert find_span(page, "an elephant") is None


def test_the_cache_keeps_recent_pages_within_its_bytes():
    path = str(PDFS / "The-Man-Without-A-Body.pdf")
    one = render_page(path, 1, 1.0)
    cache = PageCache(size=8, max_bytes=int(len(one.pixels) * 2.5))
    for page in (1, 2, 3, 1):
        cache.get(path, page, 1.0)
    assert cache.renders == 4  # page 1 was pushed out by the byte limit, not by the count
    cache.get(path, 3, 1.0)
    assert cache.renders == 4  # the newest pages are served from the cache


def test_a_missing_page_or_file_is_a_clear_error(tmp_path: Path):
    from indexer.errors import QuarryError

    with pytest.raises(QuarryError, match="has no page 99"):
        render_page(PDFS / "The-Man-Without-A-Body.pdf", 99)
    with pytest.raises(QuarryError, match="no longer there"):
        PageCache().get(str(tmp_path / "gone.pdf"), 1, 1.0)


def test_the_window_previews_a_hit_on_its_page(qtbot, app_window, tmp_path: Path):  # noqa: F811
    window = app_window
    folder = tmp_path / "pdf"
    folder.mkdir()
    shutil.copy(PDFS / "The-Man-Without-A-Body.pdf", folder)
    with qtbot.waitSignal(window.indexing.finished, timeout=INDEX_TIMEOUT):
        window.index_paths([folder])
    query = "sending a man by telegraph"
    window.search_field.setText(query)
    with qtbot.waitSignal(window.searching.reranked, timeout=30_000):
        window.search_now()
    qtbot.waitUntil(lambda: window.model.reranked and window.model.result.query == query, timeout=30_000)
    hit = window.model.hits[0]
    assert hit.page is not None
    preview = window.preview
    window.results.setCurrentIndex(window.model.index(0))
    assert window.details_stack.currentWidget() is preview
    qtbot.waitUntil(lambda: preview.rendered is not None and preview.rendered.page == hit.page, timeout=20_000)
    qtbot.waitUntil(lambda: not preview.busy and not preview.resize_timer.isActive(), timeout=10_000)
    rendered = preview.rendered
    assert rendered.page == hit.page and rendered.passage and rendered.span is not None
    assert preview.page_label.text().startswith(f"Page {hit.page} of 4")
    # The marks are on the screen: the passage's pixels are tinted, compared with the bare page.
    shown = preview.image.pixmap().toImage()
    for left, top, right, bottom in rendered.passage:
        x, y = int((left + right) / 2), int((top + bottom) / 2)
        at = y * rendered.stride + 4 * x
        bare = QColor(rendered.pixels[at], rendered.pixels[at + 1], rendered.pixels[at + 2])
        assert shown.pixelColor(x, y) != bare
    outside = shown.pixelColor(2, 2)
    assert outside == QColor(rendered.pixels[8], rendered.pixels[9], rendered.pixels[10])  # unmarked corner
    marked = render_page(hit.path, hit.page, rendered.scale, hit.text, query)
    assert marked.passage == rendered.passage  # the rectangles the app drew are PDFium's for the passage

    renders = preview.cache.renders
    if hit.page < 4:
        step, back = preview.next_button, preview.previous_button
    else:
        step, back = preview.previous_button, preview.next_button
    step.click()
    qtbot.waitUntil(lambda: preview.rendered.page != hit.page, timeout=20_000)
    assert preview.rendered.passage == [] and preview.page_label.text().startswith(f"Page {preview.page} of 4")
    assert abs(preview.rendered.page - hit.page) == 1
    back.click()
    qtbot.waitUntil(lambda: preview.rendered.page == hit.page, timeout=20_000)
    assert preview.rendered.passage == rendered.passage
    assert preview.cache.renders == renders + 1  # the hit's page came back from the cache

    scale = preview.rendered.scale
    preview.zoom_in_button.click()
    qtbot.waitUntil(lambda: preview.rendered.scale > scale * 1.2, timeout=20_000)
    assert not preview.fit_button.isChecked()

    preview.text_button.click()
    assert window.details_stack.currentIndex() == 0 and window.page_view_button.isVisible()
    assert " ".join(hit.text.split()[:8]) in " ".join(window.details.toPlainText().split())
    window.page_view_button.click()
    assert window.details_stack.currentWidget() is preview
