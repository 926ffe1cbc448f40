"""Right-to-left passages are laid out right to left in the results list (issue 30)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QTextDocument

from app.widgets.results_view import hit_html
from indexer.types import Hit

ARABIC = "القاهرة هي عاصمة مصر وأكبر مدنها، وتقع على ضفاف نهر النيل."
ENGLISH = "Cairo is the capital of Egypt and lies on the banks of the Nile."


def _snippet_direction(text: str, query: str) -> Qt.LayoutDirection:
    """The layout direction Qt gives the snippet block of hit_html for a passage ``text``."""
    QGuiApplication.instance() or QGuiApplication([])
    hit = Hit(
        rank=1,
        score=0.9,
        path="/notes/cairo.txt",
        page=None,
        snippet=text,
        text=text,
        title="",
        chunk_id="c",
        doc_id="d",
        first_stage_rank=1,
        first_stage_score=0.5,
    )
    doc = QTextDocument()
    doc.setHtml(hit_html(hit, query, "hybrid", "gray"))
    block = doc.begin()
    while block.isValid() and query not in block.text():
        block = block.next()
    assert block.isValid(), "the snippet block is in the rendered hit"
    return block.blockFormat().layoutDirection()


def test_an_arabic_snippet_is_laid_out_right_to_left():
    assert _snippet_direction(ARABIC, "مصر") == Qt.LayoutDirection.RightToLeft


def test_an_english_snippet_keeps_the_default_direction():
    assert _snippet_direction(ENGLISH, "Egypt") != Qt.LayoutDirection.RightToLeft
