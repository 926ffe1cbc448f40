"""Reranker families side by side on the conformance fixtures: the yes/no path (causal
decode, next-token logits) against rank pooling on the same Qwen3 weights, and the
encoder families, in pairs per second through the inference worker.

The fixtures are tiny (64 wide), so this measures the path's fixed cost per pair (prompt
length, batch layout, logits read-out), not a real model's matrix work.

    python benchmarks/families.py [--pairs 105] [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import MODELS, machine, median, table

FIXTURES = MODELS / "conformance"
RUNS = [
    ("qwen3-lm-f16.gguf", "qwen3-lm"),
    ("qwen3-reranker-f16.gguf", "qwen3-reranker"),
    ("xlmr-f16.gguf", "xlmr"),
    ("bert-pooler-f16.gguf", "bert"),
    ("modernbert-f16.gguf", "modernbert"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=105, help="pairs per round (the 21 reference pairs repeated)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from indexer.models.rerank import Reranker
    from indexer.runtime.hardware import place
    from indexer.runtime.supervisor import InferenceWorker

    rows, results = [], {}
    with InferenceWorker() as worker:
        placement = place(worker.hardware(), "cpu")
        for file, ref in RUNS:
            pairs = json.loads((FIXTURES / f"{ref}.reference.json").read_text("utf-8"))["pairs"]
            documents = [pairs[i % len(pairs)]["document"] for i in range(args.pairs)]
            query = pairs[0]["query"]
            for per_decode in (1, 4):
                model = Reranker(FIXTURES / file, placement, pairs_per_decode=per_decode, lanes=1, worker=worker)
                tokens = sum(len(model.pair_tokens(query, d)) for d in documents[: len(pairs)]) / len(pairs)
                seconds = []
                for round_no in range(args.rounds):
                    model.cache.clear()
                    started = time.perf_counter()
                    model.score(f"{query} {round_no}", documents)
                    seconds.append(time.perf_counter() - started)
                model.close()
                rate = args.pairs / median(seconds)
                results[f"{file}/{per_decode}"] = {"family": model.family, "pairs_per_s": rate, "tokens": tokens}
                rows.append([file, model.family, per_decode, f"{tokens:.0f}", f"{rate:.0f}"])
    if args.json:
        print(json.dumps({"machine": machine(), "results": results}))
        return 0
    print(machine())
    print(table(["fixture", "family", "pairs/decode", "tokens/pair", "pairs/s"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
