"""Search over a large store: recall, latency and memory of exact and approximate (ANN)
vector search, up to a million passages.

The store holds realistic passages and vectors (benchmarks/passage_base.py): a base of real
SciFact and book passages cut by Quarry's chunker and embedded by Quarry's embedder (cached
after the first run), grown to ``--passages`` by recombining pairs of real passages, text and
vector alike. It is written through ``Store.write`` in indexing-sized batches, 50 passages a
document, and measured at every size in ``--sizes`` on its way to ``--passages``.

At each size, in a fresh child process each (so its peak RSS is the search's own):

- **flat**: no vector index. Real SciFact claims (not in the store) go through the hybrid
  first stage (``Searcher.first_stage``: real query embedding, LanceDB vector + BM25
  search, RRF); the exact top 50 by vector search is kept as ground truth.
- then the ANN index is built (``Store.build_vector_index``: time, size on disk), and
- **ann**: the same claims through the same first stage, now on the index; recall@50 of
  the vector search against the exact top 50; the top ``--rerank`` reranked.

After the last size, ``--incremental`` small write batches (5 documents re-indexed each, as
an index run after a few files changed writes them) show how LanceDB's fragment count grows
without compaction and what ``Store.optimize`` brings it back to.

Prints a table per size (or --json)."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

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
from benchmarks.passage_base import DEFAULT_CACHE, Base, grow, load_base
from indexer.constants import RERANK_WINDOW_WORDS, WRITE_BATCH_CHUNKS
from indexer.search.passage_window import rerank_text

PASSAGES_PER_DOC = 50
CANDIDATES = 50
"""The first stage's candidates (DEFAULT_CANDIDATES); recall is measured at this depth."""
NEVER = sys.maxsize
"""ann_min_passages that keeps Store.optimize from building the vector index."""


def _record(d: int, title: str, passages: int, salt: str = "") -> object:
    from indexer.store.lance import DocumentRecord, doc_id_for

    path = f"/bench/doc-{d:07d}.txt"
    return DocumentRecord(
        doc_id=doc_id_for(path),
        path=path,
        root="/bench",
        size=0,
        mtime_ns=0,
        content_hash=hashlib.sha1(f"{path}{salt}".encode()).hexdigest(),
        title=title,
        pages=1,
        chunks=passages,
        status="ok",
        reason="",
        indexed_at=time.time(),
    )


def _chunks(titles: list[str], texts: list[str]) -> list[object]:
    from indexer.types import Chunk

    return [Chunk(text, 1, 0, len(text), n, title) for n, (title, text) in enumerate(zip(titles, texts, strict=True))]


def append(store: object, records: list[object], chunks: dict[str, list[object]], vectors: dict[str, object]) -> None:
    """Add new documents as Store.write would, rows for rows, without its merge: Store.write
    replaces documents, which costs a pass over the table's keys per batch (a 512-passage
    batch took 0.3 s at 100,000 rows, and the whole build would take over 20 minutes at a
    million). Store.write's own cost at size is measured by the incremental runs."""
    from indexer.store.lance import _as_dict, _chunk_table, documents_schema

    if records:
        store.chunks.add(_chunk_table(records, chunks, vectors, store.dimension))
        store.documents.add(pa.Table.from_pylist([_as_dict(r) for r in records], schema=documents_schema()))


