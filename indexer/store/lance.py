"""LanceDB storage: a documents table, a chunks table, and a small JSON file recording
which embedding model made the vectors (a different model forces a re-index, never a mix).

Writes replace whole documents: a batch's passages are upserted by passage id (one commit),
the document's passages past its new last one deleted (a second), and its documents row
written after; a crash between any two leaves passages of a version no documents row
describes, which ``repair`` removes when the store is next opened, and the file is indexed
again. Both merges find rows through a B-tree index on ``chunk_id``: LanceDB's merge against
a whole-table scan read every vector, +1.5 GB and 1.2 s for 250 passages in a million
(``merge_insert`` with ``when_not_matched_by_source_delete``), against +20 MB and 0.1 s.

A passage can be stored before it is embedded (keyword search first, vectors after): its
``vector`` is null and ``embedded`` false until ``fill_vectors`` writes the vector in place
(an update of rows that exist, never an insert). LanceDB's vector search skips null vectors,
flat or ANN, and its full-text search covers rows the FTS index has not taken in yet (a
slower flat pass over them), so a stored passage is found by BM25 at once.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from indexer import words
from indexer.constants import (
    ANN_MAX_SEGMENTS,
    ANN_MIN_PASSAGES,
    ANN_NPROBES,
    ANN_REBUILD_GROWTH,
    ANN_REFINE_FACTOR,
    INDEX_CACHE_BYTES,
    METADATA_CACHE_BYTES,
)
from indexer.errors import QuarryError, StoreMismatch
from indexer.store import ocr_words
from indexer.store.lease import Lease
from indexer.store.location import Location, SharedStoreError
from indexer.types import Chunk, chunk_id_for, counted, model_text, percent_ready

log = logging.getLogger(__name__)

DOCUMENTS = "documents"
CHUNKS = "chunks"
META_FILE = "index.json"
SCHEMA_VERSION = 5
"""2: chunks gained ``location``; 3: ``ocr``; 4: ``embedded`` (vectors may be null until a
backfill writes them); 5: ``language`` and ``search_text`` (the keys BM25 reads,
indexer.words.search_text), the full-text index moved from ``text`` to ``search_text``. An
older index is upgraded in place when opened, keeping its vectors."""
UPGRADE_BATCH = 4096
"""Rows whose search text an upgrade to schema 5 computes and writes at a time."""
FTS_REFRESH_ROWS = 10_000
"""Rows outside the full-text index before a run folds them in (optimize). BM25 still finds
them, by a flat pass that cost 0.09 s a query for 5,000 such rows and 0.46 s for 20,000
(100,000-row table, 2-core EPYC); folding them in cost 2.7 s. docs/benchmarks.md."""
REPAIR_BATCH = 65_536
"""Chunk rows read at a time when an opened store looks for half-written documents (repair)."""
PRIMARY_KEY = {"lance-schema:unenforced-primary-key": "true"}
"""Field metadata marking the key ``merge_insert`` upserts by: LanceDB 0.40 then resolves
concurrent upserts of one key instead of keeping both rows (4 processes upserting 50 keys kept
up to 200 rows without it). Set on tables made from schema 4 on; older tables keep working
without it (one writer at a time holds the lease, so their upserts never race)."""
SHARED_READ_CONSISTENCY_S = 1.0
"""How often a reader of a shared index looks for a newer committed version (seconds): what
bounds how stale its searches are. 0 (every query checks, one more request each) locally."""
SHARED_KEEP_VERSIONS = timedelta(days=7)
"""Old table versions kept on a shared index, for readers still on them (locally: a minute)."""
LOCAL_KEEP_VERSIONS = timedelta(minutes=1)
_CHUNK_COLUMNS = ["chunk_id", "doc_id", "path", "page", "location", "ordinal", "start", "end", "title", "text", "ocr"]


def doc_id_for(path: Path | str) -> str:
    return hashlib.sha1(str(path).encode("utf-8", errors="surrogateescape")).hexdigest()[:16]


def documents_schema() -> pa.Schema:
    return pa.schema(
        [
            pa.field("doc_id", pa.string(), nullable=False, metadata=PRIMARY_KEY),
            pa.field("path", pa.string(), nullable=False),
            pa.field("root", pa.string(), nullable=False),
            pa.field("size", pa.int64()),
            pa.field("mtime_ns", pa.int64()),
            pa.field("content_hash", pa.string()),
            pa.field("title", pa.string()),
            pa.field("pages", pa.int32()),
            pa.field("chunks", pa.int32()),
            pa.field("status", pa.string()),  # 'ok' or 'skipped'
            pa.field("reason", pa.string()),
            pa.field("indexed_at", pa.float64()),
        ]
    )


def chunks_schema(dimension: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("chunk_id", pa.string(), nullable=False, metadata=PRIMARY_KEY),
            pa.field("doc_id", pa.string(), nullable=False),
            pa.field("doc_hash", pa.string()),
            pa.field("path", pa.string()),
            pa.field("page", pa.int32()),
            pa.field("ordinal", pa.int32()),
            pa.field("start", pa.int32()),
            pa.field("end", pa.int32()),
            pa.field("title", pa.string()),
            pa.field("text", pa.string()),
            pa.field("vector", pa.list_(pa.float32(), dimension)),
            # How a person names the page ('p. iv (6 of 120)', 'slide 3'). Added in schema 2,
            # last, where add_columns puts it when an older index is upgraded.
            pa.field("location", pa.string()),
            # The passage was recognised by OCR (schema 3; null in an upgraded index: False).
            pa.field("ocr", pa.bool_()),
            # Whether ``vector`` holds the passage's embedding (False: stored for BM25, to be
            # embedded by a backfill). Added in schema 4, last; a bool column, so counting the
            # passages without vectors reads 1 bit a row, not the vectors (1.5 ms vs 120 ms
            # over 100,000 rows).
            pa.field("embedded", pa.bool_(), nullable=False),
            # The passage's language (ISO 639-1, py3langid) and its words as the full-text
            # index reads them: folded, stemmed in that language, unspaced scripts as
            # character bigrams (indexer.words.search_text). Schema 5, last.
            pa.field("language", pa.string()),
            pa.field("search_text", pa.string()),
        ]
    )


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    doc_id: str
    path: str
    root: str
    size: int
    mtime_ns: int
    content_hash: str
    title: str
    pages: int
    chunks: int
    status: str
    reason: str
    indexed_at: float

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True, slots=True)
class StoredChunk:
    chunk_id: str
    doc_id: str
    path: str
    page: int | None
    ordinal: int
    start: int
    end: int
    title: str
    text: str
    score: float
    """Similarity for vector search (cosine, -1..1) or BM25 score for full text."""
    vector: np.ndarray | None = None
    location: str = ""
    """Page label as a person names it (Page.label); empty when the page number says it."""
    ocr: bool = False
    """Text recognised by OCR (Chunk.ocr)."""
    doc_hash: str = ""
    """Content hash of the document version the passage was cut from (missing_vectors only)."""

    @property
    def passage(self) -> str:
        """What the models read for this passage: the document's title, then the chunk
        (indexer.types.model_text, the text its vector was made from)."""
        return model_text(self.title, self.text)


@dataclass(frozen=True, slots=True)
class PassageCounts:
    """How much of the index each kind of search reaches."""

    passages: int
    """Passages stored."""
    keyword: int
    """Passages BM25 finds: every stored one once the full-text index exists, else none."""
    vectors: int
    """Passages with their vector, found by meaning (vector search)."""

    @property
    def vectors_ready(self) -> float:
        """Share of passages with vectors, 0..1; 1 for an empty index (nothing to wait for)."""
        return self.vectors / self.passages if self.passages else 1.0

    def describe(self) -> str:
        """One line for the status bar and `quarry status`: '3,076 passages: 3,076 by
        keyword, 1,230 by meaning (40 % ready)'; the '(… ready)' only while vectors are missing."""
        line = f"{counted(self.passages, 'passage')}: {self.keyword:,} by keyword, {self.vectors:,} by meaning"
        return line if self.vectors_ready >= 1.0 else f"{line} ({percent_ready(self.vectors_ready)} % ready)"


