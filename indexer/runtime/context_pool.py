"""A context pool: several llama.cpp contexts of one model, each working on its own share of a job.

On a CPU, ggml synchronises its threads after every operation of the graph, and a small
model's operations are short, so two single-threaded contexts side by side do more than one
context with two threads: 53.8 against 42.8 pairs/s for the MiniLM-L6 reranker on 2 cores
(benchmarks/rerank.py). ctypes releases the GIL inside llama_decode, so plain threads do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from indexer.cancel import CancelToken
from indexer.constants import LANE_MAX_BYTES
from indexer.runtime.hardware import Placement


def cpu_lanes(placement: Placement, model_bytes: int) -> int:
    """Contexts to run side by side: one per thread for small models on a CPU, else one."""
    if placement.on_gpu or model_bytes > LANE_MAX_BYTES:
        return 1
    return max(1, placement.threads)


class ContextPool:
    """Runs work on ``n`` contexts of one model ("lanes"): lane 0 in the caller's thread, the others on worker threads
    that live as long as the model. (Threads started per call each took a fresh glibc malloc
    arena: next to LanceDB in benchmarks/search.py the process peaked 350 MB higher.)"""

    def __init__(self, n: int) -> None:
        self.n = max(1, n)
        self._pool = ThreadPoolExecutor(self.n - 1, thread_name_prefix="llama-lane") if self.n > 1 else None

    def run(
        self,
        groups: list[list[int]],
        work: Callable[[list[int], int], None],
        cancel: CancelToken,
        deadline: float | None,
    ) -> None:
        """Hand ``groups`` to ``work(group, lane)``, each lane taking the next group when it
        is free; the caller holds the model's lock and the lanes work under it. Stops taking
        groups at the deadline (the rest stay undone) or when cancelled; the first error or
        cancellation is raised here once every lane is idle."""
        take = threading.Lock()
        pending = iter(groups)
        failures: list[BaseException] = []

        def lane_loop(lane: int) -> None:
            while not failures:
                if deadline is not None and time.monotonic() > deadline:
                    return
                with take:
                    group = next(pending, None)
                if group is None:
                    return
                try:
                    cancel.raise_if_cancelled()
                    work(group, lane)
                except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                    failures.append(exc)
                    return

        helpers = (
            [self._pool.submit(lane_loop, lane) for lane in range(1, min(self.n, len(groups)))] if self._pool else []
        )
        lane_loop(0)
        for helper in helpers:
            helper.result()
        if failures:
            raise failures[0]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
