"""The one place that talks to llama.cpp: load a GGUF, tokenize, decode sequences, read
pooled outputs. Embedder and Reranker build on it; nothing else imports llama_cpp.

llama-cpp-python's high-level ``Llama`` class prints metadata to stderr when verbose and
silences the whole process's file descriptors when not; we use the low-level API instead
and route llama.cpp's own log into ``logging``.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from indexer.errors import ModelInvalid

log = logging.getLogger(__name__)
native_log = logging.getLogger("llama_cpp.native")

_import_lock = threading.Lock()
_llama: ModuleType | None = None
_log_callback: Any = None  # held so the C side never calls a collected function
_line_buffer: list[str] = []
_line_level = [logging.DEBUG]

# ggml_log_level: NONE=0 DEBUG=1 INFO=2 WARN=3 ERROR=4 CONT=5. llama.cpp's INFO is a dump of
# the model's metadata, and its WARNs are notes on the GGUF that we check ourselves: both
# are developer detail, so they go to DEBUG and INFO; ERROR stays an error.
_LEVELS = {0: logging.DEBUG, 1: logging.DEBUG, 2: logging.DEBUG, 3: logging.INFO, 4: logging.ERROR}


def llama_cpp() -> ModuleType:
    """Import llama_cpp once, the right way: passive OpenMP threads, log into logging."""
    global _llama, _log_callback
    with _import_lock:
        if _llama is not None:
            return _llama
        # Spinning OpenMP threads ran 4x slower on shared cores; must be set before import.
        os.environ.setdefault("OMP_WAIT_POLICY", "passive")
        import llama_cpp as module

        def on_log(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
            if level != 5:
                _line_level[0] = _LEVELS.get(level, logging.DEBUG)
            _line_buffer.append(text.decode("utf-8", errors="replace"))
            if _line_buffer[-1].endswith("\n"):
                message = "".join(_line_buffer).rstrip()
                _line_buffer.clear()
                if message:
                    native_log.log(_line_level[0], "%s", message)

        _log_callback = module.llama_log_callback(on_log)
        module.llama_log_set(_log_callback, ctypes.c_void_p(0))
        _load_backends(module)
        module.llama_backend_init()
        _llama = module
        return module


_ggml_lib: ctypes.CDLL | None = None


def ggml_library(module: ModuleType | None = None) -> ctypes.CDLL | None:
    """The libggml instance libllama itself uses. Wheels store symlinks as copies, so
    llama_cpp/lib holds libggml.so and libggml.so.0 as two files: libllama links the
    versioned one, and backends registered in the other would be invisible to it."""
    global _ggml_lib
    if _ggml_lib is None:
        import llama_cpp as package

        folder = Path((module or package).__file__).parent / "lib"
        for name in ("libggml.so.0", "libggml.so", "libggml.0.dylib", "libggml.dylib", "ggml.dll"):
            if (folder / name).exists():
                try:
                    _ggml_lib = ctypes.CDLL(str(folder / name))
                except OSError as exc:
                    log.info("cannot load %s: %s", name, exc)
                    continue
                break
    return _ggml_lib


def _load_backends(module: ModuleType) -> None:
    """A build with GGML_BACKEND_DL and GGML_CPU_ALL_VARIANTS (the Makefile's CPU build)
    registers no backend by itself. ggml's own loader would take the CPU variant that scores
    best for this processor, which can die with SIGILL (indexer.runtime.variants); so this
    loads the variant Quarry proved in a child process: $QUARRY_CPU_VARIANT_PATH when a
    parent chose it, else ``variants.choose`` (probing once, then from the cache). Static
    builds have their backends already."""
    lib = ggml_library(module)
    if lib is None:
        return
    lib.ggml_backend_reg_count.restype = ctypes.c_size_t
    if lib.ggml_backend_reg_count() > 0:
        return
    from indexer.runtime import variants

    path = os.environ.get(variants.VARIANT_PATH_ENV)
    if not path:
        choice = variants.choose(variants.default_cache_dir())
        path = choice.path
        if path:
            os.environ[variants.VARIANT_PATH_ENV] = path
    if not path:
        log.error("llama.cpp was built with loadable backends but none was found")
        return
    lib.ggml_backend_load.argtypes = [ctypes.c_char_p]
    lib.ggml_backend_load.restype = ctypes.c_void_p
    for backend in [Path(path), *variants.other_backends(Path(path))]:
        if not lib.ggml_backend_load(str(backend).encode()):
            log.warning("llama.cpp could not load the backend %s", backend.name)
    log.info("llama.cpp CPU variant %s loaded", variants.variant_name(Path(path)))


def loaded_variant() -> str:
    """The CPU variant this process runs ('built in' for static builds)."""
    from indexer.runtime import variants

    path = os.environ.get(variants.VARIANT_PATH_ENV)
    return variants.variant_name(Path(path)) if path else "built in"


def cpu_threads() -> int:
    """Physical-ish core count: llama.cpp gains nothing from hyper-threads."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:
        available = os.cpu_count() or 1
    return max(1, available if available <= 4 else available // 2)


class LlamaModel:
    """A loaded GGUF with one or more contexts ("lanes"), for embedding or rank pooling.

    Callers hold ``lock`` around tokenize and decode. With ``n_lanes`` > 1 the model's
    weights are loaded once and each lane gets its own context and threads: while the
    lock is held, one caller thread per lane may call ``decode(..., lane=i)`` at the same
    time (ctypes releases the GIL inside llama.cpp). On a CPU, lanes of one thread each
    beat one context sharing all threads for small models: ggml synchronises its threads
    after every operation, and a small model's operations are short."""

    def __init__(
        self,
        path: Path,
        *,
        pooling: int | None = None,
        n_ctx: int = 0,
        n_seq_max: int = 1,
        n_threads: int | None = None,
        n_gpu_layers: int = 0,
        flash_attn: bool = True,
        n_lanes: int = 1,
        logits: bool = False,
    ) -> None:
        """Args:
        pooling: llama.cpp's pooling type for pooled outputs (embeddings, rank pooling).
        logits: a causal context that gives next-token logits (``decode_logits``) instead
            of pooled outputs; ``pooling`` is then ignored.
        """
        self.path = path
        self.lock = threading.Lock()
        self.logits = logits
        self._settings = (pooling, n_ctx, n_seq_max, n_threads, n_gpu_layers, flash_attn)
        self.n_lanes = max(1, n_lanes)
        self._model = None
        self._ctxs: list[Any] = []
        self._batches: list[Any] = []
        self.last_used = time.monotonic()
        self._open()

    def _open(self) -> None:
        ll = llama_cpp()
        n_gpu_layers = self._settings[4]
        model_params = ll.llama_model_default_params()
        model_params.n_gpu_layers = n_gpu_layers
        self._model = ll.llama_model_load_from_file(str(self.path).encode(), model_params)
        if not self._model:
            raise ModelInvalid(f"llama.cpp could not load {self.path.name}")
        try:
            self.vocab = ll.llama_model_get_vocab(self._model)
            self.n_ctx_train = int(ll.llama_model_n_ctx_train(self._model))
            self.n_embd = int(ll.llama_model_n_embd(self._model))
            self.n_cls_out = int(ll.llama_model_n_cls_out(self._model))
            self.n_vocab = int(ll.llama_vocab_n_tokens(self.vocab))
            self._open_contexts()
        except BaseException:
            self.release()
            raise

    def _open_contexts(self) -> None:
        """One context (and batch) per lane on the loaded weights. Their compute buffers are
        most of a small model's memory (MiniLM reranker, 2 x 512 tokens: ~58 MB), so
        ``trim_if_idle`` frees them and this makes them again."""
        ll = llama_cpp()
        pooling, n_ctx, n_seq_max, n_threads, _, flash_attn = self._settings
        ctx_size = min(n_ctx or self.n_ctx_train, self.n_ctx_train) * n_seq_max
        ctx_params = ll.llama_context_default_params()
        ctx_params.n_ctx = ctx_size
        ctx_params.n_batch = ctx_size
        ctx_params.n_ubatch = ctx_size
        ctx_params.n_seq_max = n_seq_max
        ctx_params.embeddings = not self.logits
        if self.logits:
            ctx_params.pooling_type = ll.LLAMA_POOLING_TYPE_NONE
        elif pooling is not None:
            ctx_params.pooling_type = pooling
        ctx_params.flash_attn_type = (
            ll.LLAMA_FLASH_ATTN_TYPE_ENABLED if flash_attn else ll.LLAMA_FLASH_ATTN_TYPE_DISABLED
        )
        threads = n_threads or cpu_threads()
        per_lane = max(1, threads // self.n_lanes)
        ctx_params.n_threads = per_lane
        ctx_params.n_threads_batch = per_lane
        ctx_params.kv_unified = False  # each sequence gets its own n_ctx / n_seq_max slot
        for _ in range(self.n_lanes):
            ctx = ll.llama_init_from_model(self._model, ctx_params)
            if not ctx:
                raise ModelInvalid(f"llama.cpp could not create a context for {self.path.name}")
            self._ctxs.append(ctx)
            self._batches.append(ll.llama_batch_init(ctx_size, 0, 1))
        self.n_ctx = ctx_size
        self.n_seq_max = n_seq_max
        self.n_threads = threads
        self.pooling = int(ll.llama_pooling_type(self._ctxs[0]))
        self.n_out = self.n_cls_out if self.pooling == ll.LLAMA_POOLING_TYPE_RANK else self.n_embd

    def _close_contexts(self) -> None:
        ll = llama_cpp()
        for batch in self._batches:
            ll.llama_batch_free(batch)
        self._batches = []
        for ctx in self._ctxs:
            ll.llama_free(ctx)
        self._ctxs = []

    # -- idle release ------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _ensure(self) -> None:
        """Reload after ``release``; the caller holds ``lock``."""
        if self._model is None:
            log.info("reloading %s", self.path.name)
            self._open()
        elif not self._ctxs:
            self._open_contexts()
        self.last_used = time.monotonic()

    def release_if_idle(self, idle_s: float) -> bool:
        """Free the model's memory if unused for ``idle_s`` seconds; the next call reloads it."""
        with self.lock:
            if self._model is None or time.monotonic() - self.last_used < idle_s:
                return False
            log.info("releasing %s after %.0f s idle", self.path.name, idle_s)
            self.release()
            return True

    def trim_if_idle(self, idle_s: float) -> bool:
        """Free the contexts' compute buffers if unused for ``idle_s`` seconds, keeping the
        weights (file-backed, shared with the page cache); the next call makes the contexts
        again (a few milliseconds for a small model)."""
        with self.lock:
            if not self._ctxs or time.monotonic() - self.last_used < idle_s:
                return False
            self._close_contexts()
            return True

    # -- metadata ---------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        ll = llama_cpp()
        self._ensure()
        buffer = ctypes.create_string_buffer(4096)
        size = ll.llama_model_meta_val_str(self._model, key.encode(), buffer, len(buffer))
        return buffer.value.decode("utf-8", errors="replace") if size >= 0 else None

    def special_tokens(self) -> dict[str, Any]:
        ll = llama_cpp()
        self._ensure()
        return {
            "add_bos": bool(ll.llama_vocab_get_add_bos(self.vocab)),
            "add_eos": bool(ll.llama_vocab_get_add_eos(self.vocab)),
            "add_sep": bool(ll.llama_vocab_get_add_sep(self.vocab)),
            "bos": int(ll.llama_vocab_bos(self.vocab)),
            "eos": int(ll.llama_vocab_eos(self.vocab)),
            "sep": int(ll.llama_vocab_sep(self.vocab)),
        }

    # -- work -------------------------------------------------------------------
    def tokenize(self, text: str, *, add_special: bool = False, parse_special: bool = False) -> list[int]:
        ll = llama_cpp()
        self._ensure()
        data = text.encode("utf-8", errors="replace")
        capacity = len(data) + 8
        while True:
            buffer = (ll.llama_token * capacity)()
            n = ll.llama_tokenize(self.vocab, data, len(data), buffer, capacity, add_special, parse_special)
            if n >= 0:
                return list(buffer[:n])
            capacity = -n

    def detokenize(self, tokens: list[int]) -> str:
        """The text of ``tokens`` (special tokens rendered), for cutting a text to a token budget."""
        ll = llama_cpp()
        self._ensure()
        pieces = bytearray()
        buffer = ctypes.create_string_buffer(256)
        for token in tokens:
            n = ll.llama_token_to_piece(self.vocab, token, buffer, len(buffer), 0, True)
            pieces += buffer.raw[: max(0, n)]
        return pieces.decode("utf-8", errors="ignore")

    def _fill(self, sequences: list[list[int]], lane: int, outputs: str) -> Any:
        """Check the sequences fit, load them into the lane's batch and decode. ``outputs``:
        'all' (pooled outputs read every token) or 'last' (logits of each sequence's last
        token). Returns the lane's context."""
        ll = llama_cpp()
        self._ensure()
        total = sum(len(s) for s in sequences)
        limit = self.n_ctx // self.n_seq_max
        if not sequences or len(sequences) > self.n_seq_max or total > self.n_ctx:
            raise ValueError(f"{len(sequences)} sequences of {total} tokens do not fit this context")
        if any(not s or len(s) > limit for s in sequences):
            raise ValueError(f"every sequence must hold 1..{limit} tokens")
        ctx, batch = self._ctxs[lane], self._batches[lane]
        i = 0
        for seq_id, tokens in enumerate(sequences):
            last = len(tokens) - 1
            for pos, token in enumerate(tokens):
                batch.token[i] = token
                batch.pos[i] = pos
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = seq_id
                batch.logits[i] = outputs == "all" or pos == last
                i += 1
        batch.n_tokens = total
        memory = ll.llama_get_memory(ctx)
        if memory:
            ll.llama_memory_clear(memory, True)
        status = ll.llama_decode(ctx, batch)
        if status != 0:
            raise RuntimeError(f"llama_decode failed with status {status}")
        return ctx

    def decode_logits(self, sequences: list[list[int]], token_ids: list[int], lane: int = 0) -> np.ndarray:
        """Causal decode (a model opened with ``logits=True``); for each sequence the
        next-token logits of ``token_ids`` at its last position: shape (len(sequences),
        len(token_ids)), float32. Same length rules as ``decode``."""
        ll = llama_cpp()
        ctx = self._fill(sequences, lane, "last")
        out = np.empty((len(sequences), len(token_ids)), dtype=np.float32)
        row_end = 0
        for seq_id, tokens in enumerate(sequences):
            row_end += len(tokens)
            pointer = ll.llama_get_logits_ith(ctx, row_end - 1)
            if not pointer:
                raise RuntimeError("llama.cpp returned no logits")
            logits = np.ctypeslib.as_array(pointer, shape=(self.n_vocab,))
            out[seq_id] = logits[token_ids]
        return out

    def decode(self, sequences: list[list[int]], lane: int = 0) -> np.ndarray:
        """Run sequences through the model in one batch on one lane; one pooled row per
        sequence.

        The caller must keep every sequence within ``n_ctx / n_seq_max`` tokens: llama.cpp
        aborts the whole process on an over-long input, so this checks before it calls.
        """
        ll = llama_cpp()
        ctx = self._fill(sequences, lane, "all")
        out = np.empty((len(sequences), self.n_out), dtype=np.float32)
        for seq_id in range(len(sequences)):
            pointer = ll.llama_get_embeddings_seq(ctx, seq_id)
            if not pointer:
                raise RuntimeError("llama.cpp returned no pooled output")
            out[seq_id] = np.ctypeslib.as_array(pointer, shape=(self.n_out,))
        return out

    def release(self) -> None:
        """Free the weights and the contexts; the next call loads them again (unlike a
        close, the model stays usable)."""
        ll = llama_cpp()
        self._close_contexts()
        if self._model:
            ll.llama_model_free(self._model)
            self._model = None

    def __del__(self) -> None:
        try:
            self.release()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