@dataclass(frozen=True, slots=True)
class StoreStats:
    documents: int
    skipped: int
    chunks: int
    bytes_on_disk: int
    roots: list[str]
    embedder: str


class Store:
    """One index: a local folder, or a shared location in object storage (Location). Safe to
    read from several threads while one thread writes.

    A local store repairs, upgrades and writes its metadata when opened, as it always has;
    index runs take its lock file through :meth:`write_lease`. A shared store opened as a
    ``writer`` first proves the server enforces conditional PUT, then takes the writer's
    lease (indexer.store.lease) and holds it until :meth:`close`; one opened as a reader
    never writes anything (no repair, upgrade, compaction or cleanup: writes raise
    QuarryError) and sees a writer's commits within SHARED_READ_CONSISTENCY_S."""

    def __init__(
        self,
        folder: Path,
        dimension: int,
        fingerprint: str,
        *,
        reset_on_mismatch: bool = False,
        location: Location | None = None,
        writer: bool = True,
    ) -> None:
        self.location = location or Location.of(folder, folder)
        self.folder = self.location.local
        """The local folder: the index itself, or (shared) this machine's files beside it."""
        self.shared = self.location.shared
        self.writer = writer or not self.shared
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lease: Lease | None = None
        self.dimension = dimension
        try:
            if self.shared and self.writer:
                self.location.check_conditional_put()
                self._lease = Lease(self.location).acquire()
            self._open(dimension, fingerprint, reset_on_mismatch)
        except BaseException:
            self.close()
            raise

    def _open(self, dimension: int, fingerprint: str, reset_on_mismatch: bool) -> None:
        import lancedb

        self.meta = self._read_meta()
        made_by = int(self.meta.get("schema") or 0)
        if made_by > SCHEMA_VERSION:
            raise StoreMismatch(
                f"the index was made by a newer Quarry (index schema {made_by}, this Quarry reads up to "
                f"{SCHEMA_VERSION}); update Quarry, or remove the index folder to rebuild it"
            )
        if self.meta.get("fingerprint") not in (None, fingerprint):
            if not reset_on_mismatch or self.shared:  # a team's index is never cleared by one member's choice
                raise StoreMismatch(
                    f"the index was built with another embedding model ({self.meta['fingerprint'].split('|')[0]}); "
                    "re-index to use this one" + (" (a shared index: into a new prefix)" if self.shared else "")
                )
            log.warning("embedding model changed: clearing the index to rebuild it")
            self._drop_tables()
        try:
            if self.shared:
                options = {**self.location.lance_options(), "new_table_enable_v2_manifest_paths": "true"}
                interval = timedelta(0) if self.writer else timedelta(seconds=SHARED_READ_CONSISTENCY_S)
                self.db = lancedb.connect(
                    self.location.uri, storage_options=options, read_consistency_interval=interval, session=_session()
                )
            else:
                self.db = lancedb.connect(self.folder, read_consistency_interval=timedelta(0), session=_session())
            names = set(self.db.list_tables().tables) if hasattr(self.db, "list_tables") else set(self.db.table_names())
            if not self.writer and not {DOCUMENTS, CHUNKS} <= names:
                raise SharedStoreError(f"there is no index at {self.location.uri} yet: index into it first")
            self.documents = (
                self.db.open_table(DOCUMENTS)
                if DOCUMENTS in names
                else self.db.create_table(DOCUMENTS, schema=documents_schema())
            )
            self.chunks = (
                self.db.open_table(CHUNKS)
                if CHUNKS in names
                else self.db.create_table(CHUNKS, schema=chunks_schema(dimension))
            )
        except (OSError, RuntimeError, ValueError) as exc:
            if not self.shared:
                raise
            raise SharedStoreError(
                f"opening the index at {self.location.uri} failed: {self.location.redact(str(exc))[:300]}"
            ) from None
        if not self.writer:
            missing = set(chunks_schema(dimension).names) - set(self.chunks.schema.names)
            if missing or made_by < SCHEMA_VERSION:
                raise StoreMismatch(
                    f"the shared index at {self.location.uri} is from an older Quarry: a writer upgrades it when it next indexes"
                )
            self.meta.setdefault("roots", [])
            return
        self._upgrade()
        self.meta.update({"schema": SCHEMA_VERSION, "fingerprint": fingerprint, "dimension": dimension})
        self.meta.setdefault("roots", [])
        self._write_meta()
        # A process killed between the chunk and document writes leaves chunks of a
        # half-written document: every opener that writes removes them before anyone reads.
        self.repair()

    def close(self) -> None:
        """Give up the writer's lease, if this store holds one. Never raises."""
        if self._lease is not None:
            self._lease.release()
            self._lease = None

    @contextlib.contextmanager
    def write_lease(self) -> Iterator[None]:
        """Hold the index's writer lease for a run: locally the lock file (raises LeaseHeld,
        naming the other run, when another process holds it); a shared writer holds its
        lease from open to close already."""
        if self.shared:
            self._check_writable()
            yield
            return
        with Lease(self.location):
            yield

    @property
    def keep_versions(self) -> timedelta:
        """How old a table version must be before optimize() removes it."""
        return SHARED_KEEP_VERSIONS if self.shared else LOCAL_KEEP_VERSIONS

    def _check_writable(self) -> None:
        """Raise QuarryError unless this store may write: a shared store opened as a reader
        never may, and a writer whose lease was lost may no longer (LeaseLost)."""
        if not self.shared:
            return
        if not self.writer:
            raise QuarryError(f"the shared index at {self.location.uri} is open for reading only")
        if self._lease is None:
            raise QuarryError(f"the shared index at {self.location.uri} is closed")
        self._lease.check()

    def _upgrade(self) -> None:
        """Bring tables made by an older Quarry up to this schema, keeping their vectors."""
        names = set(self.chunks.schema.names)
        if "location" not in names:
            log.info("upgrading the index: chunks gain a location column")
            self.chunks.add_columns(pa.field("location", pa.string()))
        if "ocr" not in names:
            log.info("upgrading the index: chunks gain an ocr column")
            self.chunks.add_columns(pa.field("ocr", pa.bool_()))
        if "embedded" not in names:
            # Every row of an older index has its vector: nothing is embedded again.
            log.info("upgrading the index: chunks gain an embedded column")
            self.chunks.add_columns({"embedded": "vector IS NOT NULL"})
        if "search_text" not in names:
            log.info("upgrading the index: chunks gain language and search_text columns")
            self.chunks.add_columns([pa.field("language", pa.string()), pa.field("search_text", pa.string())])
        if self.chunks.count_rows("search_text IS NULL"):
            self._fill_search_text()
        for index in self.chunks.list_indices():
            if index.index_type == "FTS" and index.columns != ["search_text"]:
                log.info("upgrading the index: the full-text index moves to search_text")
                self.chunks.drop_index(index.name)
                self.ensure_text_index()

    def _fill_search_text(self) -> None:
        """Compute language and search_text for rows without them (an index made before
        schema 5, or one whose upgrade was cut short), UPGRADE_BATCH whole rows a commit."""
        schema = chunks_schema(self.dimension)
        done = 0
        while True:
            rows = self.chunks.search().where("search_text IS NULL").limit(UPGRADE_BATCH).to_arrow()
            if not rows.num_rows:
                break
            languages, keys = _language_and_keys(rows.column("text").to_pylist())
            self._note_languages(languages)
            rows = rows.set_column(rows.schema.get_field_index("language"), "language", pa.array(languages))
            rows = rows.set_column(rows.schema.get_field_index("search_text"), "search_text", pa.array(keys))
            self.chunks.merge_insert("chunk_id").when_matched_update_all().execute(
                rows.select(schema.names).cast(schema)
            )
            done += rows.num_rows
        log.info("upgrading the index: search text of %d passages computed", done)

    # -- meta -------------------------------------------------------------------
    def _read_meta(self) -> dict[str, Any]:
        try:
            found = self.location.read(META_FILE)
            return {} if found is None else json.loads(found[0].decode("utf-8"))
        except SharedStoreError:
            raise
        except (OSError, ValueError):
            log.warning("index metadata unreadable; it will be rewritten")
            return {}

    def _write_meta(self) -> None:
        self._check_writable()
        self.location.write(META_FILE, json.dumps(self.meta, indent=1).encode("utf-8"))

    def _drop_tables(self) -> None:
        import shutil

        for name in (DOCUMENTS, CHUNKS):
            shutil.rmtree(self.folder / f"{name}.lance", ignore_errors=True)
        shutil.rmtree(self.folder / ocr_words.FOLDER, ignore_errors=True)
        self.meta = {"roots": self.meta.get("roots", [])}

    def reload_meta(self) -> None:
        """Read index.json again: the folders another process (a window, `quarry index`) has
        added since this store was opened. The tables need no reload (read_consistency_interval 0)."""
        fresh = self._read_meta()
        if fresh:
            self.meta = fresh

    @property
    def roots(self) -> list[str]:
        return list(self.meta.get("roots", []))

    def add_root(self, root: Path) -> None:
        """Remember ``root`` (a folder or file given to an index run) in the index's
        metadata (index.json); a root known already is left as it is. Raises OSError when
        the metadata cannot be written."""
        self._check_writable()
        if str(root) not in self.meta["roots"]:
            self.meta["roots"].append(str(root))
            self._write_meta()

    def remove_root(self, root: Path) -> list[str]:
        """Forget a folder and delete its documents (their rows and passages) from the index;
        the files themselves are never touched. Returns the removed documents' paths.
        Raises OSError when the metadata cannot be written."""
        self._check_writable()
        records = [r for r in self.all_documents().values() if r.root == str(root)]
        self.delete_documents([r.doc_id for r in records])
        if str(root) in self.meta["roots"]:
            self.meta["roots"].remove(str(root))
            self._write_meta()
        return [r.path for r in records]

    # -- reads ------------------------------------------------------------------
    def all_documents(self) -> dict[str, DocumentRecord]:
        """Every document row, keyed by path."""
        table = self.documents.to_arrow()
        return {row["path"]: DocumentRecord(**row) for row in table.to_pylist()}

    def folder_counts(self, records: Iterable[DocumentRecord] | None = None) -> dict[str, tuple[int, int]]:
        """(documents, chunks) indexed under each known folder."""
        docs = [r for r in (self.all_documents().values() if records is None else records) if r.ok]
        return {
            root: (sum(1 for d in docs if d.root == root), sum(d.chunks for d in docs if d.root == root))
            for root in self.roots
        }

    def stats(self) -> StoreStats:
        docs = self.documents.to_arrow().select(["status"]).column("status").to_pylist()
        size = self.location.size_bytes()
        return StoreStats(
            documents=sum(1 for s in docs if s == "ok"),
            skipped=sum(1 for s in docs if s != "ok"),
            chunks=self.chunks.count_rows(),
            bytes_on_disk=size,
            roots=self.roots,
            embedder=str(self.meta.get("fingerprint", "")).split("|")[0],
        )

    def passage_counts(self) -> PassageCounts:
        """Stored passages, those BM25 reaches and those with vectors: two cheap counts
        (row count and a bool column), a few ms at 100,000 passages."""
        passages = self.chunks.count_rows()
        vectors = self.chunks.count_rows("embedded") if passages else 0
        return PassageCounts(passages, passages if self.has_text_index() else 0, vectors)

    def has_text_index(self) -> bool:
        return any(index.index_type == "FTS" for index in self.chunks.list_indices())

    def vector_index(self) -> str | None:
        """The name of the approximate (ANN) index on the vectors, or None (flat search)."""
        found = self._vector_index()
        return None if found is None else found.name

    def _vector_index(self) -> Any:
        """LanceDB's description of the vector index (IndexConfig: name, num_segments, …), or None."""
        for index in self.chunks.list_indices():
            if index.columns == ["vector"] and index.index_type != "FTS":
                return index
        return None

    def build_vector_index(self) -> None:
        """Train the ANN index over the vectors stored now, replacing any earlier one:
        IVF-SQ (partitions of 8-bit scalar-quantised vectors, LanceDB's default partition
        count), cosine distance. Passages without vectors are left out; rows written later
        are searched by a flat pass until optimize() folds them in. IVF-SQ kept recall@50 at
        1.0 with a refine over 100,000 real-like passages and built in 5 s, where IVF-PQ
        reached 0.987 and took 132 s (docs/benchmarks.md)."""
        self._check_writable()
        from lancedb.index import IvfSq

        started = time.perf_counter()
        old = self.vector_index()
        if old is not None:
            # Drop the old index and compact before training: LanceDB merges only fragments
            # that every index covers alike, and training over the many small fragments (with
            # deleted rows) that index runs leave took 119 s at 100,000 passages, and over
            # 4 minutes without finishing at a million, where after compaction it took 4.4 s
            # and 17 s (LanceDB 0.40.0, docs/benchmarks.md). Searches meanwhile scan flat.
            self.chunks.drop_index(old)
        self.chunks.optimize(cleanup_older_than=self.keep_versions)
        vectors = self.chunks.count_rows("embedded")
        self.chunks.create_index("vector", config=IvfSq(distance_type="cosine"))
        self.meta["vector_index_rows"] = vectors
        self._write_meta()
        log.info("vector index over %d passages built in %.1f s", vectors, time.perf_counter() - started)

    def ensure_vector_index(self, min_passages: int | None = None) -> bool:
        """Build the ANN index once ``min_passages`` (default ANN_MIN_PASSAGES) passages have
        vectors; train it again when they have grown ANN_REBUILD_GROWTH times past what it
        was trained on, or when it has gathered more than ANN_MAX_SEGMENTS segments (each
        optimize() folds the rows written since into a segment of its own, and LanceDB's
        compaction never merges fragments that different segments cover, so without this
        every index run would leave one more fragment for good). Returns whether it built one."""
        vectors = self.chunks.count_rows("embedded")
        index = self._vector_index()
        if index is None:
            if vectors < (ANN_MIN_PASSAGES if min_passages is None else min_passages):
                return False
        elif (index.num_segments or 1) <= ANN_MAX_SEGMENTS and vectors <= ANN_REBUILD_GROWTH * int(
            self.meta.get("vector_index_rows") or vectors
        ):
            return False
        self.build_vector_index()
        return True

    def vector_search(self, vector: np.ndarray, limit: int, exact: bool = False) -> list[StoredChunk]:
        """The ``limit`` passages nearest ``vector`` (float32 (dimension,)) by cosine,
        through the ANN index when there is one (ANN_NPROBES partitions, ANN_REFINE_FACTOR
        × ``limit`` candidates re-scored with full vectors); ``exact``: a flat scan of every
        vector whatever the index."""
        query = (
            self.chunks.search(vector.astype(np.float32), vector_column_name="vector")
            .distance_type("cosine")
            .nprobes(ANN_NPROBES)
            .refine_factor(ANN_REFINE_FACTOR)
        )
        if exact:
            query = query.bypass_vector_index()
        rows = query.select([*_CHUNK_COLUMNS, "_distance"]).limit(limit).to_arrow().to_pylist()
        # LanceDB leaves null vectors (passages not embedded yet) out; a null distance would
        # be one of them all the same, and is never a vector hit.
        return [_stored(row, 1.0 - float(row["_distance"])) for row in rows if row["_distance"] is not None]

    def languages(self) -> list[str]:
        """The languages of the stored passages (ISO 639-1), as written by write()."""
        return list(self.meta.get("languages", []))

    def language_counts(self) -> dict[str, int]:
        """Stored passages per language (ISO 639-1 code -> count), one row count per
        language of ``languages()``; passages of no detected language are left out."""
        counts = {}
        for language in self.languages():
            if language.isalpha() and language.isascii():  # codes only: the value goes into a filter
                counts[language] = self.chunks.count_rows(f"language = '{language}'")
        return {language: n for language, n in counts.items() if n}

    def text_search(self, query: str, limit: int) -> list[StoredChunk]:
        """BM25 over the passages' search text (LanceDB's native full-text index, whitespace
        tokens): the query's keys (indexer.words.query_keys) in English, its own language and
        every language of the stored passages, so a word is matched as its passage's language
        stems it. Vectors included so the caller can put text-only hits on the same
        similarity scale."""
        from lancedb.query import MatchQuery

        keys = words.query_keys(
            [m.group() for m in words.WORD.finditer(query)],
            [words.DEFAULT_LANGUAGE, words.detect_language(query), *self.languages()],
        )
        if not keys:
            return []
        try:
            rows = (
                self.chunks.search(MatchQuery(" ".join(keys), "search_text"), query_type="fts")
                .select([*_CHUNK_COLUMNS, "vector", "_score"])
                .limit(limit)
                .to_arrow()
                .to_pylist()
            )
        except (ValueError, RuntimeError) as exc:  # no index yet (empty store), or a query it cannot parse
            log.debug("full-text search unavailable: %s", exc)
            return []
        return [_stored(row, float(row["_score"]), _vector(row["vector"])) for row in rows]

    def ensure_id_index(self) -> None:
        """Build the B-tree index on ``chunk_id`` that write() and fill_vectors() merge
        through, once there are passages; optimize() folds later rows into it, and rows
        outside it are still matched (a flat pass over them)."""
        self._check_writable()
        if self.chunks.count_rows() == 0 or any(i.columns == ["chunk_id"] for i in self.chunks.list_indices()):
            return
        from lancedb.index import BTree

        self.chunks.create_index("chunk_id", config=BTree())

    def ensure_text_index(self) -> None:
        """Build the full-text index once; later runs fold new rows in with optimize()."""
        self._check_writable()
        if self.chunks.count_rows() == 0:
            return
        if self.has_text_index():
            return
        from lancedb.index import FTS

        # Keys come folded and stemmed (indexer.words.search_text): LanceDB only splits them.
        config = FTS(
            base_tokenizer="whitespace", lower_case=False, stem=False, remove_stop_words=False, ascii_folding=False
        )
        self.chunks.create_index("search_text", config=config, replace=True)

    def refresh_text_index(self, max_unindexed: int = FTS_REFRESH_ROWS) -> bool:
        """Mid-run upkeep: build the full-text index if there is none (so BM25 answers at
        all), and fold rows into it (optimize) once more than ``max_unindexed`` are outside
        it. Returns whether it did either."""
        self._check_writable()
        indices = [i for i in self.chunks.list_indices() if i.index_type == "FTS"]
        if not indices:
            if self.chunks.count_rows() == 0:
                return False
            self.ensure_id_index()
            self.ensure_text_index()
            return True
        stats = self.chunks.index_stats(indices[0].name)
        if stats is None or stats.num_unindexed_rows <= max_unindexed:
            return False
        self.optimize()
        return True

    def chunks_of(self, doc_id: str, ordinals: Iterable[int]) -> list[StoredChunk]:
        wanted = ",".join(str(int(o)) for o in ordinals)
        if not wanted:
            return []
        rows = (
            self.chunks.search()
            .where(f"doc_id = '{_quote(doc_id)}' AND ordinal IN ({wanted})")
            .select(_CHUNK_COLUMNS)
            .limit(1000)
            .to_arrow()
            .to_pylist()
        )
        return sorted((_stored(r, 0.0) for r in rows), key=lambda c: c.ordinal)

    def chunk_by_id(self, chunk_id: str) -> StoredChunk | None:
        """The stored passage with this id, with its vector (None until embedded), or None."""
        rows = (
            self.chunks.search()
            .where(f"chunk_id = '{_quote(chunk_id)}'")
            .select([*_CHUNK_COLUMNS, "vector"])
            .limit(1)
            .to_arrow()
            .to_pylist()
        )
        return _stored(rows[0], 0.0, _vector(rows[0]["vector"])) if rows else None

    def sample_passages(self, n: int, seed: int) -> list[StoredChunk]:
        """Up to ``n`` embedded passages at random row positions, the same ones for the same
        seed and table (the reranker self-check's sample, indexer.search.selfcheck); without
        vectors, text only."""
        total = self.chunks.count_rows()
        if total == 0 or n <= 0:
            return []
        positions = sorted(random.Random(seed).sample(range(total), min(n, total)))
        rows = self.chunks.take_offsets(positions).select([*_CHUNK_COLUMNS, "embedded"]).to_arrow().to_pylist()
        picked = [_stored(r, 0.0) for r in rows if r["embedded"]]
        random.Random(seed).shuffle(picked)  # documents are stored in runs: mix them
        return picked

    def page_chunks(self, doc_id: str, page: int | None, limit: int = 1000) -> list[StoredChunk]:
        """The passages cut from one page of a document (``page`` None: a document without
        pages), by their offset in the page's text; at most ``limit``."""
        where = "page IS NULL" if page is None else f"page = {int(page)}"
        rows = (
            self.chunks.search()
            .where(f"doc_id = '{_quote(doc_id)}' AND {where}")
            .select(_CHUNK_COLUMNS)
            .limit(limit)
            .to_arrow()
            .to_pylist()
        )
        return sorted((_stored(r, 0.0) for r in rows), key=lambda c: (c.start, c.ordinal))

    def chunks_with_hash(self, content_hash: str) -> tuple[list[StoredChunk], np.ndarray] | None:
        """The stored passages and vectors of any document with this content hash (a file
        that was moved, renamed or copied), so it need not be embedded again."""
        table = (
            self.chunks.search()
            .where(f"doc_hash = '{_quote(content_hash)}'")
            .select([*_CHUNK_COLUMNS, "vector", "embedded"])
            .limit(None)
            .to_arrow()
        )
        if table.num_rows == 0:
            return None
        first_doc = table.column("doc_id")[0].as_py()
        rows = [r for r in table.to_pylist() if r["doc_id"] == first_doc]
        rows.sort(key=lambda r: r["ordinal"])
        chunks = [_stored(r, 0.0) for r in rows]
        if not all(r["embedded"] for r in rows):
            return chunks, None  # not embedded yet: the copy waits for the backfill too
        return chunks, np.asarray([r["vector"] for r in rows], dtype=np.float32)

    def missing_vectors(self, limit: int, skip: Iterable[str] = ()) -> list[StoredChunk]:
        """Up to ``limit`` passages without vectors (in storage order), leaving out the
        chunk ids in ``skip``, each with its ``doc_hash`` (for fill_vectors)."""
        if limit <= 0:
            return []
        skipped = set(skip)
        rows = (
            self.chunks.search()
            .where("NOT embedded")
            .select([*_CHUNK_COLUMNS, "doc_hash"])
            .limit(limit + len(skipped))
            .to_arrow()
            .to_pylist()
        )
        found = [_stored(r, 0.0, doc_hash=r["doc_hash"]) for r in rows if r["chunk_id"] not in skipped]
        return found[:limit]

    def fill_vectors(self, chunks: list[StoredChunk], vectors: np.ndarray) -> int:
        """Write the vectors of passages stored without them, in one commit. Only rows that
        still exist and still belong to the same version of their document (doc_hash) are
        updated; nothing is ever inserted, so a document removed or changed meanwhile gains
        no row.

        Args:
            chunks: passages from missing_vectors (each with its ``doc_hash``).
            vectors: float32, shape (len(chunks), dimension), rows in the order of
                ``chunks``: the embedder's vectors of their model text (StoredChunk.passage).

        Returns the rows updated (fewer than len(chunks) where rows went or changed).
        Raises ValueError for another shape or a vector that is not finite (NaN, inf)."""
        self._check_writable()
        if not chunks:
            return 0
        if vectors.shape != (len(chunks), self.dimension):
            raise ValueError(f"vectors of shape {vectors.shape} for {len(chunks)} passages of {self.dimension}")
        _check_finite(vectors)
        wanted = {c.chunk_id: (i, c.doc_hash) for i, c in enumerate(chunks)}
        id_list = _sql_list(wanted)
        # Whole rows, as stored: LanceDB's merge of only some columns cannot use the chunk_id
        # index (0.40.0 panics with one: "Incorrect number of arrays for StructArray"), and
        # without it every vector in the table is read (+1 to 2.3 GB, 2.7 s for 512 rows in a
        # million, docs/benchmarks.md).
        stored = self.chunks.search().where(f"chunk_id IN ({id_list})").limit(None).to_arrow()
        ids, hashes = stored.column("chunk_id").to_pylist(), stored.column("doc_hash").to_pylist()
        same = [wanted[chunk_id][1] == doc_hash for chunk_id, doc_hash in zip(ids, hashes, strict=True)]
        current = [wanted[chunk_id][0] for chunk_id, keep in zip(ids, same, strict=True) if keep]
        if not current:
            return 0
        rows = stored.filter(pa.array(same, type=pa.bool_()))
        schema = chunks_schema(self.dimension)
        flat = pa.array(vectors[current].astype(np.float32).reshape(-1), type=pa.float32())
        rows = rows.set_column(
            rows.schema.get_field_index("vector"), "vector", pa.FixedSizeListArray.from_arrays(flat, self.dimension)
        )
        rows = rows.set_column(rows.schema.get_field_index("embedded"), "embedded", pa.array([True] * len(current)))
        result = (
            self.chunks.merge_insert("chunk_id")
            .when_matched_update_all(where="target.doc_hash = source.doc_hash")
            .execute(rows.select(schema.names).cast(schema))
        )
        return int(result.num_updated_rows)

    # -- writes -----------------------------------------------------------------
    def write(
        self, records: list[DocumentRecord], chunks: dict[str, list[Chunk]], vectors: dict[str, np.ndarray]
    ) -> None:
        """Replace the chunks of every document in ``records`` and then their rows: the
        passages of each (``chunks[doc_id]``, cut by indexer.ingest.chunking, ids from
        indexer.types.chunk_id_for) take the place of whatever the index held for it, and a
        document with no passages is left with none. Chunks are written before document
        rows, so a crash between the two leaves chunks that ``repair`` removes.

        Args:
            records: one row per document (path, size, mtime, content hash, title, status).
            chunks: doc_id -> its passages in order (Chunk.ordinal from 0).
            vectors: doc_id -> float32 array of shape (len(chunks[doc_id]), dimension), rows
                of length 1: the embedder's vectors of Chunk.indexed_text. A document missing
                from it is stored without vectors (``embedded`` false), for a backfill to
                embed.

        Raises ValueError when a vector is not finite (a broken model's NaN is never stored).
        """
        self._check_writable()
        if not records:
            return
        rows = _chunk_table(records, chunks, vectors, self.dimension)
        if rows.num_rows:
            self._note_languages(rows.column("language").to_pylist())
            self.chunks.merge_insert("chunk_id").when_matched_update_all().when_not_matched_insert_all().execute(
                rows, on_bad_vectors="null"
            )
        # Passage ids are the document's id and the ordinal, so the upsert replaced ordinals
        # 0..n-1: what an older, longer version left is every ordinal from n on. One term per
        # passage count, so a batch of many small files stays a short filter.
        by_count: dict[int, list[str]] = {}
        for record in records:
            by_count.setdefault(len(chunks.get(record.doc_id, [])), []).append(record.doc_id)
        self.chunks.delete(
            " OR ".join(f"(ordinal >= {n} AND doc_id IN ({_sql_list(ids)}))" for n, ids in by_count.items())
        )
        doc_rows = pa.Table.from_pylist([_as_dict(r) for r in records], schema=documents_schema())
        self.documents.merge_insert("doc_id").when_matched_update_all().when_not_matched_insert_all().execute(doc_rows)

    def _note_languages(self, languages: list[str]) -> None:
        """Add languages not seen before to index.json (text_search stems queries in each)."""
        new = [lang for lang in dict.fromkeys(languages) if lang not in self.meta.setdefault("languages", [])]
        if new:
            self.meta["languages"].extend(new)
            self._write_meta()

    def delete_documents(self, doc_ids: list[str]) -> None:
        """Delete the documents with these ids (doc_id_for(path)) and their passages from the
        index, 500 ids per delete; ids not in the index are ignored. Files are never touched."""
        self._check_writable()
        for start in range(0, len(doc_ids), 500):
            id_list = _sql_list(doc_ids[start : start + 500])
            self.chunks.delete(f"doc_id IN ({id_list})")
            self.documents.delete(f"doc_id IN ({id_list})")
        ocr_words.remove(self.folder, doc_ids)

    def repair(self) -> int:
        """Delete chunks whose document row is missing or describes another version of
        the file (left by a crash between the two writes). Returns how many went."""
        self._check_writable()
        docs = self.documents.to_arrow().select(["doc_id", "content_hash", "status"]).to_pylist()
        valid = {(d["doc_id"], d["content_hash"]) for d in docs if d["status"] == "ok"}
        stale = {doc_id for doc_id, doc_hash in self._chunk_versions() if (doc_id, doc_hash) not in valid}
        if stale:
            log.warning("removing chunks of %d half-written documents", len(stale))
            id_list = _sql_list(stale)
            self.chunks.delete(f"doc_id IN ({id_list})")
            self.documents.delete(f"doc_id IN ({id_list}) AND status = 'ok'")
        return len(stale)

    def _chunk_versions(self) -> set[tuple[str, str]]:
        """The distinct (doc_id, doc_hash) pairs of the stored chunks, read in batches of
        REPAIR_BATCH rows and made distinct in Arrow: one pair per document version, not per
        passage (a million passages as Python strings held ~330 MB at every open)."""
        versions: set[tuple[str, str]] = set()
        reader = self.chunks.search().select(["doc_id", "doc_hash"]).limit(None).to_batches(REPAIR_BATCH)
        for batch in reader:
            distinct = (
                pa.Table.from_batches([batch])
                .select(["doc_id", "doc_hash"])
                .group_by(["doc_id", "doc_hash"])
                .aggregate([])
            )
            versions.update(
                zip(distinct.column("doc_id").to_pylist(), distinct.column("doc_hash").to_pylist(), strict=True)
            )
        return versions

    def optimize(self, ann_min_passages: int | None = None) -> None:
        """Compact small writes, fold new rows into the indexes and drop old versions, so
        the folder and the fragment count do not grow without bound. Builds the full-text
        index if there is none, and the ANN vector index once ``ann_min_passages`` (default
        ANN_MIN_PASSAGES) passages have vectors (ensure_vector_index)."""
        self._check_writable()
        started = time.perf_counter()
        self.ensure_id_index()
        self.ensure_text_index()
        self.ensure_vector_index(ann_min_passages)
        # Versions older than keep_versions go (a minute locally, a week shared): a search
        # that started on one still finishes.
        for table in (self.chunks, self.documents):
            table.optimize(cleanup_older_than=self.keep_versions)
        log.debug("optimize took %.2f s", time.perf_counter() - started)


