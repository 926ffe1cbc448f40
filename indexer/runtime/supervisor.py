"""The owner of the inference worker: starts it, sends it requests, and outlives it.

``InferenceWorker`` is what the app, the CLI, benchmarks and tests hold. Every request
goes over a pipe to the worker process (indexer.runtime.worker) and its answer comes back
through one reader thread. When the worker dies, the supervisor records why (signal or
exit code, the request in flight, the model, the CPU variant, the device and the native
stack faulthandler wrote), picks the next fallback and starts a new worker on the next
request, loading the models the old one held again:

- an illegal instruction under an automatically chosen CPU variant: that variant is marked
  failed for this CPU and build (indexer.runtime.variants), the next one is used;
- a death while a model ran on a GPU: the models run on the CPU from then on;
- anything else: the same set-up is tried again.

A request that died with the worker is sent once more to the new one (``retry``); the
reranker asks for no retry, since a search has first-stage results to show at once.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import multiprocessing
import multiprocessing.util  # registers its exit handler now, before ours below
import os
import signal
import threading
import time
import weakref
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer import errors
from indexer.cancel import NEVER, CancelToken
from indexer.errors import QuarryError
from indexer.runtime import variants
from indexer.runtime.worker import WorkerConfig, serve

log = logging.getLogger(__name__)

START_TIMEOUT_S = 180.0
"""Starting the worker imports llama.cpp and loads its CPU backend: about a second."""
POLL_S = 0.05
"""How often a waiting caller looks at its cancel token."""
MAX_STARTS_PER_REQUEST = 4
"""Failed starts (each with the next fallback) before a request gives up."""


class WorkerDied(QuarryError):
    """The inference worker died while it held this request."""

    def __init__(self, crash: Crash) -> None:
        super().__init__(crash.describe())
        self.crash = crash


class WorkerTimeout(QuarryError):
    """A request overran its time; the worker was stopped and will be started again."""


class WorkerError(QuarryError):
    """A request failed inside the worker with an unexpected error (the message says which)."""


@dataclass(frozen=True, slots=True)
class Crash:
    """Why the worker ended, for the log, the notice and a bug report."""

    exitcode: int | None
    request: str
    """The request in flight ('embed', 'score', 'start'…), or '' when idle."""
    model: str
    variant: str
    device: str
    native_stack: str = ""
    when: float = field(default_factory=time.time)

    @property
    def signal_name(self) -> str:
        if self.exitcode is not None and self.exitcode < 0:
            try:
                return signal.Signals(-self.exitcode).name
            except ValueError:
                return f"signal {-self.exitcode}"
        return ""

    def describe(self) -> str:
        what = {"score": "reranking", "embed": "embedding", "count_tokens": "counting tokens", "start": "starting"}.get(
            self.request, self.request or "idle"
        )
        model = f" with {self.model}" if self.model else ""
        return (
            f"the inference worker stopped ({variants.describe_exit(self.exitcode)}) while {what}{model} "
            f"on the {self.variant} CPU variant, {self.device}"
        )


@dataclass(slots=True)
class Slot:
    """A model the worker holds: how to load it again after a restart, and what it said."""

    id: int
    method: str
    args: tuple[Any, ...]
    name: str
    meta: dict[str, Any] = field(default_factory=dict)
    generation: int = -1


class _Process:
    """One worker process: its pipe, its reader thread and the requests it holds."""

    def __init__(self, owner: InferenceWorker, generation: int, config: WorkerConfig) -> None:
        context = multiprocessing.get_context("spawn")  # fork is unsafe with threads
        self.owner = owner
        self.generation = generation
        self.config = config
        self.connection, child = context.Pipe()
        self.process = context.Process(target=serve, args=(child, config), name="quarry-inference", daemon=True)
        self.pending: dict[int, tuple[Future[Any], str, str]] = {}
        self.lock = threading.Lock()
        self.send_lock = threading.Lock()
        self.hello: Future[tuple[int, Any, str]] = Future()
        self.stopping = False
        self.dead = threading.Event()
        self.process.start()
        child.close()
        self.reader = threading.Thread(target=self._read, name="quarry-worker-reader", daemon=True)
        self.reader.start()

    def send(self, message: tuple[Any, ...]) -> None:
        with self.send_lock:
            self.connection.send(message)

    def _read(self) -> None:
        while True:
            try:
                message = self.connection.recv()
            except (EOFError, OSError):
                break
            kind = message[0]
            if kind == "log":
                logging.getLogger(message[2]).log(message[1], "%s", message[3])
            elif kind == "hello":
                self.hello.set_result(message[1:])
            else:
                with self.lock:
                    entry = self.pending.pop(message[1], None)
                if entry is None:
                    continue
                if kind == "ok":
                    entry[0].set_result(message[2])
                else:
                    entry[0].set_exception(_error(message[2], message[3]))
        self._died()

    def _died(self) -> None:
        self.process.join(timeout=10)
        exitcode = self.process.exitcode
        with self.lock:
            pending, self.pending = self.pending, {}
        self.connection.close()
        if self.stopping:
            error: QuarryError = WorkerTimeout("the inference worker was stopped")
        else:
            request, model = next(
                iter((m, n) for _, m, n in pending.values()), ("start" if not self.hello.done() else "", "")
            )
            crash = Crash(
                exitcode=exitcode,
                request=request,
                model=model,
                variant=variants.variant_name(Path(self.config.variant_path))
                if self.config.variant_path
                else "built in",
                device="CPU" if self.config.force_cpu or not self.owner.on_gpu else "GPU",
                native_stack=_read_tail(self.config.crash_file),
            )
            error = WorkerDied(crash)
            self.owner._record(crash)
        if not self.hello.done():
            self.hello.set_exception(error)
        for future, _, _ in pending.values():
            if not future.done():
                future.set_exception(error)
        self.dead.set()

    def kill(self) -> None:
        self.stopping = True
        if self.process.is_alive():
            self.process.kill()

    def stop(self) -> None:
        self.stopping = True
        try:
            self.send(("stop",))
        except OSError:
            pass
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
        self.dead.wait(timeout=10)


def _read_tail(path: str | None, limit: int = 4000) -> str:
    if not path:
        return ""
    try:
        return Path(path).read_text(errors="replace")[-limit:].strip()
    except OSError:
        return ""


def _error(kind: str, message: str) -> QuarryError:
    if kind == "WorkerError":
        return WorkerError(message)
    cls = getattr(errors, kind, None)
    if isinstance(cls, type) and issubclass(cls, QuarryError):
        return cls(message)
    return WorkerError(message)


_live: weakref.WeakSet[InferenceWorker] = weakref.WeakSet()


@atexit.register
def _close_live() -> None:
    """Stop workers still running at exit before multiprocessing terminates its children
    (registered after multiprocessing's own handler, so it runs first): a worker ended
    by that SIGTERM would be logged as a crash."""
    for worker in list(_live):
        worker.close()


class InferenceWorker:
    """The app's handle on its llama.cpp worker process. Thread-safe.

    Args:
        cache_dir: where CPU-variant verdicts live (``AppPaths.cache``); None: the user's.
        logs_dir: where the worker's native crash stack is written (``AppPaths.logs``).
        variant: a CPU variant name to force; None: $QUARRY_CPU_VARIANT or a proven one.
        on_gpu: whether models are placed on a GPU (for the fallback to the CPU).
        context_idle_s: seconds without requests after which the worker frees its models'
            compute buffers (weights stay loaded); 0: the worker's CONTEXT_IDLE_S.

    The process starts on the first request and again after it dies.
    """

    def __init__(
        self,
        cache_dir: Path | None = None,
        logs_dir: Path | None = None,
        *,
        variant: str | None = None,
        context_idle_s: float = 0.0,
    ) -> None:
        self.context_idle_s = context_idle_s
        self.cache_dir = cache_dir or variants.default_cache_dir()
        self.logs_dir = logs_dir
        self.forced_variant = variant
        self.on_gpu = False
        self.force_cpu = False
        self.crashes: list[Crash] = []
        self.notices: list[str] = []
        self.choice: variants.VariantChoice | None = None
        self.hardware_info: Any = None
        self.variant_loaded = ""
        self._process: _Process | None = None
        self._generation = 0
        self._start_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._slot_ids = itertools.count(1)
        self._slots: dict[int, Slot] = {}
        self._closed = False
        self._fallback_pending: str = ""
        self.on_request: Any = None
        """Test hook: called with (method, pid) just after a request is sent."""
        _live.add(self)

    # -- process life -------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        """The worker process's id while one runs, else None (never started, died, closed)."""
        process = self._process
        return process.process.pid if process is not None and not process.dead.is_set() else None

    def _ensure(self) -> _Process:
        with self._start_lock:
            if self._closed:
                raise QuarryError("the inference worker is closed")
            process = self._process
            if process is not None and not process.dead.is_set():
                return process
            for _ in range(MAX_STARTS_PER_REQUEST):
                self._apply_fallback()
                self.choice = variants.choose(self.cache_dir, self.forced_variant)
                crash_file = str(self.logs_dir / f"worker-{os.getpid()}-native-crash.log") if self.logs_dir else None
                config = WorkerConfig(
                    self.choice.path,
                    self.force_cpu,
                    crash_file,
                    logging.getLogger().getEffectiveLevel(),
                    self.context_idle_s,
                )
                self._generation += 1
                process = _Process(self, self._generation, config)
                try:
                    _pid, self.hardware_info, self.variant_loaded = process.hello.result(timeout=START_TIMEOUT_S)
                except FutureTimeout:
                    process.kill()
                    continue
                except WorkerDied:
                    continue
                self._process = process
                log.info("inference worker %s started (CPU variant %s)", process.process.pid, self.variant_loaded)
                return process
            raise QuarryError("the inference worker could not be started; see the log for why")

    def _record(self, crash: Crash) -> None:
        log.error("%s%s", crash.describe(), f"\nnative stack:\n{crash.native_stack}" if crash.native_stack else "")
        self.crashes.append(crash)
        self._fallback_pending = crash.signal_name or "died"

    def _apply_fallback(self) -> None:
        """After a crash: the next CPU variant, or the CPU instead of a GPU."""
        if not self._fallback_pending or not self.crashes:
            return
        crash = self.crashes[-1]
        self._fallback_pending = ""
        choice = self.choice
        if crash.signal_name == "SIGILL" and choice is not None and choice.path and not choice.forced:
            variants.mark_failed(self.cache_dir, choice, f"{crash.signal_name} in the inference worker")
            self.notices.append(
                f"llama.cpp's {choice.name} CPU variant crashed ({crash.signal_name}); using the next one"
            )
        elif self.on_gpu and not self.force_cpu:
            self.force_cpu = True
            self.notices.append(f"The GPU failed ({crash.describe()}); models now run on the CPU")
        else:
            self.notices.append(f"{crash.describe()[0].upper()}{crash.describe()[1:]}; it was restarted")

    def take_notices(self) -> list[str]:
        """Fallback notices not shown yet, oldest first (a CPU variant or the GPU given up
        after a crash, a restart); they are cleared as they are taken."""
        notices, self.notices = self.notices, []
        return notices

    # -- requests -----------------------------------------------------------------------
    def hardware(self) -> Any:
        """llama.cpp's backends and devices as the worker sees them
        (indexer.runtime.hardware.Hardware), read when it started; starts it if none runs.
        Raises QuarryError when it cannot be started, or after close."""
        self._ensure()
        return self.hardware_info

    def ping(self) -> None:
        """One round trip with nothing to do: the cost of a request (about 0.1 ms;
        benchmarks/worker.py). Raises what ``call`` raises."""
        self.call(None, "ping")

    def load(self, method: str, *args: Any, name: str, on_gpu: bool = False) -> Slot:
        """Load a model in the worker and keep the recipe, so a restarted worker loads it again.

        Args:
            method: ``load_embedder`` (args: path, placement, sequences per decode, GGUFInfo, lanes, tuned folder)
                or ``load_reranker`` (path, placement, pairs per decode, GGUFInfo, lanes,
                bf16 cache folder); see indexer.runtime.worker.
            name: the model's name, for logs and crash reports.
            on_gpu: the placement is a GPU (a crash then falls back to the CPU).

        Returns the Slot to pass to ``call``; ``slot.meta`` holds what the model reported
        (dimension, token limits, placement…). Raises what the load raised in the worker
        (ModelInvalid for a file llama.cpp refuses), WorkerDied when the worker died
        loading it, QuarryError when the worker cannot be started."""
        self.on_gpu = self.on_gpu or on_gpu
        slot = Slot(next(self._slot_ids), method, args, name)
        self._slots[slot.id] = slot
        try:
            self._prepare(slot, self._ensure())
        except BaseException:
            self._slots.pop(slot.id, None)
            raise
        return slot

    def unload(self, slot: Slot) -> None:
        """Free ``slot``'s model in the worker and forget its recipe (a restart does not load
        it again). Never raises: a worker that is gone or fails to unload is only logged."""
        self._slots.pop(slot.id, None)
        process = self._process
        if process is not None and not process.dead.is_set() and slot.generation == process.generation:
            try:
                self._request(process, "unload", (slot.id,), slot.name, NEVER, None)
            except QuarryError as exc:
                log.info("unloading %s: %s", slot.name, exc)

    def _prepare(self, slot: Slot, process: _Process) -> None:
        if slot.generation != process.generation:
            slot.meta = self._request(process, slot.method, (slot.id, *slot.args), slot.name, NEVER, None)
            slot.generation = process.generation

    def call(
        self,
        slot: Slot | None,
        method: str,
        *args: Any,
        cancel: CancelToken = NEVER,
        timeout: float | None = None,
        retry: bool = True,
        start: bool = True,
    ) -> Any:
        """Run ``method`` in the worker (on ``slot``'s model, loading it again if the worker
        was restarted) and return its value.

        The request API, ``method`` -> ``args`` -> value (indexer.runtime.worker's
        ``do_<method>``; arguments and values are pickled over the pipe):
        ``count_tokens`` texts -> token counts; ``embed`` texts -> float32 array of shape
        (len(texts), dimension), rows of length 1; ``score`` query, passages, seconds (or
        None) -> raw scores in input order, NaN where the time ran out; ``pair_tokens``
        query, passage -> token ids; ``ping`` -> None; ``release_if_idle`` seconds -> whether
        the model's compute buffers were freed; ``loaded`` -> whether they are held.

        Args:
            slot: the model (from ``load``), or None for requests to the worker itself.
            timeout: seconds to wait for the answer; None: no limit.
            retry: send the request once more to a new worker if this one dies with it.
            start: False returns None instead of starting a worker that is not running.

        Raises:
            Cancelled: ``cancel`` was set (the worker stops the work at its next step).
            WorkerTimeout: no answer within ``timeout`` seconds; the worker was stopped.
            WorkerDied: the worker died with the request (after one retry when ``retry``).
            QuarryError: what the model raised (ModelInvalid…), or WorkerError.
        """
        attempts = 2 if retry else 1
        for attempt in range(attempts):
            if not start and (self._process is None or self._process.dead.is_set()):
                return None
            process = self._ensure()
            try:
                if slot is not None:
                    self._prepare(slot, process)
                    args = (slot.id, *args)
                return self._request(process, method, args, slot.name if slot else "", cancel, timeout)
            except WorkerDied:
                if attempt + 1 == attempts:
                    raise
                log.info("retrying %s once in a new inference worker", method)
                if slot is not None:
                    args = args[1:]
        raise AssertionError("unreachable")

    def _request(
        self,
        process: _Process,
        method: str,
        args: tuple[Any, ...],
        model: str,
        cancel: CancelToken,
        timeout: float | None,
    ) -> Any:
        request_id = next(self._ids)
        future: Future[Any] = Future()
        with process.lock:
            if process.dead.is_set():
                raise WorkerDied(self.crashes[-1] if self.crashes else Crash(None, method, model, "", ""))
            process.pending[request_id] = (future, method, model)
        try:
            process.send(("call", request_id, method, args))
        except OSError:
            pass  # the reader sees the death and fails the future
        if self.on_request is not None:
            self.on_request(method, process.process.pid)
        started = time.monotonic()
        cancel_sent = False
        while True:
            try:
                return future.result(timeout=POLL_S)
            except FutureTimeout:
                pass
            if cancel.cancelled and not cancel_sent:
                cancel_sent = True
                try:
                    process.send(("cancel", request_id))
                except OSError:
                    pass
            if timeout is not None and time.monotonic() - started > timeout:
                log.warning("%s overran %.1f s; stopping the inference worker", method, timeout)
                process.kill()
                process.dead.wait(timeout=10)
                raise WorkerTimeout(
                    f"{method} did not finish within {timeout:.1f} s; the inference worker was restarted"
                )

    def close(self) -> None:
        """Stop the worker (and the models in it); later requests raise QuarryError."""
        with self._start_lock:
            self._closed = True
            process, self._process = self._process, None
        if process is not None:
            process.stop()

    def __enter__(self) -> InferenceWorker:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
