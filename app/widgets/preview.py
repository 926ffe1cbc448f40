"""The page preview: a PDF hit's page rendered by PDFium on the preview lane (indexer.search.preview),
or an image file's page, its passage marked by its character boxes (on an OCRed page, by the
boxes of the words OCR recognised) and the query's words marked within it; zoom, fit-width
and previous/next page."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QKeySequence, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollArea, QStyle, QToolButton, QVBoxLayout, QWidget

from app.jobs import Lanes, describe
from indexer.search.preview import PageCache, RenderedPage
from indexer.types import Hit

log = logging.getLogger(__name__)

ZOOM_STEP = 1.25
MIN_SCALE, MAX_SCALE = 0.25, 6.0
FIT_MARGIN_PX = 24
RESIZE_SETTLE_MS = 150
PASSAGE_ALPHA = 70
"""How strongly the passage is tinted (0..255) with the palette's highlight colour."""
WORD_COLOUR = QColor(255, 196, 0, 130)
"""The query's words: a marker-pen yellow over the tint, on light and dark palettes alike."""


@dataclass(frozen=True, slots=True)
class Target:
    """What the preview shows: a page of a file, and the passage to mark if it is on it."""

    path: str
    page: int
    passage: str = ""
    query: str = ""
    ocr: bool = False
    """The passage was recognised by OCR: marked by the page's OCR words."""


