"""Importing indexer caps glibc's malloc arenas (indexer/malloc.py), which kept a searching
process from growing by ~13 MB per search. Counted from glibc's own malloc_info report."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from indexer.malloc import MALLOC_ARENAS
from tests.conftest import ROOT

COUNT_ARENAS = r"""
import ctypes, threading
import indexer  # noqa: F401 - sets the cap
def churn():
    for _ in range(20000):
        blobs = [bytearray(512) for _ in range(20)]
        del blobs
threads = [threading.Thread(target=churn) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL(None)
libc.open_memstream.restype = ctypes.c_void_p
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
buffer, size = ctypes.c_char_p(), ctypes.c_size_t()
stream = libc.open_memstream(ctypes.byref(buffer), ctypes.byref(size))
libc.malloc_info(0, stream)
libc.fclose(stream)
print(buffer.value.decode().count("<heap nr="))
"""


def arenas(arena_max: str | None) -> int:
    """Heaps glibc reports after 8 threads churned small allocations, in a fresh process."""
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    if arena_max is not None:
        env["MALLOC_ARENA_MAX"] = arena_max
    done = subprocess.run(
        [sys.executable, "-c", COUNT_ARENAS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_importing_indexer_caps_malloc_arenas_unless_the_user_set_them():
    assert arenas(None) <= MALLOC_ARENAS
    assert arenas("16") > MALLOC_ARENAS  # the user's setting wins, and uncapped threads spread out


def _resident_kb(name: str) -> int:
    """Resident KB of this process's mappings of files whose name contains ``name``."""
    total, current = 0, ""
    with open("/proc/self/smaps", encoding="utf-8") as smaps:
        for line in smaps:
            fields = line.split()
            if fields and "-" in fields[0] and not fields[0].endswith(":"):
                current = fields[5] if len(fields) > 5 else ""
            elif fields and fields[0] == "Rss:" and name in current:
                total += int(fields[1])
    return total


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux madvise")
def test_an_idle_engine_hands_lancedb_code_back_once_per_idle_spell(tmp_path, store):
    from indexer.cancel import Activity
    from indexer.engine import Engine
    from indexer.malloc import page_out_native_code

    store.chunks.search().limit(1).to_arrow()  # LanceDB's code is resident
    before = _resident_kb("_lancedb")
    assert before > 4096 and page_out_native_code() > 0
    after = _resident_kb("_lancedb")
    assert after < before / 2, (before, after)

    # The engine's rule, on real activity records: never while searching, once per spell.
    engine = Engine.__new__(Engine)  # the rule only; no worker or models needed
    engine._paged_out_at = None
    engine.searcher = type("S", (), {"activity": Activity()})()
    engine.indexer = type("I", (), {"activity": Activity()})()
    with engine.searcher.activity:
        assert not engine.page_out_if_idle(0.0)  # a search is running
    assert engine.page_out_if_idle(0.0)
    assert not engine.page_out_if_idle(0.0)  # the same idle spell
    with engine.indexer.activity:
        pass
    assert engine.page_out_if_idle(0.0)  # a new spell after an index run
    assert not engine.page_out_if_idle(3600.0)  # not idle that long
