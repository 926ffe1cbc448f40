"""Settings: reranker and embedder (catalogue, local files, add a file, download), retrieval,
hardware, folders and memory. OK saves and applies; nothing here calls llama.cpp or LanceDB
(file checks and downloads go through SettingsService's lanes)."""

from __future__ import annotations

import html
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.settings_service import SettingsService
from app.widgets.endpoints_page import EndpointsPage
from app.widgets.failure import FailureLine
from indexer.engine import Engine
from indexer.models.catalogue import Choice, choices
from indexer.models.check import CheckReport
from indexer.runtime.variants import available_variants
from indexer.settings import Settings
from indexer.types import Progress

DEVICE_LABELS = {"auto": "Auto (GPU when available)", "cpu": "CPU", "gpu": "GPU"}


def _patterns(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.replace(";", ",").split(",") if p.strip())


class ModelPage(QWidget):
    """One model kind: the list of choices, add a file, download the selected one."""

    def __init__(self, kind: str, service: SettingsService, engine: Engine | None, current: str | None) -> None:
        super().__init__()
        self.kind, self.service, self.engine = kind, service, engine
        self.extra: list[Path] = [Path(current)] if current and Path(current).is_absolute() else []
        self.enabled = QCheckBox("Rerank results with a cross-encoder")
        self.list = QListWidget()
        self.add_button = QPushButton("Add model file…")
        self.download_button = QPushButton("Download")
        self.cancel_button = QPushButton("Cancel download")
        self.progress = QProgressBar()
        self.problem = FailureLine()
        """Why a file was not added or a download failed (app.jobs.describe's rules)."""
        layout = QVBoxLayout(self)
        if kind == "reranker":
            layout.addWidget(self.enabled)
        else:
            note = QLabel("Changing the embedding model re-indexes your folders in the background.")
            note.setWordWrap(True)
            layout.addWidget(note)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.problem)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        buttons.addWidget(self.progress)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.download_button)
        layout.addLayout(buttons)
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.add_button.clicked.connect(self.choose_file)
        self.download_button.clicked.connect(self.download_selected)
        self.cancel_button.clicked.connect(service.cancel_download)
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        service.download_progress.connect(self.on_download_progress)
        self.downloading = False
        self.fill(current)

    # -- the list ------------------------------------------------------------------
    def choices(self) -> list[Choice]:
        local = list(self.engine.models) if self.engine else []
        found = choices(self.kind, local)
        known = {c.path.resolve() for c in found if c.path}
        for path in self.extra:
            if path.resolve() not in known:
                found.append(
                    Choice(path.name, self.kind, path, None, path.stat().st_size / 1e6, "added file", "", "", "")
                )
        return found

    def fill(self, current: str | None) -> None:
        self.list.clear()
        selected = None
        for choice in self.choices():
            item = QListWidgetItem(choice.label)
            item.setData(Qt.ItemDataRole.UserRole, choice)
            tip = [choice.architecture]
            if choice.entry and choice.entry.notes:
                tip.append(choice.entry.notes)
            if choice.path:
                tip.append(str(choice.path))
            if choice.problem:
                item.setText(f"{choice.name} — unusable: {choice.problem}")
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                tip.append(choice.problem)
            item.setToolTip("\n".join(html.escape(t) for t in tip if t))
            self.list.addItem(item)
            if current and choice.path and current in (choice.path.name, choice.path.stem, str(choice.path)):
                selected = item
            elif current and choice.entry and current == choice.entry.name:
                selected = item
        if selected is None and self.engine is not None:
            active = self.engine.reranker if self.kind == "reranker" else self.engine.embedder
            for row in range(self.list.count()):
                choice = self.list.item(row).data(Qt.ItemDataRole.UserRole)
                if (
                    active is not None
                    and active.path
                    and choice.path
                    and choice.path.resolve() == active.path.resolve()
                ):
                    selected = self.list.item(row)
        if selected is not None:
            self.list.setCurrentItem(selected)
        self._initial = (current, self.selected())
        self._update_buttons()

    def selected(self) -> Choice | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def selected_value(self) -> str | None:
        """What the settings store: the file name for models in the model folders, the full
        path for a file added from elsewhere, None when nothing on disk is chosen."""
        choice = self.selected()
        initial_value, initial_choice = self._initial
        if choice is None or choice.path is None or choice == initial_choice:
            return initial_value
        return str(choice.path) if choice.path in self.extra else choice.path.name

    def _update_buttons(self) -> None:
        choice = self.selected()
        self.download_button.setEnabled(bool(choice and not choice.on_disk and choice.entry))

    # -- adding a file ---------------------------------------------------------------
    def choose_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, f"Add a {self.kind} model", str(Path.home()), "GGUF models (*.gguf)"
        )
        if name:
            self.add_file(Path(name))

    def add_file(self, path: Path) -> None:
        """Check ``path`` as a model of this page's kind (off the GUI thread); a usable one is
        added to the list and selected, a refused one says why in ``problem``."""
        self.problem.clear()
        self.service.check_file(
            path,
            self.kind,
            done=self.on_file_added,
            failed=lambda exc: self.problem.show_failure(f"checking {path.name}", exc, "Not added: "),
        )

    def on_file_added(self, path: Path) -> None:
        self.extra.append(path)
        self.fill(str(path))

    # -- downloading -------------------------------------------------------------------
    def download_selected(self) -> None:
        choice = self.selected()
        if choice is None or choice.entry is None:
            return
        self.problem.clear()
        self.download_button.setEnabled(False)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.downloading = True
        name = choice.entry.name
        self.service.download(
            choice.entry,
            done=self.on_download_finished,
            failed=lambda exc: self.on_download_failed(f"downloading {name}", exc),
        )

    def on_download_progress(self, p: Progress) -> None:
        if self.downloading and p.stage == "downloading" and p.total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * p.done / p.total))
            self.progress.setFormat(f"{p.done / 1e6:.0f} / {p.total / 1e6:.0f} MB")

    def _download_over(self) -> None:
        self.downloading = False
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)

    def on_download_finished(self, path: Path) -> None:
        self._download_over()
        self.fill(path.name)

    def on_download_failed(self, what: str, exc: BaseException) -> None:
        """Cancelled: nothing more to say (the download resumes next time); otherwise why."""
        self._download_over()
        self.problem.show_failure(what, exc)
        self._update_buttons()


