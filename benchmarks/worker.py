"""What the inference worker costs: the round trip of one request, a query embedding and a
50-pair rerank in this process (llama.cpp loaded here, as before the worker existed) and
through the worker process, taking turns so noise hits both alike.

    python benchmarks/worker.py [--rounds 30] [--pairs 50] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import EMBEDDER, PDFS, default_reranker, machine, table


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def passages(n: int) -> list[str]:
    """n passages of ~200 words from the shared PDFs' text (pypdf), as rerank candidates."""
    from pypdf import PdfReader

    words: list[str] = []
    for pdf in sorted(PDFS.glob("*.pdf"))[:3]:
        for page in PdfReader(pdf).pages[10:40]:
            words += (page.extract_text() or "").split()
        if len(words) > n * 200:
            break
    return [" ".join(words[i * 200 : (i + 1) * 200]) for i in range(n)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30, help="turns per measure (default 30)")
    parser.add_argument("--pairs", type=int, default=50, help="pairs per rerank (default 50)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from indexer.models.embedding import Embedder, LocalEmbedder
    from indexer.models.rerank import LocalReranker, Reranker
    from indexer.models.score_cache import ScoreCache
    from indexer.runtime.hardware import place
    from indexer.runtime.supervisor import InferenceWorker

    worker = InferenceWorker()
    hardware = worker.hardware()
    placement = place(hardware)
    reranker_path = default_reranker()
    tuned = Path(worker.cache_dir) / "tuned-models"
    remote_embedder = Embedder(EMBEDDER, placement, worker=worker)
    remote_reranker = Reranker(reranker_path, placement, cache=ScoreCache(0), tuned_dir=tuned, worker=worker)
    local_embedder = LocalEmbedder(EMBEDDER, placement)
    local_reranker = LocalReranker(reranker_path, placement, tuned_dir=tuned)
    query = "what ended the Martian invasion"
    docs = passages(args.pairs)

    ping: list[float] = []
    for _ in range(max(200, args.rounds)):
        start = time.perf_counter()
        worker.ping()
        ping.append((time.perf_counter() - start) * 1000)

    embed = {"in process": [], "worker": []}
    rerank = {"in process": [], "worker": []}
    runs = {
        "embed": {
            "in process": lambda: local_embedder.embed_documents([query]),
            "worker": lambda: remote_embedder.embed_query(query),
        },
        "rerank": {
            "in process": lambda: local_reranker.score_raw(query, docs),
            "worker": lambda: remote_reranker.score(query, docs),
        },
    }
    for kind, table_ in (("embed", embed), ("rerank", rerank)):
        for run in runs[kind].values():
            run()  # warm
        rounds = args.rounds if kind == "embed" else max(3, args.rounds // 4)
        for _ in range(rounds):
            for name, run in runs[kind].items():
                start = time.perf_counter()
                run()
                table_[name].append((time.perf_counter() - start) * 1000)

    def overhead(samples: dict[str, list[float]]) -> dict[str, float]:
        pairs = list(zip(samples["worker"], samples["in process"], strict=True))
        diffs = [w - i for w, i in pairs]
        return {"median": round(statistics.median(diffs), 3), "p95": round(percentile(diffs, 0.95), 3)}

    result = {
        "machine": machine(),
        "cpu_variant": worker.variant_loaded,
        "device": placement.label,
        "round_trip_ms": {"median": round(statistics.median(ping), 3), "p95": round(percentile(ping, 0.95), 3)},
        "query_embedding_ms": {k: round(statistics.median(v), 3) for k, v in embed.items()},
        "query_embedding_overhead_ms": overhead(embed),
        "rerank_ms": {k: round(statistics.median(v), 1) for k, v in rerank.items()},
        "rerank_overhead_ms": overhead(rerank),
        "rerank_pairs_per_s": {k: round(args.pairs / (statistics.median(v) / 1000), 1) for k, v in rerank.items()},
    }
    for part in (remote_embedder, remote_reranker, local_embedder, local_reranker):
        part.close()
    worker.close()
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"Machine: {result['machine']}; llama.cpp CPU variant {result['cpu_variant']}; {result['device']}\n")
    rows = [
        ["round trip (ping)", "", "", f"{result['round_trip_ms']['median']} / {result['round_trip_ms']['p95']}"],
        [
            "query embedding",
            result["query_embedding_ms"]["in process"],
            result["query_embedding_ms"]["worker"],
            f"{result['query_embedding_overhead_ms']['median']} / {result['query_embedding_overhead_ms']['p95']}",
        ],
        [
            f"rerank {args.pairs} pairs",
            result["rerank_ms"]["in process"],
            result["rerank_ms"]["worker"],
            f"{result['rerank_overhead_ms']['median']} / {result['rerank_overhead_ms']['p95']}",
        ],
    ]
    print(table(["request", "in process ms", "worker ms", "overhead ms (median / p95)"], rows))
    print(f"\nrerank pairs/s: {result['rerank_pairs_per_s']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
