"""Plain values passed between the stages. Frozen and slotted: cheap and safe to share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

OcrWord = tuple[str, float, float, float, float]
"""A word recognised by OCR and its box normalised to the page: (text, left, top, right,
bottom), each coordinate 0..1 of the page's width or height, y downwards."""


@dataclass(frozen=True, slots=True)
class Page:
    """Text of one page (or of a whole file, for formats without pages)."""

    text: str
    number: int | None
    """1-based physical page (or slide, sheet part, chapter) number, or None when the format
    has no pages. Viewers are opened at this number."""
    label: str = ""
    """Where this is, as a person names it, when the number alone does not say it: a PDF page
    whose printed label differs ('p. iv (6 of 120)'), 'slide 3', 'Budget, rows 2–41', a chapter
    title. Empty otherwise."""
    ocr: bool = False
    """The text was recognised from the page's image (indexer.ingest.ocr), not read from a text layer."""
    words: tuple[OcrWord, ...] = ()
    """For an OCRed page: its recognised words in reading order with their boxes (the page
    preview marks passages by them); empty otherwise."""


@dataclass(frozen=True, slots=True)
class LoadedDocument:
    """What a loader returns: the pages and a human title."""

    pages: list[Page]
    title: str
    skipped_pages: list[tuple[int, str]] = field(default_factory=list)
    """(page number, reason) of pages not stored as words (undecodable text)."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage cut from one page, with where it came from."""

    text: str
    page: int | None
    start: int
    """Character offset of the passage in its page's text."""
    end: int
    ordinal: int
    """Position of the chunk in its document, from 0."""
    title: str
    location: str = ""
    """The page's label (Page.label): how a person names where the chunk is."""
    ocr: bool = False
    """Cut from text recognised by OCR (Page.ocr)."""

    @property
    def indexed_text(self) -> str:
        """What the models read for this passage (model_text)."""
        return model_text(self.title, self.text)


def model_text(title: str, text: str) -> str:
    """What the embedder and the reranker read for a passage: the document's title as context,
    a line end, then the passage's text; the text alone when the title is empty (no leading
    line end). The one rule for it: the vectors in every index were made from this text
    (Chunk.indexed_text, StoredChunk.passage), so it must not change while the embedder's
    fingerprint stays the same."""
    return f"{title}\n{text}" if title else text


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file found by the scanner, with what tells us whether it changed."""

    path: Path
    root: Path
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file that was not indexed, and why (said so a person understands)."""

    path: Path
    reason: str


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot of an indexing run, for progress bars and logs."""

    stage: str
    """'scanning', 'indexing' (the keyword pass: files), 'embedding' (the backfill:
    passages), 'finishing' or 'done'."""
    done: int
    total: int
    """For 'indexing': files done and files to read."""
    current: str = ""
    work_done: int = 0
    """Work done so far in an indexing run: pages read plus passages embedded (or reused)."""
    work_total: int = 0
    """All the run's work in the same units: exact for the files read so far, estimated from
    their size for the rest (indexer.ingest.pipeline.WorkMeter); 0 when unknown. It may change as
    files are read; ``work_done`` never goes down."""
    step: str = ""
    """What runs now within 'indexing': 'reading', 'embedding' or 'writing'."""

    @property
    def fraction(self) -> float | None:
        """Work done over work total, 0..1; None when the total is unknown."""
        return min(1.0, self.work_done / self.work_total) if self.work_total > 0 else None

    detail: str = ""
    """What is being done to ``current`` when it takes a while ('OCR page 3 of 40')."""

    @property
    def label(self) -> str:
        """'OCR page 3 of 40 — file.pdf', or the current file's name alone."""
        name = Path(self.current).name if self.current else ""
        return f"{self.detail} — {name}" if self.detail and name else self.detail or name


ProgressCallback = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    """The progress callback for callers that do not show progress."""


