"""The inference worker: the child process that runs llama.cpp for Quarry.

It holds the loaded models (``LocalEmbedder``, ``LocalReranker``) under ids its owner
(``indexer.runtime.supervisor.InferenceWorker``) chooses, answers requests over a pipe, and
can die of anything native (an illegal instruction in a CPU variant, a GGML_ASSERT, a
segfault, the OOM killer) without taking the window or the CLI with it.

Messages from the owner: ``("call", id, method, args)``, ``("cancel", id)``, ``("stop",)``.
Answers: ``("hello", pid, Hardware, variant)`` once, then ``("ok", id, value)`` or
``("error", id, kind, message)``, and ``("log", level, logger, text)`` for log records.
Requests run on a few threads, so a query embedding or a rerank is not queued behind an
indexing batch; each model serialises its own calls on its lock.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from indexer.cancel import CancelToken
from indexer.errors import Cancelled, QuarryError
from indexer.malloc import release_free_memory

log = logging.getLogger(__name__)

REQUEST_THREADS = 4

CONTEXT_IDLE_S = 20.0
"""Models unused this long give back their llama.cpp compute buffers (the weights stay
loaded): the idle worker then holds ~80 MB less with the default models
(benchmarks/idle_trim.py: 121 -> 39 MB anonymous), and the next request makes the contexts
again, 2-10 ms for the MiniLM reranker's two lanes. Long enough that reading one page of results and refining the
query does not pay it."""

IDLE_POLL_S = 1.0
"""How often the worker's loop looks for idle models."""
"""Requests in flight at once: an indexing batch, a query embedding, a rerank, a count."""


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    variant_path: str | None
    """The CPU variant to load (indexer.runtime.variants); None for static builds."""
    force_cpu: bool = False
    """Load every model on the CPU whatever its placement says (after a GPU failure)."""
    crash_file: str | None = None
    """Where faulthandler writes the native stack if the worker dies."""
    log_level: int = logging.INFO
    context_idle_s: float = 0.0
    """Seconds without requests after which models free their compute buffers; 0: CONTEXT_IDLE_S."""


class _Forward(logging.Handler):
    """Log records go to the owner, which writes them into its own log."""

    def __init__(self, send: Any) -> None:
        super().__init__()
        self.send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.send(("log", record.levelno, record.name, record.getMessage()))
        except Exception:  # noqa: BLE001 - the owner is gone; nothing to log to
            pass


