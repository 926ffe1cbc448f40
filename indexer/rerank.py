"""Reranker: score (query, passage) pairs with a GGUF cross-encoder through llama.cpp's
rank pooling. llama-cpp-python has no rerank API, so we build the pair tokens ourselves
from the GGUF's own layout flags (or its rerank template) and decode through the batch API."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from indexer.cancel import NEVER, CancelToken
from indexer.constants import QUERY_MAX_TOKENS, RERANK_MAX_PAIR_TOKENS
from indexer.gguf_info import RERANK_TEMPLATE_KEY, GGUFInfo, validate
from indexer.hardware import Placement, load_model
from indexer.lanes import Lanes, cpu_lanes
from indexer.llm import llama_cpp
from indexer.score_cache import ScoreCache, model_identity
from indexer.tuned import tuned_copy

log = logging.getLogger(__name__)


CPU_PAIRS_PER_DECODE = 2
"""For a CPU reranker in a single lane (a large model). Measured with benchmarks/rerank.py
on a 2-core AMD EPYC (AVX-512 variant): 2 pairs per decode 31.9 pairs/s, 1 pair 29.2,
4 pairs 27.2. More pairs make bigger matrix products but llama.cpp's encoder attends across
the whole batch (masked), so the cost grows again. With one lane per thread, 1 pair per
decode per lane measured best (53.8 against 51.2 for 2)."""

GPU_PAIRS_PER_DECODE = 16


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


@dataclass(frozen=True, slots=True)
class Scores:
    """Scores for the passages in the order they were given."""

    scores: list[float]
    """0..1, comparable across model families (sigmoid of logits, or the model's probability)."""
    raw: list[float]
    """What the model's head returned (logits for BERT / XLM-R heads)."""
    complete: bool = True
    """False when a deadline stopped scoring: the unscored passages have score NaN."""
    from_cache: int = 0
    """How many scores came from the score cache instead of the model."""


class Reranker:
    """One loaded cross-encoder. ``score`` is thread-safe (serialised on the model lock)."""

    def __init__(
        self,
        path: Path,
        placement: Placement,
        pairs_per_decode: int | None = None,
        info: GGUFInfo | None = None,
        cache: ScoreCache | None = None,
        lanes: int | None = None,
        tuned_dir: Path | None = None,
    ) -> None:
        """Args:
        pairs_per_decode: pairs in one llama.cpp batch (default: measured per device).
        lanes: contexts scoring side by side (default: ``cpu_lanes``).
        tuned_dir: where a CPU-tuned (bf16) copy may be kept; None loads ``path`` as it is.
        """
        self.info = validate(path, "reranker", info)
        self.path = path
        self.loaded_path = path if tuned_dir is None or placement.on_gpu else tuned_copy(path, tuned_dir, self.info)
        self.cache = cache if cache is not None else ScoreCache()
        self._identity = model_identity(self.loaded_path)
        ll = llama_cpp()
        n_lanes = lanes if lanes is not None else cpu_lanes(placement, self.info.size)
        default_per_decode = GPU_PAIRS_PER_DECODE if placement.on_gpu else (1 if n_lanes > 1 else CPU_PAIRS_PER_DECODE)
        per_decode = pairs_per_decode or default_per_decode
        self.model, self.placement = load_model(
            self.loaded_path,
            placement,
            pooling=ll.LLAMA_POOLING_TYPE_RANK,
            n_ctx=RERANK_MAX_PAIR_TOKENS,
            n_seq_max=per_decode,
            n_lanes=n_lanes,
        )
        self._lanes = Lanes(self.model.n_lanes)
        self.max_tokens = self.model.n_ctx // self.model.n_seq_max
        special = self.model.special_tokens()
        self._special = special
        self.template = self.model.meta(RERANK_TEMPLATE_KEY) or self.info.rerank_template
        # Logit heads (BERT, XLM-R) need a sigmoid; templated rerankers (Qwen3) give a probability.
        self.outputs_probability = bool(self.template)

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def label(self) -> str:
        """For people: the model, and the bf16 copy when this CPU runs one."""
        return f"{self.name} (bf16 for this CPU)" if self.loaded_path != self.path else self.name

    def _pair_tokens(self, query: list[int], doc_text: str) -> list[int]:
        s = self._special
        if self.template:
            prefix, _, rest = self.template.partition("{query}")
            middle, _, suffix = rest.partition("{document}")
            head = (
                self.model.tokenize(prefix, parse_special=True)
                + query
                + self.model.tokenize(middle, parse_special=True)
            )
            tail = self.model.tokenize(suffix, parse_special=True)
            doc = self.model.tokenize(doc_text)[: max(1, self.max_tokens - len(head) - len(tail))]
            return head + doc + tail
        head = ([s["bos"]] if s["add_bos"] else []) + query
        head += ([s["eos"]] if s["add_eos"] else []) + ([s["sep"]] if s["add_sep"] else [])
        tail = [s["eos"]] if s["add_eos"] else []
        doc = self.model.tokenize(doc_text)[: max(1, self.max_tokens - len(head) - len(tail))]
        return head + doc + tail

    def score(
        self,
        query: str,
        documents: list[str],
        cancel: CancelToken = NEVER,
        deadline: float | None = None,
    ) -> Scores:
        """Score each document against the query.

        Args:
            deadline: a ``time.monotonic()`` instant; pairs not scored by then stay NaN.
        """
        raw = [math.nan] * len(documents)
        keys = [ScoreCache.key(self._identity, query, d) for d in documents]
        todo = []
        for i, key in enumerate(keys):
            cached = self.cache.get(key)
            if cached is None:
                todo.append(i)
            else:
                raw[i] = cached
        from_cache = len(documents) - len(todo)
        with self.model.lock:
            query_tokens = self.model.tokenize(query)[:QUERY_MAX_TOKENS]
            pairs = {i: self._pair_tokens(query_tokens, documents[i]) for i in todo}
            # Similar lengths together: a multi-pair decode pays for its longest member.
            order = sorted(todo, key=lambda i: len(pairs[i]))
            step = self.model.n_seq_max
            groups = [order[start : start + step] for start in range(0, len(order), step)]
            self._lanes.run(groups, self._decode_group(pairs, keys, raw), cancel, deadline)
        complete = not any(math.isnan(raw[i]) for i in todo)
        scores = [x if math.isnan(x) else self.normalise(x) for x in raw]
        return Scores(scores=scores, raw=raw, complete=complete, from_cache=from_cache)

    def _decode_group(
        self, pairs: dict[int, list[int]], keys: list[bytes], raw: list[float]
    ) -> Callable[[list[int], int], None]:
        def decode(group: list[int], lane: int) -> None:
            out = self.model.decode([pairs[i] for i in group], lane=lane)
            for row, i in enumerate(group):
                raw[i] = float(out[row, 0])
                self.cache.put(keys[i], raw[i])

        return decode

    def normalise(self, raw: float) -> float:
        return min(1.0, max(0.0, raw)) if self.outputs_probability else sigmoid(raw)

    def close(self) -> None:
        with self.model.lock:
            self.model.close()
        self._lanes.close()
