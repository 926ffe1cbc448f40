"""Rerank throughput: pairs per second for Quarry's llama.cpp reranker at several pairs per
decode, on ~224-token (query, passage) pairs from SciFact. Prints a table (or --json)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import RERANKER, SHARED, machine, median, table


def load_pairs(n: int) -> tuple[str, list[str]]:
    """One claim and n abstracts trimmed to make ~224-token pairs."""
    corpus = SHARED / "data" / "scifact" / "corpus.jsonl"
    docs = []
    with corpus.open() as handle:
        for line in handle:
            row = json.loads(line)
            text = f"{row['title']}\n{row['text']}"
            if len(text.split()) >= 170:
                docs.append(" ".join(text.split()[:165]))
            if len(docs) == n:
                break
    return "Vitamin D supplementation reduces the risk of fractures in older adults.", docs


def bench_quarry(query: str, docs: list[str], per_decode: int, repeats: int) -> tuple[float, float]:
    from indexer.hardware import detect, place
    from indexer.rerank import Reranker
    from indexer.score_cache import ScoreCache

    reranker = Reranker(RERANKER, place(detect()), pairs_per_decode=per_decode, cache=ScoreCache(0))
    tokens = [len(reranker._pair_tokens(reranker.model.tokenize(query), d)) for d in docs]
    reranker.score(query, docs[:4])  # warm up
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        reranker.score(query, docs)
        rates.append(len(docs) / (time.perf_counter() - start))
    reranker.close()
    return median(rates), sum(tokens) / len(tokens)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--per-decode", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    query, docs = load_pairs(args.pairs)
    results = {}
    mean_tokens = 0.0
    for per in args.per_decode:
        rate, mean_tokens = bench_quarry(query, docs, per, args.repeats)
        results[f"quarry ({per} per decode)"] = rate
    best = max(results.values())
    if args.json:
        print(
            json.dumps(
                {
                    "pairs_per_s": {"quarry": best},
                    "variants": results,
                    "mean_pair_tokens": mean_tokens,
                    "machine": machine(),
                }
            )
        )
        return 0
    print(f"Rerank throughput, {args.pairs} pairs of ~{mean_tokens:.0f} tokens, median of {args.repeats} runs")
    print(f"Machine: {machine()}\n")
    print(table(["engine", "pairs/s"], [[name, f"{rate:.1f}"] for name, rate in results.items()]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
