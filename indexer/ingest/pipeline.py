"""Indexer.run: scan folders, compare with the store, read, chunk and write; then embed.

Two passes. The keyword pass reads and chunks each new or changed document and stores its
passages without vectors, so BM25 finds them seconds after a folder is dropped (reading runs
at hundreds of pages/s, embedding at about ten). The embedding pass (``_backfill``) then
embeds every passage still without a vector and writes the vectors into those rows; it is
what a run with nothing changed does, so an interrupted backfill resumes on the next run.

Incremental: unchanged files (same size and mtime, or same content hash) cost nothing,
changed ones are replaced whole, vanished ones are deleted, and a file whose content is
already stored under another path (moved, renamed, copied) reuses those vectors. A broken file is recorded as
skipped with its reason and never stops the run.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from indexer.cancel import NEVER, Activity, CancelToken, SearchFirst
from indexer.constants import (
    BACKFILL_COMMIT_S,
    COUNT_BATCH_TEXTS,
    EMBED_BATCH_CHUNKS,
    KEYWORD_FLUSH_S,
    WRITE_BATCH_CHUNKS,
)
from indexer.errors import Cancelled, QuarryError
from indexer.ingest.chunking import TokenCounter, chunk_pages, sentences
from indexer.ingest.extract import DEFAULT_LOADER, Extractor
from indexer.ingest.longpath import open_binary
from indexer.ingest.normalise import normalise_document
from indexer.ingest.ocr import ENGINE_MISSING_REASON, OCR_OFF_REASON
from indexer.ingest.ocr import available as ocr_available
from indexer.ingest.scan import ScanRules, scan
from indexer.malloc import release_free_memory
from indexer.models.embedding import Embedder
from indexer.models.endpoints.embed import EndpointEmbedder
from indexer.store.lance import DocumentRecord, Store, StoredChunk, doc_id_for, upsert_document_rows
from indexer.store.ocr_words import save as save_ocr_words
from indexer.types import (
    Chunk,
    IndexReport,
    OcrWord,
    Page,
    Progress,
    ProgressCallback,
    Skipped,
    SourceFile,
    no_progress,
)

log = logging.getLogger(__name__)


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open_binary(path) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


PRIOR_BYTES_PER_UNIT: dict[str, int] = {".pdf": 12_000, ".docx": 6_000, ".pptx": 60_000, ".xlsx": 8_000, ".epub": 6_000}
"""Bytes of file per unit of work (a page read or a passage embedded) assumed for a format
until files of it have been read in this run; other formats: DEFAULT_BYTES_PER_UNIT."""
DEFAULT_BYTES_PER_UNIT = 1_500
MAX_INTERRUPTIONS = 3
"""How many times searches may stop one embedding batch before it runs to its end."""


class WorkMeter:
    """The work of an indexing run, in pages read plus passages embedded (a reused passage
    counts as embedded): exact for the files read so far, estimated for the rest from their
    size at the bytes-per-unit rate of the files of the same format read so far (of any
    format when none, else PRIOR_BYTES_PER_UNIT). ``done`` never goes down."""

    def __init__(self, files: list[SourceFile]) -> None:
        self.sizes = [max(1, f.size) for f in files]
        self.suffixes = [f.path.suffix.lower() for f in files]
        self.known: dict[int, int] = {}
        """File position -> its exact work (pages + passages), once it was read."""
        self.done = 0

    def read(self, position: int, pages: int, passages: int) -> None:
        """The file at ``position`` was read into ``pages`` pages and ``passages`` passages
        (0, 0 for a file that was skipped); its pages count as done."""
        self.known[position] = pages + passages
        self.done += pages

    def embedded(self, passages: int) -> None:
        self.done += passages

    def _bytes_per_unit(self, suffix: str) -> float:
        same = [(self.sizes[i], w) for i, w in self.known.items() if self.suffixes[i] == suffix and w]
        pairs = same or [(self.sizes[i], w) for i, w in self.known.items() if w]
        if pairs:
            return sum(size for size, _ in pairs) / sum(w for _, w in pairs)
        return float(PRIOR_BYTES_PER_UNIT.get(suffix, DEFAULT_BYTES_PER_UNIT))

    @property
    def total(self) -> int:
        estimate = sum(
            max(1, round(size / self._bytes_per_unit(suffix)))
            for i, (size, suffix) in enumerate(zip(self.sizes, self.suffixes, strict=True))
            if i not in self.known
        )
        return max(self.done, sum(self.known.values()) + estimate)


@dataclass(slots=True)
class _Plan:
    to_index: list[tuple[SourceFile, DocumentRecord | None]] = field(default_factory=list)
    touched: list[DocumentRecord] = field(default_factory=list)
    removed: list[DocumentRecord] = field(default_factory=list)
    reread: set[Path] = field(default_factory=set)
    """Unchanged files read again for the pages OCR left (their stored passages lack those)."""
    hashes: dict[Path, str] = field(default_factory=dict)
    """Content hashes taken while planning (a known file whose size or time changed), so a
    changed file is hashed once, not again when it is indexed."""
    unchanged: int = 0
    unreachable: list[DocumentRecord] = field(default_factory=list)
    """Files and folders the walk could not reach, as skipped records with the reason."""


@dataclass(slots=True)
class _Pending:
    records: list[DocumentRecord] = field(default_factory=list)
    chunks: dict[str, list[Chunk]] = field(default_factory=dict)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    """Only for documents whose vectors are known already (a moved or copied file)."""
    words: dict[str, dict[int, tuple[OcrWord, ...]]] = field(default_factory=dict)
    """doc_id -> page number -> the OCR words of the page (indexer.store.ocr_words)."""
    n_chunks: int = 0
    since: float = field(default_factory=time.perf_counter)


class Indexer:
    def __init__(
        self,
        store: Store,
        embedder: Embedder | EndpointEmbedder,
        rules: ScanRules = ScanRules(),
        loader: str = DEFAULT_LOADER,
        ocr: bool = True,
    ) -> None:
        """``loader`` names the function the reader process calls per file ('module:function');
        ``ocr`` False leaves scanned pages and images unread (indexer.ingest.ocr)."""
        self.store = store
        self.embedder = embedder
        self.rules = rules
        self.loader = loader
        self.priority = SearchFirst()
        """Shared with the engine's Searcher: embedding waits while a search reranks."""
        self.activity = Activity()
        """When an index run last ran (the window's idle check reads it)."""
        self.ocr = ocr

    def run(
        self,
        roots: Iterable[Path],
        cancel: CancelToken = NEVER,
        progress: ProgressCallback = no_progress,
        *,
        embed: bool = True,
    ) -> IndexReport:
        """Bring the index up to date with ``roots`` (folders or single files): the keyword
        pass, then (``embed``) the embedding pass over every passage without a vector, new or
        left by an earlier run. ``embed=False`` stops after the keyword pass: every passage is
        found by BM25, vector search finds only what was embedded before.

        Where the data comes from and goes: the files under ``roots`` that this indexer's
        ScanRules keep, each read (never written) by the loader in the reader child process;
        new and changed documents' passages go into the store, with vectors of their model
        text (indexer.types.model_text) from ``self.embedder``; rows of files gone from a
        root are deleted. ``progress`` gets Progress snapshots ('scanning', 'indexing',
        'embedding', 'finishing'; work counted in pages read plus passages embedded).

        Returns the IndexReport: documents added, updated, unchanged and removed, files
        skipped with their reason (a broken or unreadable file is skipped and reported, never
        ends the run), passages embedded and reused, and seconds of wall time (per stage in
        ``stage_seconds``). A cancel through ``cancel`` is not an error: the run stops at its
        next step with ``report.cancelled`` true, keeping what it wrote; the next run goes on.

        Raises:
            QuarryError: a root does not exist, or the inference worker cannot be started
                (WorkerDied: it died twice on one embedding batch; EndpointError: a remote
                embedder failed; both are QuarryErrors).
            ValueError: the embedder returned vectors that are not finite (none are stored).
        """
        with self.activity:
            return self._run(roots, cancel, progress, embed)

    def _run(self, roots: Iterable[Path], cancel: CancelToken, progress: ProgressCallback, embed: bool) -> IndexReport:
        started = time.perf_counter()
        report = IndexReport()
        timer: dict[str, float] = defaultdict(float)
        try:
            self.store.repair()
            progress(Progress("scanning", 0, 0))
            plan = self._plan([Path(r).expanduser().resolve() for r in roots], cancel, report, progress)
            # Text first, OCR after: every page with a text layer is stored (keyword-searchable)
            # before any page is recognised; then the files with pages left for OCR are read
            # again with it, as a pass of their own, before the embedding pass.
            defer_ocr = self.ocr and ocr_available()
            deferred: list[SourceFile] = []
            meter = self._apply(plan, cancel, progress, report, timer, ocr=self.ocr and not defer_ocr, deferred=deferred if defer_ocr else None)
            if deferred:
                self._ocr_pass(deferred, cancel, progress, report, timer)
            if embed:
                self._backfill(cancel, progress, report, timer, meter)
        except Cancelled:
            report.cancelled = True
        finally:
            finish = time.perf_counter()
            progress(Progress("finishing", 0, 0))
            self.store.optimize()
            timer["write"] += time.perf_counter() - finish
            report.seconds = time.perf_counter() - started
            report.stage_seconds = dict(timer)
            release_free_memory()  # the run's Arrow buffers and LanceDB writes, back to the system
            progress(Progress("done", 1, 1))
        log.info("indexing: %s in %.1f s", report.summary(), report.seconds)
        return report

    def _plan(self, roots: list[Path], cancel: CancelToken, report: IndexReport, progress: ProgressCallback) -> _Plan:
        plan = _Plan()
        existing = self.store.all_documents()
        seen: set[str] = set()
        for root in roots:
            if not root.exists():
                raise QuarryError(f"{root} does not exist")
            self.store.add_root(root)

            def unreachable(path: Path, reason: str, root: Path = root) -> None:
                log.info("skipped %s: %s", path, reason)
                report.skipped.append(Skipped(path, reason))
                key = str(path)
                if _utf8(key) and key not in seen:
                    seen.add(key)
                    plan.unreachable.append(_skipped_record(path, root, reason))

            for source in scan(root, self.rules, cancel, unreachable):
                key = str(source.path)
                if key in seen:
                    continue
                seen.add(key)
                if not _utf8(key):
                    # The store keys documents by path, and LanceDB holds UTF-8 only.
                    report.skipped.append(Skipped(source.path, "file name is not valid UTF-8; rename it to index it"))
                    continue
                if len(seen) % 200 == 0:
                    progress(Progress("scanning", len(seen), 0, source.path.name))
                old = existing.get(key)
                if old and self._ocr_now(old):
                    plan.to_index.append((source, old))
                    plan.reread.add(source.path)
                    continue
                if old and old.size == source.size and old.mtime_ns == source.mtime_ns:
                    plan.unchanged += 1
                    continue
                if old and old.ok:
                    try:
                        plan.hashes[source.path] = file_hash(source.path)
                        if plan.hashes[source.path] == old.content_hash:
                            plan.touched.append(replace(old, size=source.size, mtime_ns=source.mtime_ns))
                            plan.unchanged += 1
                            continue
                    except OSError:
                        pass  # read problems are reported when the file is loaded
                plan.to_index.append((source, old))
            for record in existing.values():
                if record.root == str(root) and record.path not in seen:
                    plan.removed.append(record)
        report.unchanged = plan.unchanged
        return plan

    def _ocr_now(self, record: DocumentRecord) -> bool:
        """Whether an unchanged document has pages to read again now: they were left unread
        because OCR was off or its engine missing, and OCR is on and the engine there now."""
        left = OCR_OFF_REASON in record.reason or ENGINE_MISSING_REASON in record.reason
        return left and self.ocr and ocr_available()

    def _ocr_pass(
        self,
        files: list[SourceFile],
        cancel: CancelToken,
        progress: ProgressCallback,
        report: IndexReport,
        timer: dict[str, float],
    ) -> None:
        """Read again, with OCR, the files whose pages the text pass left for it; their
        passages replace the text pass's. The text pass's 'OCR is off' notes for them go."""
        paths = {f.path for f in files}
        before_added = list(report.added)
        report.skipped = [s for s in report.skipped if not (s.path in paths and OCR_OFF_REASON in s.reason)]
        plan = _Plan(to_index=[(f, None) for f in files], reread=paths)
        t0 = time.perf_counter()
        self._apply(plan, cancel, progress, report, timer, ocr=True, phase="recognising")
        timer["ocr pass"] += time.perf_counter() - t0
        report.added = list(dict.fromkeys([*before_added, *report.added]))  # a file read twice is added once

    def _apply(
        self,
        plan: _Plan,
        cancel: CancelToken,
        progress: ProgressCallback,
        report: IndexReport,
        timer: dict[str, float],
        *,
        ocr: bool | None = None,
        deferred: list[SourceFile] | None = None,
        phase: str = "reading",
    ) -> WorkMeter:
        """Read, chunk and store the files of ``plan`` (``ocr``: recognise scanned pages,
        default the indexer's setting). Files with pages left for OCR go into ``deferred``."""
        upsert_document_rows(self.store, plan.touched)
        if plan.unreachable:  # listed as skipped (and any passages an older run stored, gone)
            self.store.write(plan.unreachable, {}, {})
        pending = _Pending()
        total = len(plan.to_index)
        meter = WorkMeter([source for source, _ in plan.to_index])
        extractor = Extractor(self.loader, ocr_enabled=self.ocr if ocr is None else ocr)
        try:
            if plan.to_index:
                extractor.submit(plan.to_index[0][0].path)
            written = False
            for done, (source, old) in enumerate(plan.to_index):

                def step(what: str, detail: str = "", done: int = done, path: Path = source.path) -> None:
                    progress(Progress("indexing", done, total, str(path), meter.done, meter.total, what, detail))

                step(phase)
                cancel.raise_if_cancelled()  # after progress: a cancel it prompts stops here
                if done + 1 < total:  # the child reads the next file while this one is chunked
                    extractor.submit(plan.to_index[done + 1][0].path)
                reuse = source.path not in plan.reread
                record, chunks, vectors, words = self._index_one(
                    source, extractor, timer, report, step, meter, done, reuse, plan.hashes.get(source.path)
                )
                if deferred is not None and OCR_OFF_REASON in record.reason:
                    deferred.append(source)
                pending.records.append(record)
                pending.words[record.doc_id] = words
                if chunks:
                    pending.chunks[record.doc_id] = chunks
                    if vectors is not None:
                        pending.vectors[record.doc_id] = vectors
                    pending.n_chunks += len(chunks)
                if record.ok:
                    (report.updated if old and old.ok else report.added).append(source.path)
                # The first passages go to the store at once (the first keyword hit), the
                # rest in batches, and at least every KEYWORD_FLUSH_S.
                if (
                    (not written and pending.n_chunks)
                    or pending.n_chunks >= WRITE_BATCH_CHUNKS
                    or len(pending.records) >= 64
                    or time.perf_counter() - pending.since >= KEYWORD_FLUSH_S
                ):
                    step("writing")
                    self._flush(pending, timer, report)
                    written = written or pending.n_chunks > 0
                    pending = _Pending()
            progress(Progress("indexing", total, total, "", meter.done, meter.total, "writing"))
        finally:
            extractor.close()
            # Whatever finished before a cancel is kept: a resumed run picks up the rest.
            self._flush(pending, timer, report)
        # Vanished files go last, so a moved or renamed file above could reuse their vectors.
        if plan.removed:
            self.store.delete_documents([r.doc_id for r in plan.removed])
            report.removed.extend(Path(r.path) for r in plan.removed)
        return meter

    def _index_one(
        self,
        source: SourceFile,
        extractor: Extractor,
        timer: dict[str, float],
        report: IndexReport,
        step: Callable[..., None],
        meter: WorkMeter,
        position: int,
        reuse: bool = True,
        content_hash: str | None = None,
    ) -> tuple[DocumentRecord, list[Chunk], np.ndarray | None, dict[int, tuple[OcrWord, ...]]]:
        """Read and chunk one file: its record, its passages, their vectors where the store
        already holds them (the same content under another path), else None, and the OCR
        words of its OCRed pages by page number (1 for a single image).
        ``step(what, detail)`` reports progress; ``meter`` counts its pages and passages;
        ``content_hash``: the file's hash if planning took it already (else taken here)."""
        path = source.path
        base = DocumentRecord(
            doc_id=doc_id_for(path),
            path=str(path),
            root=str(source.root),
            size=source.size,
            mtime_ns=source.mtime_ns,
            content_hash="",
            title=path.name,
            pages=0,
            chunks=0,
            status="skipped",
            reason="",
            indexed_at=time.time(),
        )
        t0 = time.perf_counter()
        try:
            try:
                if content_hash is None:
                    content_hash = file_hash(path)
            finally:
                try:
                    # Always collect the answer, keeping the queue in step.
                    answer = extractor.result(on_ocr=lambda k, n: step("recognising", f"OCR page {k} of {n}"))
                finally:
                    t_read = time.perf_counter()
                    timer["extract"] += t_read - t0
            # The one normalisation step: whatever the reader returned, only clean text goes on.
            document = normalise_document(answer)
            timer["normalise"] += time.perf_counter() - t_read
        except (QuarryError, OSError) as exc:
            reason = str(exc) if isinstance(exc, QuarryError) else f"cannot be read: {exc.strerror or exc}"
            log.info("skipped %s: %s", path, reason)
            report.skipped.append(Skipped(path, reason))
            meter.read(position, 0, 0)
            return replace(base, reason=reason), [], None, {}
        t1 = time.perf_counter()
        words = {page.number or 1: page.words for page in document.pages if page.ocr and page.words}
        report.pages_read += len(document.pages)
        title = document.title or path.stem
        note = _pages_note(document.skipped_pages, len(document.pages))
        if note:
            report.skipped.append(Skipped(path, note))
        record = replace(
            base, content_hash=content_hash, title=title, pages=len(document.pages), status="ok", reason=note
        )
        reused = self.store.chunks_with_hash(content_hash) if reuse else None
        if reused is not None:  # moved, renamed or copied: the passages and vectors are known
            stored, vectors = reused
            chunks = [Chunk(c.text, c.page, c.start, c.end, c.ordinal, title, c.location, c.ocr) for c in stored]
            if vectors is not None:
                report.chunks_reused += len(chunks)
            timer["chunk"] += time.perf_counter() - t1
            meter.read(position, len(document.pages), len(chunks))
            meter.embedded(len(chunks))
            return replace(record, chunks=len(chunks)), chunks, vectors, words
        chunks = chunk_pages(document.pages, title, self._counter(document.pages, title))
        t2 = time.perf_counter()
        timer["chunk"] += t2 - t1
        meter.read(position, len(document.pages), len(chunks))
        if not chunks:
            reason = "no text found (scanned images or an empty document)"
            report.skipped.append(Skipped(path, reason))
            return replace(base, content_hash=content_hash, reason=reason, pages=len(document.pages)), [], None, {}
        return replace(record, chunks=len(chunks)), chunks, None, words

    def _counter(self, pages: list[Page], title: str) -> TokenCounter:
        """A token counter for one document, asked about all its sentences at once: one
        request to the inference worker instead of one a sentence, which made chunking the
        keyword pass's slowest step (9.1 of 15.9 s on the shared PDFs)."""
        many = getattr(self.embedder, "count_tokens_many", None)
        if many is None:  # a remote embedder counts locally
            return self.embedder.count_tokens
        texts = list(dict.fromkeys([title, *sentences(pages)]))
        known: dict[str, int] = {}
        for start in range(0, len(texts), COUNT_BATCH_TEXTS):
            part = texts[start : start + COUNT_BATCH_TEXTS]
            known.update(zip(part, many(part), strict=True))

        def count(text: str) -> int:
            found = known.get(text)
            return found if found is not None else self.embedder.count_tokens(text)

        return count

    def _backfill(
        self,
        cancel: CancelToken,
        progress: ProgressCallback,
        report: IndexReport,
        timer: dict[str, float],
        meter: WorkMeter,
    ) -> None:
        """Embed passages without vectors, EMBED_BATCH_CHUNKS per call, and commit their
        vectors every WRITE_BATCH_CHUNKS passages or BACKFILL_COMMIT_S, whichever comes first,
        so search sees meaning search grow and a kill loses at most one commit's work."""
        self.store.refresh_text_index()  # the keyword pass's last rows, before the long part
        counts = self.store.passage_counts()
        total = counts.passages - counts.vectors
        if total <= 0:
            return
        log.info("embedding %d passages stored without vectors", total)
        skip: set[str] = set()  # rows a concurrent writer changed under us: not retried this run
        done = 0
        progress(Progress("embedding", 0, total, "", meter.done, max(meter.total, meter.done + total), "embedding"))
        while True:
            cancel.raise_if_cancelled()
            batch = self.store.missing_vectors(WRITE_BATCH_CHUNKS, skip)
            if not batch:
                break
            embedded: list[StoredChunk] = []
            parts: list[np.ndarray] = []
            since = time.perf_counter()
            try:
                for start in range(0, len(batch), EMBED_BATCH_CHUNKS):
                    part = batch[start : start + EMBED_BATCH_CHUNKS]
                    t0 = time.perf_counter()
                    parts.append(self._embed_batch([c.passage for c in part], cancel))
                    timer["embed"] += time.perf_counter() - t0
                    embedded.extend(part)
                    done += len(part)
                    meter.embedded(len(part))
                    work_total = max(meter.total, meter.done + total - done)
                    progress(
                        Progress(
                            "embedding", min(done, total), max(total, done), part[-1].path,
                            meter.done, work_total, "embedding",
                        )
                    )
                    if time.perf_counter() - since >= BACKFILL_COMMIT_S:
                        self._fill(embedded, parts, skip, timer)
                        embedded, parts, since = [], [], time.perf_counter()
            finally:  # a cancel keeps what was embedded
                self._fill(embedded, parts, skip, timer)
                report.chunks_embedded = done
            self._refresh_text_index(timer)

    def _fill(
        self, chunks: list[StoredChunk], parts: list[np.ndarray], skip: set[str], timer: dict[str, float]
    ) -> None:
        if not chunks:
            return
        t0 = time.perf_counter()
        if self.store.fill_vectors(chunks, np.concatenate(parts)) < len(chunks):
            skip.update(c.chunk_id for c in chunks)  # removed or changed meanwhile: not ours now
        timer["write"] += time.perf_counter() - t0

    def _refresh_text_index(self, timer: dict[str, float]) -> None:
        t0 = time.perf_counter()
        self.store.refresh_text_index()
        timer["text index"] += time.perf_counter() - t0

    def _embed_batch(self, texts: list[str], cancel: CancelToken) -> np.ndarray:
        """Embed one batch, giving way to searches: it waits while one reranks, and one that
        starts stops the batch (at the worker's next decode) to embed it again after. A batch
        is stopped at most MAX_INTERRUPTIONS times, so indexing always moves on."""
        for attempt in range(MAX_INTERRUPTIONS + 1):
            self.priority.wait_turn(cancel)
            if attempt == MAX_INTERRUPTIONS:
                return self.embedder.embed_documents(texts, cancel)
            token = self.priority.interruptible(cancel)
            try:
                return self.embedder.embed_documents(texts, token)
            except Cancelled:
                if cancel.cancelled:
                    raise
                log.debug("embedding batch stopped for a search; it runs again after it")
            finally:
                self.priority.release(token)
        raise AssertionError("unreachable")

    def _flush(self, pending: _Pending, timer: dict[str, float], report: IndexReport) -> None:
        if not pending.records:
            return
        t0 = time.perf_counter()
        for record in pending.records:  # before the passages: a stored passage finds its words
            try:
                words = pending.words.get(record.doc_id, {})
                save_ocr_words(self.store.folder, record.doc_id, record.path, record.size, words)
            except OSError as exc:  # the passages still go in; their pages show without marks
                log.warning("the OCR words of %s were not kept: %s", record.path, exc)
        try:
            self.store.write(pending.records, pending.chunks, pending.vectors)
        except (Cancelled, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - one file's passages must not stop the run
            log.warning("a batch of %d files could not be stored (%s); storing them one by one", len(pending.records), exc)
            for record in pending.records:
                self._write_one(record, pending, report)
        timer["write"] += time.perf_counter() - t0
        if pending.n_chunks:
            self._refresh_text_index(timer)  # BM25 finds these passages from now on

    def _write_one(self, record: DocumentRecord, pending: _Pending, report: IndexReport) -> None:
        """Store one document of a batch whose write failed; a document the store refuses is
        recorded as skipped with the store's reason (its passages left out), and the run goes on."""
        one = {record.doc_id: pending.chunks[record.doc_id]} if record.doc_id in pending.chunks else {}
        vectors = {record.doc_id: pending.vectors[record.doc_id]} if record.doc_id in pending.vectors else {}
        try:
            self.store.write([record], one, vectors)
            return
        except (Cancelled, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - the store's refusal is this file's skip reason
            reason = f"could not be stored: {type(exc).__name__}: {exc}"[:300]
        log.warning("skipped %s: %s", record.path, reason)
        path = Path(record.path)
        report.skipped.append(Skipped(path, reason))
        for done in (report.added, report.updated):
            if path in done:
                done.remove(path)
        try:
            self.store.write([replace(record, status="skipped", reason=reason, chunks=0)], {}, {})
        except Exception as exc:  # noqa: BLE001 - the report still names it
            log.warning("the skipped record of %s was not stored either: %s", record.path, exc)


def _skipped_record(path: Path, root: Path, reason: str) -> DocumentRecord:
    """The document row of a file or folder that is listed as skipped without being read."""
    return DocumentRecord(
        doc_id=doc_id_for(path),
        path=str(path),
        root=str(root),
        size=0,
        mtime_ns=0,
        content_hash="",
        title=path.name,
        pages=0,
        chunks=0,
        status="skipped",
        reason=reason,
        indexed_at=time.time(),
    )


def _pages_note(skipped_pages: list[tuple[int, str]], total: int) -> str:
    """'page 1 of 2 not indexed: <reason>' for a document some of whose pages were not stored."""
    if not skipped_pages:
        return ""
    numbers = ", ".join(str(n) for n, _ in skipped_pages[:10]) + (" …" if len(skipped_pages) > 10 else "")
    reasons = "; ".join(sorted({r for _, r in skipped_pages}))
    noun = "page" if len(skipped_pages) == 1 else "pages"
    return f"{noun} {numbers} of {total} not indexed: {reasons}"
