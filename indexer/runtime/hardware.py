"""What llama.cpp was built with, which devices exist, and where our models run.

llama-cpp-python does not wrap ggml's backend device API, so we call it through ctypes on
the libggml it ships.
"""

from __future__ import annotations

import ctypes
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.runtime.llama import LlamaModel, cpu_threads, ggml_library, llama_cpp, loaded_variant

log = logging.getLogger(__name__)

# enum ggml_backend_dev_type
_DEV_TYPES = {0: "CPU", 1: "GPU", 2: "iGPU", 3: "accelerator"}


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    description: str
    kind: str
    memory_total: int = 0
    memory_free: int = 0

    @property
    def is_gpu(self) -> bool:
        return self.kind in ("GPU", "iGPU")


def has_bf16_kernels(features: str) -> bool:
    """Whether llama.cpp's system info (``llama_print_system_info``) reports AVX512-BF16
    for the CPU variant loaded: the one rule for making bf16 copies (indexer.models.bf16)."""
    return "AVX512_BF16 = 1" in features


@dataclass(frozen=True, slots=True)
class Hardware:
    backends: tuple[str, ...]
    """Backends llama.cpp was built with, e.g. ('CPU',) or ('CUDA', 'CPU')."""
    devices: tuple[Device, ...]
    gpu_offload: bool
    cpu_features: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    cpu_model: str = ""
    """The processor's name, e.g. 'AMD EPYC' (from /proc/cpuinfo where there is one)."""
    cpu_variant: str = "built in"
    """The llama.cpp CPU variant loaded (indexer.runtime.variants), e.g. 'zen4'."""

    @property
    def cpu_has_bf16(self) -> bool:
        """Whether the CPU variant that runs has AVX512-BF16 kernels (indexer.models.bf16)."""
        return has_bf16_kernels(self.cpu_features)

    @property
    def gpus(self) -> tuple[Device, ...]:
        return tuple(d for d in self.devices if d.is_gpu)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a model runs and why."""

    n_gpu_layers: int
    threads: int
    label: str
    """For people: 'CPU, 2 threads' or 'CUDA0: NVIDIA H100 80GB HBM3'."""
    on_gpu: bool


def _ggml() -> ctypes.CDLL | None:
    llama_cpp()  # initialises the backends
    lib = ggml_library()
    if lib is None:
        log.info("ggml library not reachable")
        return None
    lib.ggml_backend_dev_count.restype = ctypes.c_size_t
    lib.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
    lib.ggml_backend_dev_get.restype = ctypes.c_void_p
    for name in ("ggml_backend_dev_name", "ggml_backend_dev_description"):
        getattr(lib, name).argtypes = [ctypes.c_void_p]
        getattr(lib, name).restype = ctypes.c_char_p
    lib.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_dev_type.restype = ctypes.c_int
    lib.ggml_backend_dev_memory.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_size_t),
        ctypes.POINTER(ctypes.c_size_t),
    ]
    lib.ggml_backend_dev_memory.restype = None
    lib.ggml_backend_reg_count.restype = ctypes.c_size_t
    lib.ggml_backend_reg_get.argtypes = [ctypes.c_size_t]
    lib.ggml_backend_reg_get.restype = ctypes.c_void_p
    lib.ggml_backend_reg_name.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_reg_name.restype = ctypes.c_char_p
    return lib


def detect() -> Hardware:
    """What this process's llama.cpp has: backends, devices, CPU features and variant.
    Loads llama.cpp: call it in the inference worker (InferenceWorker.hardware)."""
    from indexer.runtime.variants import cpu_model

    ll = llama_cpp()
    lib = _ggml()
    backends: list[str] = []
    devices: list[Device] = []
    if lib is not None:
        for i in range(lib.ggml_backend_reg_count()):
            backends.append(lib.ggml_backend_reg_name(lib.ggml_backend_reg_get(i)).decode())
        for i in range(lib.ggml_backend_dev_count()):
            dev = lib.ggml_backend_dev_get(i)
            free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
            lib.ggml_backend_dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
            devices.append(
                Device(
                    name=lib.ggml_backend_dev_name(dev).decode(),
                    description=lib.ggml_backend_dev_description(dev).decode(errors="replace"),
                    kind=_DEV_TYPES.get(lib.ggml_backend_dev_type(dev), "other"),
                    memory_total=total.value,
                    memory_free=free.value,
                )
            )
    return Hardware(
        backends=tuple(backends) or ("CPU",),
        devices=tuple(devices),
        gpu_offload=bool(ll.llama_supports_gpu_offload()),
        cpu_features=ll.llama_print_system_info().decode(errors="replace").strip(),
        cpu_model=cpu_model(),
        cpu_variant=loaded_variant(),
    )


def place(hardware: Hardware, preference: str = "auto", threads: int | None = None) -> Placement:
    """Choose where models run: 'auto' takes the first GPU when llama.cpp can offload."""
    threads = threads or cpu_threads()
    cpu = Placement(0, threads, f"CPU, {threads} thread{'s' if threads != 1 else ''}", False)
    if preference == "cpu":
        return cpu
    if hardware.gpu_offload and hardware.gpus:
        gpu = hardware.gpus[0]
        return Placement(999, threads, f"{gpu.name}: {gpu.description}", True)
    if preference == "gpu":
        log.warning("GPU requested, but llama.cpp was built without a GPU backend or found no GPU")
    return cpu


def load_model(path: Path, placement: Placement, **kwargs: Any) -> tuple[LlamaModel, Placement]:
    """Load on the chosen device; if the GPU load fails, fall back to the CPU and say so."""
    if placement.on_gpu:
        try:
            return LlamaModel(
                path, n_gpu_layers=placement.n_gpu_layers, n_threads=placement.threads, **kwargs
            ), placement
        except Exception as exc:  # noqa: BLE001 - any GPU failure must leave the CPU path open
            log.warning("GPU load of %s failed (%s); using the CPU", path.name, exc)
            threads = placement.threads
            placement = Placement(0, threads, f"CPU, {threads} threads (GPU load failed)", False)
    return LlamaModel(path, n_gpu_layers=0, n_threads=placement.threads, **kwargs), placement
