"""Quarry's engine: a synchronous, Qt-free library for indexing and searching documents.

Nothing here imports PySide6 or ``app``; every long call takes a cancel token and a
progress callback, so the GUI, the CLI, benchmarks and tests drive it the same way.
"""

__version__ = "0.1.0"

from indexer.malloc import limit_malloc_arenas, use_system_allocator_for_arrow

limit_malloc_arenas()
use_system_allocator_for_arrow()
