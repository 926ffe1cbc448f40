"""Which of ggml's CPU variants to load, chosen by running it first in a child process.

A llama.cpp build with loadable backends (GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS, the
Makefile's CPU build) ships one ``libggml-cpu-<variant>.so`` per instruction-set level
(x64, sse42, haswell, skylakex, icelake, zen4, sapphirerapids, …). ggml itself loads the
one that scores highest for the CPU it sees, and a variant can fault on a CPU it claims to
fit: the ``sapphirerapids`` variant dies with SIGILL in its AMX matrix multiply on some
Intel Xeons, and a hypervisor can report instructions it does not really enable.

So Quarry asks each variant for its score in a child process, then, best first, runs a
short decode through each in a child process of its own (``indexer.runtime.probe``): the
first that survives and gives the same numbers as the baseline variant is used. The
verdict is kept per (CPU signature, llama.cpp build) in the cache folder, so later starts
cost nothing. ``QUARRY_CPU_VARIANT=<name>`` (or the Hardware setting) forces a variant.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import platform
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from indexer.atomic import write_text_atomic

log = logging.getLogger(__name__)

VARIANT_ENV = "QUARRY_CPU_VARIANT"
"""A variant name (``zen4``, ``haswell``…) to use without probing."""
VARIANT_PATH_ENV = "QUARRY_CPU_VARIANT_PATH"
"""Set by Quarry for its children: the variant file this process must load."""
BACKEND_DIR_ENV = "GGML_BACKEND_DIR"

VERDICT_FILE = "cpu-variant.json"
PROBE_TIMEOUT_S = 120.0
"""A probe loads llama.cpp and a 1 MB model and decodes a few sequences: about a second;
far more only on a machine loaded to its limit."""
MATCH_TOLERANCE = 0.02
"""Largest difference allowed between a variant's L2-normalised outputs and the baseline's.
bf16 and int8 kernels round differently from the baseline's (seen: 0.0001 on the probe model); a broken
kernel gives garbage (differences near 1) or NaN."""

_PREFIXES = ("libggml-cpu-", "ggml-cpu-")
_SUFFIXES = (".so", ".dll", ".dylib")


@dataclass(frozen=True, slots=True)
class VariantChoice:
    """The CPU variant a process loads, and what was passed over on the way."""

    name: str
    """'zen4', 'haswell'…, or 'built in' for a build without loadable variants."""
    path: str | None
    """The variant's library file; None: the build links its CPU backend statically."""
    skipped: tuple[tuple[str, str], ...] = ()
    """(variant, reason) for each better-scoring variant that failed its probe."""
    forced: bool = False
    """Chosen by QUARRY_CPU_VARIANT or the settings, without probing."""
    probe_s: float = 0.0
    """Seconds spent probing (0 when the verdict came from the cache)."""

    def describe(self) -> str:
        """For people: 'zen4' or 'icelake (sapphirerapids skipped: SIGILL…)'."""
        text = self.name + (" (forced)" if self.forced else "")
        if self.skipped:
            text += " — skipped: " + "; ".join(f"{name}: {why}" for name, why in self.skipped)
        return text


BUILT_IN = VariantChoice("built in", None)


@dataclass(slots=True)
class ProbeOutcome:
    ok: bool
    reason: str = ""
    outputs: dict[str, list[list[float]]] = field(default_factory=dict)


def variant_name(path: Path) -> str:
    name = path.name
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name


def _is_variant(path: Path) -> bool:
    return path.name.startswith(_PREFIXES) and path.name.endswith(_SUFFIXES)


def backend_folders() -> list[Path]:
    """Where a GGML_BACKEND_DL build keeps its backends: $GGML_BACKEND_DIR, then
    llama_cpp/backends (the frozen app), site-packages/bin (the wheel), llama_cpp/lib.
    Only folders holding CPU variants count. Found without importing llama_cpp."""
    import importlib.util

    candidates: list[Path] = []
    if os.environ.get(BACKEND_DIR_ENV):
        candidates.append(Path(os.environ[BACKEND_DIR_ENV]))
    spec = importlib.util.find_spec("llama_cpp")
    if spec is not None and spec.origin:
        package = Path(spec.origin).parent
        candidates += [package / "backends", package.parent / "bin", package / "lib"]
    return [c for c in candidates if c.is_dir() and any(_is_variant(p) for p in c.iterdir())]


def find_variants() -> list[Path]:
    """The CPU variant files of the first backend folder that has any ([] for static builds)."""
    for folder in backend_folders():
        return sorted(p for p in folder.iterdir() if _is_variant(p))
    return []


def available_variants() -> list[str]:
    """The names of this build's CPU variants ([] for static builds); lists files only."""
    return [variant_name(p) for p in find_variants()]