def grow_store(store: object, base: Base, start: int, total: int, batch_docs: int) -> None:
    """Add passages ``start`` .. ``total`` of the realistic sequence to ``store`` (``start``
    is what it holds already), ``batch_docs`` documents per write."""
    passages = grow(base, total, PASSAGES_PER_DOC, start)
    records, chunks, vectors = [], {}, {}
    for d, (titles, texts, doc_vectors) in enumerate(passages, start=start // PASSAGES_PER_DOC):
        record = _record(d, titles[0], len(texts))
        records.append(record)
        chunks[record.doc_id] = _chunks(titles, texts)  # each passage keeps the title it was embedded with
        vectors[record.doc_id] = doc_vectors
        if len(records) >= batch_docs:
            append(store, records, chunks, vectors)
            records, chunks, vectors = [], {}, {}
    append(store, records, chunks, vectors)


def fragments(store: object) -> int:
    return int(store.chunks.stats()["fragment_stats"]["num_fragments"])


def _edit_documents(store: object, base: Base, rng: np.random.Generator, run: int) -> float:
    """One small index run: 5 documents written again with other passages (as edited files
    are). Returns the seconds Store.write took."""
    records, chunks, vectors = [], {}, {}
    for d in rng.choice(store.chunks.count_rows() // PASSAGES_PER_DOC, 5, replace=False).tolist():
        i = rng.integers(0, len(base), PASSAGES_PER_DOC).tolist()
        record = _record(d, base.titles[i[0]], PASSAGES_PER_DOC, salt=f"-{run}")
        records.append(record)
        chunks[record.doc_id] = _chunks([base.titles[k] for k in i], [base.texts[k] for k in i])
        vectors[record.doc_id] = base.vectors[i]
    t0 = time.perf_counter()
    store.write(records, chunks, vectors)
    return time.perf_counter() - t0


def incremental(store: object, base: Base, runs: int, seed: int = 3) -> dict[str, object]:
    """``runs`` small index runs into the full store without compaction: fragments before,
    after them and after one Store.optimize; then ``runs`` more, each ending in
    Store.optimize as an index run does: the fragment count after each, optimize's seconds."""
    rng = np.random.default_rng(seed)
    before = fragments(store)
    write_s = [_edit_documents(store, base, rng, run) for run in range(runs)]
    after_runs = fragments(store)
    t0 = time.perf_counter()
    store.optimize()
    optimize_s = time.perf_counter() - t0
    after_optimize = fragments(store)
    per_run_s, per_run_fragments = [], []
    for run in range(runs, 2 * runs):
        _edit_documents(store, base, rng, run)
        t0 = time.perf_counter()
        store.optimize()
        per_run_s.append(time.perf_counter() - t0)
        per_run_fragments.append(fragments(store))
    return {
        "runs": runs,
        "fragments_before": before,
        "fragments_after_runs": after_runs,
        "fragments_after_optimize": after_optimize,
        "write_s_p50": round(float(np.median(write_s)), 3),
        "optimize_s": round(optimize_s, 1),
        "fragments_each_run_with_optimize": per_run_fragments,
        "optimize_s_each_run": {**percentiles(per_run_s), "max": round(max(per_run_s, default=0.0), 1)},
        "unindexed_vectors_after": _unindexed(store),
    }


def _unindexed(store: object) -> int | None:
    name = store.vector_index()
    stats = store.chunks.index_stats(name) if name else None
    return None if stats is None else int(stats.num_unindexed_rows)


def queries(count: int) -> list[str]:
    claims = [json.loads(line)["text"] for line in (SHARED / "data" / "scifact" / "queries.jsonl").open()]
    return random.Random(1).sample(claims, count + 2)  # the first two warm up


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0}
    return {"p50": round(float(np.percentile(values, 50)), 1), "p95": round(float(np.percentile(values, 95)), 1)}


def measure(store_dir: Path, mode: str, count: int, rerank: int, truth_file: Path) -> dict[str, object]:
    """Run in a child process: the first stage for ``count`` claims on the store as it is
    and ``rerank`` candidates reranked per query (0: none). ``mode`` 'flat' also writes the
    exact top 50 (a flat scan) to ``truth_file``, 'truth' writes only that, 'ann' measures
    recall@50 of vector search (through the index) against it."""
    from indexer.models.embedding import Embedder
    from indexer.models.rerank import Reranker
    from indexer.models.score_cache import ScoreCache
    from indexer.search.searcher import Searcher
    from indexer.store.lance import Store

    worker, placement = start_worker()
    embedder = Embedder(EMBEDDER, placement, worker=worker)
    reranker = None
    with tempfile.TemporaryDirectory() as scratch:
        if rerank:
            # The reranker the app picks, loaded as the app loads it (a bf16 copy on CPUs made for it).
            reranker = Reranker(
                default_reranker(), placement, cache=ScoreCache(0), tuned_dir=Path(scratch), worker=worker
            )
        store = Store(store_dir, embedder.dimension, embedder.fingerprint)
        phases = {"open": round(peak_rss_mb(), 1)}
        searcher = Searcher(store, embedder, reranker)
        truth = json.loads(truth_file.read_text()) if mode == "ann" else {}
        found_ids: dict[str, list[str]] = {}
        first_ms, vector_ms, text_ms, rerank_ms, recalls = [], [], [], [], []
        for n, query in enumerate(queries(count)):
            vector = embedder.embed_query(query)
            ids = [c.chunk_id for c in store.vector_search(vector, CANDIDATES, exact=mode != "ann")]
            found_ids[query] = ids
            if mode == "ann" and truth.get(query):
                recalls.append(len(set(ids) & set(truth[query])) / len(truth[query]))
            if mode == "truth":
                continue
            t0 = time.perf_counter()
            found, timings = searcher.first_stage(query, CANDIDATES)
            t1 = time.perf_counter()
            if reranker is not None:
                reranker.score(query, [rerank_text(c.chunk, query, RERANK_WINDOW_WORDS) for c in found[:rerank]])
            t2 = time.perf_counter()
            if n < 2:
                continue  # warm-up: caches, first index reads
            first_ms.append((t1 - t0) * 1000)
            vector_ms.append(timings["vector"])
            text_ms.append(timings["text"])
            rerank_ms.append((t2 - t1) * 1000)
        if mode != "ann":
            truth_file.write_text(json.dumps(found_ids))
        phases["search"] = round(peak_rss_mb(), 1)
        sweep = _sweep(store, embedder, truth) if mode == "ann" else None
        phases["sweep"] = round(peak_rss_mb(), 1)
        result = {
            "mode": mode,
            "passages": store.chunks.count_rows(),
            "vector_index": store.vector_index(),
            "first_stage_ms": percentiles(first_ms),
            "vector_ms": percentiles(vector_ms),
            "bm25_ms": percentiles(text_ms),
            "rerank_ms": percentiles(rerank_ms) if reranker else None,
            "recall_at_50": round(float(np.mean(recalls)), 4) if recalls else None,
            "recall_at_50_min": round(float(np.min(recalls)), 2) if recalls else None,
            "queries": len(first_ms),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            # The process's peak after opening the store, after the searches (what the app
            # does), and after the index-setting sweep (this benchmark only).
            "peak_rss_mb_by_phase": phases,
            "worker_peak_rss_mb": round(peak_rss_of_mb(worker.pid), 1),
            "sweep": sweep,
        }
        if reranker is not None:
            reranker.close()
        embedder.close()
        worker.close()
    return result


SWEEP = [(nprobes, refine) for nprobes in (10, 20, 40) for refine in (0, 5, 10)]
"""(nprobes, refine_factor) pairs tried on the index after the measurement, vector search alone."""


def _sweep(store: object, embedder: object, truth: dict[str, list[str]]) -> list[dict[str, float]]:
    """Recall@50 and vector search latency for each SWEEP setting, the same claims."""
    vectors = {query: embedder.embed_query(query) for query in truth}
    out = []
    for nprobes, refine in SWEEP:
        recalls, ms = [], []
        for query, exact in truth.items():
            search = store.chunks.search(vectors[query], vector_column_name="vector").distance_type("cosine")
            search = search.nprobes(nprobes).refine_factor(refine) if refine else search.nprobes(nprobes)
            t0 = time.perf_counter()
            ids = search.select(["chunk_id"]).limit(CANDIDATES).to_arrow().column("chunk_id").to_pylist()
            ms.append((time.perf_counter() - t0) * 1000)
            recalls.append(len(set(ids) & set(exact)) / len(exact))
        recall = {"recall_at_50": round(float(np.mean(recalls)), 4), "recall_at_50_min": round(min(recalls), 2)}
        out.append({"nprobes": nprobes, "refine": refine, **recall, **percentiles(ms)})
    return out


def child(store_dir: Path, mode: str, args: argparse.Namespace, truth_file: Path, rerank: int) -> dict[str, object]:
    command = [sys.executable, __file__, "--child", mode, "--store", str(store_dir), "--truth", str(truth_file)]
    command += ["--queries", str(args.queries), "--rerank", str(rerank)]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy(), check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the {mode} search process failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def again(args: argparse.Namespace, folder: Path) -> dict[str, object]:
    """Measure a kept store again as it is (index and all), after ``--incremental`` more
    small index runs (the compaction check): exact top 50, then the first stage."""
    compaction = None
    if args.incremental:
        from indexer.models.embedding import Embedder
        from indexer.store.lance import Store

        worker, placement = start_worker()
        embedder = Embedder(EMBEDDER, placement, worker=worker)
        base = load_base(embedder, Path(args.cache), args.base_limit)
        store = Store(folder / "store", embedder.dimension, embedder.fingerprint)
        embedder.close()
        worker.close()
        compaction = incremental(store, base, args.incremental, seed=int(time.time()))
        # This process did what the window's index lane does: writes, optimize, index rebuilds.
        compaction["indexing_peak_rss_mb"] = round(peak_rss_mb(), 1)
    truth = folder / "truth-again.json"
    child(folder / "store", "truth", args, truth, 0)
    return {
        "compaction": compaction,
        "again": child(folder / "store", "ann", args, truth, args.rerank),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "machine": machine(),
    }


def run(args: argparse.Namespace, folder: Path) -> dict[str, object]:
    from indexer.models.embedding import Embedder
    from indexer.store.lance import Store

    worker, placement = start_worker()
    embedder = Embedder(EMBEDDER, placement, worker=worker)
    base = load_base(embedder, Path(args.cache), args.base_limit)
    fingerprint, dimension = embedder.fingerprint, embedder.dimension
    embedder.close()
    worker.close()
    store_dir = folder / "store"
    store = Store(store_dir, dimension, fingerprint)
    sizes = sorted({s for s in args.sizes if s < args.passages} | {args.passages})
    results = []
    for size in sizes:
        held = store.chunks.count_rows()
        t0 = time.perf_counter()
        if held < size:
            if store.vector_index() is not None:
                store.chunks.drop_index(store.vector_index())
            grow_store(store, base, held, size, max(1, WRITE_BATCH_CHUNKS // PASSAGES_PER_DOC) * args.batch_scale)
        write_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        store.optimize(ann_min_passages=NEVER)
        optimize_s = time.perf_counter() - t0
        truth = folder / f"truth-{size}.json"
        flat = child(store_dir, "flat", args, truth, 0)
        t0 = time.perf_counter()
        store.build_vector_index()
        index_s = time.perf_counter() - t0
        index = next(i for i in store.chunks.list_indices() if i.name == store.vector_index())
        ann = child(store_dir, "ann", args, truth, args.rerank if size == sizes[-1] else 0)
        results.append(
            {
                "passages": size,
                "write_s": round(write_s, 1),
                "optimize_s": round(optimize_s, 1),
                "store_mb": round(folder_mb(store_dir), 1),
                "index_build_s": round(index_s, 1),
                "index_mb": round((index.size_bytes or 0) / 1e6, 3),
                "flat": flat,
                "ann": ann,
            }
        )
        print(json.dumps(results[-1]), file=sys.stderr)
    compaction = incremental(store, base, args.incremental) if args.incremental else None
    return {
        "base": {
            "passages": len(base),
            "embed_s": round(base.embed_s, 1),
            "fidelity_cosine": base.fidelity,
        },
        "sizes": results,
        "compaction": compaction,
        "build_peak_rss_mb": round(peak_rss_mb(), 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "machine": machine(),
    }


def report(result: dict[str, object]) -> None:
    base = result["base"]
    print(f"Machine: {result['machine']}; load average at the end {result['load_average']}")
    print(
        f"Real base: {base['passages']:,} passages (embedded in {base['embed_s']:.0f} s when built); "
        f"recombined vectors vs real embeddings of their texts, cosine {base['fidelity_cosine']}\n"
    )
    rows = []
    for size in result["sizes"]:
        for mode in ("flat", "ann"):
            m = size[mode]
            rows.append(
                [
                    f"{size['passages']:,}",
                    "flat" if mode == "flat" else f"IVF-SQ ({size['index_build_s']:.1f} s, {size['index_mb']:.1f} MB)",
                    "1 (exact)" if mode == "flat" else f"{m['recall_at_50']:.3f} (min {m['recall_at_50_min']:.2f})",
                    f"{m['vector_ms']['p50']:.0f} / {m['vector_ms']['p95']:.0f}",
                    f"{m['first_stage_ms']['p50']:.0f} / {m['first_stage_ms']['p95']:.0f}",
                    f"{m['peak_rss_mb']:.0f}",
                ]
            )
    print(
        table(
            ["passages", "vector search", "recall@50", "vector ms p50/p95", "first stage ms p50/p95", "peak RSS MB"],
            rows,
        )
    )
    last = result["sizes"][-1]["ann"]
    if last.get("rerank_ms"):
        print(
            f"\nRerank of the top candidates: p50 {last['rerank_ms']['p50']:.0f} ms, p95 {last['rerank_ms']['p95']:.0f} ms"
        )
    if result["compaction"]:
        c = result["compaction"]
        print(
            f"\n{c['runs']} small index runs: fragments {c['fragments_before']} -> {c['fragments_after_runs']}, "
            f"{c['fragments_after_optimize']} after one optimize ({c['optimize_s']:.1f} s); "
            f"{c['runs']} more runs each ending in optimize: fragments {c['fragments_each_run_with_optimize']}, "
            f"optimize {c['optimize_s_each_run']} s"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=100_000, help="passages in the largest store")
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(x) for x in text.split(",") if x],
        default=[],
        help="smaller sizes to measure on the way, comma-separated (e.g. 50000,100000,300000)",
    )
    parser.add_argument("--queries", type=int, default=100, help="SciFact claims searched per measurement")
    parser.add_argument("--rerank", type=int, default=20, help="candidates reranked per query at the largest size")
    parser.add_argument("--incremental", type=int, default=50, help="small index runs for the compaction check")
    parser.add_argument("--cache", default=str(DEFAULT_CACHE), help="where the embedded real base is kept")
    parser.add_argument("--base-limit", type=int, help="real passages in the base (default: all, ~13,000)")
    parser.add_argument("--batch-scale", type=int, default=10, help="indexing batches (512 passages) added per write")
    parser.add_argument("--store", help="build the store here and keep it (a kept store grows on the next run)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--again",
        action="store_true",
        help="measure the kept store (--store) as it is, index and all: exact top 50, then the first stage",
    )
    parser.add_argument("--child", choices=["flat", "ann", "truth"], help=argparse.SUPPRESS)
    parser.add_argument("--truth", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = measure(Path(args.store), args.child, args.queries, args.rerank, Path(args.truth))
        print(json.dumps(result))
        return 0
    if args.passages < PASSAGES_PER_DOC or any(s % PASSAGES_PER_DOC for s in [args.passages, *args.sizes]):
        parser.error(f"sizes must be multiples of {PASSAGES_PER_DOC} passages (one document)")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.store) if args.store else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        if args.again:
            if not (folder / "store").exists():
                parser.error(f"no kept store in {folder} to measure again")
            result = again(args, folder)
            print(json.dumps(result))
            return 0
        result = run(args, folder)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
