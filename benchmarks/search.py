"""Search latency over a large store: builds a store of N chunks (default 100,000) from
SciFact sentences shuffled into passages, with synthetic unit vectors (embedding 100k real
passages would take over an hour on a 2-core CPU and does not change search cost), then
runs real SciFact claims through the hybrid first stage (real query embedding, LanceDB
vector + BM25 search, RRF) and reranks the top 20 with the real cross-encoder.
Prints p50/p95 latencies and peak memory (or --json)."""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    EMBEDDER,
    SHARED,
    default_reranker,
    machine,
    peak_rss_mb,
    peak_rss_of_mb,
    start_worker,
    table,
)
from indexer.constants import RERANK_WINDOW_WORDS
from indexer.search.passage_window import rerank_text

CHUNKS_PER_DOC = 50
WORDS_PER_CHUNK = 110
DIMENSION = 384


def sentences() -> list[str]:
    out: list[str] = []
    with (SHARED / "data" / "scifact" / "corpus.jsonl").open() as handle:
        for line in handle:
            out += [s for s in re.split(r"(?<=[.!?])\s+", json.loads(line)["text"]) if len(s) > 30]
    return out


def build(store_dir: Path, total: int, seed: int = 7) -> tuple[float, float]:
    """Write ``total`` chunks through Store.write in indexing-sized batches; returns
    (seconds, peak RSS MB while building)."""
    from indexer.store.lance import DocumentRecord, Store, doc_id_for
    from indexer.types import Chunk

    rng = random.Random(seed)
    vectors_rng = np.random.default_rng(seed)
    pool = sentences()
    store = Store(store_dir, DIMENSION, "synthetic|100k")
    started = time.perf_counter()
    docs = total // CHUNKS_PER_DOC
    batch_records, batch_chunks, batch_vectors = [], {}, {}
    for d in range(docs):
        path = f"/synthetic/doc-{d:06d}.txt"
        record = DocumentRecord(
            doc_id=doc_id_for(path),
            path=path,
            root="/synthetic",
            size=0,
            mtime_ns=0,
            content_hash=hashlib.sha1(path.encode()).hexdigest(),
            title=f"Synthetic document {d}",
            pages=1,
            chunks=CHUNKS_PER_DOC,
            status="ok",
            reason="",
            indexed_at=time.time(),
        )
        chunks = []
        for ordinal in range(CHUNKS_PER_DOC):
            words: list[str] = []
            while len(words) < WORDS_PER_CHUNK:
                words += rng.choice(pool).split()
            text = " ".join(words[:WORDS_PER_CHUNK])
            chunks.append(Chunk(text=text, page=1, ordinal=ordinal, start=0, end=len(text), title=record.title))
        vectors = vectors_rng.standard_normal((CHUNKS_PER_DOC, DIMENSION)).astype(np.float32)
        batch_records.append(record)
        batch_chunks[record.doc_id] = chunks
        batch_vectors[record.doc_id] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        if len(batch_records) * CHUNKS_PER_DOC >= 512 or d == docs - 1:
            store.write(batch_records, batch_chunks, batch_vectors)
            batch_records, batch_chunks, batch_vectors = [], {}, {}
    store.optimize()
    (store_dir / "complete").write_text(str(total))
    return time.perf_counter() - started, peak_rss_mb()


