"""The results list: rank, score bar, file, folder, page and a highlighted snippet."""

from __future__ import annotations

import html
import re
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QAbstractTextDocumentLayout, QColor, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.qtmodels import HitRole
from indexer.snippets import query_terms
from indexer.types import Hit

BAR_WIDTH = 56
PADDING = 8


def highlight(text: str, query: str) -> str:
    """HTML-escaped text with the query's words in bold."""
    escaped = html.escape(text)
    terms = query_terms(query)
    if not terms:
        return escaped
    # Words of four letters or more also match their inflections (train -> trains); short
    # ones only match whole, so "we" never lights up "weep" or "Weybridge".
    parts = [re.escape(html.escape(t)) + (r"\w*" if len(t) >= 4 else r"\b") for t in terms]
    pattern = re.compile(r"\b(?:" + "|".join(parts) + ")", re.IGNORECASE)
    return pattern.sub(lambda m: f"<b>{m.group(0)}</b>", escaped)


WEAK_BANNER = "No strong matches — closest passages"


def why_this_hit(hit: Hit) -> str:
    """Every score that placed the hit, in words (the details pane)."""
    bm25 = f"BM25 #{hit.bm25_rank}" if hit.bm25_rank else "not in the BM25 list"
    vector = f"vectors #{hit.vector_rank}" if hit.vector_rank else "not in the vector list"
    parts = [f"First stage #{hit.first_stage_rank} ({bm25}, {vector}; similarity {hit.first_stage_score:.3f})"]
    if hit.rerank_score is None:
        parts.append("not reranked" if hit.score is None else f"score {hit.score:.3f} (first-stage similarity)")
    else:
        parts.append(f"rerank score {hit.rerank_score:.3f}")
        if hit.topic_weight < 1.0:
            parts.append(f"× topic weight {hit.topic_weight:.2f} = {hit.score:.3f}")
        parts.append("strong match" if hit.strong else "weak: under the minimum score")
    parts.append(f"shown #{hit.rank}")
    if hit.ocr:
        parts.append("text recognised by OCR from the page's image")
    return html.escape(" · ".join(parts))


def hit_html(hit: Hit, query: str, method: str, muted: str) -> str:
    path = Path(hit.path)
    page = f" · {html.escape(hit.where)}" if hit.where else ""
    page += " · OCR" if hit.ocr else ""
    score = "not reranked" if hit.score is None else f"score {hit.score:.2f}"
    return (
        f"<div><b>{html.escape(path.name)}</b>"
        f"<span style='color:{muted}'>{page} · {html.escape(str(path.parent))}</span></div>"
        f"<div>{highlight(hit.snippet, query)}</div>"
        f"<div style='color:{muted}; font-size:small'>#{hit.rank} · {score} · {html.escape(method)}"
        f" (first stage #{hit.first_stage_rank})</div>"
    )


class HitDelegate(QStyledItemDelegate):
    def __init__(self, view: ResultsView) -> None:
        super().__init__(view)
        self.view = view

    def _document(self, option: QStyleOptionViewItem, hit: Hit) -> QTextDocument:
        doc = QTextDocument()
        doc.setDefaultFont(option.font)
        muted = option.palette.color(QPalette.ColorRole.PlaceholderText).name()
        result = self.view.model().result
        method = result.method if result else ""
        doc.setHtml(hit_html(hit, self.view.query, method, muted))
        doc.setTextWidth(max(100, option.rect.width() - BAR_WIDTH - 3 * PADDING))
        return doc

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        hit: Hit = index.data(HitRole)
        self.initStyleOption(option, index)
        style = option.widget.style() if option.widget else None
        painter.save()
        if style:
            option_text = option.text
            option.text = ""
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
            option.text = option_text
        rect = option.rect
        # Score bar: a 0..1 meter with the number under it.
        bar = QRectF(rect.left() + PADDING, rect.top() + PADDING + 2, BAR_WIDTH, 8)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(option.palette.color(QPalette.ColorRole.Mid))
        painter.drawRoundedRect(bar, 3, 3)
        if hit.score is not None:  # a hit a deadline left unscored gets no number on the rerank scale
            fill = QRectF(bar.left(), bar.top(), BAR_WIDTH * max(0.0, min(1.0, hit.score)), bar.height())
            painter.setBrush(QColor("#2e9d5b") if hit.score >= 0.5 else QColor("#c9a227"))
            painter.drawRoundedRect(fill, 3, 3)
        painter.setPen(option.palette.color(QPalette.ColorRole.Text))
        label = "—" if hit.score is None else f"{hit.score:.2f}"
        painter.drawText(QRectF(bar.left(), bar.bottom() + 2, BAR_WIDTH, 18), Qt.AlignmentFlag.AlignCenter, label)
        doc = self._document(option, hit)
        painter.translate(rect.left() + BAR_WIDTH + 2 * PADDING, rect.top() + PADDING // 2)
        context = QAbstractTextDocumentLayout.PaintContext()
        role = (
            QPalette.ColorRole.HighlightedText
            if option.state & QStyle.StateFlag.State_Selected
            else QPalette.ColorRole.Text
        )
        context.palette.setColor(QPalette.ColorRole.Text, option.palette.color(role))
        doc.documentLayout().draw(painter, context)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        hit: Hit = index.data(HitRole)
        option.rect.setWidth(self.view.viewport().width())
        doc = self._document(option, hit)
        return QSize(int(doc.idealWidth()), int(max(doc.size().height(), 44) + PADDING))


class ResultsView(QListView):
    def __init__(self) -> None:
        super().__init__()
        self.query = ""
        self.setItemDelegate(HitDelegate(self))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setUniformItemSizes(False)
        self.setWordWrap(True)
        self.setAlternatingRowColors(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.scheduleDelayedItemsLayout()
