"""A shared index in S3 (SeaweedFS on 127.0.0.1) beside the same store in a local folder:
first-stage latency (BM25 and vector search, p50/p95), writer throughput, the cost of one
commit, and reader staleness (a writer's commit until a reader's search finds it).

Passages are synthetic (random words, random unit vectors of the test embedder's size), so no
model runs; the numbers are the store's own. `python -m benchmarks.shared_index --passages 20000`
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import machine
from indexer.store.lance import DocumentRecord, Store, doc_id_for
from indexer.store.location import Location
from indexer.types import Chunk

DIM = 384
WORDS = [f"w{i}" for i in range(5000)]


def _batch(start: int, docs: int, per_doc: int, rng: random.Random):
    records, chunks, vectors = [], {}, {}
    for d in range(start, start + docs):
        path = f"/bench/doc-{d}.txt"
        doc_id = doc_id_for(path)
        records.append(DocumentRecord(doc_id, path, "/bench", 1, 1, f"h{d}", "t", 1, per_doc, "ok", "", time.time()))
        chunks[doc_id] = [Chunk(" ".join(rng.choices(WORDS, k=60)), 1, 0, 1, i, "t") for i in range(per_doc)]
        v = np.random.default_rng(d).standard_normal((per_doc, DIM)).astype(np.float32)
        vectors[doc_id] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return records, chunks, vectors


def fill(store: Store, passages: int, per_doc: int = 10, docs_per_commit: int = 100) -> float:
    """Write ``passages``; returns passages per second (commits included, optimize not)."""
    rng = random.Random(7)
    started = time.perf_counter()
    for start in range(0, passages // per_doc, docs_per_commit):
        store.write(*_batch(start, docs_per_commit, per_doc, rng))
    rate = passages / (time.perf_counter() - started)
    store.optimize(ann_min_passages=10**9)  # flat vectors: the same work on both stores
    return rate


def first_stage(store: Store, queries: int = 100) -> tuple[float, float]:
    rng = random.Random(11)
    times = []
    for q in range(queries):
        vector = np.random.default_rng(10**6 + q).standard_normal(DIM).astype(np.float32)
        started = time.perf_counter()
        store.text_search(" ".join(rng.choices(WORDS, k=4)), 50)
        store.vector_search(vector / np.linalg.norm(vector), 50)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def commit_cost(store: Store, trials: int = 20) -> float:
    """Median ms of one write of one small document (its upsert, delete and documents commit)."""
    rng = random.Random(5)
    times = []
    for t in range(trials):
        batch = _batch(10**7 + t, 1, 3, rng)
        started = time.perf_counter()
        store.write(*batch)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def staleness(writer: Store, reader: Store, trials: int = 10) -> tuple[float, float]:
    """Seconds from a committed write until the reader's BM25 finds it: median, max."""
    rng = random.Random(3)
    seen = []
    for t in range(trials):
        records, chunks, vectors = _batch(2 * 10**7 + t, 1, 1, rng)
        word = f"fresh{t}x{random.randrange(10**6)}"
        chunks[records[0].doc_id][0] = Chunk(word, 1, 0, 1, 0, "t")
        writer.write(records, chunks, vectors)
        committed = time.perf_counter()
        while not reader.text_search(word, 5):
            time.sleep(0.01)
        seen.append(time.perf_counter() - committed)
    return statistics.median(seen), max(seen)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=100_000)
    args = parser.parse_args()
    from tests.s3_server import start_seaweedfs

    fingerprint = "bench|384"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server = start_seaweedfs(root / "weed", "bench")
        try:
            os.environ.update(server.env())
            local = Store(root / "local", DIM, fingerprint)
            shared_at = Location.of("s3://bench/idx", root / "shared-local")
            shared = Store(root / "shared-local", DIM, fingerprint, location=shared_at)
            rows = []
            for name, store in (("local folder", local), ("shared (SeaweedFS, 127.0.0.1)", shared)):
                rate = fill(store, args.passages)
                p50, p95 = first_stage(store)
                cost = commit_cost(store)
                rows.append((name, rate, p50, p95, cost))
            reader = Store(
                root / "reader", DIM, fingerprint, location=Location.of("s3://bench/idx", root / "reader"), writer=False
            )
            stale = staleness(shared, reader)
            shared.close()
        finally:
            server.stop()
    print(f"{args.passages:,} passages; {machine()}; load {os.getloadavg()[0]:.2f}")
    print("| store | writer passages/s | first stage p50 ms | p95 ms | one commit ms |")
    print("|---|---|---|---|---|")
    for name, rate, p50, p95, cost in rows:
        print(f"| {name} | {rate:,.0f} | {p50:.1f} | {p95:.1f} | {cost:.0f} |")
    print(f"reader staleness (commit → found by a reader's search): median {stale[0]:.2f} s, max {stale[1]:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
