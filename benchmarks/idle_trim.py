"""What the idle worker gives back, and what the next search pays for it: the worker's
memory with the default models warm and after CONTEXT_IDLE_S without requests (llama.cpp's
compute buffers freed, weights kept), and a query embedding plus a 50-pair rerank timed
warm and right after such a trim, taking turns.

    python benchmarks/idle_trim.py [--rounds 3] [--pairs 50] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import EMBEDDER, default_reranker, machine, process_memory_mb, table
from benchmarks.worker import passages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from indexer.models.embedding import Embedder
    from indexer.models.rerank import Reranker
    from indexer.models.score_cache import ScoreCache
    from indexer.runtime.hardware import place
    from indexer.runtime.supervisor import InferenceWorker
    from indexer.runtime.worker import CONTEXT_IDLE_S, IDLE_POLL_S

    docs = passages(args.pairs)
    with InferenceWorker() as worker:
        placement = place(worker.hardware())
        tuned = Path(worker.cache_dir) / "tuned-models"
        embedder = Embedder(EMBEDDER, placement, worker=worker)
        reranker = Reranker(default_reranker(), placement, cache=ScoreCache(0), tuned_dir=tuned, worker=worker)

        def search(n: int) -> float:
            start = time.perf_counter()
            embedder.embed_query(f"what ended the Martian invasion {n}")
            reranker.score(f"what ended the Martian invasion {n}", docs)
            return (time.perf_counter() - start) * 1000

        search(0)
        memory = {"warm": process_memory_mb(worker.pid or 0)}
        warm, cold = [], []
        for n in range(args.rounds):
            warm.append(search(100 + n))
            time.sleep(CONTEXT_IDLE_S + 2 * IDLE_POLL_S + 0.5)
            memory["trimmed"] = process_memory_mb(worker.pid or 0)
            cold.append(search(200 + n))
        embedder.close()
        reranker.close()
    result = {
        "machine": machine(),
        "cpu_variant": worker.variant_loaded,
        "idle_after_s": CONTEXT_IDLE_S,
        "worker_memory_mb": memory,
        "search_ms": {"warm": round(statistics.median(warm), 1), "after trim": round(statistics.median(cold), 1)},
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"Machine: {result['machine']}\n")
    print(table(["worker", "RSS MB", "PSS MB", "anonymous MB"], [[k, v["rss"], v["pss"], v["anon"]] for k, v in memory.items()]))
    print(f"\nquery embedding + {args.pairs}-pair rerank, median of {args.rounds}: {result['search_ms']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
