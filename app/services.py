"""Qt services around the indexer: each wraps indexer calls into lane jobs (app.jobs). Events
several parts of the window follow (models ready, indexing progress and its end, the two
phases of a search) are signals; a one-off request (a hit's neighbours, the skipped files)
answers its own callback; a failure arrives as the exception object. The GUI thread never
calls llama.cpp, LanceDB or pypdf; these do, on lanes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.jobs import Lanes
from indexer.cancel import CancelToken
from indexer.engine import Engine, EngineOptions
from indexer.errors import Cancelled, QuarryError
from indexer.ingest.watch import FolderWatcher
from indexer.paths import AppPaths
from indexer.search.searcher import SearchOptions
from indexer.store.lance import StoredChunk
from indexer.types import Hit, IndexReport, Progress, SearchResult

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.1
"""Progress reaches the GUI at most ten times a second."""


class EngineService(QObject):
    """Loads (and reloads) the models and the store on the models lane."""

    ready = Signal(object)  # Engine
    failed = Signal(object)  # the exception: ModelMissing, ModelInvalid, or what else broke

    def __init__(self, paths: AppPaths, lanes: Lanes) -> None:
        super().__init__()
        self.paths = paths
        self.lanes = lanes
        self.engine: Engine | None = None

    def load(self, options: EngineOptions) -> None:
        self.lanes.run(
            "models",
            lambda: self._load(options),
            done=self.ready.emit,
            failed=self.failed.emit,
            what="loading the models",
        )

    def _load(self, options: EngineOptions) -> Engine:
        engine = Engine(self.paths, options)
        old, self.engine = self.engine, engine
        if old is not None:
            old.close()
        return engine


class IndexService(QObject):
    started = Signal(list)  # paths
    progress = Signal(object)  # Progress
    finished = Signal(object)  # IndexReport
    failed = Signal(object)  # the exception that ended the run
    # {"folders": {root: (documents, chunks)}, "documents", "chunks", "skipped", "passages": PassageCounts}
    stats = Signal(dict)
    folders_changed = Signal(list)  # roots with changes on disk (from the watcher's thread)
    checked = Signal(str)  # what the reranker self-check found, in words

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
        self.failed.connect(lambda _exc: self._run_waiting())

    def run(self, paths: list[Path]) -> None:
        engine = self.engines.engine
        if engine is None:
            self.failed.emit(QuarryError("the models are still loading; try again in a moment"))
            return
        self._cancel = cancel = CancelToken()
        self.running = True
        self.started.emit(paths)
        if self.watcher is not None:
            for path in paths:
                if Path(path).is_dir():
                    self.watcher.add(Path(path))
        self.lanes.run(
            "index",
            lambda: self._run(engine, paths, cancel),
            done=self._finished,
            failed=self._failed,
            what="indexing",
        )

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

    def _run(self, engine: Engine, paths: list[Path], cancel: CancelToken) -> IndexReport:
        last: list[object] = [0.0, ""]

        def on_progress(p: Progress) -> None:
            now = time.monotonic()
            same_stage = p.stage == last[1]
            if same_stage and p.done < p.total and now - float(last[0]) < PROGRESS_INTERVAL_S:  # type: ignore[arg-type]
                return
            last[0], last[1] = now, p.stage
            self.progress.emit(p)

        with engine.store.write_lease():  # one index run at a time on an index, in any process
            report = engine.indexer.run(paths, cancel, on_progress)
        if not report.cancelled:
            self._check_reranker(engine, cancel)
        return report

    def _check_reranker(self, engine: Engine, cancel: CancelToken) -> None:
        """The reranker self-check after an index run (indexer.search.selfcheck), on the index
        lane: a search stops its rerank and goes first. Skipped while its finding is current;
        a cancel or a close keeps what it measured, and the next run resumes it."""
        try:
            finding = engine.check_reranker(cancel, lambda done, total: self.progress.emit(
                Progress("checking", done, total, "", done, total, "checking the reranker")
            ))
        except Cancelled:
            return
        except QuarryError as exc:  # a reranker that fails is reported by searching; not here
            log.warning("reranker self-check stopped: %s", exc)
            return
        if finding is not None:
            self.checked.emit(finding.describe())

    def _finished(self, report: IndexReport) -> None:
        self.running = False
        self.finished.emit(report)

    def _failed(self, exc: BaseException) -> None:
        self.running = False
        self.failed.emit(exc)

    def refresh(self) -> None:
        """Read folder and index counts and emit ``stats``. Reads run on the search lane, so
        they answer (from the last consistent state) while the index lane writes."""
        engine = self.engines.engine
        if engine is not None:
            self.lanes.run("search", lambda: self._stats(engine), done=self.stats.emit, what="counting documents")

    @staticmethod
    def _stats(engine: Engine) -> dict:
        docs = list(engine.store.all_documents().values())
        return {
            "folders": engine.store.folder_counts(docs),
            "documents": sum(1 for d in docs if d.ok),
            "chunks": sum(d.chunks for d in docs if d.ok),
            "skipped": sum(1 for d in docs if not d.ok),
            "passages": engine.store.passage_counts(),
            "advice": engine.language_advice(),
        }

    def list_skipped(self, done: Callable[[list[tuple[str, str]]], None]) -> None:
        """Read the skipped files and their reasons (on the search lane); ``done([(path, reason)])``."""
        engine = self.engines.engine
        if engine is not None:
            self.lanes.run(
                "search",
                lambda: sorted((d.path, d.reason) for d in engine.store.all_documents().values() if not d.ok),
                done=done,
                what="listing the skipped files",
            )

    def remove_folder(self, folder: Path) -> None:
        engine = self.engines.engine
        if engine is None:
            return

        if self.watcher is not None:
            self.watcher.remove(folder)

        def work() -> IndexReport:
            engine.store.remove_root(folder)
            engine.store.optimize()
            return IndexReport(removed=[folder])

        self.lanes.run("index", work, done=self.finished.emit, what=f"removing {folder}")


class SearchService(QObject):
    """Two phases per query: first-stage results at once, then the reranked order."""

    first_stage = Signal(int, object)  # generation, SearchResult
    reranked = Signal(int, object)
    failed = Signal(int, object)  # generation, the exception

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
        self._cancel = cancel = CancelToken()
        self.generation += 1
        generation, options = self.generation, self.options
        self.lanes.run(
            "search",
            lambda: self._run(generation, query, cancel, options),
            failed=lambda exc: self.failed.emit(generation, exc),
            what="searching",
        )
        return self.generation

    def details(self, hit: Hit, done: Callable[[Hit, list[StoredChunk]], None]) -> None:
        """Fetch the passages around a hit for the details pane: ``done(hit, [StoredChunk])``
        gets the passage and its neighbours in document order."""
        engine = self.engines.engine
        if engine is not None:
            ordinal = hit.ordinal
            self.lanes.run(
                "search",
                lambda: engine.store.chunks_of(hit.doc_id, range(max(0, ordinal - 1), ordinal + 2)),
                done=lambda chunks: done(hit, chunks),
                what="reading the passage",
            )

    def _run(self, generation: int, query: str, cancel: CancelToken, options: SearchOptions) -> None:
        engine = self.engines.engine
        if cancel.cancelled:
            return
        if engine is None:
            raise QuarryError("the models are still loading")
        query = query.strip()
        if not query:
            return  # an empty query only cancels what was in flight
        shown: list[SearchResult] = []

        def first_stage_ready(first: SearchResult) -> None:
            shown.append(first)
            self.first_stage.emit(generation, first)

        # The same entry point as `quarry search`; the first stage is shown while reranking.
        final = engine.searcher.search(query, options, cancel, first_stage_ready)
        if cancel.cancelled:
            raise Cancelled("a newer search replaced this one")
        if not shown:  # reranking off: the first stage is the result
            self.first_stage.emit(generation, final)
        elif final is not shown[0]:
            self.reranked.emit(generation, final)
            if not final.complete:
                # The deadline cut the rerank: the list shown keeps the unscored candidates in
                # their first-stage places; finish it now (scores already made come from the
                # cache) and refine the list once more, unless a newer search came.
                rest = engine.searcher.search(query, replace(options, deadline_s=None), cancel)
                if cancel.cancelled:
                    raise Cancelled("a newer search replaced this one")
                self.reranked.emit(generation, rest)