@functools.cache
def _session() -> Any:
    """One LanceDB session (lancedb.Session) for every store this process opens, its caches
    bounded (INDEX_CACHE_BYTES, METADATA_CACHE_BYTES)."""
    import lancedb

    return lancedb.Session(index_cache_size_bytes=INDEX_CACHE_BYTES, metadata_cache_size_bytes=METADATA_CACHE_BYTES)


def _sql_list(values: Iterable[str]) -> str:
    """``values`` as the inside of an SQL ``IN (…)``: quoted string literals, comma-separated."""
    return ", ".join(f"'{_quote(value)}'" for value in values)


def _quote(value: str) -> str:
    return value.replace("'", "''")


def _check_finite(vectors: np.ndarray) -> None:
    """Writes pass on_bad_vectors='null' so that null means 'not embedded yet'; a NaN from a
    broken model must not become such a null behind an ``embedded`` flag. Raises ValueError."""
    if not np.isfinite(vectors).all():
        raise ValueError("the embedding model returned vectors with NaN or infinite values")


def _vector(value: list[float] | None) -> np.ndarray | None:
    return None if value is None else np.asarray(value, dtype=np.float32)


def _stored(row: dict[str, Any], score: float, vector: np.ndarray | None = None, doc_hash: str = "") -> StoredChunk:
    return StoredChunk(
        chunk_id=row["chunk_id"],
        doc_id=row["doc_id"],
        path=row["path"],
        page=row["page"],
        ordinal=row["ordinal"],
        start=row["start"],
        end=row["end"],
        title=row["title"] or "",
        text=row["text"],
        score=score,
        vector=vector,
        location=row.get("location") or "",
        ocr=bool(row.get("ocr")),
        doc_hash=doc_hash,
    )


