"""Numeric retrieval and indexing constants, each with the reason for its value."""

from __future__ import annotations

# Chunking -----------------------------------------------------------------
CHUNK_MAX_TOKENS = 256
"""all-MiniLM-L6-v2 was trained on 256 word pieces; longer chunks blur the vector and make
reranking slower (cost grows with pair length) without a measured gain."""

CHUNK_OVERLAP_TOKENS = 32
"""About one sentence carried over, so a fact split across a cut is whole in one chunk."""

CHUNK_MIN_CHARS = 20
"""Shorter page fragments (page numbers, running heads) carry no searchable meaning."""

# Retrieval ----------------------------------------------------------------
DEFAULT_CANDIDATES = 50
"""First-stage candidates handed to the reranker: enough recall, ~3 s on a 2-core CPU."""

DEFAULT_RESULTS = 10
"""Results shown: one screen."""

RERANK_WINDOW_WORDS = 0
"""Words of a passage the reranker reads, centred on the query's words
(indexer.search.passage_window); 0 reads the whole passage (up to CHUNK_MAX_TOKENS, ~190 words).
A 64-word window won on the choosing sets (books-choosing +0.09 hit@1 / +0.03 hit@3, SciFact
dev half a -0.003 nDCG@10) with ~2.5x faster reranking, but on the held-out sets it lost
0.043 hit@3 on books-unseen and 0.019 nDCG@10 on SciFact dev half b (docs/quality.md). A
default is chosen by its worst case, so whole passages stay the default; the window is
there for callers that want the speed (SearchOptions.rerank_window)."""

QUERY_MAX_TOKENS = 64
"""A query longer than this is truncated for reranking, leaving the rest for the passage."""

SNIPPET_CHARS = 240
"""About two lines in the results list."""

# Reading files ------------------------------------------------------------
MAX_FILE_BYTES = 200 * 1024 * 1024
"""Files larger than this are skipped as 'too large' rather than read into memory."""

MAX_TEXT_FILE_BYTES = 20 * 1024 * 1024
"""Plain-text files beyond this are almost always logs or data dumps, not documents."""

MAX_PDF_PAGES = 5000
"""A page cap that keeps one pathological PDF from monopolising an indexing run."""

EMBED_BATCH_CHUNKS = 32
"""Chunks embedded per call: progress updates stay frequent, cancel stays prompt."""

WRITE_BATCH_CHUNKS = 512
"""Chunks buffered before one LanceDB write: fewer table versions, fewer fragments."""

COUNT_BATCH_TEXTS = 2000
"""Sentences sent to the inference worker per token-count request while chunking: one
request per document part instead of one per sentence, in messages of a bounded size."""

KEYWORD_FLUSH_S = 2.0
"""The keyword pass writes its passages at least this often (and the first document's at
once), so BM25 finds a dropped folder's text within seconds, not after a 512-chunk batch."""

BACKFILL_COMMIT_S = 5.0
"""The embedding pass commits vectors at least this often (or every WRITE_BATCH_CHUNKS):
meaning search grows in steps of a few seconds, and a kill loses at most that much work."""

MIN_SCORE = 0.5
"""A hit whose shown score (the calibrated chance that it answers, indexer.search.calibration)
reaches this is a strong match; a result with none is a weak set ("No strong matches"). 0.5:
more likely than not an answer, as a person reads the number. Nothing is hidden for it."""

RERANK_CACHE_PAIRS = 20_000
"""(model, query, passage) scores kept in memory: a refined or repeated query re-scores only
new pairs. ~100 bytes each, so about 2 MB."""

# Vector index (ANN) ---------------------------------------------------------
ANN_MIN_PASSAGES = 50_000
"""Passages with vectors from which Store.optimize (the end of every index run) builds an
approximate vector index (IVF-SQ); below it vector search is an exact flat scan. Measured over
realistic passages on 2 busy cores (docs/benchmarks.md, benchmarks/search.py): a flat scan
took 63 ms p50 at 50,000 passages, 110 ms at 100,000 and 998 ms at a million, and the first
stage's p95 passed 150 ms between 50,000 (116 ms) and 100,000 (189 ms); through the index it
was 15-21 ms at 50,000-300,000 with recall@50 1.0 against the flat scan, and the index built in
0.5 s at 50,000. Below 50,000 the flat scan is exact and costs tens of ms at most."""

ANN_REBUILD_GROWTH = 2.0
"""The index is trained again once the passages with vectors have grown this many times past
the count it was trained on: rows added later join partitions trained without them, which grow
and slow the search. A rebuild (compaction, then training) took 17-34 s at a million passages
(docs/benchmarks.md)."""

ANN_MAX_SEGMENTS = 10
"""The vector index is trained again once it has more segments than this. Each index run's
optimize adds the rows written since as a new segment, and LanceDB compacts together only
fragments covered by the same segments: a million-passage store gained one fragment for good
with every small index run (2 to 23 over 22 runs, each ending in optimize) until the index was
rebuilt, after which one optimize left a single fragment. So fragments stay near this many, at
one rebuild every this many small runs (docs/benchmarks.md)."""

ANN_NPROBES = 40
"""IVF partitions searched per query (LanceDB picks the partition count). At a million
passages: 20 gave recall@50 0.983 (min 0.70 over 100 claims), 40 gave 0.995, for 4-5 ms more."""

ANN_REFINE_FACTOR = 5
"""Candidates read from the index per result wanted, scored again with their full vectors:
the 8-bit scalar quantisation alone gave recall@50 0.982 at a million passages, 0.995 with
this refine (nprobes 40); 10 gained nothing more and cost 3 ms."""

INDEX_CACHE_BYTES = 512 * 2**20
"""LanceDB's cache of opened indexes, for the whole process (its default is 6 GB, the
metadata cache's 1 GB): room for a million passages' IVF-SQ index (389 MB) and the hot part
of the full-text index. Over 12 small index runs at a million passages the indexing
process held 0.9-1.0 GB with it, 1.05-1.14 GB with LanceDB's defaults (docs/benchmarks.md)."""

METADATA_CACHE_BYTES = 128 * 2**20
"""LanceDB's cache of file and fragment metadata, for the whole process."""

# Reranking ----------------------------------------------------------------
RERANK_MAX_PAIR_TOKENS = 1024
"""A pair's context is capped here (or at the model's trained context, if smaller): chunks
hold at most CHUNK_MAX_TOKENS and queries QUERY_MAX_TOKENS, so a rerank template's tokens
still fit, while a 40,960-token model (Qwen3) does not reserve buffers for 40,960."""

LANE_MAX_BYTES = 300 * 1024 * 1024
"""CPU rerankers up to this file size run one lane (context) per thread, each lane one
thread, instead of one context sharing every thread (indexer/runtime/context_pool.py). Larger models keep
one lane: their operations are long enough that thread synchronisation matters less, and
each lane holds its own compute buffers. The embedder keeps one lane: indexing the shared
PDFs took 118.3 s with two lanes and 118.7 s with one (the text extractor's process has
the other core much of the time), and two lanes cost 44 MB more."""

PAGE_OUT_IDLE_S = 120.0
"""After this long with no search and no index run, the idle check hands large native
libraries' resident pages back to the kernel (indexer.malloc.page_out_native_code): about
60 MB of LanceDB's code in the window, read again on the next search (+~110 ms to its first
stage on a 2-core EPYC, docs/benchmarks.md), so not while someone is searching."""
