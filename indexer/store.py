"""LanceDB storage: a documents table, a chunks table, and a small JSON file recording
which embedding model made the vectors (a different model forces a re-index, never a mix).

Writes replace whole documents: one ``merge_insert`` per batch swaps a document's chunks in a
single commit, and its documents row is written after, so a crash in between leaves a row
that the next run sees as changed and indexes again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from indexer.atomic import write_text_atomic
from indexer.errors import StoreMismatch
from indexer.passage_window import query_window
from indexer.types import Chunk

log = logging.getLogger(__name__)

DOCUMENTS = "documents"
CHUNKS = "chunks"
META_FILE = "index.json"
SCHEMA_VERSION = 3
"""2: chunks gained ``location``; 3: chunks gained ``ocr``. An older index is upgraded in place
when opened."""
_CHUNK_COLUMNS = ["chunk_id", "doc_id", "path", "page", "location", "ordinal", "start", "end", "title", "text", "ocr"]


def doc_id_for(path: Path | str) -> str:
    return hashlib.sha1(str(path).encode("utf-8", errors="surrogateescape")).hexdigest()[:16]


def documents_schema() -> pa.Schema:
    return pa.schema(
        [
            pa.field("doc_id", pa.string(), nullable=False),
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
            pa.field("chunk_id", pa.string(), nullable=False),
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

    @property
    def passage(self) -> str:
        """The document's title, then the chunk: what the models read."""
        return f"{self.title}\n{self.text}"

    def rerank_text(self, query: str, window_words: int) -> str:
        """What the reranker reads for ``query``: the title, then the chunk cut to the
        ``window_words``-word window centred on the query's words (0: the whole chunk)."""
        return f"{self.title}\n{query_window(self.text, query, window_words)}"


@dataclass(frozen=True, slots=True)
class StoreStats:
    documents: int
    skipped: int
    chunks: int
    bytes_on_disk: int
    roots: list[str]
    embedder: str


