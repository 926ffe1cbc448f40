"""Reranker: score (query, passage) pairs with a GGUF reranker through llama.cpp.
llama-cpp-python has no rerank API, so we build the pair tokens ourselves from the GGUF's
own layout flags (or its rerank template, or an LLM family's prompt) and decode through the
batch API: rank pooling for cross-encoders and rank heads, next-token logits for LLMs
answering yes/no (indexer.models.families).

``Reranker`` is what Quarry holds: it keeps the score cache and sends the pairs to the
inference worker process (indexer.runtime), where ``LocalReranker`` runs llama.cpp. A
stuck decode is ended by stopping the worker at the deadline; a crash leaves first-stage
order for that search, and the next search reranks in a new worker."""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from indexer.cancel import NEVER, CancelToken
from indexer.constants import QUERY_MAX_TOKENS, RERANK_MAX_PAIR_TOKENS
from indexer.errors import QuarryError
from indexer.models.families import family_of
from indexer.models.gguf_info import GGUFInfo, validate
from indexer.models.score_cache import ScoreCache, model_identity
from indexer.runtime.hardware import Placement
from indexer.runtime.remote import RemoteModel
from indexer.runtime.supervisor import InferenceWorker, WorkerDied, WorkerTimeout

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
    """What the model returned: a head's logit (BERT, XLM-R, ModernBERT), P(yes) (rank
    templates) or logit(yes) - logit(no) (yes/no LLMs)."""
    complete: bool = True
    """False when a deadline stopped scoring: the unscored passages have score NaN."""
    from_cache: int = 0
    """How many scores came from the score cache instead of the model."""
    notice: str = ""
    """Why some pairs are unscored beyond the deadline (the worker was stopped), if so."""


