"""Engine: the parts Quarry needs, built once from paths and choices. The CLI and the GUI's
composition root both use it; nothing here is global."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from indexer.cancel import NEVER, CancelToken
from indexer.constants import PAGE_OUT_IDLE_S
from indexer.errors import QuarryError
from indexer.ingest.pipeline import Indexer
from indexer.ingest.scan import ScanRules
from indexer.malloc import page_out_native_code, release_free_memory
from indexer.models.embedding import Embedder
from indexer.models.endpoints.config import Endpoint
from indexer.models.endpoints.embed import EndpointEmbedder
from indexer.models.endpoints.rerank import EndpointReranker
from indexer.models.files import LocalModel
from indexer.models.rerank import Reranker
from indexer.models.setup import ModelSetup
from indexer.paths import AppPaths
from indexer.runtime.hardware import Hardware, Placement
from indexer.runtime.supervisor import InferenceWorker
from indexer.search import selfcheck
from indexer.search.searcher import GUARD_POWER, Searcher
from indexer.settings import Settings
from indexer.store.lance import Store
from indexer.store.location import Location

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EngineOptions:
    embedder: str | None = None
    reranker: str | None = None
    use_reranker: bool = True
    device: str = "auto"
    threads: int | None = None
    rules: ScanRules = field(default_factory=ScanRules)
    reset_on_mismatch: bool = True
    cpu_variant: str | None = None
    """A llama.cpp CPU variant to force (indexer.runtime.variants); None: a proven one."""
    reranker_endpoint: Endpoint | None = None
    """A remote reranker in place of the local one (indexer.models.endpoints)."""
    embedder_endpoint: Endpoint | None = None
    """A remote embeddings endpoint in place of the local embedder."""
    ocr: bool = True
    """Recognise scanned pages and images while indexing (indexer.ingest.ocr)."""
    index: str = ""
    """Where the index is: '' for the paths' own folder, another folder, or s3://BUCKET/PREFIX
    (a shared index, indexer.store.location)."""
    writer: bool = True
    """Open a shared index to write it (takes the writer's lease until close); False: read only.
    A local index is always writable; its index runs take its lock (Store.write_lease)."""

    @classmethod
    def from_settings(cls, chosen: Settings) -> EngineOptions:
        return cls(
            embedder=chosen.embedder,
            reranker=chosen.reranker,
            use_reranker=chosen.use_reranker,
            device=chosen.device,
            threads=chosen.threads,
            rules=chosen.rules,
            cpu_variant=chosen.cpu_variant or None,
            reranker_endpoint=chosen.reranker_endpoint,
            embedder_endpoint=chosen.embedder_endpoint,
            ocr=chosen.ocr,
            index=chosen.shared_index,
            # The window reads a shared index; `quarry index` on the command line writes it.
            writer=not chosen.shared_index,
        )


class Engine:
    """Everything a search app needs, built from ``paths`` and ``options``: the models
    (through :class:`~indexer.models.setup.ModelSetup`), the store, the indexer and the
    searcher. Starts an inference worker; :meth:`close` ends it. Raises QuarryError when
    the embedder is missing or refused, or the index cannot be opened; a reranker that
    cannot load leaves ``reranker`` None and says why in ``reranker_problem``."""

    def __init__(self, paths: AppPaths, options: EngineOptions = EngineOptions()) -> None:
        paths = paths.with_index(options.index)
        self.paths = paths.ensure()
        self.options = options
        self.setup = ModelSetup(paths, options.device, options.threads, options.cpu_variant)
        self._paged_out_at: float | None = None
        try:
            self._build(paths, options)
        except BaseException:
            if hasattr(self, "store"):
                self.store.close()
            self.setup.close()
            raise

    def _build(self, paths: AppPaths, options: EngineOptions) -> None:
        self.embedder: Embedder | EndpointEmbedder
        if options.embedder_endpoint is not None:
            self.embedder = EndpointEmbedder(options.embedder_endpoint)
        else:
            self.embedder = self.setup.embedder(options.embedder)
        self.store = Store(
            paths.index,
            self.embedder.dimension,
            self.embedder.fingerprint,
            reset_on_mismatch=options.reset_on_mismatch,
            location=Location.of(paths.index_location, paths.index),
            writer=options.writer,
        )
        reranker: Reranker | EndpointReranker | None = None
        problem = ""
        if options.use_reranker:
            reranker, problem = self._load_reranker(options.reranker, options.reranker_endpoint)
        self.indexer = Indexer(self.store, self.embedder, options.rules, ocr=options.ocr)
        self.searcher = Searcher(self.store, self.embedder, reranker, problem, notices=self.worker.take_notices)
        self.searcher.priority = self.indexer.priority  # a rerank goes before the next embedding batch

    @property
    def models(self) -> list[LocalModel]:
        """The model files found in the model folders (as of the last refresh)."""
        return self.setup.models

    @property
    def worker(self) -> InferenceWorker:
        """The inference worker that runs the local models (ModelSetup's)."""
        return self.setup.worker

    @property
    def hardware(self) -> Hardware:
        return self.setup.hardware

    @property
    def placement(self) -> Placement:
        """Where local models run: device and threads (ModelSetup's)."""
        return self.setup.placement

    def refresh_models(self) -> list[LocalModel]:
        """Look through the model folders again (after a download or an added file)."""
        return self.setup.refresh()

    def switch_reranker(self, wanted: str | None, enabled: bool = True, endpoint: Endpoint | None = None) -> str:
        """Use another reranker (or none) from the next search on; returns the problem, if
        any. A model that fails to load is reported once and not retried on every search.
        ``endpoint``: a remote reranker, used instead of ``wanted``."""
        self.refresh_models()
        new, problem = self._load_reranker(wanted, endpoint) if enabled else (None, "reranking is off in the settings")
        old = self.reranker
        self.searcher.reranker, self.searcher.reranker_problem = new, problem
        if old is not None:
            old.close()
        return problem

    @property
    def reranker(self) -> Reranker | EndpointReranker | None:
        """The searcher's reranker: one place holds it, so a switch cannot leave two."""
        return self.searcher.reranker

    @property
    def reranker_problem(self) -> str:
        return self.searcher.reranker_problem

    def check_reranker(
        self, cancel: CancelToken = NEVER, progress: Callable[[int, int], None] | None = None
    ) -> selfcheck.Finding | None:
        """Measure the reranker on this collection (indexer.search.selfcheck), or resume a check
        a kill or a cancel left, and use its finding from the next search on. None without a
        reranker or with nothing embedded yet. Background work: a search starting stops its
        rerank, which is then done again. Raises Cancelled (the work so far is kept)."""
        if self.reranker is None or self.store.passage_counts().vectors == 0:
            return None
        finding = selfcheck.run(
            self.searcher,
            self.store.folder,
            self.searcher.reranker_id,
            self.embedder.fingerprint,
            GUARD_POWER,
            cancel,
            progress,
        )
        self.searcher.reload_finding()
        return finding

    def release_idle(self, idle_s: float) -> list[str]:
        """Free the memory of models unused for ``idle_s`` seconds (they reload on next use),
        and hand what this process's malloc holds free back to the system."""
        released = []
        for part in (self.embedder, self.reranker):
            if part is not None and part.release_if_idle(idle_s):
                released.append(part.path.name)
        release_free_memory()
        self.page_out_if_idle()
        return released

    page_out_idle_s: float = PAGE_OUT_IDLE_S
    """Idle seconds before ``page_out_if_idle`` acts (benchmarks shorten it)."""

    def page_out_if_idle(self, idle_s: float | None = None) -> bool:
        """After ``idle_s`` seconds (default ``page_out_idle_s``) with no search and no index
        run, hand the large native libraries' resident pages back to the kernel, once per
        idle spell. Returns whether it did."""
        idle_s = self.page_out_idle_s if idle_s is None else idle_s
        searches, runs = self.searcher.activity, self.indexer.activity
        spell_began = max(searches.ended, runs.ended)
        now = time.monotonic()
        if searches.busy or runs.busy or now - spell_began < idle_s:
            return False
        if self._paged_out_at is not None and self._paged_out_at >= spell_began:
            return False  # done already in this idle spell
        self._paged_out_at = now
        return page_out_native_code() > 0

    def _load_reranker(
        self, wanted: str | None, endpoint: Endpoint | None = None
    ) -> tuple[Reranker | EndpointReranker | None, str]:
        if endpoint is not None:
            return EndpointReranker(endpoint), ""
        try:
            return self.setup.reranker(wanted), ""
        except QuarryError as exc:
            log.warning("reranker unavailable: %s", exc)
            return None, f"reranker unavailable: {exc}"

    def language_advice(self) -> str:
        """A sentence when the collection is mostly not English and the embedder reads only
        English (indexer.models.advice), else ''. Reads one row count per stored language."""
        from indexer.models.advice import multilingual_advice

        path = self.embedder.path if isinstance(self.embedder, Embedder) else None
        return multilingual_advice(self.store.language_counts(), path)

    @property
    def device_label(self) -> str:
        """Where llama.cpp runs the local models (the CPU after a GPU failure)."""
        if isinstance(self.embedder, Embedder):
            return self.embedder.placement.label
        return self.placement.label

    @property
    def cpu_variant(self) -> str:
        """The llama.cpp CPU variant the worker runs, with any skipped on the way."""
        choice = self.worker.choice
        return choice.describe() if choice is not None else self.worker.variant_loaded

    def close(self) -> None:
        self.store.close()  # the writer's lease first: another writer may take over at once
        self.embedder.close()
        if self.reranker:
            self.reranker.close()
        self.setup.close()
