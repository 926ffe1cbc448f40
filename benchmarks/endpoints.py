"""What a remote endpoint costs on Quarry's side: one score() of 50 passages (~200 words
each, from the shared PDFs) in each reranker format, and the embeddings of 32 passages,
against the test server on 127.0.0.1 (tests/endpoint_server.py, whose scoring takes
microseconds), with the score cache off. The time is Quarry's client (JSON out, HTTP with
keep-alive, the reply checked and put back in input order) plus the stdlib server; a real
server adds its model time on top.

    python benchmarks/endpoints.py [--rounds 40] [--passages 50] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import machine, table
from benchmarks.worker import passages, percentile


def timed(run, rounds: int) -> dict[str, float]:
    run()  # warm: the connection opens once
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    return {"median": round(statistics.median(samples), 2), "p95": round(percentile(samples, 0.95), 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=40, help="calls per measure (default 40)")
    parser.add_argument("--passages", type=int, default=50, help="passages per rerank (default 50)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from indexer.models.endpoints.config import Endpoint
    from indexer.models.endpoints.embed import EndpointEmbedder
    from indexer.models.endpoints.rerank import EndpointReranker
    from indexer.models.score_cache import ScoreCache
    from tests.endpoint_server import EndpointServer

    query = "what ended the Martian invasion"
    docs = passages(args.passages)
    result: dict[str, object] = {"machine": machine(), "passages": args.passages, "rerank_ms": {}}
    for fmt in ("tei", "cohere", "llama-server"):
        with EndpointServer(fmt) as server:
            reranker = EndpointReranker(Endpoint(fmt, server.url, "bench", "key"), cache=ScoreCache(0))
            result["rerank_ms"][fmt] = timed(lambda r=reranker: r.score(query, docs), args.rounds)  # type: ignore[index]
            result.setdefault("requests_per_rerank", {})[fmt] = len(server.requests) // (args.rounds + 1)  # type: ignore[union-attr]
            reranker.close()
    with EndpointServer("openai") as server:
        embedder = EndpointEmbedder(Endpoint("openai", server.url, "bench", "key"))
        result["embed_32_ms"] = timed(lambda: embedder.embed_documents(docs[:32]), args.rounds)
        result["embed_query_ms"] = timed(lambda: embedder.embed_query(query), args.rounds)
        embedder.close()
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"Machine: {result['machine']}\n")
    rows = [
        [f"rerank {args.passages} passages, {fmt}", v["median"], v["p95"]]
        for fmt, v in result["rerank_ms"].items()  # type: ignore[union-attr]
    ]
    rows.append(["embed 32 passages", result["embed_32_ms"]["median"], result["embed_32_ms"]["p95"]])  # type: ignore[index]
    rows.append(["embed a query", result["embed_query_ms"]["median"], result["embed_query_ms"]["p95"]])  # type: ignore[index]
    print(table(["call", "median ms", "p95 ms"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
