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
