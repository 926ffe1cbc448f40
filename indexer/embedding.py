"""Embedder: text to L2-normalised vectors with a GGUF embedding model through llama.cpp."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from indexer.cancel import NEVER, CancelToken
from indexer.gguf_info import GGUFInfo, validate
from indexer.hardware import Placement, load_model

log = logging.getLogger(__name__)

CHUNKER_VERSION = "c1-256-32"
"""Part of the index fingerprint: changing chunking must re-index, like changing the model."""


class Embedder:
    """One loaded embedding model. Thread-safe: calls are serialised on the model's lock."""

    def __init__(
        self, path: Path, placement: Placement, seqs_per_decode: int = 1, info: GGUFInfo | None = None
    ) -> None:
        self.info = validate(path, "embedder", info)
        self.path = path
        self.model, self.placement = load_model(path, placement, n_seq_max=seqs_per_decode)
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
        for start in range(0, len(texts), step):
            cancel.raise_if_cancelled()
            # The lock is taken per decode, so a query embedding slips in between the
            # batches of a long indexing run instead of waiting for all of them.
            with self.model.lock:
                out[start : start + step] = self.model.decode(tokenized[start : start + step])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def close(self) -> None:
        with self.model.lock:
            self.model.close()