def other_backends(variant: Path) -> list[Path]:
    """Non-CPU backend libraries beside a variant (libggml-cuda.so, …), loaded with it."""
    return sorted(
        p
        for p in variant.parent.iterdir()
        if p.name.startswith(("libggml-", "ggml-"))
        and p.name.endswith(_SUFFIXES)
        and not _is_variant(p)
        and "base" not in p.name
        and p.name not in ("libggml.so", "ggml.dll", "libggml.dylib")
        and not p.name.startswith(("libggml.so", "libggml-base"))
    )


def cpu_signature() -> str:
    """What identifies this processor for the verdict: its model name and feature flags."""
    text = platform.machine() + "|" + platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                key = line.partition(":")[0].strip()
                if key in ("model name", "flags", "Features", "vendor_id", "cpu family", "model"):
                    text += "|" + line.strip()
                if not line.strip():
                    break  # the first processor is enough
    except OSError:
        pass
    return text


def cpu_model() -> str:
    """The processor's name for people and benchmark rows, e.g. 'AMD EPYC'."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def build_identity(variants: list[Path]) -> str:
    """What identifies the llama.cpp build: its variant files' names and sizes."""
    parts = [f"{p.name}:{p.stat().st_size}" for p in variants]
    return "|".join(parts)


def verdict_key(variants: list[Path]) -> str:
    return hashlib.sha256((cpu_signature() + "#" + build_identity(variants)).encode()).hexdigest()[:24]


