"""An OpenAI-compatible embeddings endpoint (OpenAI, llama-server, TEI's /v1/embeddings,
vLLM, Ollama…) in place of the local ``indexer.models.embedding.Embedder``: ``POST /v1/embeddings``
with ``{"model", "input": [...], "encoding_format": "float"}`` → ``{"data": [{"index",
"embedding"}]}``.

Its vectors are another model's: the store's fingerprint names the endpoint's URL, model
and dimension, so switching between it and a local model (or another endpoint) rebuilds
the index like changing a local model does."""

from __future__ import annotations

import logging
import math
import re
from typing import Any

import numpy as np

from indexer.cancel import NEVER, CancelToken
from indexer.models.embedding import CHUNKER_VERSION
from indexer.models.endpoints.config import Endpoint
from indexer.models.endpoints.http import EndpointClient, EndpointError

log = logging.getLogger(__name__)

TEXTS_PER_REQUEST = 32
"""TEI refuses more than its --max-client-batch-size (32 by default); OpenAI takes 2048."""

PROBE_TEXT = "dimension probe"
"""Embedded once when the endpoint is opened, to learn its vector size."""

_TOKEN_PIECE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]|[^\W_]{1,4}|[^\w\s]|_")


def estimate_tokens(text: str) -> int:
    """A token count for chunking without the remote model's tokenizer: every CJK character,
    every punctuation mark and every piece of up to four letters or digits counts one. That is
    more than WordPiece, BPE or SentencePiece make of English (most words are one token), so
    passages come out shorter than CHUNK_MAX_TOKENS rather than longer."""
    return len(_TOKEN_PIECE.findall(text))


class EndpointEmbedder:
    """Embeddings from an HTTP endpoint. Thread-safe.

    Args:
        endpoint: an embeddings endpoint (``Endpoint.kind == 'embedder'``).

    Raises EndpointError when the endpoint cannot be reached or answers wrongly while its
    vector size is learnt (one request, on construction).
    """

    path = None
    """No model file: the catalogue's per-model values (the topic gate) do not apply."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint.checked()
        if self.endpoint.kind != "embedder":
            raise ValueError(f"{endpoint.format!r} is not an embeddings endpoint format")
        self.client = EndpointClient(self.endpoint, "embeddings endpoint")
        self.dimension = 0
        self.dimension = self._post([PROBE_TEXT]).shape[1]
        log.info("embedding through %s (%d dimensions)", self.endpoint.describe(), self.dimension)

    @property
    def name(self) -> str:
        return self.endpoint.model or "remote embedder"

    @property
    def label(self) -> str:
        """For people: '<model> at <host>'."""
        return self.endpoint.describe()

    @property
    def fingerprint(self) -> str:
        """What the stored vectors depend on; a different value means re-index. The first
        part is what `quarry status` and the re-index message show."""
        return (
            f"{self.label}|{self.endpoint.request_url}|{self.endpoint.model}|{self.dimension}|remote|{CHUNKER_VERSION}"
        )

    def count_tokens(self, text: str) -> int:
        """An estimate (``estimate_tokens``): the remote tokenizer is not at hand."""
        return estimate_tokens(text)

    def embed_documents(self, texts: list[str], cancel: CancelToken = NEVER) -> np.ndarray:
        """Vectors of ``texts``: float32 array (len(texts), dimension), rows of length 1.

        Raises Cancelled (checked between requests), or EndpointError when the endpoint times
        out, cannot be reached, or answers with the wrong count, order or size of vectors."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), TEXTS_PER_REQUEST):
            cancel.raise_if_cancelled()
            out[start : start + TEXTS_PER_REQUEST] = self._post(texts[start : start + TEXTS_PER_REQUEST])
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """The query's vector, shape (dimension,)."""
        return self.embed_documents([text])[0]

    def _post(self, texts: list[str]) -> np.ndarray:
        body: dict[str, Any] = {"input": texts, "encoding_format": "float"}
        if self.endpoint.model:
            body["model"] = self.endpoint.model
        vectors = parse_embeddings(self.endpoint, self.client.post(body), len(texts), self.dimension or None)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def release_if_idle(self, idle_s: float) -> bool:
        """Nothing is held in memory here; never released."""
        return False

    def close(self) -> None:
        self.client.close()


def parse_embeddings(endpoint: Endpoint, reply: Any, count: int, dimension: int | None) -> np.ndarray:
    """The ``count`` vectors of an OpenAI-style reply, in request order (by ``index``).

    Raises EndpointError when ``data`` is missing, an item lacks an integer ``index`` in range
    or a list of finite numbers, an index comes twice, the count is wrong, or a vector's
    size differs from ``dimension`` (or from the others)."""
    where = f"the embeddings endpoint at {endpoint.host}"
    items = reply.get("data") if isinstance(reply, dict) else None
    if not isinstance(items, list):
        raise EndpointError(f'{where} did not answer in the OpenAI format (an object with "data")')
    if len(items) != count:
        raise EndpointError(f"{where} sent {len(items)} vectors for {count} texts")
    rows: list[list[float] | None] = [None] * count
    for item in items:
        index = item.get("index") if isinstance(item, dict) else None
        vector = item.get("embedding") if isinstance(item, dict) else None
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
            raise EndpointError(f'{where} sent a vector without a valid "index"')
        if not isinstance(vector, list) or not vector or not all(_finite(x) for x in vector):
            raise EndpointError(f'{where} sent an "embedding" that is not a list of numbers')
        if rows[index] is not None:
            raise EndpointError(f"{where} sent vector {index} twice")
        rows[index] = vector
    sizes = {len(r) for r in rows if r is not None}
    expected = dimension or next(iter(sizes))
    if sizes != {expected}:
        raise EndpointError(f"{where} sent vectors of {sorted(sizes)} numbers where {expected} were expected")
    return np.asarray(rows, dtype=np.float32)


def _finite(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
