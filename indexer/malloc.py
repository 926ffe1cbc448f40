"""Process-wide malloc policy, set when ``indexer`` is first imported, before LanceDB or
llama.cpp start any thread."""

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