class Store:
    """One index folder. Safe to read from several threads while one thread writes."""

    def __init__(self, folder: Path, dimension: int, fingerprint: str, *, reset_on_mismatch: bool = False) -> None:
        import lancedb

        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.meta = self._read_meta()
        made_by = int(self.meta.get("schema") or 0)
        if made_by > SCHEMA_VERSION:
            raise StoreMismatch(
                f"the index was made by a newer Quarry (index schema {made_by}, this Quarry reads up to "
                f"{SCHEMA_VERSION}); update Quarry, or remove the index folder to rebuild it"
            )
        if self.meta.get("fingerprint") not in (None, fingerprint):
            if not reset_on_mismatch:
                raise StoreMismatch(
                    f"the index was built with another embedding model ({self.meta['fingerprint'].split('|')[0]}); "
                    "re-index to use this one"
                )
            log.warning("embedding model changed: clearing the index to rebuild it")
            self._drop_tables()
        self.db = lancedb.connect(folder, read_consistency_interval=timedelta(0))
        names = set(self.db.list_tables().tables) if hasattr(self.db, "list_tables") else set(self.db.table_names())
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
        self.dimension = dimension
        self._upgrade()
        self.meta.update({"schema": SCHEMA_VERSION, "fingerprint": fingerprint, "dimension": dimension})
        self.meta.setdefault("roots", [])
        self._write_meta()
        # A process killed between the chunk and document writes leaves chunks of a
        # half-written document: every opener removes them before anyone reads.
        self.repair()

    def _upgrade(self) -> None:
        """Bring tables made by an older Quarry up to this schema, keeping their vectors."""
        names = set(self.chunks.schema.names)
        if "location" not in names:
            log.info("upgrading the index: chunks gain a location column")
            self.chunks.add_columns(pa.field("location", pa.string()))
        if "ocr" not in names:
            log.info("upgrading the index: chunks gain an ocr column")
            self.chunks.add_columns(pa.field("ocr", pa.bool_()))

    # -- meta -------------------------------------------------------------------
    def _read_meta(self) -> dict[str, Any]:
        path = self.folder / META_FILE
        try:
            return json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            log.warning("index metadata unreadable; it will be rewritten")
            return {}

    def _write_meta(self) -> None:
        write_text_atomic(self.folder / META_FILE, json.dumps(self.meta, indent=1))

    def _drop_tables(self) -> None:
        import shutil

        for name in (DOCUMENTS, CHUNKS):
            shutil.rmtree(self.folder / f"{name}.lance", ignore_errors=True)
        self.meta = {"roots": self.meta.get("roots", [])}

    @property
    def roots(self) -> list[str]:
        return list(self.meta.get("roots", []))

    def add_root(self, root: Path) -> None:
        if str(root) not in self.meta["roots"]:
            self.meta["roots"].append(str(root))
            self._write_meta()

    def remove_root(self, root: Path) -> list[str]:
        """Forget a folder and delete its documents. Returns the removed paths."""
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
        size = sum(f.stat().st_size for f in self.folder.rglob("*") if f.is_file())
        return StoreStats(
            documents=sum(1 for s in docs if s == "ok"),
            skipped=sum(1 for s in docs if s != "ok"),
            chunks=self.chunks.count_rows(),
            bytes_on_disk=size,
            roots=self.roots,
            embedder=str(self.meta.get("fingerprint", "")).split("|")[0],
        )

    def vector_search(self, vector: np.ndarray, limit: int) -> list[StoredChunk]:
        rows = (
            self.chunks.search(vector.astype(np.float32), vector_column_name="vector")
            .distance_type("cosine")
            .select([*_CHUNK_COLUMNS, "_distance"])
            .limit(limit)
            .to_arrow()
            .to_pylist()
        )
        return [_stored(row, 1.0 - float(row["_distance"])) for row in rows]

    def text_search(self, query: str, limit: int) -> list[StoredChunk]:
        """BM25 over passage text (LanceDB's native full-text index); vectors included so
        the caller can put text-only hits on the same similarity scale."""
        from lancedb.query import MatchQuery

        if not query.strip():
            return []
        try:
            rows = (
                self.chunks.search(MatchQuery(query, "text"), query_type="fts")
                .select([*_CHUNK_COLUMNS, "vector", "_score"])
                .limit(limit)
                .to_arrow()
                .to_pylist()
            )
        except (ValueError, RuntimeError) as exc:  # no index yet (empty store), or a query it cannot parse
            log.debug("full-text search unavailable: %s", exc)
            return []
        return [_stored(row, float(row["_score"]), np.asarray(row["vector"], dtype=np.float32)) for row in rows]

    def ensure_text_index(self) -> None:
        """Build the full-text index once; later runs fold new rows in with optimize()."""
        if self.chunks.count_rows() == 0:
            return
        if any(index.index_type == "FTS" for index in self.chunks.list_indices()):
            return
        from lancedb.index import FTS

        self.chunks.create_index("text", config=FTS(), replace=True)

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

    def chunks_with_hash(self, content_hash: str) -> tuple[list[StoredChunk], np.ndarray] | None:
        """The stored passages and vectors of any document with this content hash (a file
        that was moved, renamed or copied), so it need not be embedded again."""
        table = (
            self.chunks.search()
            .where(f"doc_hash = '{_quote(content_hash)}'")
            .select([*_CHUNK_COLUMNS, "vector"])
            .limit(None)
            .to_arrow()
        )
        if table.num_rows == 0:
            return None
        first_doc = table.column("doc_id")[0].as_py()
        rows = [r for r in table.to_pylist() if r["doc_id"] == first_doc]
        rows.sort(key=lambda r: r["ordinal"])
        chunks = [_stored(r, 0.0) for r in rows]
        return chunks, np.asarray([r["vector"] for r in rows], dtype=np.float32)

    # -- writes -----------------------------------------------------------------
    def write(
        self, records: list[DocumentRecord], chunks: dict[str, list[Chunk]], vectors: dict[str, np.ndarray]
    ) -> None:
        """Replace the chunks of every document in ``records`` and then their rows."""
        if not records:
            return
        ids = [r.doc_id for r in records]
        id_list = ", ".join(f"'{_quote(i)}'" for i in ids)
        rows = _chunk_table(records, chunks, vectors, self.dimension)
        if rows.num_rows:
            (
                self.chunks.merge_insert("chunk_id")
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .when_not_matched_by_source_delete(f"doc_id IN ({id_list})")
                .execute(rows)
            )
        else:
            self.chunks.delete(f"doc_id IN ({id_list})")
        doc_rows = pa.Table.from_pylist([_as_dict(r) for r in records], schema=documents_schema())
        self.documents.merge_insert("doc_id").when_matched_update_all().when_not_matched_insert_all().execute(doc_rows)

    def delete_documents(self, doc_ids: list[str]) -> None:
        for start in range(0, len(doc_ids), 500):
            id_list = ", ".join(f"'{_quote(i)}'" for i in doc_ids[start : start + 500])
            self.chunks.delete(f"doc_id IN ({id_list})")
            self.documents.delete(f"doc_id IN ({id_list})")

    def repair(self) -> int:
        """Delete chunks whose document row is missing or describes another version of
        the file (left by a crash between the two writes). Returns how many went."""
        docs = self.documents.to_arrow().select(["doc_id", "content_hash", "status"]).to_pylist()
        valid = {(d["doc_id"], d["content_hash"]) for d in docs if d["status"] == "ok"}
        pairs = self.chunks.search().select(["doc_id", "doc_hash"]).limit(None).to_arrow()
        stale = {
            doc_id
            for doc_id, doc_hash in zip(
                pairs.column("doc_id").to_pylist(), pairs.column("doc_hash").to_pylist(), strict=True
            )
            if (doc_id, doc_hash) not in valid
        }
        if stale:
            log.warning("removing chunks of %d half-written documents", len(stale))
            id_list = ", ".join(f"'{_quote(i)}'" for i in stale)
            self.chunks.delete(f"doc_id IN ({id_list})")
            self.documents.delete(f"doc_id IN ({id_list}) AND status = 'ok'")
        return len(stale)

    def optimize(self) -> None:
        """Compact small writes and drop old versions so the folder does not grow without bound."""
        started = time.perf_counter()
        self.ensure_text_index()
        # Versions older than a minute go; a search that started on one a moment ago still finishes.
        for table in (self.chunks, self.documents):
            table.optimize(cleanup_older_than=timedelta(minutes=1))
        log.debug("optimize took %.2f s", time.perf_counter() - started)


