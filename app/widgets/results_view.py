"""The results list: rank, score bar, file, folder, page and a highlighted snippet."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QMimeDatabase, QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QAbstractTextDocumentLayout, QColor, QIcon, QPainter, QPalette, QPen, QTextDocument
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.qtmodels import HitRole
from indexer.search.explain import explain_hit
from indexer.search.terms import query_words, right_to_left
from indexer.types import Hit

BAR_WIDTH = 56
PADDING = 8
ICON_SIZE = 24


def highlight(text: str, query: str) -> str:
    """HTML-escaped text with the query's words in bold: the words of the same stem as a query
    word (indexer.search.terms, the rule the snippet and the topic check follow)."""
    out, at = [], 0
    for match in query_words(query).finditer(text):
        out.append(html.escape(text[at : match.start()]))
        out.append(f"<b>{html.escape(match.group(0))}</b>")
        at = match.end()
    out.append(html.escape(text[at:]))
    return "".join(out)


WEAK_BANNER = "No strong matches — closest passages"
STRENGTH_COLOURS = {"strong": "#2e9d5b", "possible": "#c9a227", "weak": "#8a8a8a"}
"""The score bar's colour by the strength word beside it (indexer.search.calibration)."""


def why_this_hit(hit: Hit) -> str:
    """Every score that placed the hit, in words (the details pane; indexer.search.explain)."""
    text = explain_hit(hit)
    return html.escape(text[:1].upper() + text[1:])


def direction(text: str) -> str:
    """An HTML ``dir`` attribute for a block of ``text``: `` dir='rtl'`` for a right-to-left
    language (indexer.search.terms.right_to_left), else ''."""
    return " dir='rtl'" if right_to_left(text) else ""


def hit_html(hit: Hit, query: str, method: str, muted: str) -> str:
    """Four levels: the document's title (large, bold), where the passage is (file, page,
    folder; muted), the snippet with the query's words in bold (laid out right to left for
    Arabic, Hebrew…), and how it was ranked (small, muted)."""
    path = Path(hit.path)
    title = hit.title.strip() or path.stem
    page = f"{hit.where} · OCR" if hit.ocr and hit.where else "OCR" if hit.ocr else hit.where
    where = " · ".join(x for x in (path.name if title != path.name else "", page, str(path.parent)) if x)
    score = "no score" if hit.score is None else f"{hit.score:.2f} {hit.strength}"
    return (
        f"<div style='font-size:large; font-weight:600'>{html.escape(title)}</div>"
        f"<div style='color:{muted}'>{html.escape(where)}</div>"
        f"<div{direction(hit.text)} style='margin-top:3px'>{highlight(hit.snippet, query)}</div>"
        f"<div style='color:{muted}; font-size:small'>#{hit.rank} · {score} · {html.escape(method)}"
        f" (first stage #{hit.first_stage_rank})</div>"
    )


_ICONS: dict[str, QIcon] = {}


def file_icon(path: str, style: QStyle) -> QIcon:
    """The desktop's icon for the file's type (by its name, never by reading it), else the
    style's file icon; one per suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in _ICONS:
        mime = QMimeDatabase().mimeTypeForFile(path, QMimeDatabase.MatchMode.MatchExtension)
        fallback = style.standardIcon(QStyle.StandardPixmap.SP_FileIcon)
        _ICONS[suffix] = QIcon.fromTheme(mime.iconName(), QIcon.fromTheme(mime.genericIconName(), fallback))
    return _ICONS[suffix]


class HitDelegate(QStyledItemDelegate):
    def __init__(self, view: ResultsView) -> None:
        super().__init__(view)
        self.view = view

    def _document(self, option: QStyleOptionViewItem, hit: Hit) -> QTextDocument:
        doc = QTextDocument()
        doc.setDefaultFont(option.font)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        # On the selection colour the placeholder grey is unreadable: the selection's own text.
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.PlaceholderText
        muted = option.palette.color(role).name()
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
        if hit.score is not None:
            fill = QRectF(bar.left(), bar.top(), BAR_WIDTH * max(0.0, min(1.0, hit.score)), bar.height())
            painter.setBrush(QColor(STRENGTH_COLOURS.get(hit.strength, "#8a8a8a")))
            painter.drawRoundedRect(fill, 3, 3)
        painter.setPen(option.palette.color(QPalette.ColorRole.Text))
        label = "—" if hit.score is None else f"{hit.score:.2f}"
        painter.drawText(QRectF(bar.left(), bar.bottom() + 2, BAR_WIDTH, 16), Qt.AlignmentFlag.AlignCenter, label)
        small = painter.font()
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.8))
        painter.save()
        painter.setFont(small)
        painter.drawText(
            QRectF(bar.left(), bar.bottom() + 17, BAR_WIDTH, 14), Qt.AlignmentFlag.AlignCenter, hit.strength
        )
        painter.restore()
        if style:
            icon = file_icon(hit.path, style)
            icon.paint(painter, int(bar.left() + (BAR_WIDTH - ICON_SIZE) / 2), int(bar.bottom() + 33), ICON_SIZE, ICON_SIZE)
        if option.state & QStyle.StateFlag.State_HasFocus and self.view.hasFocus():
            # A focus ring a person can see on any palette: the highlight colour, 2 px.
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(option.palette.color(QPalette.ColorRole.Highlight), 2))
            painter.drawRoundedRect(QRectF(rect).adjusted(1, 1, -1, -1), 4, 4)
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
        return QSize(int(doc.idealWidth()), int(max(doc.size().height(), 72) + PADDING))


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
