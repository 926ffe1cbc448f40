"""Applying settings while the app runs: the reranker switches on the search lane (so the
next search uses it, no restart), an embedder or device change reloads the models and
re-indexes in the background, model files are checked and downloaded off the GUI thread,
and idle models are released.

Checks and downloads answer through the job API (app.jobs): the caller's ``done`` gets the
model file's path, its ``failed`` the exception object (``Cancelled`` for a cancelled
download, a QuarryError saying why a file is refused or a download failed, anything else a
bug), shown with app.widgets.failure like every other failed job."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from app.jobs import Lanes
from app.services import EngineService, IndexService, SearchService
from indexer import settings as settings_file
from indexer.cancel import CancelToken
from indexer.engine import Engine, EngineOptions
from indexer.errors import QuarryError
from indexer.models.catalogue import CatalogueEntry
from indexer.models.check import CheckReport, check_reranker
from indexer.models.download import download
from indexer.models.endpoints.config import Endpoint
from indexer.models.gguf_info import validate
from indexer.paths import AppPaths
from indexer.settings import Settings

IDLE_CHECK_MS = 60_000


def _identity(endpoint: Endpoint | None) -> str:
    return endpoint.identity if endpoint is not None else ""


class SettingsService(QObject):
    changed = Signal(object)  # Settings
    reranker_changed = Signal(str, str)  # model label for people ("" for none), problem
    download_progress = Signal(object)  # Progress

    def __init__(
        self,
        paths: AppPaths,
        lanes: Lanes,
        engines: EngineService,
        indexing: IndexService,
        searching: SearchService,
    ) -> None:
        super().__init__()
        self.paths, self.lanes = paths, lanes
        self.engines, self.indexing, self.searching = engines, indexing, searching
        loaded = settings_file.load(paths.settings_file)
        self.settings: Settings = loaded.settings
        self.notice = loaded.notice
        self.searching.options = self.settings.search_options()
        self._download_cancel = CancelToken()
        self._reindex: list[Path] = []
        self.engines.ready.connect(self._after_reload)
        self.idle_timer = QTimer(self, interval=IDLE_CHECK_MS)
        self.idle_timer.timeout.connect(self.release_idle)
        self.idle_timer.start()

    @property
    def engine_options(self) -> EngineOptions:
        return EngineOptions.from_settings(self.settings)

    def apply(self, new: Settings, folders: list[Path] | None = None) -> None:
        """Save ``new`` and put it into effect. ``folders`` are re-indexed if the embedder
        changes (the stored vectors no longer fit)."""
        new = new.checked()
        old, self.settings = self.settings, new
        settings_file.save(self.paths.settings_file, new)
        self.searching.options = new.search_options()
        if (old.embedder, old.embedder_endpoint, old.device, old.threads, old.cpu_variant, old.shared_index) != (
            new.embedder,
            new.embedder_endpoint,
            new.device,
            new.threads,
            new.cpu_variant,
            new.shared_index,
        ):
            # Other vectors: another model, or another endpoint (a new key or timeout alone keeps them).
            vectors_change = old.embedder != new.embedder or _identity(old.embedder_endpoint) != _identity(
                new.embedder_endpoint
            )
            self._reindex = list(folders or []) if vectors_change else []
            self.engines.load(self.engine_options)
        else:
            if (old.reranker, old.use_reranker, old.reranker_endpoint) != (
                new.reranker,
                new.use_reranker,
                new.reranker_endpoint,
            ):
                self.lanes.search.submit(self._switch_reranker, new.reranker, new.use_reranker, new.reranker_endpoint)
            if old.rules != new.rules and self.engines.engine is not None:
                # On the index lane, so a run in progress keeps the rules it started with.
                self.lanes.index.submit(setattr, self.engines.engine.indexer, "rules", new.rules)
            if old.ocr != new.ocr and self.engines.engine is not None:
                self.lanes.index.submit(setattr, self.engines.engine.indexer, "ocr", new.ocr)
        self.changed.emit(new)

    def _switch_reranker(self, wanted: str | None, enabled: bool, endpoint: Endpoint | None = None) -> None:
        engine = self.engines.engine
        if engine is None:
            return
        problem = engine.switch_reranker(wanted, enabled, endpoint)
        self.reranker_changed.emit(engine.reranker.label if engine.reranker else "", problem)

    def _after_reload(self, _engine: Engine) -> None:
        if self._reindex:
            folders, self._reindex = self._reindex, []
            self.indexing.run(folders)

    # -- model files ---------------------------------------------------------------
    def check_file(
        self,
        path: Path,
        kind: str,
        done: Callable[[Path], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        """Validate the model file ``path`` as a ``kind`` ('embedder', 'reranker') on the
        models lane; then, on the GUI thread, ``done(path)`` once the engine knows of it, or
        ``failed(exc)``: a QuarryError saying why the file is refused, or a bug."""
        self.lanes.run("models", lambda: self._check(path, kind), done, failed, what=f"checking {path.name}")

    def _check(self, path: Path, kind: str) -> Path:
        try:
            validate(path, kind)
        except OSError as exc:
            raise QuarryError(f"{path.name}: {exc.strerror or exc}") from exc
        self._refresh_models()
        return path

    def check_separation(
        self,
        wanted: str,
        done: Callable[[CheckReport], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        """Load the reranker ``wanted`` (a file name or path) on the models lane and run the
        built-in relevant/irrelevant check (indexer.models.check) on it; then, on the GUI
        thread, ``done(report)`` or ``failed(exc)`` (the model is missing or refused, or a bug)."""

        def work() -> CheckReport:
            engine = self.engines.engine
            if engine is None:
                raise QuarryError("the models are still loading")
            engine.refresh_models()
            reranker = engine.setup.reranker(wanted, bf16_copy=False)
            try:
                return check_reranker(reranker)
            finally:
                reranker.close()

        self.lanes.run("models", work, done, failed, what=f"checking {Path(wanted).name}")

    def download(
        self,
        item: CatalogueEntry,
        done: Callable[[Path], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        """Download ``item`` on the downloads lane (``download_progress`` reports it); then,
        on the GUI thread, ``done(path)`` once the engine knows of the file, or ``failed(exc)``:
        ``Cancelled`` (cancel_download; it resumes next time), a QuarryError (the hub
        cannot be reached, the file is refused…) or a bug."""
        self._download_cancel = cancel = CancelToken()
        what = f"downloading {item.name}"

        def fetch() -> Path:
            endpoint = os.environ.get("HF_ENDPOINT") or None
            return download(item, self.paths.models, self.download_progress.emit, cancel, endpoint=endpoint)

        def fetched(path: Path) -> None:
            def refreshed() -> Path:
                self._refresh_models()
                return path

            # Model files are checked and loaded on the models lane; refresh the list there too.
            self.lanes.run("models", refreshed, done, failed, what=what)

        self.lanes.run("downloads", fetch, fetched, failed, what=what)

    def cancel_download(self) -> None:
        self._download_cancel.cancel()

    def _refresh_models(self) -> None:
        engine = self.engines.engine
        if engine is not None:
            engine.refresh_models()

    # -- memory ----------------------------------------------------------------------
    def release_idle(self) -> None:
        engine, minutes = self.engines.engine, self.settings.idle_unload_min
        if engine is not None and minutes > 0:
            self.lanes.models.submit(engine.release_idle, minutes * 60.0)