class Server:
    """The worker's request handlers, ``do_<method>``; each takes ``cancel`` by keyword."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.models: dict[int, Any] = {}

    def _placement(self, placement: Any) -> Any:
        if self.config.force_cpu and placement.on_gpu:
            threads = placement.threads
            return replace(
                placement, n_gpu_layers=0, on_gpu=False, label=f"CPU, {threads} threads (after a GPU failure)"
            )
        return placement

    def do_ping(self, *, cancel: CancelToken) -> None:
        return None

    def do_hardware(self, *, cancel: CancelToken) -> Any:
        from indexer.runtime.hardware import detect

        return detect()

    def trim_idle_contexts(self, idle_s: float) -> bool:
        """Free the compute buffers of models unused for ``idle_s`` seconds (weights stay);
        True when any was freed."""
        trimmed = [model.model.trim_if_idle(idle_s) for model in list(self.models.values())]
        return any(trimmed)

    def do_load_embedder(
        self,
        slot: int,
        path: str,
        placement: Any,
        seqs_per_decode: int,
        info: Any,
        lanes: int | None = None,
        tuned_dir: str | None = None,
        *,
        cancel: CancelToken,
    ) -> dict[str, Any]:
        from indexer.models.embedding import LocalEmbedder

        tuned = Path(tuned_dir) if tuned_dir else None
        model = LocalEmbedder(Path(path), self._placement(placement), seqs_per_decode, info, lanes, tuned)
        self._keep(slot, model)
        return {
            "loaded_path": str(model.loaded_path),
            "n_lanes": model.model.n_lanes,
            "dimension": model.dimension,
            "max_tokens": model.max_tokens,
            "pooling": model.model.pooling,
            "placement": model.placement,
        }

    def do_load_reranker(
        self,
        slot: int,
        path: str,
        placement: Any,
        pairs_per_decode: int | None,
        info: Any,
        lanes: int | None,
        tuned_dir: str | None,
        *,
        cancel: CancelToken,
    ) -> dict[str, Any]:
        from indexer.models.rerank import LocalReranker

        model = LocalReranker(
            Path(path),
            self._placement(placement),
            pairs_per_decode,
            info,
            lanes,
            Path(tuned_dir) if tuned_dir else None,
        )
        self._keep(slot, model)
        return {
            "loaded_path": str(model.loaded_path),
            "placement": model.placement,
            "max_tokens": model.max_tokens,
            "outputs_probability": model.outputs_probability,
            "family": model.family.name,
            "n_lanes": model.model.n_lanes,
        }

    def _keep(self, slot: int, model: Any) -> None:
        old = self.models.pop(slot, None)
        if old is not None:
            old.close()
        self.models[slot] = model

    def do_unload(self, slot: int, *, cancel: CancelToken) -> None:
        model = self.models.pop(slot, None)
        if model is not None:
            model.close()

    def do_count_tokens(self, slot: int, texts: list[str], *, cancel: CancelToken) -> list[int]:
        model = self.models[slot]
        return [model.count_tokens(t) for t in texts]

    def do_embed(self, slot: int, texts: list[str], *, cancel: CancelToken) -> Any:
        return self.models[slot].embed_documents(texts, cancel)

    def do_score(
        self, slot: int, query: str, documents: list[str], seconds: float | None, *, cancel: CancelToken
    ) -> list[float]:
        import time

        deadline = time.monotonic() + seconds if seconds is not None else None
        return self.models[slot].score_raw(query, documents, cancel, deadline)

    def do_pair_tokens(self, slot: int, query: str, document: str, *, cancel: CancelToken) -> list[int]:
        return self.models[slot].pair_tokens(query, document)

    def do_release_if_idle(self, slot: int, idle_s: float, *, cancel: CancelToken) -> bool:
        model = self.models.get(slot)
        return bool(model is not None and model.model.release_if_idle(idle_s))

    def do_loaded(self, slot: int, *, cancel: CancelToken) -> bool:
        model = self.models.get(slot)
        return bool(model is not None and model.model.loaded)

    def close(self) -> None:
        for model in self.models.values():
            model.close()
        self.models.clear()


def serve(connection: Any, config: WorkerConfig) -> None:
    """The worker process's main function (a ``multiprocessing`` spawn target)."""
    from indexer.runtime.variants import VARIANT_PATH_ENV

    if config.variant_path:
        os.environ[VARIANT_PATH_ENV] = config.variant_path
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    # Ctrl+C in a terminal reaches the whole process group; the owner decides when the
    # worker stops (it sends "stop"), so the worker does not die mid-request on it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    send_lock = threading.Lock()

    def send(message: tuple[Any, ...]) -> None:
        with send_lock:
            connection.send(message)

    root = logging.getLogger()
    root.handlers[:] = [_Forward(send)]
    root.setLevel(config.log_level)
    crash_handle = None
    if config.crash_file:
        try:
            crash_handle = open(config.crash_file, "w")
            faulthandler.enable(file=crash_handle, all_threads=True)
        except OSError as exc:
            log.warning("no native crash report: %s", exc)
    server = Server(config)
    from indexer.runtime.llama import llama_cpp, loaded_variant

    llama_cpp()
    send(("hello", os.getpid(), server.do_hardware(cancel=CancelToken()), loaded_variant()))
    tokens: dict[int, CancelToken] = {}
    pool = ThreadPoolExecutor(REQUEST_THREADS, thread_name_prefix="quarry-request")

    def run(request_id: int, method: str, args: tuple[Any, ...], token: CancelToken) -> None:
        try:
            value = getattr(server, f"do_{method}")(*args, cancel=token)
            send(("ok", request_id, value))
        except Cancelled:
            send(("error", request_id, "Cancelled", "cancelled"))
        except QuarryError as exc:
            send(("error", request_id, type(exc).__name__, str(exc)))
        except BaseException as exc:
            log.exception("worker request %s failed", method)
            send(("error", request_id, "WorkerError", f"{type(exc).__name__}: {exc}"))
        finally:
            tokens.pop(request_id, None)
            if not tokens:  # idle: give back what the burst of work left free in malloc's heaps
                release_free_memory()

    last_look = time.monotonic()
    while True:
        try:
            ready = connection.poll(IDLE_POLL_S)
            # Look for idle models once a second whether or not messages arrive: a window
            # that asks the worker something every second must not keep idle models' compute
            # buffers alive.
            if time.monotonic() - last_look >= IDLE_POLL_S:
                last_look = time.monotonic()
                if not tokens and server.trim_idle_contexts(config.context_idle_s or CONTEXT_IDLE_S):
                    release_free_memory()
            if not ready:
                continue
            message = connection.recv()
        except (EOFError, OSError):
            break
        if message[0] == "call":
            _, request_id, method, args = message
            tokens[request_id] = token = CancelToken()
            pool.submit(run, request_id, method, args, token)
        elif message[0] == "cancel":
            token = tokens.get(message[1])
            if token is not None:
                token.cancel()
        elif message[0] == "stop":
            break
    for token in list(tokens.values()):
        token.cancel()
    pool.shutdown(wait=True)
    server.close()
    if crash_handle is not None:
        faulthandler.disable()
        crash_handle.close()
        Path(crash_handle.name).unlink(missing_ok=True)