class LocalReranker:
    """One reranker loaded in this process (the worker's side), scored the way its family
    needs (indexer.models.families). ``score_raw`` is thread-safe (serialised on the model lock)."""

    def __init__(
        self,
        path: Path,
        placement: Placement,
        pairs_per_decode: int | None = None,
        info: GGUFInfo | None = None,
        lanes: int | None = None,
        tuned_dir: Path | None = None,
    ) -> None:
        """Args:
        pairs_per_decode: pairs in one llama.cpp batch (default: measured per device).
        lanes: contexts scoring side by side (default: ``cpu_lanes``).
        tuned_dir: where a CPU-tuned (bf16) copy may be kept; None loads ``path`` as it is.

        Raises ModelInvalid when the file cannot score right (indexer.models.families says why).
        """
        from indexer.models.bf16 import tuned_copy
        from indexer.runtime.context_pool import ContextPool, cpu_lanes
        from indexer.runtime.hardware import load_model
        from indexer.runtime.llama import llama_cpp

        self.info = validate(path, "reranker", info)
        self.family = family_of(self.info)
        self.path = path
        self.loaded_path = path if tuned_dir is None or placement.on_gpu else tuned_copy(path, tuned_dir, self.info)
        ll = llama_cpp()
        n_lanes = lanes if lanes is not None else cpu_lanes(placement, self.info.size)
        default_per_decode = GPU_PAIRS_PER_DECODE if placement.on_gpu else (1 if n_lanes > 1 else CPU_PAIRS_PER_DECODE)
        per_decode = pairs_per_decode or default_per_decode
        self.model, self.placement = load_model(
            self.loaded_path,
            placement,
            pooling=ll.LLAMA_POOLING_TYPE_RANK,
            logits=self.family.yes_no,
            n_ctx=RERANK_MAX_PAIR_TOKENS,
            n_seq_max=per_decode,
            n_lanes=n_lanes,
        )
        self._lanes = ContextPool(self.model.n_lanes)
        self.max_tokens = self.model.n_ctx // self.model.n_seq_max
        self._special = self.model.special_tokens()
        self.template = self.family.prompt
        self.outputs_probability = self.family.outputs_probability
        """True: the raw output is P(yes) (rank-template); False: a logit (a head's, or
        logit(yes) - logit(no) for yes/no LLMs), made 0..1 by a sigmoid."""
        self.yes_no = list(self.info.yes_no_ids or ()) if self.family.yes_no else []

    def _cut(self, text: str, budget: int) -> tuple[list[int], str]:
        """``text``'s tokens cut to ``budget`` (at least 1), with the text they spell."""
        tokens = self.model.tokenize(text)
        if len(tokens) <= budget:
            return tokens, text
        tokens = tokens[: max(1, budget)]
        return tokens, self.model.detokenize(tokens)

    @functools.lru_cache(maxsize=16)  # noqa: B019 - one per loaded model, for its lifetime
    def _query_parts(self, query: str) -> tuple[list[int], str, int]:
        """Per query, not per pair: the query's tokens cut to QUERY_MAX_TOKENS, the text they
        spell, and the tokens the template takes with that query and no passage (0 untemplated)."""
        query_tokens, query = self._cut(query, QUERY_MAX_TOKENS)
        fixed = 0
        if self.template:
            prefix, _, rest = self.template.partition("{query}")
            middle, _, suffix = rest.partition("{document}")
            fixed = len(self.model.tokenize(prefix + query + middle + suffix, parse_special=True))
        return query_tokens, query, fixed

    def _pair_tokens(self, query: str, doc_text: str) -> list[int]:
        """The exact input for one pair: the family's template rendered whole and tokenized
        (special tokens parsed, as the reference tokenizers do), or the layout the
        tokenizer flags give (``bos q eos [sep] d eos``: [CLS] q [SEP] d [SEP] for BERT,
        <s> q </s></s> d </s> for XLM-R). The passage is cut to fit ``max_tokens``."""
        query_tokens, query, fixed = self._query_parts(query)
        if self.template:
            prefix, _, rest = self.template.partition("{query}")
            middle, _, suffix = rest.partition("{document}")
            budget = self.max_tokens - fixed
            for _ in range(4):  # tokens at the seams can merge differently; shrink until it fits
                _, doc_text = self._cut(doc_text, budget)
                tokens = self.model.tokenize(prefix + query + middle + doc_text + suffix, parse_special=True)
                if len(tokens) <= self.max_tokens:
                    return tokens
                budget -= len(tokens) - self.max_tokens + 2
            raise ValueError("the rerank template alone does not fit the context")
        s = self._special
        head = ([s["bos"]] if s["add_bos"] else []) + query_tokens
        head += ([s["eos"]] if s["add_eos"] else []) + ([s["sep"]] if s["add_sep"] else [])
        tail = [s["eos"]] if s["add_eos"] else []
        doc = self.model.tokenize(doc_text)[: max(1, self.max_tokens - len(head) - len(tail))]
        return head + doc + tail

    def pair_tokens(self, query: str, document: str) -> list[int]:
        """``_pair_tokens`` under the model lock (for tests and ``quarry rerank``)."""
        with self.model.lock:
            return self._pair_tokens(query, document)

    def score_raw(
        self, query: str, documents: list[str], cancel: CancelToken = NEVER, deadline: float | None = None
    ) -> list[float]:
        """The model's raw output for each (query, document) pair, in input order; NaN for
        pairs not scored by ``deadline`` (a ``time.monotonic()`` instant). Raw is a logit
        for heads, P(yes) for rank templates, logit(yes) - logit(no) for yes/no LLMs."""
        raw = [math.nan] * len(documents)
        with self.model.lock:
            pairs = {i: self._pair_tokens(query, d) for i, d in enumerate(documents)}
            # Similar lengths together: a multi-pair decode pays for its longest member.
            order = sorted(pairs, key=lambda i: len(pairs[i]))
            step = self.model.n_seq_max
            groups = [order[start : start + step] for start in range(0, len(order), step)]
            self._lanes.run(groups, self._decode_group(pairs, raw), cancel, deadline)
        return raw

    def _decode_group(self, pairs: dict[int, list[int]], raw: list[float]) -> Callable[[list[int], int], None]:
        def decode(group: list[int], lane: int) -> None:
            sequences = [pairs[i] for i in group]
            if self.yes_no:
                logits = self.model.decode_logits(sequences, self.yes_no, lane=lane)
                values = [float(row[0] - row[1]) for row in logits]
            else:
                values = [float(row[0]) for row in self.model.decode(sequences, lane=lane)]
            for i, value in zip(group, values, strict=True):
                raw[i] = value

        return decode

    def close(self) -> None:
        with self.model.lock:
            self.model.release()
        self._lanes.close()


DEADLINE_GRACE_S = 2.0
"""How long past its deadline a rerank may take before the worker is stopped: the lanes
stop taking pairs at the deadline, so only a decode already running (tens of
milliseconds) should finish after it; one still running 2 s later is stuck."""

CRASHES_BEFORE_OFF = 2
"""Worker deaths in a row while reranking after which the reranker is switched off."""


