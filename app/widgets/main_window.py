"""The main window: search field, results, details, folders, progress and status."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QByteArray, QModelIndex, QSettings, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QPalette,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.jobs import describe
from app.opener import detect_viewer, find_text, launch, open_command
from app.qtmodels import HitRole, HitsModel
from app.services import EngineService, IndexService, SearchService
from app.settings_service import SettingsService
from app.widgets.failure import failure_box
from app.widgets.first_run import FirstRunPanel
from app.widgets.preview import PagePreview
from app.widgets.results_view import WEAK_BANNER, ResultsView, direction, highlight, why_this_hit
from app.widgets.settings_dialog import SettingsDialog
from indexer.engine import Engine
from indexer.errors import ModelInvalid, ModelMissing
from indexer.eta import TimeLeft, say_time_left
from indexer.ingest.loaders import FORMAT_NAMES
from indexer.ingest.loaders.image import IMAGE_SUFFIXES
from indexer.search.preview import PageCache, ocr_words_in
from indexer.types import Hit, IndexReport, Progress, SearchResult, counted

log = logging.getLogger(__name__)

SEARCH_DEBOUNCE_MS = 250
PROGRESS_DELAY_MS = 600
"""Work shorter than this never shows a progress bar, so nothing flickers."""
PROGRESS_STEPS = 1000
STEP_WORDS = {"reading": "Reading", "recognising": "Recognising (OCR)", "embedding": "Embedding", "writing": "Writing"}
STATS_REFRESH_MS = 2000
"""While indexing, folder and document counts refresh this often."""


class MainWindow(QMainWindow):
    opened = Signal(list)  # the command (or ['default', path]) used to open a result

    def __init__(
        self,
        engines: EngineService,
        indexing: IndexService,
        searching: SearchService,
        settings: QSettings,
        preferences: SettingsService,
        opener: Callable[[list[str]], None] = launch,
    ) -> None:
        super().__init__()
        self.engines, self.indexing, self.searching, self.settings = engines, indexing, searching, settings
        self.preferences = preferences
        self.opener = opener
        self.viewer = detect_viewer()
        self.custom_open = ""
        self.generation = 0
        self.reranked = False
        self._detail_chunks: tuple[str, list] = ("", [])
        """The passage whose neighbours the details pane shows, and those neighbours."""
        self.folder_stats: dict[str, tuple[int, int]] = {}
        self.failure: QMessageBox | None = None
        """The last failure report shown (tests read it)."""
        self.time_left = TimeLeft()
        self.progress_shown = 0
        """The bar's value: the largest fraction of the work seen in this run (x PROGRESS_STEPS)."""
        self.resume_backfill = False
        """Set when an engine loads: the first stats that show passages without vectors (an
        interrupted embedding pass) start a run of the folders, which embeds them."""
        self.setWindowTitle("Quarry")
        self.setAcceptDrops(True)
        self._build()
        self._connect()
        self._restore()

    # -- construction -------------------------------------------------------------
    def _build(self) -> None:
        self.search_field = QLineEdit()
        self.search_field.setPlaceholderText("Search your documents…")
        self.search_field.setClearButtonEnabled(True)
        self.add_button = QPushButton("Add folder…")
        self.settings_button = QPushButton("Settings…")
        top = QHBoxLayout()
        top.addWidget(self.search_field, 1)
        top.addWidget(self.add_button)
        top.addWidget(self.settings_button)

        self.folders = QListWidget()
        self.reindex_button = QPushButton("Re-index")
        self.remove_button = QPushButton("Remove")
        folder_buttons = QHBoxLayout()
        folder_buttons.addWidget(self.reindex_button)
        folder_buttons.addWidget(self.remove_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("<b>Folders</b>"))
        left_layout.addWidget(self.folders, 1)
        left_layout.addLayout(folder_buttons)

        self.model = HitsModel()
        self.results = ResultsView()
        self.results.setModel(self.model)
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setVisible(False)
        results_page = QWidget()
        results_layout = QVBoxLayout(results_page)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addWidget(self.notice)
        results_layout.addWidget(self.results, 1)
        self.empty = QLabel()
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.empty)
        self.pages.addWidget(results_page)
        self.first_run = FirstRunPanel(self.preferences)
        self.pages.addWidget(self.first_run)

        self.details = QTextBrowser()
        self.details.setOpenLinks(False)
        self.details.setPlaceholderText("Select a result to read its passage here; double-click to open the file.")
        self.page_view_button = QPushButton("Show the page")
        self.page_view_button.setFlat(True)
        self.page_view_button.setVisible(False)
        text_pane = QWidget()
        text_layout = QVBoxLayout(text_pane)
        text_layout.setContentsMargins(0, 0, 0, 0)
        text_layout.addWidget(self.page_view_button, 0, Qt.AlignmentFlag.AlignLeft)
        text_layout.addWidget(self.details, 1)
        # The index's OCR words mark passages on scanned pages and images (indexer.store.ocr_words).
        self.preview = PagePreview(self.engines.lanes, PageCache(words_of=ocr_words_in(self.engines.paths.index)))
        self.details_stack = QStackedWidget()
        self.details_stack.addWidget(text_pane)
        self.details_stack.addWidget(self.preview)
        self.prefer_text = False
        """The person chose the text view over the page preview; kept until they switch back."""
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.pages)
        self.splitter.addWidget(self.details_stack)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setSizes([220, 620, 400])

        self.progress_bar = QProgressBar()
        self.progress_label = QLabel()
        self.cancel_button = QPushButton("Cancel")
        self.progress_row = QWidget()
        row = QHBoxLayout(self.progress_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.progress_label, 2)
        row.addWidget(self.progress_bar, 1)
        row.addWidget(self.cancel_button)
        self.progress_row.setVisible(False)
        self.progress_timer = QTimer(self, singleShot=True, interval=PROGRESS_DELAY_MS)
        self.stats_timer = QTimer(self, interval=STATS_REFRESH_MS)

        self.advice = QLabel()
        """Said once per installation: a collection mostly not in English is told about the
        multilingual models (indexer.models.advice), with a link that offers them in Settings."""
        self.advice.setWordWrap(True)
        self.advice.setVisible(False)
        self.advice.setTextFormat(Qt.TextFormat.RichText)
        self.advice.linkActivated.connect(self.on_advice_link)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(top)
        layout.addWidget(self.advice)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.progress_row)
        self.setCentralWidget(central)

        self.index_label = QLabel("Loading models…")
        self.model_label = QLabel()
        self.device_label = QLabel()
        self.statusBar().addWidget(self.index_label)
        self.skipped_button = QPushButton()
        self.skipped_button.setFlat(True)
        self.skipped_button.setVisible(False)
        self.statusBar().addWidget(self.skipped_button, 1)
        self.statusBar().addPermanentWidget(self.model_label)
        self.statusBar().addPermanentWidget(self.device_label)

        self.debounce = QTimer(self, singleShot=True, interval=SEARCH_DEBOUNCE_MS)
        for keys in (QKeySequence.StandardKey.Find, QKeySequence("Ctrl+L")):
            action = QAction(self, shortcut=keys)
            action.triggered.connect(self.focus_search)
            self.addAction(action)
        self._show_empty("Loading models…")
        self.search_field.setFocus()

    def _connect(self) -> None:
        self.search_field.textChanged.connect(lambda _: self.debounce.start())
        self.search_field.returnPressed.connect(self.search_now)
        self.debounce.timeout.connect(self.search_now)
        self.add_button.clicked.connect(self.choose_folder)
        self.settings_button.clicked.connect(self.open_settings)
        # The platform's Preferences key (Cmd+, on macOS; none on some Linux desktops) and Ctrl+,
        # everywhere, as Settings… says.
        keys = [*QKeySequence.keyBindings(QKeySequence.StandardKey.Preferences), QKeySequence("Ctrl+,")]
        preferences_action = QAction(self)
        preferences_action.setShortcuts(list(dict.fromkeys(k for k in keys if not k.isEmpty())))
        preferences_action.triggered.connect(self.open_settings)
        self.addAction(preferences_action)
        self.preferences.reranker_changed.connect(self.on_reranker_changed)
        self.first_run.models_ready.connect(self.on_first_run_models_ready)
        self.skipped_button.clicked.connect(lambda: self.indexing.list_skipped(self.show_skipped))
        self.indexing.checked.connect(self.on_checked)
        self.reindex_button.clicked.connect(self.reindex_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        self.cancel_button.clicked.connect(self.indexing.cancel)
        self.progress_timer.timeout.connect(lambda: self.progress_row.setVisible(self.indexing.running))
        self.stats_timer.timeout.connect(self.indexing.refresh)
        self.results.doubleClicked.connect(self.open_hit)
        self.results.activated.connect(self.open_hit)
        self.results.customContextMenuRequested.connect(self._context_menu)
        self.results.selectionModel().currentChanged.connect(self._show_details)
        self.preview.text_view_requested.connect(lambda: self.set_page_view(False))
        self.page_view_button.clicked.connect(lambda: self.set_page_view(True))
        self.engines.ready.connect(self.on_engine_ready)
        self.engines.failed.connect(self.on_engine_failed)
        self.indexing.started.connect(self.on_index_started)
        self.indexing.progress.connect(self.on_index_progress)
        self.indexing.finished.connect(self.on_index_finished)
        self.indexing.failed.connect(self.on_index_failed)
        self.indexing.stats.connect(self.on_stats)
        self.searching.first_stage.connect(self.on_first_stage)
        self.searching.reranked.connect(self.on_reranked)
        self.searching.failed.connect(self.on_search_failed)
        self.engines.lanes.on_failure = self.report_failure

    # -- window state ---------------------------------------------------------------
    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1240, 760)
        splitter = self.settings.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)

    def closeEvent(self, event) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.sync()
        self.indexing.stop_watching()
        self.indexing.cancel()
        super().closeEvent(event)

    # -- searching --------------------------------------------------------------------
    def focus_search(self) -> None:
        self.search_field.setFocus()
        self.search_field.selectAll()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.search_field.clear()
            self.search_field.setFocus()
            self.search_now()  # the results, the details and the preview go with the query
            self._show_details(QModelIndex())
        elif event.key() == Qt.Key.Key_Down and self.search_field.hasFocus() and self.model.rowCount():
            self.results.setFocus()
            self.results.setCurrentIndex(self.model.index(0))
        else:
            super().keyPressEvent(event)

    def search_now(self) -> None:
        self.debounce.stop()
        query = self.search_field.text().strip()
        if not query:
            self.generation = self.searching.search("")  # cancels anything in flight
            self.model.set_result(None, False)
            self.notice.setVisible(False)
            self._update_empty_state()
            return
        if self.engines.engine is None:
            return  # searched again once the models are ready
        self.results.query = query
        self.generation = self.searching.search(query)

    def on_first_stage(self, generation: int, result: SearchResult) -> None:
        if generation != self.generation:
            return
        self.reranked = False
        self._show_result(result, reranked=False)
        reranking = self.searching.options.rerank and result.hits and self.engines.engine.reranker is not None
        notice = "Reranking…" if reranking else self._rerank_problem()
        self._set_notice(self._with_readiness(notice, result))

    def on_reranked(self, generation: int, result: SearchResult) -> None:
        if generation != self.generation:
            return
        self.reranked = True
        self._show_result(result, reranked=True)
        notice = self._notice_for(result)
        if result.check:
            notice = " · ".join(x for x in (notice, f"<span style='color:gray'>{html.escape(result.check)}</span>") if x)
        if not result.complete:
            notice = " · ".join(x for x in (notice, "reranking the rest…") if x)
        self._set_notice(self._with_readiness(notice, result))

    def on_search_failed(self, generation: int, exc: BaseException) -> None:
        """A QuarryError ('the models are still loading') goes to the line above the results;
        a bug also opens the report with its details."""
        if generation != self.generation:
            return
        report = describe(exc, "searching")
        if report.silent:
            return
        self._set_notice(html.escape(report.message))
        if report.details:
            self.report_failure("searching", exc)

    def _rerank_problem(self) -> str:
        engine = self.engines.engine
        return engine.reranker_problem if engine and engine.reranker is None else ""

    def _show_result(self, result: SearchResult, reranked: bool) -> None:
        """Show a result; a refinement of the one shown (the reranked order, or the rest of a
        rerank a deadline cut) keeps the selected passage selected wherever it moved, so the
        details pane and the page preview stay on it."""
        current = self.results.currentIndex().row()
        selected = self.current_hit()
        if selected is not None and self.model.is_refinement(result):
            # The rows move with their passages: the selection stays on its passage, the
            # page preview is not redrawn; the details pane gets the hit's new score.
            self.model.set_result(result, reranked)
            index = self.results.currentIndex()
            hit = self.current_hit()
            if hit is not None:
                chunks = self._detail_chunks[1] if self._detail_chunks[0] == hit.chunk_id else []
                self._render_details(hit, chunks)
                self.results.scrollTo(index)
            return
        self.model.set_result(result, reranked)
        if not result.hits:
            reason = f"<br><span style='font-size:11pt'>{html.escape(result.notice)}</span>" if result.notice else ""
            self._show_empty(f"No results for “{html.escape(result.query)}”.{reason}")
            return
        self.pages.setCurrentIndex(1)
        if selected is None or current < 0:
            return
        row = next((n for n, h in enumerate(result.hits) if h.chunk_id == selected.chunk_id), None)
        index = self.model.index(min(current, len(result.hits) - 1) if row is None else row)
        self.results.setCurrentIndex(index)
        self.results.scrollTo(index)

    @staticmethod
    def _notice_for(result: SearchResult) -> str:
        """The line above the results: the weak-set banner, and why results are not reranked."""
        notice = html.escape(result.notice)
        if not result.weak:
            return notice
        return (
            f"<b>{WEAK_BANNER}</b> — none is likely to answer (no score reaches {result.min_score:.2f}): "
            f"these are the nearest passages. {notice}"
        ).strip()

    @staticmethod
    def _with_readiness(notice: str, result: SearchResult) -> str:
        """The notice, after 'meaning search: 40 % ready' while vectors are being embedded."""
        return " · ".join(part for part in (result.readiness, notice) if part)

    def _set_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def _show_empty(self, message: str) -> None:
        self.empty.setText(f"<p style='font-size:16pt'>{message}</p>")
        self.pages.setCurrentIndex(0)

    def _update_empty_state(self) -> None:
        if self.engines.engine is None:
            return
        if self.indexing.running:
            documents = sum(d for d, _ in self.folder_stats.values())
            self._show_empty(
                f"Indexing… {counted(documents, 'document')} so far<br><span style='font-size:11pt'>"
                "Type to search what is already indexed.</span>"
            )
        elif not self.folder_stats:
            self._show_empty(
                "Drag a folder here to search it<br><span style='font-size:11pt'>"
                f"{FORMAT_NAMES} files are read on this computer; nothing leaves it.</span>"
            )
        else:
            documents = sum(d for d, _ in self.folder_stats.values())
            self._show_empty(f"Type to search {counted(documents, 'document')}")

    # -- details and opening ---------------------------------------------------------------
    def current_hit(self) -> Hit | None:
        index = self.results.currentIndex()
        return index.data(HitRole) if index.isValid() else None

    def _show_details(self, index: QModelIndex, _previous: QModelIndex | None = None) -> None:
        hit: Hit | None = index.data(HitRole) if index.isValid() else None
        if hit is None:
            self.details.clear()
            self.preview.clear()
            self.details_stack.setCurrentIndex(0)
            self.page_view_button.setVisible(False)
            return
        self._render_details(hit, [])
        self.searching.details(hit, self.on_details)
        self._show_page_view()

    @staticmethod
    def has_page_view(hit: Hit) -> bool:
        """A PDF hit with its page, or an image file's hit (the image is its page)."""
        suffix = Path(hit.path).suffix.lower()
        return (hit.page is not None and suffix == ".pdf") or suffix in IMAGE_SUFFIXES

    def _show_page_view(self) -> None:
        """A PDF or image hit shows its page (unless the text view was chosen); others their text."""
        hit = self.current_hit()
        paged = hit is not None and self.has_page_view(hit)
        self.page_view_button.setVisible(paged and self.prefer_text)
        if not paged or self.prefer_text:
            self.details_stack.setCurrentIndex(0)
            return
        self.details_stack.setCurrentWidget(self.preview)
        shown = self.preview.hit
        if shown is None or shown.chunk_id != hit.chunk_id or self.preview.query != self.results.query:
            self.preview.show_hit(hit, self.results.query)

    def set_page_view(self, on: bool) -> None:
        """Switch the details pane between the page preview and the text view."""
        self.prefer_text = not on
        self._show_page_view()

    def on_details(self, hit: Hit, chunks: list) -> None:
        current = self.current_hit()
        if current is not None and current.chunk_id == hit.chunk_id:
            self._detail_chunks = (hit.chunk_id, chunks)
            self._render_details(current, chunks)

    def _render_details(self, hit: Hit, chunks: list) -> None:
        """The passage with the query's words in bold, between its neighbours in grey."""
        page = f", {html.escape(hit.where)}" if hit.where else ""
        parts = []
        for chunk in chunks or []:
            if chunk.chunk_id == hit.chunk_id:
                continue
            where = "before" if chunk.ordinal < hit.ordinal else "after"
            parts.append((where, f"<p{direction(chunk.text)} style='color:gray'>{html.escape(chunk.text)}</p>"))
        body = "".join(p for w, p in parts if w == "before")
        mark = QColor(self.palette().color(QPalette.ColorRole.Highlight))
        mark.setAlpha(60)
        body += (
            f"<a name='passage'></a><p{direction(hit.text)} style='background-color: rgba({mark.red()}, {mark.green()}, {mark.blue()}, 60)'>"
            f"{highlight(hit.text, self.results.query)}</p>"
        )
        body += "".join(p for w, p in parts if w == "after")
        self.details.setHtml(
            f"<h3>{html.escape(Path(hit.path).name)}{page}</h3>"
            f"<p style='color:gray'>{html.escape(hit.path)}</p>{body}"
            f"<p style='color:gray'>{why_this_hit(hit)}</p>"
        )
        if chunks:
            self.details.scrollToAnchor("passage")

    def command_for(self, hit: Hit) -> list[str] | None:
        return open_command(
            hit.path, hit.page, self.viewer, self.custom_open, find=find_text(self.results.query, hit.text)
        )

    def open_hit(self, index: QModelIndex | None = None) -> None:
        hit = index.data(HitRole) if index is not None and index.isValid() else self.current_hit()
        if hit is None:
            return
        if not Path(hit.path).exists():
            QMessageBox.warning(self, "Quarry", f"{hit.path} is no longer there. Re-index its folder.")
            return
        command = self.command_for(hit)
        if command:
            self.opener(command)
            self.opened.emit(command)
        else:
            QDesktopServices.openUrl(QUrl.fromLocalFile(hit.path))
            self.opened.emit(["default", hit.path])

    def _context_menu(self, position) -> None:
        hit = self.current_hit()
        if hit is None:
            return
        menu = QMenu(self)
        menu.addAction("Open", self.open_hit)
        menu.addAction(
            "Open containing folder", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(hit.path).parent)))
        )
        menu.addAction("Copy path", lambda: QGuiApplication.clipboard().setText(hit.path))
        menu.exec(self.results.viewport().mapToGlobal(position))

    # -- indexing -------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.index_paths(paths)

    def index_paths(self, paths: list[Path]) -> None:
        if self.indexing.running:
            self.indexing.queue(paths)
            self.statusBar().showMessage(f"Queued {', '.join(p.name for p in paths)}: indexing is running", 5000)
            return
        self.indexing.run(paths)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to Quarry")
        if folder:
            self.index_paths([Path(folder)])

    def _selected_folder(self) -> Path | None:
        item = self.folders.currentItem()
        return Path(item.data(Qt.ItemDataRole.UserRole)) if item else None

    def reindex_selected(self) -> None:
        folder = self._selected_folder()
        if folder:
            self.index_paths([folder])

    def remove_selected(self) -> None:
        folder = self._selected_folder()
        if (
            folder
            and QMessageBox.question(self, "Quarry", f"Remove {folder} and its documents from the index?")
            == QMessageBox.StandardButton.Yes
        ):
            self.indexing.remove_folder(folder)

    def on_index_started(self, paths: list[Path]) -> None:
        self.progress_bar.setRange(0, 0)
        self.time_left = TimeLeft()
        self.progress_shown = 0
        self.progress_label.setText(f"Scanning {', '.join(p.name for p in paths)}…")
        self.progress_timer.start()
        self.stats_timer.start()

    def on_index_progress(self, progress: Progress) -> None:
        """The bar follows the work (pages read and passages embedded), never the file count,
        and never moves back; the line says what runs, on which file, and the time left."""
        fraction = progress.fraction
        if progress.stage == "indexing" and fraction is not None:
            self.progress_shown = max(self.progress_shown, round(PROGRESS_STEPS * fraction))
            self.progress_bar.setRange(0, PROGRESS_STEPS)
            self.progress_bar.setValue(self.progress_shown)
            name = Path(progress.current).name if progress.current else ""
            name = name if len(name) < 60 else name[:57] + "…"
            if progress.detail.startswith("OCR"):  # 'OCR page 3 of 40 — file.pdf'
                head = f"{progress.detail} — {name}"
            else:  # the bar and its tooltip count passages; the line names the step and file
                head = f"{STEP_WORDS.get(progress.step, 'Indexing')} {name}"
            left = say_time_left(self.time_left.update(progress.work_done, progress.work_total))
            files = f"file {min(progress.done + 1, progress.total)} of {progress.total}"
            self.progress_label.setText(f"{head} · {files}" + (f" · {left}" if left else ""))
            self.progress_bar.setFormat(f"%p% of {progress.work_total} pages and passages")
            self.progress_bar.setToolTip(
                f"{progress.work_done} of about {progress.work_total} pages read and passages embedded"
            )
        elif progress.stage == "embedding" and progress.total:
            # The second pass: the same work count goes on (pages read, then passages embedded).
            fraction = progress.fraction if progress.fraction is not None else progress.done / progress.total
            self.progress_shown = max(self.progress_shown, round(PROGRESS_STEPS * fraction))
            self.progress_bar.setRange(0, PROGRESS_STEPS)
            self.progress_bar.setValue(self.progress_shown)
            left = say_time_left(self.time_left.update(progress.work_done, progress.work_total))
            self.progress_label.setText(
                f"Searchable by keyword; embedding {progress.done:,} of {progress.total:,} passages for meaning search"
                + (f" · {left}" if left else "")
            )
        elif progress.stage == "finishing":
            self.progress_label.setText("Finishing…")
        elif progress.stage == "checking" and progress.total:
            self.progress_bar.setRange(0, progress.total)
            self.progress_bar.setValue(progress.done)
            self.progress_bar.setFormat("%v of %m self-checks")
            self.progress_label.setText(
                f"All searchable; measuring how much the reranker helps on this collection: {progress.done} of "
                f"{progress.total} self-checks"
            )

    def on_checked(self, finding: str) -> None:
        """What the reranker self-check found: in the model label's tooltip, and on the notice
        line with the next reranked result."""
        self.model_label.setToolTip(finding)

    def on_index_finished(self, report: IndexReport) -> None:
        self.progress_timer.stop()
        self.stats_timer.stop()
        self.progress_row.setVisible(False)
        message = "Indexing cancelled: " if report.cancelled else "Indexed: "
        self.statusBar().showMessage(message + report.summary(), 10_000)
        if report.skipped:
            lines = "\n".join(f"{s.path.name}: {s.reason}" for s in report.skipped[:50])
            self.notice.setToolTip(lines)
        self.indexing.refresh()
        if self.search_field.text().strip():
            self.search_now()

    def on_index_failed(self, exc: BaseException) -> None:
        self.progress_timer.stop()
        self.stats_timer.stop()
        self.progress_row.setVisible(False)
        self.report_failure("indexing", exc)

    def on_stats(self, stats: dict) -> None:
        self.folder_stats = stats["folders"]
        self.folders.clear()
        for folder, (documents, chunks) in self.folder_stats.items():
            item = QListWidgetItem(f"{Path(folder).name}\n{counted(documents, 'document')}, {counted(chunks, 'passage')}")
            item.setData(Qt.ItemDataRole.UserRole, folder)
            item.setToolTip(folder)
            self.folders.addItem(item)
        passages = stats.get("passages")
        detail = f" · {passages.describe()}" if passages is not None else f", {counted(stats['chunks'], 'passage')}"
        self.index_label.setText(f"{counted(stats['documents'], 'document')}{detail}")
        if self.resume_backfill and passages is not None:
            self.resume_backfill = False
            if passages.vectors < passages.passages and self.folder_stats and not self.indexing.running:
                self.indexing.queue([Path(folder) for folder in self.folder_stats])
        self._advise(stats.get("advice", ""))
        count = stats["skipped"]
        self.skipped_button.setText(f"{count} file{'s' if count != 1 else ''} skipped — show")
        self.skipped_button.setVisible(count > 0)
        if not self.search_field.text().strip():
            self._update_empty_state()

    def show_skipped(self, skipped: list[tuple[str, str]]) -> None:
        """Which files were left out of the index, and why."""
        lines = "\n".join(f"{path}\n    {reason}" for path, reason in skipped)
        box = QMessageBox(
            QMessageBox.Icon.Information,
            "Skipped files",
            f"{len(skipped)} file{'s were' if len(skipped) != 1 else ' was'} not indexed. "
            "Quarry only reads your files; fix or convert them and they are picked up on the next run.",
            QMessageBox.StandardButton.Close,
            self,
        )
        box.setDetailedText(lines)
        self.skipped_box = box
        box.open()

    def _advise(self, advice: str) -> None:
        """Show the language advice the first time there is one; never again after."""
        if not advice or self.advice.isVisible() or self.preferences.settings.language_advice_shown:
            return
        self.advice.setText(
            f"{html.escape(advice)} <a href='choose'>Choose the multilingual models…</a> · <a href='dismiss'>Not now</a>"
        )
        self.advice.setVisible(True)
        self.preferences.apply(replace(self.preferences.settings, language_advice_shown=True))

    def on_advice_link(self, link: str) -> SettingsDialog | None:
        """'choose' opens Settings with the multilingual preset selected (OK downloads what is
        missing) and returns the dialog; either link hides the advice."""
        self.advice.setVisible(False)
        if link != "choose":
            return None
        dialog = self.open_settings()
        dialog.choose_preset("multilingual")
        return dialog

    # -- settings ---------------------------------------------------------------------------
    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.preferences, self.engines.engine, sorted(self.folder_stats), self)
        dialog.open()
        return dialog

    def on_reranker_changed(self, name: str, problem: str) -> None:
        engine = self.engines.engine
        if engine is not None:
            self.model_label.setText(f"{engine.embedder.label} · {name or 'no reranker'}")
        self._set_notice(problem)
        if self.search_field.text().strip():
            self.search_now()

    # -- models -----------------------------------------------------------------------------
    def on_engine_ready(self, engine: Engine) -> None:
        self.indexing.watch(engine)
        self.resume_backfill = True
        if self.pages.currentWidget() is self.first_run:
            self._show_empty("Models ready")
        reranker = engine.reranker.label if engine.reranker else "no reranker"
        self.model_label.setText(f"{engine.embedder.label} · {reranker}")
        choice = engine.worker.choice
        variant = ""
        if choice is not None and choice.path:
            variant = f" · {choice.name}" + (f" ({len(choice.skipped)} skipped)" if choice.skipped else "")
        self.device_label.setText(engine.device_label + variant)
        self.device_label.setToolTip(f"{engine.hardware.cpu_model}; llama.cpp CPU variant: {engine.cpu_variant}")
        if engine.reranker is None:
            self._set_notice(engine.reranker_problem)
        self.indexing.refresh()
        if self.search_field.text().strip():
            self.search_now()

    def on_engine_failed(self, exc: BaseException) -> None:
        """No usable model: offer to download one or to use a file. Anything else (the index
        cannot be opened, the inference worker does not start, a bug) says what failed and
        keeps its details; the download panel would not help there."""
        if isinstance(exc, (ModelMissing, ModelInvalid)):
            self.index_label.setText("Models missing" if isinstance(exc, ModelMissing) else "Model not usable")
            self.first_run.show_reason(str(exc))
            self.pages.setCurrentWidget(self.first_run)
            return
        report = describe(exc, "loading the models")
        self.index_label.setText("Quarry could not start")
        self._show_empty(
            f"Quarry could not start<br><span style='font-size:11pt'>{html.escape(report.message)}</span>"
        )
        self.report_failure("loading the models", exc)

    def on_first_run_models_ready(self) -> None:
        self.index_label.setText("Loading models…")
        self.engines.load(self.preferences.engine_options)

    def report_failure(self, what: str, exc: BaseException) -> None:
        """Show a failed job (app.jobs.describe): nothing for Cancelled, a QuarryError's
        message, or a short message with its traceback behind "Copy details"."""
        box = failure_box(self, "Quarry", what, exc)
        if box is not None:
            self.failure = box
