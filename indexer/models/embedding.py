"""Embedder: text to L2-normalised vectors with a GGUF embedding model through llama.cpp.

``Embedder`` is what Quarry holds: it sends the work to the inference worker process
(indexer.runtime), so a native crash in llama.cpp never takes the app down. The worker runs
``LocalEmbedder``, which calls llama.cpp in its own process.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from indexer.cancel import NEVER, CancelToken
from indexer.models.gguf_info import GGUFInfo, validate
from indexer.runtime.hardware import Placement
from indexer.runtime.remote import RemoteModel
from indexer.runtime.supervisor import InferenceWorker

log = logging.getLogger(__name__)

CHUNKER_VERSION = "c1-256-32"
"""Part of the index fingerprint: changing chunking must re-index, like changing the model."""


DECODES_PER_LANE_PER_LOCK = 4
"""Decodes each lane does per hold of the model lock while embedding passages. On a 2-core
Zen 3 (AVX2) with two lanes: 1 per hold gave 12.4 passages/s, 4 gave 16.0, 16 gave 17.5;
4 keeps a waiting query embedding to a few tens of milliseconds."""


class LocalEmbedder:
    """One embedding model loaded in this process (the worker's side). Thread-safe: calls
    are serialised on the model's lock."""

    def __init__(
        self,
        path: Path,
        placement: Placement,
        seqs_per_decode: int = 1,
        info: GGUFInfo | None = None,
        lanes: int | None = None,
        tuned_dir: Path | None = None,
    ) -> None:
        """Args:
        lanes: contexts embedding side by side (default: ``cpu_lanes``, one per CPU thread
            for small models).
        tuned_dir: where a CPU-tuned (bf16) copy may be kept (indexer.models.bf16, Q8_0
            files included); None loads ``path`` as it is.

        Raises ModelInvalid when the header or llama.cpp refuses the file.
        """
        self.info = validate(path, "embedder", info)
        self.path = path
        from indexer.models.bf16 import tuned_copy
        from indexer.runtime.context_pool import ContextPool, cpu_lanes
        from indexer.runtime.hardware import load_model

        tuned = tuned_dir is not None and not placement.on_gpu
        self.loaded_path = tuned_copy(path, tuned_dir, self.info, requantize=True) if tuned else path
        self.model, self.placement = load_model(
            self.loaded_path,
            placement,
            n_seq_max=seqs_per_decode,
            n_lanes=lanes if lanes is not None else cpu_lanes(placement, self.info.size),
        )
        self._lanes = ContextPool(self.model.n_lanes)
        self.dimension = self.model.n_embd
        self.max_tokens = self.model.n_ctx // self.model.n_seq_max
        self._eos = self.model.special_tokens()["eos"]
        self._add_eos = self.model.special_tokens()["add_eos"]

    @property
    def fingerprint(self) -> str:
        """What the stored vectors depend on; a different value means re-index."""
        return f"{self.path.name}|{self.path.stat().st_size}|{self.dimension}|{self.model.pooling}|{CHUNKER_VERSION}"

    def count_tokens(self, text: str) -> int:
        """Tokens of text without special tokens, as the chunker needs."""
        with self.model.lock:
            return len(self.model.tokenize(text))

    def _tokens(self, text: str) -> list[int]:
        tokens = self.model.tokenize(text, add_special=True)
        if len(tokens) > self.max_tokens:
            # Truncate, keeping the closing [SEP]/</s>: llama.cpp aborts on over-long input.
            tokens = tokens[: self.max_tokens - 1] + ([self._eos] if self._add_eos else [tokens[self.max_tokens - 1]])
        return tokens or [self._eos]

    def embed_documents(self, texts: list[str], cancel: CancelToken = NEVER) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        step = self.model.n_seq_max
        with self.model.lock:
            tokenized = [self._tokens(t) for t in texts]
        groups = [list(range(start, min(start + step, len(texts)))) for start in range(0, len(texts), step)]

        def decode(group: list[int], lane: int) -> None:
            out[group[0] : group[-1] + 1] = self.model.decode([tokenized[i] for i in group], lane=lane)

        # The lock is taken per round of a few decodes per lane, so a query embedding slips
        # in between the rounds of a long indexing run instead of waiting for all of them;
        # one decode per lane per round left the lanes idle between rounds (benchmarks/embed.py).
        per_round = self._lanes.n * DECODES_PER_LANE_PER_LOCK
        for start in range(0, len(groups), per_round):
            cancel.raise_if_cancelled()
            with self.model.lock:
                self._lanes.run(groups[start : start + per_round], decode, cancel, None)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def close(self) -> None:
        with self.model.lock:
            self.model.release()
        self._lanes.close()


class Embedder(RemoteModel):
    """An embedding model run by the inference worker. Thread-safe.

    Args:
        path: the GGUF file (its header is checked here first: ModelInvalid if unusable).
        placement: where it runs (indexer.runtime.hardware.place).
        seqs_per_decode: sequences per llama.cpp batch.
        lanes: contexts embedding side by side (default: one per CPU thread for small models).
        tuned_dir: where a CPU-tuned (bf16) copy may be kept; None loads ``path`` as it is.
            The stored vectors' fingerprint names ``path`` either way: the copy's vectors
            are within cosine 0.9996 of the file's.
        worker: the worker to use; None starts one owned (and closed) by this embedder.

    Raises ModelInvalid when the header or llama.cpp refuses the file, WorkerDied when the
    worker died loading it twice.
    """

    COUNT_CACHE = 4096
    """Token counts remembered: the chunker asks for the same sentences more than once."""

    def __init__(
        self,
        path: Path,
        placement: Placement,
        seqs_per_decode: int = 1,
        info: GGUFInfo | None = None,
        worker: InferenceWorker | None = None,
        lanes: int | None = None,
        tuned_dir: Path | None = None,
    ) -> None:
        self.info = validate(path, "embedder", info)
        tuned = str(tuned_dir) if tuned_dir else None
        super().__init__(path, placement, worker, "load_embedder", seqs_per_decode, self.info, lanes, tuned)
        self.dimension: int = self.slot.meta["dimension"]
        self.max_tokens: int = self.slot.meta["max_tokens"]
        self._pooling: int = self.slot.meta["pooling"]
        self._counts: dict[str, int] = {}

    @property
    def fingerprint(self) -> str:
        """What the stored vectors depend on; a different value means re-index."""
        return f"{self.path.name}|{self.path.stat().st_size}|{self.dimension}|{self._pooling}|{CHUNKER_VERSION}"



    @property
    def name(self) -> str:
        """The model file's name without '.gguf'."""
        return self.path.stem

    @property
    def label(self) -> str:
        """For people (a remote embedder's says where it runs)."""
        return self.name

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` without special tokens, as the chunker needs."""
        known = self._counts.get(text)
        return known if known is not None else self.count_tokens_many([text])[0]

    def count_tokens_many(self, texts: list[str]) -> list[int]:
        """Token counts of many texts in one request (the chunker primes its sentences)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._counts]
        found = dict(zip(missing, self.worker.call(self.slot, "count_tokens", missing), strict=True)) if missing else {}
        result = [found[t] if t in found else self._counts[t] for t in texts]
        if len(self._counts) + len(found) > self.COUNT_CACHE:
            self._counts.clear()
        self._counts.update(found)
        return result

    def embed_documents(self, texts: list[str], cancel: CancelToken = NEVER) -> np.ndarray:
        """Vectors of ``texts`` (passages as the models read them: indexer.types.model_text),
        computed in the inference worker: a float32 array of shape (len(texts), dimension),
        rows of length 1 (so a dot product is the cosine similarity, -1..1), in input order;
        shape (0, dimension) for no texts. Texts longer than the model's context
        (``max_tokens``) are truncated, keeping the closing separator.

        Raises:
            Cancelled: ``cancel`` was set (the worker stops between its decodes).
            WorkerDied: the worker died twice on them (it is restarted for the next call).
            QuarryError: the worker could not be started, or failed otherwise (WorkerError).
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.worker.call(self.slot, "embed", texts, cancel=cancel)

    def embed_query(self, text: str) -> np.ndarray:
        """The query's vector: float32, shape (dimension,), length 1; the same model and
        pooling as embed_documents (no query prefix). Raises what embed_documents raises."""
        return self.embed_documents([text])[0]
