"""CPU-tuned copies of small half-precision models.

On a CPU with AVX512-BF16 (AMD Zen 4 and later, Intel Cooper Lake / Sapphire Rapids and
later), ggml multiplies bf16 weights with one fused dot-product instruction per 32 pairs of
values, where f16 weights are widened to f32 first. The MiniLM-L6 reranker ran 26% faster
as a bf16 copy of its f16 file (benchmarks/rerank.py; max logit change 0.065, smaller than
q8_0's 0.26). llama.cpp converts the file itself (``llama_model_quantize``); the copy lives
in Quarry's cache folder, named after the source file's identity, so a changed source gets
a fresh copy and the user's model folders are never written to.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from pathlib import Path

from indexer.models.gguf_info import GGUFInfo, read_info
from indexer.models.score_cache import model_identity
from indexer.runtime.hardware import has_bf16_kernels
from indexer.runtime.llama import cpu_threads, llama_cpp

log = logging.getLogger(__name__)

SOURCE_FILE_TYPES = {0: "f32", 1: "f16"}
"""general.file_type values we convert: converting an already quantized file would lose
precision twice, and bf16 is not smaller than those (but see REQUANTIZED_FILE_TYPES)."""

REQUANTIZED_FILE_TYPES = {7: "q8_0"}
"""Quantized types converted too where the caller asks (``requantize``: the embedder) and the
file is small. For the all-MiniLM-L6-v2 Q8_0 embedder on a Zen 5 (benchmarks/embed.py, session
12) the bf16 copy embedded 47.7 passages/s against 29.3 for the Q8_0 file and came *closer* to
the PyTorch reference (least cosine over its 12 texts 0.99953 against 0.99844): a Q8_0 matmul
also rounds the activations to 8 bits, a bf16 one keeps them to 8 mantissa bits."""

REQUANTIZE_MAX_BYTES = 128 * 1024 * 1024
"""Past this a Q8_0 file stays as it is: its bf16 copy would be nearly twice its size in
memory, and a large model's operations are long enough that the kernel matters less."""

TUNED_MAX_BYTES = 1024 * 1024 * 1024
"""The copy is as large as an f16 file; past 1 GB the disk and conversion time outweigh a
speed-up that only shows on small models' short operations anyway."""

_LLAMA_FTYPE_MOSTLY_BF16 = 32


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether the CPU backend llama.cpp loaded has the AVX512-BF16 dot-product kernels."""
    features = llama_cpp().llama_print_system_info().decode(errors="replace")
    return has_bf16_kernels(features)


def tuned_copy(path: Path, folder: Path, info: GGUFInfo | None = None, requantize: bool = False) -> Path:
    """The file to load on this CPU: a bf16 copy of ``path`` in ``folder`` when that is
    faster here, otherwise ``path`` itself. ``requantize`` also converts small Q8_0 files
    (REQUANTIZED_FILE_TYPES). Never raises: a failed conversion is logged and the original
    is used."""
    try:
        info = info or read_info(path)
        convertible = info.file_type in SOURCE_FILE_TYPES and info.size <= TUNED_MAX_BYTES
        convertible = convertible or (
            requantize and info.file_type in REQUANTIZED_FILE_TYPES and info.size <= REQUANTIZE_MAX_BYTES
        )
        if not convertible or not cpu_has_bf16():
            return path
        digest = hashlib.blake2b(model_identity(path).encode(), digest_size=6).hexdigest()
        target = folder / f"{path.stem}.{digest}.bf16.gguf"
        if target.exists():
            return target
        return _convert(path, target)
    except Exception as exc:  # noqa: BLE001 - the original file always works
        log.warning("could not make a bf16 copy of %s (%s); using it as it is", path.name, exc)
        return path


def _convert(path: Path, target: Path) -> Path:
    ll = llama_cpp()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    params = ll.llama_model_quantize_default_params()
    params.ftype = _LLAMA_FTYPE_MOSTLY_BF16
    params.nthread = cpu_threads()
    params.allow_requantize = True  # only reached for the types tuned_copy lets through
    status = ll.llama_model_quantize(str(path).encode(), str(partial).encode(), params)
    if status != 0 or not partial.exists():
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"llama_model_quantize returned {status}")
    os.replace(partial, target)
    for stale in folder_copies(target.parent, path.stem):
        if stale != target:
            stale.unlink(missing_ok=True)  # copies of an older version of the same file
    log.info("made a bf16 copy of %s for this CPU: %s", path.name, target)
    return target


def folder_copies(folder: Path, stem: str) -> list[Path]:
    return sorted(folder.glob(f"{stem}.*.bf16.gguf"))