def _quote(value: str) -> str:
    return value.replace("'", "''")


def _stored(row: dict[str, Any], score: float, vector: np.ndarray | None = None) -> StoredChunk:
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
    )


def _as_dict(record: DocumentRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in DocumentRecord.__slots__}


def _chunk_table(
    records: list[DocumentRecord], chunks: dict[str, list[Chunk]], vectors: dict[str, np.ndarray], dimension: int
) -> pa.Table:
    columns: dict[str, list[Any]] = {name: [] for name in chunks_schema(dimension).names if name != "vector"}
    vector_parts: list[np.ndarray] = []
    for record in records:
        doc_chunks = chunks.get(record.doc_id, [])
        if not doc_chunks:
            continue
        for chunk in doc_chunks:
            columns["chunk_id"].append(f"{record.doc_id}-{chunk.ordinal:05d}")
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
        vector_parts.append(vectors[record.doc_id].astype(np.float32))
    schema = chunks_schema(dimension)
    if not vector_parts:
        return schema.empty_table()
    flat = np.concatenate(vector_parts).reshape(-1)
    vectors_array = pa.FixedSizeListArray.from_arrays(pa.array(flat, type=pa.float32()), dimension)
    arrays = [
        vectors_array if name == "vector" else pa.array(columns[name], type=schema.field(name).type)
        for name in schema.names
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def upsert_document_rows(store: Store, records: list[DocumentRecord]) -> None:
    """Update documents rows only (e.g. a touched file whose content did not change)."""
    if records:
        rows = pa.Table.from_pylist([_as_dict(r) for r in records], schema=documents_schema())
        store.documents.merge_insert("doc_id").when_matched_update_all().when_not_matched_insert_all().execute(rows)