# -- the verdict cache ------------------------------------------------------------------
def _read_verdicts(cache_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((cache_dir / VERDICT_FILE).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_verdicts(cache_dir: Path, verdicts: dict[str, Any]) -> None:
    write_text_atomic(cache_dir / VERDICT_FILE, json.dumps(verdicts, indent=1))


def mark_failed(cache_dir: Path, choice: VariantChoice, reason: str) -> None:
    """Remember that ``choice`` failed in real work (the worker died of it): the next
    ``choose`` passes over it."""
    variants = find_variants()
    if not variants or choice.path is None:
        return
    verdicts = _read_verdicts(cache_dir)
    key = verdict_key(variants)
    entry = verdicts.get(key, {})
    failed = dict(entry.get("failed", {}))
    failed[choice.name] = reason
    verdicts[key] = {"failed": failed}  # the chosen variant is chosen again, without it
    _write_verdicts(cache_dir, verdicts)


# -- choosing ---------------------------------------------------------------------------
def choose(cache_dir: Path, forced: str | None = None) -> VariantChoice:
    """The CPU variant to load in this machine's llama.cpp processes.

    Args:
        cache_dir: where verdicts are kept (``AppPaths.cache``).
        forced: a variant name to use without probing; else $QUARRY_CPU_VARIANT.

    Returns BUILT_IN for builds without loadable variants. Never raises for a failing
    variant: that one is skipped with its reason. Raises ``RuntimeError`` only when no
    variant at all can run, which leaves nothing to fall back to.
    """
    variants = find_variants()
    if not variants:
        return BUILT_IN
    forced = forced or os.environ.get(VARIANT_ENV) or None
    if forced:
        for path in variants:
            if variant_name(path) == forced:
                return VariantChoice(forced, str(path), forced=True)
        log.warning(
            "CPU variant %r is not in this build (%s); choosing one", forced, ", ".join(map(variant_name, variants))
        )
    key = verdict_key(variants)
    verdicts = _read_verdicts(cache_dir)
    cached = verdicts.get(key, {})
    if cached.get("name") and Path(cached.get("path", "")).exists():
        return VariantChoice(cached["name"], cached["path"], tuple(tuple(s) for s in cached.get("skipped", ())))
    known_bad: dict[str, str] = dict(cached.get("failed", {}))
    choice = _probe_all(variants, known_bad)
    entry = asdict(choice)
    entry["failed"] = known_bad
    verdicts[key] = entry
    try:
        _write_verdicts(cache_dir, verdicts)
    except OSError as exc:
        log.warning("cannot keep the CPU variant verdict in %s: %s", cache_dir, exc)
    return choice


def _probe_all(variants: list[Path], known_bad: dict[str, str]) -> VariantChoice:
    started = time.monotonic()
    scores = run_child(_score_variants, [str(p) for p in variants])
    if not isinstance(scores, dict):
        log.warning("scoring the CPU variants failed (%s); trying them in name order", scores)
        scores = {str(p): 1 for p in variants}
    usable = sorted((p for p in variants if scores.get(str(p), 0) > 0), key=lambda p: -scores[str(p)])
    if not usable:
        raise RuntimeError("no llama.cpp CPU variant supports this processor")
    skipped: list[tuple[str, str]] = []
    reference: ProbeOutcome | None = None
    # The baseline (lowest score) gives the reference numbers; then best first.
    for baseline in reversed(usable):
        reference = probe_variant(baseline)
        if reference.ok:
            break
        log.warning("CPU variant %s failed its probe: %s", variant_name(baseline), reference.reason)
    if reference is None or not reference.ok:
        raise RuntimeError("no llama.cpp CPU variant runs on this processor")
    for path in usable:
        name = variant_name(path)
        if name in known_bad:
            skipped.append((name, known_bad[name]))
            continue
        outcome = reference if path == baseline else probe_variant(path)
        if outcome.ok:
            difference = max_difference(outcome.outputs, reference.outputs)
            if difference <= MATCH_TOLERANCE:
                took = time.monotonic() - started
                log.info("CPU variant %s chosen after %.1f s of probing", name, took)
                return VariantChoice(name, str(path), tuple(skipped), probe_s=round(took, 2))
            outcome = ProbeOutcome(False, f"gave different numbers (off by {difference:.3g})")
        log.warning("CPU variant %s skipped: %s", name, outcome.reason)
        skipped.append((name, outcome.reason))
    raise RuntimeError("no llama.cpp CPU variant gave the right numbers on this processor")


def max_difference(a: dict[str, list[list[float]]], b: dict[str, list[list[float]]]) -> float:
    import numpy as np

    if a.keys() != b.keys():
        return float("inf")
    worst = 0.0
    for key in a:
        x, y = np.asarray(a[key], dtype=np.float64), np.asarray(b[key], dtype=np.float64)
        if x.shape != y.shape or not np.isfinite(x).all():
            return float("inf")
        worst = max(worst, float(np.max(np.abs(x - y))) if x.size else 0.0)
    return worst


def probe_variant(path: Path) -> ProbeOutcome:
    """Run the probe decode (indexer.runtime.probe) with this variant in a child process."""
    from indexer.runtime.probe import probe_model_path, run_probe

    model = probe_model_path()
    answer = run_child(run_probe, str(path), str(model), env={VARIANT_PATH_ENV: str(path)})
    if isinstance(answer, dict):
        return ProbeOutcome(True, outputs=answer)
    return ProbeOutcome(False, str(answer))


# -- child processes ----------------------------------------------------------------------
def _score_variants(paths: list[str]) -> dict[str, int]:
    """In a child: each variant's own ``ggml_backend_score`` for this CPU (0: unsupported)."""
    import ctypes

    import llama_cpp  # noqa: F401 - loads libggml-base, which the variants link against

    scores = {}
    for path in paths:
        try:
            library = ctypes.CDLL(path)
            library.ggml_backend_score.restype = ctypes.c_int
            scores[path] = int(library.ggml_backend_score())
        except (OSError, AttributeError) as exc:
            log.info("cannot score %s: %s", path, exc)
            scores[path] = 0
    return scores


def _child_main(connection: Any, function: Callable[..., Any], args: tuple[Any, ...], env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    try:
        connection.send(("ok", function(*args)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        connection.send(("error", f"{type(exc).__name__}: {exc}"))
    connection.close()


def describe_exit(exitcode: int | None) -> str:
    """'SIGILL (illegal instruction)', 'exit code 3'…"""
    if exitcode is None:
        return "did not finish"
    if exitcode < 0:
        try:
            sig = signal.Signals(-exitcode)
        except ValueError:
            return f"killed by signal {-exitcode}"
        meaning = signal.strsignal(sig) or ""
        return f"{sig.name} ({meaning.lower()})" if meaning else sig.name
    return f"exit code {exitcode}"


def run_child(
    function: Callable[..., Any], *args: Any, env: dict[str, str] | None = None, timeout: float = PROBE_TIMEOUT_S
) -> Any:
    """Run ``function(*args)`` in a fresh spawned process; its result, or a string saying
    why there is none (the signal that ended it, its exception, a timeout)."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(
        target=_child_main, args=(child, function, args, env or {}), name="quarry-probe", daemon=True
    )
    process.start()
    child.close()
    try:
        if parent.poll(timeout):
            try:
                status, value = parent.recv()
            except (EOFError, OSError):
                status, value = "died", None
        else:
            status, value = "timeout", None
    finally:
        process.join(timeout=5 if status != "timeout" else 0)  # type: ignore[possibly-undefined]
        if process.is_alive():
            process.kill()
            process.join()
        parent.close()
    if status == "ok":
        return value
    if status == "error":
        return str(value)
    if status == "timeout":
        return f"no answer within {timeout:.0f} s"
    return describe_exit(process.exitcode)


def default_cache_dir() -> Path:
    from indexer.paths import AppPaths

    return AppPaths.default().cache


if __name__ == "__main__" and sys.argv[1:] == ["--choose"]:  # pragma: no cover - manual check
    logging.basicConfig(level=logging.INFO)
    log.info("%s", choose(default_cache_dir()))
