"""Qt services around the indexer: each wraps indexer calls into lane jobs and reports
through signals. The GUI thread never calls llama.cpp, LanceDB or pypdf; these do, on lanes."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.jobs import Lanes, failure_message
from indexer.cancel import CancelToken
from indexer.engine import Engine, EngineOptions
from indexer.errors import Cancelled
from indexer.paths import AppPaths
from indexer.search import SearchOptions
from indexer.types import Hit, IndexReport, Progress
from indexer.watch import FolderWatcher

PROGRESS_INTERVAL_S = 0.1
"""Progress reaches the GUI at most ten times a second."""


class EngineService(QObject):
    """Loads (and reloads) the models and the store on the models lane."""

    ready = Signal(object)  # Engine
    failed = Signal(str)

    def __init__(self, paths: AppPaths, lanes: Lanes) -> None:
        super().__init__()
        self.paths = paths
        self.lanes = lanes
        self.engine: Engine | None = None

    def load(self, options: EngineOptions) -> None:
        self.lanes.models.submit(self._load, options)

    def _load(self, options: EngineOptions) -> None:
        try:
            engine = Engine(self.paths, options)
        except Exception as exc:  # noqa: BLE001 - failure_message logs it
            self.failed.emit(failure_message(exc, "loading models"))
            return
        old, self.engine = self.engine, engine
        if old is not None:
            old.close()
        self.ready.emit(engine)


class IndexService(QObject):
    started = Signal(list)  # paths
    progress = Signal(object)  # Progress
    finished = Signal(object)  # IndexReport
    failed = Signal(str)
    # {"folders": {root: (documents, chunks)}, "documents", "chunks", "skipped", "passages": PassageCounts}
    stats = Signal(dict)
    folders_changed = Signal(list)  # roots with changes on disk (from the watcher's thread)
    skipped_ready = Signal(list)  # [(path, reason)] of the files indexing skipped

    def __init__(self, engines: EngineService, lanes: Lanes) -> None:
        super().__init__()
        self.engines = engines
        self.lanes = lanes
        self._cancel = CancelToken()
        self.running = False
        self.watcher: FolderWatcher | None = None
        self._waiting: set[Path] = set()
        self.folders_changed.connect(self._on_folders_changed)
        self.finished.connect(lambda _report: self._run_waiting())
        self.failed.connect(lambda _message: self._run_waiting())

    def run(self, paths: list[Path]) -> None:
        engine = self.engines.engine
        if engine is None:
            self.failed.emit("the models are still loading; try again in a moment")
            return
        self._cancel = CancelToken()
        self.running = True
        self.started.emit(paths)
        if self.watcher is not None:
            for path in paths:
                if Path(path).is_dir():
                    self.watcher.add(Path(path))
        self.lanes.index.submit(self._run, engine, paths, self._cancel)

    # -- live folders -------------------------------------------------------------------
    def watch(self, engine: Engine) -> None:
        """Follow the indexed folders: changes on disk are indexed within seconds."""
        self.stop_watching()
        roots = [Path(r) for r in engine.store.roots if Path(r).is_dir()]
        self.watcher = FolderWatcher(roots, self.folders_changed.emit).start()

    def stop_watching(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    def queue(self, roots: list[Path]) -> None:
        """Index these after the run in progress (or now, if none is)."""
        self._waiting.update(roots)
        if not self.running:
            self._run_waiting()

    def _on_folders_changed(self, roots: list[Path]) -> None:
        self.queue(roots)

    def _run_waiting(self) -> None:
        if self._waiting and not self.running and self.engines.engine is not None:
            roots, self._waiting = sorted(self._waiting), set()
            self.run(roots)

    def cancel(self) -> None:
        self._cancel.cancel()

    def _run(self, engine: Engine, paths: list[Path], cancel: CancelToken) -> None:
        last: list[object] = [0.0, ""]

        def on_progress(p: Progress) -> None:
            now = time.monotonic()
            same_stage = p.stage == last[1]
            if same_stage and p.done < p.total and now - float(last[0]) < PROGRESS_INTERVAL_S:  # type: ignore[arg-type]
                return
            last[0], last[1] = now, p.stage
            self.progress.emit(p)

        try:
            report: IndexReport = engine.indexer.run(paths, cancel, on_progress)
        except Exception as exc:  # noqa: BLE001 - failure_message logs it
            self.running = False
            self.failed.emit(failure_message(exc, "indexing"))
            return
        self.running = False
        self.finished.emit(report)

    def refresh(self) -> None:
        """Read folder and index counts and emit ``stats``. Reads run on the search lane, so
        they answer (from the last consistent state) while the index lane writes."""
        engine = self.engines.engine
        if engine is not None:
            self.lanes.search.submit(self._stats, engine)

    def _stats(self, engine: Engine) -> None:
        docs = list(engine.store.all_documents().values())
        folders = engine.store.folder_counts(docs)
        self.stats.emit(
            {
                "folders": folders,
                "documents": sum(1 for d in docs if d.ok),
                "chunks": sum(d.chunks for d in docs if d.ok),
                "skipped": sum(1 for d in docs if not d.ok),
                "passages": engine.store.passage_counts(),
            }
        )

    def list_skipped(self) -> None:
        """Read the skipped files and their reasons (on the search lane): ``skipped_ready``."""
        engine = self.engines.engine
        if engine is not None:
            self.lanes.search.submit(
                lambda: self.skipped_ready.emit(
                    sorted((d.path, d.reason) for d in engine.store.all_documents().values() if not d.ok)
                )
            )

    def remove_folder(self, folder: Path) -> None:
        engine = self.engines.engine
        if engine is None:
            return

        if self.watcher is not None:
            self.watcher.remove(folder)

        def work() -> None:
            engine.store.remove_root(folder)
            engine.store.optimize()
            self.finished.emit(IndexReport(removed=[folder]))

        self.lanes.index.submit(work)


class SearchService(QObject):
    """Two phases per query: first-stage results at once, then the reranked order."""

    first_stage = Signal(int, object)  # generation, SearchResult
    reranked = Signal(int, object)
    failed = Signal(int, str)
    details_ready = Signal(object, list)  # Hit, [StoredChunk] of the passage and its neighbours

    def __init__(self, engines: EngineService, lanes: Lanes) -> None:
        super().__init__()
        self.engines = engines
        self.lanes = lanes
        self.generation = 0
        self._cancel = CancelToken()
        self.options = SearchOptions(deadline_s=2.0)

    def search(self, query: str) -> int:
        """Start a search; returns its generation. Any search in flight is cancelled."""
        self._cancel.cancel()
        self._cancel = CancelToken()
        self.generation += 1
        self.lanes.search.submit(self._run, self.generation, query, self._cancel, self.options)
        return self.generation

    def details(self, hit: Hit) -> None:
        """Fetch the passages around a hit for the details pane."""
        engine = self.engines.engine
        if engine is not None:
            self.lanes.search.submit(self._details, engine, hit)

    def _details(self, engine: Engine, hit: Hit) -> None:
        ordinal = int(hit.chunk_id.rsplit("-", 1)[-1])
        chunks = engine.store.chunks_of(hit.doc_id, range(max(0, ordinal - 1), ordinal + 2))
        self.details_ready.emit(hit, chunks)

    def _run(self, generation: int, query: str, cancel: CancelToken, options: SearchOptions) -> None:
        engine = self.engines.engine
        if cancel.cancelled:
            return
        if engine is None:
            self.failed.emit(generation, "the models are still loading")
            return
        query = query.strip()
        if not query:
            return  # an empty query only cancels what was in flight
        try:
            started = time.perf_counter()
            searcher = engine.searcher
            found, timings = searcher.first_stage(query, max(options.candidates, options.k), options.mode)
            first = searcher.finish(query, found, timings, replace(options, rerank=False), cancel, started)
            if cancel.cancelled:
                return
            self.first_stage.emit(generation, first)
            if options.rerank and first.hits:
                final = searcher.finish(query, found, timings, options, cancel, started)
                if not cancel.cancelled:
                    self.reranked.emit(generation, final)
        except Cancelled:
            return
        except Exception as exc:  # noqa: BLE001 - failure_message logs it
            self.failed.emit(generation, failure_message(exc, "search"))
