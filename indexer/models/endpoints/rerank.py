"""A reranker at an HTTP endpoint, speaking TEI, Cohere or llama-server: the same interface
the searcher uses for the local ``indexer.models.rerank.Reranker`` (``score``, ``name``, ``label``,
``method``, ``release_if_idle``, ``close``), so the searcher does not care which one runs.

The three wire formats (each reply lists results best first; ``index`` is the position in
the request, so scores are put back in input order by it):

- TEI, ``POST /rerank``: ``{"query", "texts", "raw_scores": false, "truncate": true}`` →
  ``[{"index", "score"}]``. TEI applies the sigmoid unless asked for raw scores; it refuses
  more texts than its ``--max-client-batch-size`` (32 by default), so requests hold 32.
- Cohere, ``POST /v1/rerank`` (or ``/v2/rerank``): ``{"model", "query", "documents", "top_n"}``
  → ``{"results": [{"index", "relevance_score"}]}``, scores 0..1.
- llama-server, ``POST /v1/rerank``: the Cohere/Jina request → ``{"model", "object",
  "usage", "results": [{"index", "relevance_score"}]}``, where ``relevance_score`` is the
  model's raw rank output: a head's logit (sigmoid applied here), or P(yes) for Qwen3-style
  rerankers (set the endpoint's ``scores`` to 'probability').

A reply that is late, unreachable or malformed raises EndpointError: the searcher then
keeps first-stage order and shows the message as a notice."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from indexer.cancel import NEVER, CancelToken
from indexer.models.endpoints.config import RERANK_FORMATS, Endpoint
from indexer.models.endpoints.http import EndpointClient, EndpointError, EndpointTimeout
from indexer.models.rerank import Scores, sigmoid
from indexer.models.score_cache import ScoreCache

log = logging.getLogger(__name__)

PASSAGES_PER_REQUEST = {"tei": 32, "cohere": 100, "llama-server": 64}
"""TEI's default --max-client-batch-size is 32; Cohere bills a search per 100 documents;
llama-server has no limit of its own, 64 keeps one request's body small."""


def request_body(endpoint: Endpoint, query: str, documents: list[str]) -> dict[str, Any]:
    """The JSON a format expects for scoring ``documents`` against ``query``."""
    if endpoint.format == "tei":
        return {"query": query, "texts": documents, "raw_scores": False, "truncate": True}
    body: dict[str, Any] = {"query": query, "documents": documents, "top_n": len(documents)}
    if endpoint.model:
        body["model"] = endpoint.model
    return body


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def parse_reply(endpoint: Endpoint, reply: Any, count: int) -> list[float]:
    """The raw score of each of ``count`` documents, in request order.

    Raises EndpointError when the reply is not the format's shape: not a list (TEI) or an
    object with ``results`` (Cohere, llama-server), an item without an integer ``index`` in
    range or a finite score, an index twice, or not one score per document."""
    where = f"the remote reranker at {endpoint.host}"
    if endpoint.format == "tei":
        items, key = reply, "score"
    else:
        items, key = reply.get("results") if isinstance(reply, dict) else None, "relevance_score"
    if not isinstance(items, list):
        shape = "a JSON list" if endpoint.format == "tei" else 'an object with "results"'
        raise EndpointError(f"{where} did not answer in the {RERANK_FORMATS[endpoint.format]} format ({shape})")
    raw: list[float | None] = [None] * count
    for item in items:
        index = item.get("index") if isinstance(item, dict) else None
        score = _number(item.get(key)) if isinstance(item, dict) else None
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count or score is None:
            raise EndpointError(f'{where} sent a result without a valid "index" and "{key}"')
        if raw[index] is not None:
            raise EndpointError(f"{where} scored document {index} twice")
        raw[index] = score
    if len(items) != count:
        raise EndpointError(f"{where} sent {len(items)} scores for {count} documents")
    return [x for x in raw if x is not None]


class EndpointReranker:
    """A cross-encoder behind an HTTP endpoint. Thread-safe; building one sends nothing.

    Args:
        endpoint: a reranker endpoint (``Endpoint.kind == 'reranker'``).
        cache: the (endpoint, query, passage) score cache; None makes a private one.
    """

    path = None
    """No model file: what lets callers tell it from a local reranker."""

    def __init__(self, endpoint: Endpoint, cache: ScoreCache | None = None) -> None:
        self.endpoint = endpoint.checked()
        if self.endpoint.kind != "reranker":
            raise ValueError(f"{endpoint.format!r} is not a reranker endpoint format")
        self.client = EndpointClient(self.endpoint, "remote reranker")
        self.cache = cache if cache is not None else ScoreCache()
        self.outputs_probability = self.endpoint.scale == "probability"
        log.info("reranking through %s (%s)", self.endpoint.describe(), RERANK_FORMATS[self.endpoint.format])

    @property
    def name(self) -> str:
        return self.endpoint.model or f"{self.endpoint.format} reranker"

    @property
    def label(self) -> str:
        """For people: '<model> at <host> (TEI)'."""
        return f"{self.endpoint.describe()} ({RERANK_FORMATS[self.endpoint.format]})"

    @property
    def method(self) -> str:
        """What the result says ordered it: 'remote rerank: <model> at <host>'."""
        return f"remote rerank: {self.endpoint.describe()}"

    def score(
        self,
        query: str,
        documents: list[str],
        cancel: CancelToken = NEVER,
        deadline: float | None = None,
    ) -> Scores:
        """Score each document against the query; scores (0..1) in input order.

        Args:
            deadline: a ``time.monotonic()`` instant; a request may take until then, or the
                endpoint's timeout, whichever is sooner.

        Raises:
            Cancelled: ``cancel`` was set (checked between requests).
            EndpointError: the endpoint timed out, could not be reached, answered an HTTP
                error or a reply not in its format; no partial scores are kept.
        """
        raw, keys, todo = self.cache.lookup(self.endpoint.identity, query, documents)
        step = PASSAGES_PER_REQUEST[self.endpoint.format]
        for start in range(0, len(todo), step):
            cancel.raise_if_cancelled()
            group = todo[start : start + step]
            seconds, by_deadline = self._time_left(deadline)
            try:
                reply = self.client.post(request_body(self.endpoint, query, [documents[i] for i in group]), seconds)
            except EndpointTimeout as exc:
                if by_deadline:
                    raise EndpointTimeout(f"{exc} (the rerank deadline)") from None
                raise
            for i, value in zip(group, parse_reply(self.endpoint, reply, len(group)), strict=True):
                raw[i] = value
                self.cache.put(keys[i], value)
        scores = [self.normalise(x) for x in raw]
        return Scores(scores=scores, raw=raw, complete=True, from_cache=len(documents) - len(todo))

    def _time_left(self, deadline: float | None) -> tuple[float, bool]:
        """Seconds the next request may take, and whether the deadline (not the timeout) set it."""
        if deadline is None:
            return self.endpoint.timeout_s, False
        left = deadline - time.monotonic()
        if left <= 0:
            raise EndpointTimeout(f"the remote reranker at {self.endpoint.host} ran past the rerank deadline")
        return (left, True) if left < self.endpoint.timeout_s else (self.endpoint.timeout_s, False)

    def normalise(self, raw: float) -> float:
        """0..1: a probability as it is (clamped), a logit through the sigmoid."""
        return min(1.0, max(0.0, raw)) if self.outputs_probability else sigmoid(raw)

    def release_if_idle(self, idle_s: float) -> bool:
        """Nothing is held in memory here; never released."""
        return False

    def close(self) -> None:
        self.client.close()