def _as_dict(record: DocumentRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in DocumentRecord.__slots__}


def _language_and_key(text: str) -> tuple[str, str]:
    """A passage's language and search text (indexer.words)."""
    language = words.detect_language(text)
    return language, words.search_text(text, language)


def _language_and_keys(texts: list[str]) -> tuple[list[str], list[str]]:
    pairs = [_language_and_key(t or "") for t in texts]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _chunk_table(
    records: list[DocumentRecord], chunks: dict[str, list[Chunk]], vectors: dict[str, np.ndarray], dimension: int
) -> pa.Table:
    schema = chunks_schema(dimension)
    columns: dict[str, list[Any]] = {name: [] for name in schema.names if name != "vector"}
    vector_parts: list[np.ndarray] = []
    for record in records:
        doc_chunks = chunks.get(record.doc_id, [])
        if not doc_chunks:
            continue
        doc_vectors = vectors.get(record.doc_id)
        for chunk in doc_chunks:
            columns["chunk_id"].append(chunk_id_for(record.doc_id, chunk.ordinal))
            columns["doc_id"].append(record.doc_id)
            columns["doc_hash"].append(record.content_hash)
            columns["path"].append(record.path)
            columns["page"].append(chunk.page)
            columns["location"].append(chunk.location)
            columns["ocr"].append(chunk.ocr)
            columns["ordinal"].append(chunk.ordinal)
            columns["start"].append(chunk.start)
            columns["end"].append(chunk.end)
            columns["title"].append(chunk.title)
            columns["text"].append(chunk.text)
            columns["embedded"].append(doc_vectors is not None)
            language, keys = _language_and_key(chunk.text)
            columns["language"].append(language)
            columns["search_text"].append(keys)
        if doc_vectors is None:  # stored for BM25 now, embedded by the backfill
            doc_vectors = np.zeros((len(doc_chunks), dimension), dtype=np.float32)
        else:
            _check_finite(doc_vectors)
        vector_parts.append(doc_vectors.astype(np.float32))
    if not vector_parts:
        return schema.empty_table()
    flat = np.concatenate(vector_parts).reshape(-1)
    missing = pa.array([not e for e in columns["embedded"]], type=pa.bool_())
    vectors_array = pa.FixedSizeListArray.from_arrays(pa.array(flat, type=pa.float32()), dimension, mask=missing)
    arrays = [
        vectors_array if name == "vector" else pa.array(columns[name], type=schema.field(name).type)
        for name in schema.names
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def upsert_document_rows(store: Store, records: list[DocumentRecord]) -> None:
    """Update documents rows only (e.g. a touched file whose content did not change)."""
    if records:
        store._check_writable()
        rows = pa.Table.from_pylist([_as_dict(r) for r in records], schema=documents_schema())
        store.documents.merge_insert("doc_id").when_matched_update_all().when_not_matched_insert_all().execute(rows)
