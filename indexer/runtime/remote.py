"""What the app-side model handles (``Embedder``, ``Reranker``) share: a model held by the
inference worker, loaded again by it after a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from indexer.runtime.hardware import Placement
from indexer.runtime.supervisor import InferenceWorker, Slot


class RemoteModel:
    """A model the inference worker loads with ``method`` and ``args``.

    Args:
        worker: the worker to use; None starts one owned (and closed) by this model.

    Raises what the load raised (ModelInvalid when llama.cpp refuses the file, WorkerDied
    when the worker died loading it twice); an owned worker is closed then.
    """

    def __init__(
        self, path: Path, placement: Placement, worker: InferenceWorker | None, method: str, *args: Any
    ) -> None:
        self.path = path
        self._owns_worker = worker is None
        self.worker = worker or InferenceWorker()
        try:
            self.slot: Slot = self.worker.load(
                method, str(path), placement, *args, name=path.name, on_gpu=placement.on_gpu
            )
        except BaseException:
            if self._owns_worker:
                self.worker.close()
            raise

    @property
    def placement(self) -> Placement:
        """Where the model runs now (the CPU after a GPU failure)."""
        return self.slot.meta["placement"]

    @property
    def loaded_path(self) -> Path:
        """The file the worker runs: ``path``, or its bf16 copy on CPUs made for it."""
        return Path(self.slot.meta["loaded_path"])

    @property
    def n_lanes(self) -> int:
        """Contexts working side by side in the worker (indexer.runtime.context_pool)."""
        return self.slot.meta["n_lanes"]

    def release_if_idle(self, idle_s: float) -> bool:
        """Free the model's memory in the worker if unused for ``idle_s`` seconds; the next
        call loads it again. Starts no worker just to release."""
        return bool(self.worker.call(self.slot, "release_if_idle", idle_s, retry=False, start=False))

    @property
    def loaded(self) -> bool:
        """Whether the worker holds the model's weights now (False after an idle release)."""
        return bool(self.worker.call(self.slot, "loaded", retry=False, start=False))

    def close(self) -> None:
        self.worker.unload(self.slot)
        if self._owns_worker:
            self.worker.close()
