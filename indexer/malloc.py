"""Process memory: the malloc policy, set when ``indexer`` is first imported, before LanceDB
or llama.cpp start any thread; handing free heap memory (``release_free_memory``) and idle
native code pages (``page_out_native_code``) back to the system."""

from __future__ import annotations

import ctypes
import logging
import os
import sys

log = logging.getLogger(__name__)

MALLOC_ARENAS = 4
"""glibc gives a thread a new malloc arena whenever the ones it has are busy, up to 8 per
core, and memory freed in one seldom serves another. With llama.cpp's lanes and LanceDB's
reader threads busy side by side, benchmarks/search.py grew from 540 MB to 990 MB over 30
searches and to 1,140 MB over 100. With 4 arenas it levels off at about 700 MB (626-670 MB
peak over 30 searches) at the uncapped speed; 2 arenas saved another 50 MB but the first
stage was ~10 ms slower (docs/benchmarks.md)."""


def use_system_allocator_for_arrow() -> None:
    """pyarrow allocates through mimalloc by default, which keeps freed memory for itself;
    with the system allocator an index run's Arrow buffers go back to glibc, and
    ``release_free_memory`` returns them to the system. Must run before pyarrow is
    imported; ARROW_DEFAULT_MEMORY_POOL set by the user wins."""
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")


def limit_malloc_arenas() -> None:
    """Cap glibc's malloc arenas (MALLOC_ARENAS) unless MALLOC_ARENA_MAX says otherwise.
    Does nothing off glibc (macOS, Windows, musl)."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - present only in glibc
        m_arena_max = -8  # from <malloc.h>
        if libc.mallopt(m_arena_max, MALLOC_ARENAS) != 1:
            log.info("mallopt(M_ARENA_MAX) refused")
    except (OSError, AttributeError):
        log.debug("not glibc: malloc arenas left as they are")


def release_free_memory() -> None:
    """Hand memory malloc holds free back to the system (glibc ``malloc_trim``): the
    inference worker calls it when it falls idle, the app after an index run and on its
    idle check, so what a burst of work left in the heaps does not stay counted against
    Quarry. Does nothing off glibc."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


MADV_PAGEOUT = 21
"""madvise(2) advice (Linux 5.4+): reclaim these pages now."""
PAGE_OUT_MIN_BYTES = 4 << 20


def page_out_native_code(min_bytes: int = PAGE_OUT_MIN_BYTES) -> int:
    """Hand the resident pages of large native libraries (read-only, file-backed mappings
    such as LanceDB's 200 MB ``_lancedb.abi3.so``) back to the kernel, as Android's app
    compaction does for idle apps; they are read again from the file on next use. Called on
    the window's idle check, never mid-search. The kernel reclaims only pages no other
    process maps, and file pages only of files the user owns or may write (a system-wide
    install owned by root is left as it is). Returns the bytes of the mappings advised;
    0 off Linux or where the kernel lacks MADV_PAGEOUT."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            lines = maps.read().splitlines()
    except (OSError, AttributeError):
        return 0
    advised = 0
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) < 6 or "w" in fields[1] or not fields[5].startswith("/") or ".so" not in fields[5]:
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        if end - start < min_bytes:
            continue
        if libc.madvise(start, end - start, MADV_PAGEOUT) == 0:
            advised += end - start
        elif ctypes.get_errno() == 22:  # EINVAL: a kernel without MADV_PAGEOUT
            return advised
    log.debug("paged out %.0f MB of native code mappings", advised / 2**20)
    return advised