@dataclass(slots=True)
class IndexReport:
    """What an indexing run did. Counts are of documents."""

    added: list[Path] = field(default_factory=list)
    updated: list[Path] = field(default_factory=list)
    unchanged: int = 0
    removed: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_reused: int = 0
    """Passages whose vectors came from the store (a moved or renamed file), not the model."""
    pages_read: int = 0
    cancelled: bool = False
    seconds: float = 0.0
    """Wall time of the run; stage_seconds holds 'extract', 'normalise', 'chunk', 'embed',
    'write' and 'text index' (full-text index upkeep)."""
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        text = (
            f"{len(self.added)} added, {len(self.updated)} updated, {self.unchanged} unchanged, "
            f"{len(self.removed)} removed, {len(self.skipped)} skipped"
        )
        return text + (" (cancelled)" if self.cancelled else "")


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result, with every score that placed it."""

    rank: int
    score: float | None
    """The score shown to people: the calibrated chance, 0..1, that the hit answers the query
    (indexer.search.calibration), the same scale before and after reranking, decreasing down
    the list. None only under a comparison ranking of `quarry eval` for an unscored hit."""
    path: str
    page: int | None
    snippet: str
    text: str
    title: str
    chunk_id: str
    doc_id: str
    first_stage_rank: int
    first_stage_score: float
    rerank_score: float | None = None
    start: int = 0
    end: int = 0
    location: str = ""
    """Page.label of the hit's page ('p. iv (6 of 120)', 'slide 3'); empty when ``page`` says it."""
    bm25_rank: int | None = None
    """Why this hit: its rank in the full-text (BM25) list, None if BM25 did not find it."""
    vector_rank: int | None = None
    """Its rank in the vector list, None if vector search did not find it."""
    topic_weight: float = 1.0
    """What the topic check multiplied the rerank score by (indexer.search.topic), 0..1."""
    strong: bool = False
    """The score reaches the strong-match threshold (SearchOptions.min_score)."""
    ocr: bool = False
    """The passage (and so the snippet) is text recognised by OCR from a scanned page or image."""
    strength: str = ""
    """The word beside the score: 'strong', 'possible' or 'weak' (indexer.search.calibration)."""
    rerank_weight: float = 0.0
    """The reranker's weight in this query's final fusion: the collection's (self-check) times
    the per-query guard; 0 when the first-stage order stands."""

    @property
    def where(self) -> str:
        """The location as shown: the label, else 'page N', else ''."""
        return where(self.page, self.location)

    @property
    def ordinal(self) -> int:
        """The passage's position in its document, from 0 (read from ``chunk_id``)."""
        return ordinal_of(self.chunk_id)


def chunk_id_for(doc_id: str, ordinal: int) -> str:
    """A passage's id in the index: its document's id and its ordinal (from 0), zero-padded to
    five digits ('3f2a…-00007'); ordinal_of reads it back."""
    return f"{doc_id}-{ordinal:05d}"


def ordinal_of(chunk_id: str) -> int:
    """The ordinal that chunk_id_for put in ``chunk_id``. Raises ValueError for an id it did
    not make."""
    doc_id, sep, ordinal = chunk_id.rpartition("-")
    if not (doc_id and sep and ordinal.isdigit()):
        raise ValueError(f"not a passage id: {chunk_id!r}")
    return int(ordinal)


def where(page: int | None, location: str) -> str:
    """How a result's place is shown: its label when it has one ('p. iv (6 of 120)',
    'slide 3'), else 'page N' for paged formats, else ''."""
    if location:
        return location
    return f"page {page}" if page else ""


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    method: str
    """How the final order was made, e.g. 'vector + rerank' or 'vector'."""
    hits: list[Hit]
    timings_ms: dict[str, float]
    notice: str = ""
    """Why results are not reranked (model missing, failed, deadline), if they are not."""
    reranker: str = ""
    """The reranker model that ordered the hits, if one did."""
    weak: bool = False
    """No hit is a strong match (the first hit, the best, is under the threshold): the
    closest passages, not answers ("No strong matches — closest passages")."""
    min_score: float = 0.0
    """The strong-match threshold the hits were labelled with."""
    vectors_ready: float = 1.0
    """Share of the index's passages with vectors when this search ran, 0..1. Below 1 (an
    embedding backfill running or interrupted), BM25 found what it could among every
    passage, vector search only among the embedded ones."""
    reranked: bool = False
    """The reranker scored (some of) the candidates."""
    complete: bool = True
    """Every candidate that was to be reranked was; False when a deadline cut the rerank
    (the rest kept their first-stage places; the window finishes it in the background)."""
    check: str = ""
    """What the reranker self-check found on this collection, in words."""

    @property
    def readiness(self) -> str:
        """'meaning search: 40 % ready' while vectors are missing, else ''."""
        return readiness(self.vectors_ready)


def percent_ready(fraction: float) -> int:
    """0..100, rounded down: never 100 before every passage has its vector."""
    return min(100, max(0, int(fraction * 100))) if fraction < 1.0 else 100


def readiness(vectors_ready: float) -> str:
    """'meaning search: 40 % ready' for a share of passages with vectors under 1, else ''."""
    return "" if vectors_ready >= 1.0 else f"meaning search: {percent_ready(vectors_ready)} % ready"


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun in the number it needs: counted(1, 'document') → '1 document',
    counted(1200, 'passage') → '1,200 passages'; ``plural`` where adding 's' is wrong."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
