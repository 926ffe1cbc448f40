"""What a first start without models shows: download the recommended models (with
progress), or use a GGUF already on disk; never a dead window."""

from __future__ import annotations

import html
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.settings_service import SettingsService
from app.widgets.failure import FailureLine
from indexer.models.catalogue import CatalogueEntry, entry
from indexer.types import Progress

RECOMMENDED = ("all-minilm-l6-v2", "bge-reranker-base")
"""The embedder every install needs and the smallest catalogue reranker (~250 MB together)."""


class FirstRunPanel(QWidget):
    models_ready = Signal()

    def __init__(self, service: SettingsService) -> None:
        super().__init__()
        self.service = service
        self.entries: list[CatalogueEntry] = [entry(name) for name in RECOMMENDED]
        total = sum(e.size_mb for e in self.entries)
        self.title = QLabel("<h2>Welcome to Quarry</h2>")
        self.text = QLabel(
            "Quarry ranks your documents with two small AI models that run on this computer. "
            f"Download the recommended ones ({', '.join(e.name for e in self.entries)}, about {total} MB, "
            "from Hugging Face), or use a GGUF embedding model you already have. "
            "Nothing else ever leaves your computer."
        )
        self.text.setWordWrap(True)
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.reason.setStyleSheet("color: #666;")
        self.download_button = QPushButton("Download the recommended models")
        self.download_button.setDefault(True)
        self.local_button = QPushButton("Use a model file…")
        self.cancel_button = QPushButton("Cancel")
        self.progress = QProgressBar()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.failure = FailureLine()
        """Why a download failed or a file is not usable (app.jobs.describe's rules)."""
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.local_button)
        buttons.addWidget(self.download_button)
        buttons.addStretch(1)
        progress = QHBoxLayout()
        progress.addWidget(self.progress, 1)
        progress.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for widget in (self.title, self.text, self.reason):
            widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(widget)
        layout.addLayout(buttons)
        layout.addLayout(progress)
        layout.addWidget(self.status)
        layout.addWidget(self.failure)
        layout.addStretch(2)
        self._busy(False)
        self.download_button.clicked.connect(self.download)
        self.local_button.clicked.connect(self.choose_file)
        self.cancel_button.clicked.connect(service.cancel_download)
        service.download_progress.connect(self.on_progress)
        self._queue: list[CatalogueEntry] = []

    def show_reason(self, message: str) -> None:
        self.reason.setText(html.escape(message))

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.download_button.setEnabled(not busy)
        self.local_button.setEnabled(not busy)

    # -- downloads ----------------------------------------------------------------------
    def download(self) -> None:
        self._queue = list(self.entries)
        self.status.clear()
        self.failure.clear()
        self._busy(True)
        self._next()

    def _next(self) -> None:
        if not self._queue:
            self._busy(False)
            self.status.setText("Models ready; starting…")
            self.models_ready.emit()
            return
        item = self._queue[0]
        self.progress.setRange(0, 0)
        self.status.setText(f"Downloading {item.name}…")
        self.service.download(
            item, done=self.on_finished, failed=lambda exc: self.on_failed(f"downloading {item.name}", exc)
        )

    def on_progress(self, p: Progress) -> None:
        if self._queue and p.stage == "downloading" and p.total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * p.done / p.total))
            self.progress.setFormat(f"{self._queue[0].name}: {p.done / 1e6:.0f} / {p.total / 1e6:.0f} MB")

    def on_finished(self, _path: Path) -> None:
        if self._queue:
            self._queue.pop(0)
            self._next()

    def on_failed(self, what: str, exc: BaseException) -> None:
        """The queue stops; a cancel says only that, anything else why (app.jobs.describe)."""
        self._queue = []
        self._busy(False)
        self.status.clear()
        if not self.failure.show_failure(what, exc):
            self.status.setText("Download cancelled; it resumes where it stopped next time.")

    # -- a local file ---------------------------------------------------------------------
    def choose_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Choose a GGUF embedding model", str(Path.home()), "GGUF (*.gguf)")
        if name:
            self.use_file(Path(name))

    def use_file(self, path: Path) -> None:
        self.status.setText(f"Checking {path.name}…")
        self.failure.clear()
        self.service.check_file(
            path,
            "embedder",
            done=self.on_file_usable,
            failed=lambda exc: self.on_file_refused(f"checking {path.name}", exc),
        )

    def on_file_usable(self, path: Path) -> None:
        self.service.apply(replace(self.service.settings, embedder=str(path)))  # reloads the models
        self.status.setText("Starting…")

    def on_file_refused(self, what: str, exc: BaseException) -> None:
        self.status.clear()
        self.failure.show_failure(what, exc, "Not usable: ")