class SettingsDialog(QDialog):
    def __init__(
        self, service: SettingsService, engine: Engine | None, folders: list[str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Quarry settings")
        self.service = service
        self.folder_paths = folders
        current = service.settings
        self.rerankers = ModelPage("reranker", service, engine, current.reranker)
        self.rerankers.enabled.setChecked(current.use_reranker)
        self.embedders = ModelPage("embedder", service, engine, current.embedder)
        self._confirmed_reranker: str | None = None
        """A reranker that failed the relevance check and was chosen again on purpose."""
        self.checking = False
        """A reranker check is running (OK waits for it)."""

        retrieval = QWidget()
        form = QFormLayout(retrieval)
        self.candidates = QSpinBox(minimum=1, maximum=1000, value=current.candidates)
        self.results = QSpinBox(minimum=1, maximum=200, value=current.results)
        self.min_score = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, decimals=2, value=current.min_score)
        self.deadline = QDoubleSpinBox(minimum=0.1, maximum=60.0, singleStep=0.5, decimals=1, value=current.deadline_s)
        form.addRow("Candidates to rerank (first stage)", self.candidates)
        form.addRow("Results to show", self.results)
        form.addRow("Strong match from score (0–1)", self.min_score)
        form.addRow("Rerank deadline (seconds)", self.deadline)

        hardware = QWidget()
        form = QFormLayout(hardware)
        self.device = QComboBox()
        for key, label in DEVICE_LABELS.items():
            self.device.addItem(label, key)
        self.device.setCurrentIndex(list(DEVICE_LABELS).index(current.device))
        self.threads = QSpinBox(minimum=0, maximum=256, value=current.threads or 0, specialValueText="Automatic")
        self.idle = QSpinBox(minimum=0, maximum=1440, value=current.idle_unload_min, specialValueText="Never")
        self.idle.setSuffix(" min")
        self.cpu_variant = QComboBox()
        self.cpu_variant.addItem("Automatic (proven on this CPU)", "")
        for name in available_variants():
            self.cpu_variant.addItem(name, name)
        self.cpu_variant.setCurrentIndex(max(0, self.cpu_variant.findData(current.cpu_variant)))
        self.cpu_variant.setToolTip(
            "The llama.cpp build for your processor's instruction set; force one only to work around a problem."
        )
        form.addRow("Run models on", self.device)
        form.addRow("CPU threads", self.threads)
        form.addRow("llama.cpp CPU variant", self.cpu_variant)
        form.addRow("Release idle models after", self.idle)
        built = QLabel(self._hardware_text(engine))
        built.setWordWrap(True)
        built.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("llama.cpp", built)

        folders_page = QWidget()
        form = QFormLayout(folders_page)
        self.folder_list = QListWidget()
        self.folder_list.addItems(folders)
        self.include = QLineEdit(", ".join(current.include))
        self.include.setPlaceholderText("all supported files, e.g. *.pdf, *.md")
        self.exclude = QLineEdit(", ".join(current.exclude))
        self.exclude.setPlaceholderText("e.g. drafts/, *.log, old/**/*.pdf (.gitignore rules)")
        form.addRow("Indexed folders", self.folder_list)
        form.addRow("Include only", self.include)
        form.addRow("Leave out", self.exclude)
        self.ocr = QCheckBox("Read scanned pages and images (OCR, on this computer)")
        self.ocr.setChecked(current.ocr)
        form.addRow("", self.ocr)
        self.shared_index = QLineEdit(current.shared_index)
        self.shared_index.setPlaceholderText("s3://BUCKET/PREFIX — empty: the index on this computer")
        self.shared_index.setToolTip(
            "A team's index in an S3 bucket, searched instead of the local one. Credentials come from "
            "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and AWS_ENDPOINT_URL, never from here. "
            "`quarry --index URL index FOLDER` writes it."
        )
        form.addRow("Shared index", self.shared_index)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.rerankers, "Reranker")
        self.tabs.addTab(self.embedders, "Embedding model")
        self.tabs.addTab(retrieval, "Retrieval")
        self.tabs.addTab(hardware, "Hardware")
        self.tabs.addTab(folders_page, "Folders")
        self.endpoints = EndpointsPage(current.reranker_endpoint, current.embedder_endpoint)
        self.tabs.addTab(self.endpoints, "Remote endpoints")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)
        self.resize(940, 520)

    @staticmethod
    def _hardware_text(engine: Engine | None) -> str:
        if engine is None:
            return "models not loaded yet"
        hw = engine.hardware
        devices = "; ".join(f"{d.description} ({d.kind})" for d in hw.devices) or "none reported"
        return (
            f"built with {', '.join(hw.backends)}; devices: {devices}; now using {engine.device_label}; "
            f"CPU: {hw.cpu_model}, variant {engine.cpu_variant}"
        )

    def choose_preset(self, preset: str) -> None:
        """Select the catalogue's models of ``preset`` (e.g. 'multilingual') on both model
        pages and show the embedding-model page; OK then downloads what is not on disk yet."""
        for page in (self.embedders, self.rerankers):
            for row in range(page.list.count()):
                choice = page.list.item(row).data(Qt.ItemDataRole.UserRole)
                if choice.entry is not None and preset in choice.entry.presets:
                    page.list.setCurrentRow(row)
                    break
        self.rerankers.enabled.setChecked(True)
        self.tabs.setCurrentWidget(self.embedders)

    def chosen(self) -> Settings:
        """The settings as filled in; ValueError says what is unusable (an endpoint's URL…)."""
        return replace(
            self.service.settings,
            reranker=self.rerankers.selected_value(),
            use_reranker=self.rerankers.enabled.isChecked(),
            embedder=self.embedders.selected_value(),
            candidates=self.candidates.value(),
            results=self.results.value(),
            min_score=round(self.min_score.value(), 2),
            deadline_s=round(self.deadline.value(), 1),
            device=str(self.device.currentData()),
            threads=self.threads.value() or None,
            cpu_variant=str(self.cpu_variant.currentData()),
            idle_unload_min=self.idle.value(),
            include=_patterns(self.include.text()),
            exclude=_patterns(self.exclude.text()),
            reranker_endpoint=self.endpoints.reranker.endpoint(),
            embedder_endpoint=self.endpoints.embedder.endpoint(),
            ocr=self.ocr.isChecked(),
            shared_index=self.shared_index.text().strip(),
        ).checked()

    def accept(self) -> None:
        """OK: a chosen model that is not downloaded starts its download (the dialog stays
        open); a newly chosen reranker is checked first (indexer.models.check) and one that
        does not separate relevant from irrelevant passages is used only after a second OK."""
        try:
            chosen = self.chosen()
        except ValueError as exc:  # the dialog stays open on the page that says why
            self.endpoints.show_problem(str(exc))
            self.tabs.setCurrentWidget(self.endpoints)
            return
        for page in (self.rerankers, self.embedders):
            choice = page.selected()
            if choice is not None and not choice.on_disk and choice.entry is not None and (page is self.embedders or page.enabled.isChecked()):
                self.tabs.setCurrentWidget(page)
                if not page.downloading:
                    page.download_selected()
                page.problem.show_text(
                    f"{choice.entry.name} is not downloaded yet: it is downloading now. Press OK when it is done."
                )
                return
        wanted = chosen.reranker
        if (
            chosen.use_reranker
            and chosen.reranker_endpoint is None
            and wanted
            and wanted != self.service.settings.reranker
            and wanted != self._confirmed_reranker
        ):
            self.rerankers.problem.show_text(f"Checking {Path(wanted).name} on relevant and irrelevant passages…")
            self.checking = True
            self.service.check_separation(wanted, lambda report: self._checked(wanted, report), self._check_failed)
            return
        self.service.apply(chosen, [Path(f) for f in self.folder_paths])
        super().accept()

    def _checked(self, wanted: str, report: CheckReport) -> None:
        self.checking = False
        if report.passed:
            self._confirmed_reranker = wanted
            self.accept()
            return
        self._confirmed_reranker = wanted  # a second OK uses it on purpose
        self.tabs.setCurrentWidget(self.rerankers)
        self.rerankers.problem.show_text(
            f"Warning: {Path(wanted).name} does not separate relevant from irrelevant passages "
            f"({report.summary()}); its order would be close to random. Press OK again to use it anyway."
        )

    def _check_failed(self, exc: BaseException) -> None:
        self.checking = False
        self.tabs.setCurrentWidget(self.rerankers)
        self.rerankers.problem.show_failure("checking the reranker", exc, "Not used: ")