class PagePreview(QWidget):
    """Shows one page at a time. ``shown`` is emitted with each page put on screen."""

    shown = Signal(object)  # RenderedPage
    text_view_requested = Signal()

    def __init__(self, lanes: Lanes, cache: PageCache | None = None) -> None:
        super().__init__()
        self.lanes = lanes
        self.cache = cache or PageCache()
        self.hit: Hit | None = None
        self.query = ""
        self.page = 0
        self.pages = 0
        self.scale = 1.0
        self.fit_width = True
        self.rendered: RenderedPage | None = None
        self._generation = 0
        self._shown = 0
        self._build()

    def _build(self) -> None:
        style = self.style()

        def button(text: str, icon: QStyle.StandardPixmap | None, tip: str, keys: str = "") -> QToolButton:
            b = QToolButton()
            b.setText(text)
            if icon is not None:
                b.setIcon(style.standardIcon(icon))
                b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
            b.setToolTip(tip + (f" ({QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)})" if keys else ""))
            if keys:
                b.setShortcut(QKeySequence(keys))
            b.setAutoRaise(True)
            return b

        self.previous_button = button("Previous page", QStyle.StandardPixmap.SP_ArrowBack, "Previous page")
        self.next_button = button("Next page", QStyle.StandardPixmap.SP_ArrowForward, "Next page")
        self.page_label = QLabel()
        self.zoom_out_button = button("−", None, "Zoom out", "Ctrl+-")
        self.zoom_in_button = button("+", None, "Zoom in", "Ctrl+=")
        self.fit_button = button("Fit width", None, "Fit the page to the pane's width")
        self.fit_button.setCheckable(True)
        self.fit_button.setChecked(True)
        self.text_button = button("Text", None, "Show the passage as text")
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        for w in (self.previous_button, self.page_label, self.next_button):
            bar.addWidget(w)
        bar.addStretch(1)
        for w in (self.zoom_out_button, self.zoom_in_button, self.fit_button, self.text_button):
            bar.addWidget(w)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.image.setBackgroundRole(QPalette.ColorRole.Dark)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.image)
        self.scroll.setWidgetResizable(True)
        self.scroll.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.scroll.setBackgroundRole(QPalette.ColorRole.Dark)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(self.scroll, 1)
        self.previous_button.clicked.connect(lambda: self.go(self.page - 1))
        self.next_button.clicked.connect(lambda: self.go(self.page + 1))
        self.zoom_in_button.clicked.connect(lambda: self.zoom(ZOOM_STEP))
        self.zoom_out_button.clicked.connect(lambda: self.zoom(1 / ZOOM_STEP))
        self.fit_button.toggled.connect(self.set_fit_width)
        self.text_button.clicked.connect(self.text_view_requested.emit)
        self.resize_timer = QTimer(self, singleShot=True, interval=RESIZE_SETTLE_MS)
        self.resize_timer.timeout.connect(self._refit)
        self._update_buttons()

    # -- what to show ----------------------------------------------------------------------
    def show_hit(self, hit: Hit, query: str) -> None:
        """Show the page of ``hit`` (a PDF hit with a page, or an image file's hit) with its
        passage marked."""
        self.hit, self.query = hit, query
        self.pages = 0
        self.go(hit.page or 1)

    def go(self, page: int) -> None:
        """Show physical page ``page`` (1-based) of the current hit's file; the passage is
        marked only on the hit's own page."""
        if self.hit is None or page < 1 or (self.pages and page > self.pages):
            return
        self.page = page
        self._request()

    def zoom(self, factor: float) -> None:
        self.fit_width = False
        self.fit_button.setChecked(False)
        self.scale = max(MIN_SCALE, min(MAX_SCALE, self.scale * factor))
        self._request()

    def set_fit_width(self, on: bool) -> None:
        self.fit_width = on
        if on:
            self._refit()

    def clear(self) -> None:
        self.hit, self.rendered, self.pages = None, None, 0
        self._generation += 1
        self.image.clear()
        self._update_buttons()

    @property
    def busy(self) -> bool:
        """A page was asked for and is not on screen yet."""
        return self.hit is not None and self._shown != self._generation

    # -- rendering ------------------------------------------------------------------------
    def _target(self) -> Target | None:
        if self.hit is None:
            return None
        on_hit_page = self.page == (self.hit.page or 1)
        if not on_hit_page:
            return Target(self.hit.path, self.page)
        return Target(self.hit.path, self.page, self.hit.text, self.query, self.hit.ocr)

    def _fit_scale(self) -> float | None:
        """Pixels per point that fit the page's width into the pane, once a page is known."""
        if self.rendered is None:
            return None
        width_pt = self.rendered.width / self.rendered.scale
        available = self.scroll.viewport().width() - FIT_MARGIN_PX
        return max(MIN_SCALE, min(MAX_SCALE, available / max(1.0, width_pt)))

    def _refit(self) -> None:
        if self.fit_width and self.hit is not None:
            scale = self._fit_scale()
            if scale is not None and abs(scale - self.scale) > 0.01:
                self.scale = scale
                self._request()

    def _request(self) -> None:
        target = self._target()
        if target is None:
            return
        self._generation += 1
        generation = self._generation
        ratio, scale = self.devicePixelRatioF(), self.scale
        self._update_buttons()
        self.lanes.run(
            "preview",
            lambda: self.cache.get(target.path, target.page, scale * ratio, target.passage, target.query, target.ocr),
            done=lambda rendered: self._show(generation, rendered, ratio),
            failed=lambda exc: self._failed(generation, exc),
            what=f"showing page {target.page} of {target.path}",
        )

    def _show(self, generation: int, rendered: RenderedPage, ratio: float) -> None:
        if generation != self._generation:
            return  # a newer page or zoom was asked for meanwhile
        self._shown = generation
        first = self.rendered is None or self.rendered.path != rendered.path
        self.rendered, self.pages = rendered, rendered.pages
        image = QImage(rendered.pixels, rendered.width, rendered.height, rendered.stride, QImage.Format.Format_RGBX8888)
        pixmap = QPixmap.fromImage(image)  # copies the pixels
        if rendered.passage or rendered.words:
            painter = QPainter(pixmap)
            painter.setPen(Qt.PenStyle.NoPen)
            tint = QColor(self.palette().color(QPalette.ColorRole.Highlight))
            tint.setAlpha(PASSAGE_ALPHA)
            painter.setBrush(tint)
            for left, top, right, bottom in rendered.passage:
                painter.drawRect(QRectF(left - 1, top - 1, right - left + 2, bottom - top + 2))
            painter.setBrush(WORD_COLOUR)
            for left, top, right, bottom in rendered.words:
                painter.drawRect(QRectF(left, top, right - left, bottom - top))
            painter.end()
        pixmap.setDevicePixelRatio(ratio)
        self.image.setPixmap(pixmap)
        self.status.setVisible(False)
        self._update_buttons()
        if rendered.passage:
            top = min(t for _, t, _, _ in rendered.passage) / ratio
            self.scroll.verticalScrollBar().setValue(int(max(0.0, top - self.scroll.viewport().height() / 4)))
        elif not first:
            self.scroll.verticalScrollBar().setValue(0)
        self.shown.emit(rendered)
        if self.fit_width:
            self._refit()  # the first render of a file learns its width, then fits it

    def _failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self._shown = generation
        report = describe(exc, "showing the page")
        if not report.silent:
            self.image.clear()
            self.status.setText(report.message)
            self.status.setVisible(True)

    def _update_buttons(self) -> None:
        has = self.hit is not None
        self.previous_button.setEnabled(has and self.page > 1)
        self.next_button.setEnabled(has and (not self.pages or self.page < self.pages))
        for b in (self.zoom_in_button, self.zoom_out_button, self.fit_button):
            b.setEnabled(has)
        if not has:
            self.page_label.setText("")
            return
        label = self.rendered.label if self.rendered and self.rendered.page == self.page else ""
        printed = f" (p. {label})" if label and label != str(self.page) else ""
        of = f" of {self.pages}" if self.pages else ""
        self.page_label.setText(f"Page {self.page}{of}{printed}")

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.fit_width:
            self.resize_timer.start()