class Reranker(RemoteModel):
    """A cross-encoder run by the inference worker, with the score cache. Thread-safe.

    Args:
        path: the GGUF file (its header is checked here first: ModelInvalid if unusable).
        placement: where it runs (indexer.runtime.hardware.place).
        pairs_per_decode: pairs in one llama.cpp batch (default: measured per device).
        cache: the (model, query, passage) score cache; None makes a private one.
        lanes: contexts scoring side by side (default: one per CPU thread for small models).
        tuned_dir: where a CPU-tuned (bf16) copy may be kept; None loads ``path`` as it is.
        worker: the worker to use; None starts one owned (and closed) by this reranker.
    """

    method = "rerank"
    """What a search result says ordered it (a remote reranker says where it ran)."""

    def __init__(
        self,
        path: Path,
        placement: Placement,
        pairs_per_decode: int | None = None,
        info: GGUFInfo | None = None,
        cache: ScoreCache | None = None,
        lanes: int | None = None,
        tuned_dir: Path | None = None,
        worker: InferenceWorker | None = None,
    ) -> None:
        self.info = validate(path, "reranker", info)
        self.cache = cache if cache is not None else ScoreCache()
        tuned = str(tuned_dir) if tuned_dir else None
        super().__init__(path, placement, worker, "load_reranker", pairs_per_decode, self.info, lanes, tuned)
        self.crashes_in_a_row = 0
        self.switched_off = ""


    @property
    def max_tokens(self) -> int:
        return self.slot.meta["max_tokens"]


    @property
    def outputs_probability(self) -> bool:
        return self.slot.meta["outputs_probability"]

    @property
    def family(self) -> str:
        """How the model is scored (indexer.models.families), e.g. 'xlm-roberta', 'llm-yes-no'."""
        return self.slot.meta["family"]

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def label(self) -> str:
        """For people: the model, and the bf16 copy when this CPU runs one."""
        return f"{self.name} (bf16 for this CPU)" if self.loaded_path != self.path else self.name

    def score(
        self,
        query: str,
        documents: list[str],
        cancel: CancelToken = NEVER,
        deadline: float | None = None,
    ) -> Scores:
        """Score each document against the query; scores in input order.

        Args:
            query: the query as typed.
            documents: the passages as the reranker reads them (Searcher builds them with
                indexer.search.passage_window.rerank_text: title, then the query's window of
                the passage); each pair is cut to fit the model's context.
            deadline: a ``time.monotonic()`` instant; pairs not scored by then stay NaN.
                A worker still busy ``DEADLINE_GRACE_S`` after it is stopped and restarted.

        Returns Scores: ``scores`` 0..1 (sigmoid of the model's logit, or its probability),
        ``raw`` the model's outputs, both len(documents) long; pairs already scored for this
        model file come from the score cache (``from_cache``); ``complete`` false and NaN
        where the deadline cut scoring short.

        Raises:
            Cancelled: ``cancel`` was set.
            WorkerDied: the worker died while scoring (not retried: the caller has
                first-stage results to show); after CRASHES_BEFORE_OFF in a row, QuarryError
                says the reranker was switched off.
            QuarryError: the reranker is switched off (above), or the worker could not be
                started or failed otherwise (WorkerError).
        """
        if self.switched_off:
            raise QuarryError(self.switched_off)
        raw, keys, todo = self.cache.lookup(model_identity(self.loaded_path), query, documents)
        from_cache = len(documents) - len(todo)
        notice = ""
        if todo:
            seconds = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                values = self.worker.call(
                    self.slot,
                    "score",
                    query,
                    [documents[i] for i in todo],
                    seconds,
                    cancel=cancel,
                    timeout=None if seconds is None else seconds + DEADLINE_GRACE_S,
                    retry=False,
                )
            except WorkerTimeout as exc:
                notice = str(exc)
            except WorkerDied as exc:
                self.crashes_in_a_row += 1
                if self.crashes_in_a_row >= CRASHES_BEFORE_OFF:
                    self.switched_off = f"reranking is off: {self.name} stopped the inference worker {self.crashes_in_a_row} times in a row ({exc.crash.signal_name or 'exit'})"
                    log.error("%s", self.switched_off)
                raise
            else:
                self.crashes_in_a_row = 0
                for i, value in zip(todo, values, strict=True):
                    raw[i] = value
                    if not math.isnan(value):
                        self.cache.put(keys[i], value)
        complete = not any(math.isnan(raw[i]) for i in todo)
        scores = [x if math.isnan(x) else self.normalise(x) for x in raw]
        return Scores(scores=scores, raw=raw, complete=complete, from_cache=from_cache, notice=notice)

    def pair_tokens(self, query: str, document: str) -> list[int]:
        """The token ids the model reads for one pair (template or layout, passage cut to fit)."""
        return list(self.worker.call(self.slot, "pair_tokens", query, document))

    def normalise(self, raw: float) -> float:
        """0..1: P(yes) of rank templates as it is, a sigmoid of a logit otherwise."""
        return min(1.0, max(0.0, raw)) if self.outputs_probability else sigmoid(raw)
