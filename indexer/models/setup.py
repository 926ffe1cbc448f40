"""Model wiring in one place: the inference worker, where models run, the model files found,
and the embedder and reranker loaded from them.

Every user of local models builds this first: the engine (window and CLI), ``quarry eval``,
``quarry rerank``, ``quarry models``. It holds the one rule for how a model file becomes a
loaded model (its header read through the shared cache, the reranker's bf16 copy kept in
the tuned-models folder, both hosted by the same worker), so no caller wires one
differently.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType

from indexer.errors import QuarryError
from indexer.models.embedding import Embedder
from indexer.models.files import LocalModel, find_models, pick
from indexer.models.gguf_info import GGUFInfo, InfoCache
from indexer.models.rerank import Reranker
from indexer.paths import AppPaths
from indexer.runtime.hardware import Hardware, Placement, place
from indexer.runtime.supervisor import InferenceWorker

log = logging.getLogger(__name__)


class ModelSetup:
    """The worker, placement and model files for one process's use of local models.

    ``paths``: where models are looked for (``paths.model_dirs()``), the cache (GGUF
    header cache, CPU-variant verdicts, bf16 copies) and the logs (worker crash records).
    ``device``: "auto", "cpu" or "gpu"; ``threads``: CPU threads (None: the machine's
    choice); ``cpu_variant``: a llama.cpp CPU variant to force (None: a proven one).

    Starts an inference worker process (closed by :meth:`close` or on leaving a ``with``
    block). Raises QuarryError when the worker cannot start or the hardware cannot be read.
    """

    def __init__(
        self,
        paths: AppPaths,
        device: str = "auto",
        threads: int | None = None,
        cpu_variant: str | None = None,
    ) -> None:
        self.paths = paths
        # llama.cpp runs in this worker process, never in ours (indexer.runtime).
        self.worker = InferenceWorker(paths.cache, paths.logs, variant=cpu_variant)
        try:
            self.hardware: Hardware = self.worker.hardware()
            self.placement: Placement = place(self.hardware, device, threads)
            self.info_cache = InfoCache(paths.cache / "gguf-info.json")
            self.models: list[LocalModel] = []
            self.refresh()
        except BaseException:
            self.worker.close()
            raise

    def refresh(self) -> list[LocalModel]:
        """Look through the model folders again (after a download or an added file)."""
        self.models = find_models(self.paths.model_dirs(), self.info_cache)
        return self.models

    def info(self, path: Path) -> GGUFInfo | None:
        """The file's GGUF header from the shared cache; None when it cannot be read
        (the model's own validation then reads the file and says why it is unusable)."""
        try:
            return self.info_cache.get(path)
        except (QuarryError, OSError):
            return None

    def embedder(self, wanted: str | None = None) -> Embedder:
        """The embedder named ``wanted`` (a file name or path), or the preferred one found.
        Raises ModelMissing when none is found, ModelInvalid when the file is refused."""
        path = pick(self.models, "embedder", wanted)
        tuned = self.paths.tuned_models
        return Embedder(path, self.placement, info=self.info(path), worker=self.worker, tuned_dir=tuned)

    def reranker(self, wanted: str | None = None, bf16_copy: bool = True) -> Reranker:
        """The reranker named ``wanted``, or the preferred one found. With ``bf16_copy``,
        where the CPU runs bf16 faster an f16 file is run as its bf16 copy (made once in the
        tuned-models folder); without, the file itself (``quarry rerank`` reports what the
        file scores). Raises ModelMissing when none is found, ModelInvalid when the file is
        refused (e.g. a BERT cross-encoder without its pooler)."""
        path = pick(self.models, "reranker", wanted)
        tuned = self.paths.tuned_models if bf16_copy else None
        return Reranker(path, self.placement, info=self.info(path), tuned_dir=tuned, worker=self.worker)

    def close(self) -> None:
        self.worker.close()

    def __enter__(self) -> ModelSetup:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