def percentiles(values: list[float]) -> tuple[float, float]:
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--rerank", type=int, default=20, help="candidates reranked per query")
    parser.add_argument("--store", help="keep the built store here and reuse it next time")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from indexer.models.embedding import Embedder
    from indexer.models.rerank import Reranker
    from indexer.models.score_cache import ScoreCache
    from indexer.search.searcher import Searcher
    from indexer.store.lance import Store

    with tempfile.TemporaryDirectory() as scratch:
        store_dir = Path(args.store or scratch) / f"store-{args.chunks}"
        built_s, build_rss = (0.0, 0.0)
        if not (store_dir / "complete").exists():
            built_s, build_rss = build(store_dir, args.chunks)
        worker, placement = start_worker()
        embedder = Embedder(EMBEDDER, placement, worker=worker)
        # The reranker the app picks, loaded as the app loads it (a bf16 copy on CPUs made for it).
        reranker = Reranker(
            default_reranker(), placement, cache=ScoreCache(0), tuned_dir=Path(scratch) / "tuned", worker=worker
        )
        store = Store(store_dir, DIMENSION, "synthetic|100k")
        # The synthetic store's fingerprint is not the embedder's; search does not check it.
        searcher = Searcher(store, embedder, reranker)
        claims = [json.loads(line)["text"] for line in (SHARED / "data" / "scifact" / "queries.jsonl").open()]
        queries = random.Random(1).sample(claims, args.queries + 2)
        first_ms, vector_ms, text_ms, rerank_ms, total_ms = [], [], [], [], []
        for i, query in enumerate(queries):
            t0 = time.perf_counter()
            found, timings = searcher.first_stage(query, 50)
            t1 = time.perf_counter()
            reranker.score(query, [rerank_text(c.chunk, query, RERANK_WINDOW_WORDS) for c in found[: args.rerank]])
            t2 = time.perf_counter()
            if i < 2:
                continue  # warm-up: caches, first index reads
            first_ms.append((t1 - t0) * 1000)
            vector_ms.append(timings["vector"])
            text_ms.append(timings["text"])
            rerank_ms.append((t2 - t1) * 1000)
            total_ms.append((t2 - t0) * 1000)
        rows = store.chunks.count_rows()
        worker_peak = peak_rss_of_mb(worker.pid)
        reranker.close()
        embedder.close()
        worker.close()
        size_mb = sum(p.stat().st_size for p in store_dir.rglob("*") if p.is_file()) / 1e6
    result = {
        "chunks": rows,
        "store_mb": round(size_mb, 1),
        "build_s": round(built_s, 1),
        "build_peak_rss_mb": round(build_rss, 1),
        "first_stage_ms": dict(zip(("p50", "p95"), map(lambda x: round(x, 1), percentiles(first_ms)), strict=True)),
        "vector_ms_p50": round(percentiles(vector_ms)[0], 1),
        "bm25_ms_p50": round(percentiles(text_ms)[0], 1),
        "rerank_ms": dict(zip(("p50", "p95"), map(lambda x: round(x, 1), percentiles(rerank_ms)), strict=True)),
        "reranked_total_ms": dict(zip(("p50", "p95"), map(lambda x: round(x, 1), percentiles(total_ms)), strict=True)),
        "reranked": args.rerank,
        "queries": len(first_ms),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "worker_peak_rss_mb": round(worker_peak, 1),
        "machine": machine(),
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"Search over {rows:,} chunks ({size_mb:.0f} MB store), {len(first_ms)} SciFact claims, top {args.rerank} reranked"
    )
    print(f"Machine: {machine()}\n")
    print(
        table(
            ["stage", "p50 ms", "p95 ms"],
            [
                ["first stage (embed query + vector + BM25 + RRF)", *map("{:.0f}".format, percentiles(first_ms))],
                ["  vector search (flat)", f"{percentiles(vector_ms)[0]:.0f}", f"{percentiles(vector_ms)[1]:.0f}"],
                ["  BM25 full-text", f"{percentiles(text_ms)[0]:.0f}", f"{percentiles(text_ms)[1]:.0f}"],
                [f"rerank top {args.rerank}", *map("{:.0f}".format, percentiles(rerank_ms))],
                ["reranked results in all", *map("{:.0f}".format, percentiles(total_ms))],
            ],
        )
    )
    if built_s:
        print(f"\nBuilt the store in {built_s:.0f} s, peak RSS while building {build_rss:.0f} MB")
    print(f"Peak RSS: {peak_rss_mb():.0f} MB, inference worker {result['worker_peak_rss_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
