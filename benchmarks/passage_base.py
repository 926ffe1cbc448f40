"""Realistic passages and vectors for the large-store search benchmark (benchmarks/search.py).

Embedding a million passages with all-MiniLM-L6-v2 would take 6+ hours on a 2-core CPU, so
the store is built in two parts:

1. **A real base**, embedded once and cached (``~/.cache/quarry-bench/`` unless told
   otherwise): SciFact abstracts and the shared books (``../shared/data/pdfs``), cut into
   passages by Quarry's own chunker (``chunk_pages`` with the embedder's token counts) and
   embedded by Quarry's own Embedder from the title and passage, exactly what an index run
   embeds (``Chunk.indexed_text``).
2. **Recombined passages** for the rest: passage k (past the base) takes two base passages
   i and j at random and a weight w drawn uniformly from [0.6, 0.9]; its text is the first w
   of i's sentences followed by the last (1 - w) of j's (under i's title), and its vector is
   ``normalise(w * v_i + (1 - w) * v_j + e)`` with ``e`` Gaussian noise of
   ``NOISE_SIGMA`` per dimension. That is an approximation of embedding the recombined text:
   what it keeps is where real passages lie (every vector is near the real ones it was made
   from, with the topics, clusters and dense regions of the real collection); what it loses
   is the spread a million distinct real texts would add. How close the approximation is gets
   measured each time the base is built: ``FIDELITY_SAMPLE`` recombined texts are embedded for
   real and compared with their recombined vectors (``Base.fidelity``).

Everything is deterministic for a given seed, so the first N passages of a larger store are
the passages of the N-passage store.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.common import PDFS, SHARED

log = logging.getLogger(__name__)

DEFAULT_CACHE = Path.home() / ".cache" / "quarry-bench"
BASE_VERSION = "b1"
"""Changes whenever how the base is cut or recorded changes: an old cache is not reused."""
WEIGHT_RANGE = (0.6, 0.9)
"""Share of a recombined passage taken from its first parent."""
NOISE_SIGMA = 0.02
"""Per-dimension standard deviation of the noise added to a recombined vector (before it is
normalised). Chosen so a recombined vector lies as far from its parents as the real
embedding of its text does: over 300 recombined texts embedded for real, cosine to the
weighted mixture 0.881 (recombined vectors: 0.899 at 0.02, 0.940 at 0.015, 1 without noise),
to the first parent 0.824 (0.846), to the second 0.359 (0.337); the mean cosine of the 10
nearest other base passages 0.579 (0.552). docs/benchmarks.md."""
FIDELITY_SAMPLE = 200
EMBED_BATCH = 64
SAVE_EVERY = 2048


@dataclass
class Base:
    """The real passages and their real vectors."""

    titles: list[str]
    texts: list[str]
    sources: list[str]
    """'scifact' or the book's file name, per passage."""
    vectors: np.ndarray
    """float32 (passages, dimension), rows of length 1."""
    fidelity: dict[str, float]
    """Cosine between recombined vectors and the real embeddings of their recombined texts
    ({'mean', 'p5', 'min'}), and the same for the mixture without noise ('mean_no_noise')."""
    embed_s: float
    """Seconds spent embedding the base (when it was built; cached since)."""
    _sentences: list[list[str]] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def sentences(self, i: int) -> list[str]:
        """Passage i cut into sentences (as the chunker cuts them)."""
        if self._sentences is None:
            self._sentences = [_sentences(text) for text in self.texts]
        return self._sentences[i]


def scifact_documents() -> Iterator[tuple[str, str, str]]:
    """(title, text, source) of every SciFact abstract."""
    with (SHARED / "data" / "scifact" / "corpus.jsonl").open() as handle:
        for line in handle:
            row = json.loads(line)
            yield row.get("title") or "", row["text"], "scifact"


def _cut(embedder: object, title: str, pages: list, out: list[tuple[str, str, str]], source: str) -> None:
    from indexer.ingest.chunking import chunk_pages, sentences

    texts = list(dict.fromkeys([title, *sentences(pages)]))
    known: dict[str, int] = {}
    for start in range(0, len(texts), 2000):
        part = texts[start : start + 2000]
        known.update(zip(part, embedder.count_tokens_many(part), strict=True))

    def count(text: str) -> int:
        found = known.get(text)
        return found if found is not None else embedder.count_tokens(text)

    out.extend((c.title, c.text, source) for c in chunk_pages(pages, title, count))


def real_passages(embedder: object, limit: int | None = None) -> list[tuple[str, str, str]]:
    """(title, passage text, source) cut as an index run cuts them: SciFact abstracts
    first, then the shared books, up to ``limit`` passages."""
    from indexer.errors import QuarryError
    from indexer.ingest.loaders import load
    from indexer.ingest.normalise import normalise_document
    from indexer.types import Page

    out: list[tuple[str, str, str]] = []
    for title, text, source in scifact_documents():
        if limit is not None and len(out) >= limit:
            return out[:limit]
        _cut(embedder, title, [Page(text, 1)], out, source)
    for path in sorted(PDFS.glob("*.pdf")):
        if limit is not None and len(out) >= limit:
            break
        try:
            document = normalise_document(load(path))
        except (QuarryError, OSError) as exc:  # a book that cannot be read is left out, not the run
            log.warning("left out %s: %s", path.name, exc)
            continue
        _cut(embedder, document.title or path.stem, document.pages, out, path.name)
    return out[:limit] if limit is not None else out


def _sentences(text: str) -> list[str]:
    from indexer.ingest.chunking import sentences
    from indexer.types import Page

    return [s.strip() for s in sentences([Page(text, 1)]) if s.strip()] or [text]


def recombined_text(base: Base, i: int, j: int, weight: float) -> tuple[str, str]:
    """(title, text) of the passage recombined from base passages i and j: the first
    ``weight`` of i's sentences (at least one), then the last ``1 - weight`` of j's."""
    first, second = base.sentences(i), base.sentences(j)
    take_first = max(1, round(weight * len(first)))
    take_second = max(1, round((1 - weight) * len(second)))
    return base.titles[i], " ".join(first[:take_first] + second[-take_second:])


def _mix(vectors: np.ndarray, i: np.ndarray, j: np.ndarray, w: np.ndarray, noise: np.ndarray | None) -> np.ndarray:
    mixed = w[:, None] * vectors[i] + (1 - w[:, None]) * vectors[j]
    if noise is not None:
        mixed = mixed + noise
    return (mixed / np.linalg.norm(mixed, axis=1, keepdims=True)).astype(np.float32)


def _pairs(rng: np.random.Generator, size: int, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    i = rng.integers(0, size, count)
    j = (i + rng.integers(1, size, count)) % size  # never i itself
    return i, j, rng.uniform(*WEIGHT_RANGE, count)


def grow(
    base: Base, total: int, batch: int, start: int = 0, seed: int = 7
) -> Iterator[tuple[list[str], list[str], np.ndarray]]:
    """The store's passages in order, ``batch`` at a time: (titles, texts, vectors float32
    (n, dimension)). The base's own passages first, then recombined ones up to ``total``.
    Batches that end at or before ``start`` are skipped (drawn, not made), so a store that
    holds ``start`` passages (a multiple of ``batch``) grows by the same passages."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < total:
        n = min(batch, total - done)
        from_base = max(0, min(n, len(base) - done))
        extra = n - from_base
        if done + n <= start:
            if extra:
                _pairs(rng, len(base), extra)
                rng.standard_normal((extra, base.vectors.shape[1]))
            done += n
            continue
        titles = base.titles[done : done + from_base]
        texts = base.texts[done : done + from_base]
        parts = [base.vectors[done : done + from_base]]
        if extra:
            i, j, w = _pairs(rng, len(base), extra)
            noise = rng.standard_normal((extra, base.vectors.shape[1])) * NOISE_SIGMA
            parts.append(_mix(base.vectors, i, j, w, noise))
            for a, b, weight in zip(i.tolist(), j.tolist(), w.tolist(), strict=True):
                title, text = recombined_text(base, a, b, weight)
                titles.append(title)
                texts.append(text)
        yield titles, texts, np.concatenate(parts)
        done += n


def _embed(embedder: object, texts: list[str], done: np.ndarray | None, partial: Path | None) -> np.ndarray:
    parts = [done] if done is not None and len(done) else []
    count = len(done) if done is not None else 0
    last_save = count
    while count < len(texts):
        vectors = embedder.embed_documents(texts[count : count + EMBED_BATCH])
        parts.append(vectors)
        count += len(vectors)
        if partial is not None and count - last_save >= SAVE_EVERY:
            np.save(partial, np.concatenate(parts))
            last_save = count
            log.info("embedded %d of %d base passages", count, len(texts))
    return np.concatenate(parts) if parts else np.zeros((0, 384), dtype=np.float32)


def fidelity(base: Base, embedder: object, sample: int = FIDELITY_SAMPLE, seed: int = 11) -> dict[str, float]:
    """Embed ``sample`` recombined texts for real and compare them with their recombined
    vectors: cosine mean, 5th percentile and minimum (and the mean without the noise)."""
    from indexer.types import Chunk

    rng = np.random.default_rng(seed)
    i, j, w = _pairs(rng, len(base), sample)
    texts = []
    for a, b, weight in zip(i.tolist(), j.tolist(), w.tolist(), strict=True):
        title, text = recombined_text(base, a, b, weight)
        texts.append(Chunk(text, 1, 0, len(text), 0, title).indexed_text)
    real = _embed(embedder, texts, None, None)
    noise = rng.standard_normal((sample, base.vectors.shape[1])) * NOISE_SIGMA
    with_noise = np.sum(real * _mix(base.vectors, i, j, w, noise), axis=1)
    without = np.sum(real * _mix(base.vectors, i, j, w, None), axis=1)
    return {
        "mean": round(float(with_noise.mean()), 3),
        "p5": round(float(np.percentile(with_noise, 5)), 3),
        "min": round(float(with_noise.min()), 3),
        "mean_no_noise": round(float(without.mean()), 3),
    }


def load_base(embedder: object, cache: Path = DEFAULT_CACHE, limit: int | None = None) -> Base:
    """The real base, embedded once and cached under ``cache`` (keyed by the embedder's
    fingerprint, BASE_VERSION and ``limit``); an interrupted embedding resumes. ``limit``
    caps the passages (SciFact first), for quick runs."""
    from indexer.types import Chunk

    key = hashlib.sha1(f"{embedder.fingerprint}|{BASE_VERSION}|{limit}".encode()).hexdigest()[:12]
    folder = cache / f"base-{key}"
    meta_file = folder / "base.json"
    if meta_file.exists():
        meta = json.loads(meta_file.read_text())
        vectors = np.load(folder / "vectors.npy")
        base = Base(meta["titles"], meta["texts"], meta["sources"], vectors, meta["fidelity"], meta["embed_s"])
        if meta.get("noise_sigma") != NOISE_SIGMA:  # measured for another noise: again, for this one
            base.fidelity = meta["fidelity"] = fidelity(base, embedder, min(FIDELITY_SAMPLE, max(2, len(base) // 2)))
            meta["noise_sigma"] = NOISE_SIGMA
            meta_file.write_text(json.dumps(meta))
        return base
    folder.mkdir(parents=True, exist_ok=True)
    passages = real_passages(embedder, limit)
    titles, texts, sources = (list(column) for column in zip(*passages, strict=True))
    partial = folder / "vectors.partial.npy"
    done = np.load(partial) if partial.exists() else None
    started = time.perf_counter()
    indexed = [Chunk(text, 1, 0, len(text), 0, title).indexed_text for title, text in zip(titles, texts, strict=True)]
    vectors = _embed(embedder, indexed, done, partial).astype(np.float32)
    embed_s = time.perf_counter() - started
    base = Base(titles, texts, sources, vectors, {}, embed_s)
    base.fidelity = fidelity(base, embedder, min(FIDELITY_SAMPLE, max(2, len(base) // 2)))
    np.save(folder / "vectors.npy", vectors)
    meta = {
        "titles": titles,
        "texts": texts,
        "sources": sources,
        "fidelity": base.fidelity,
        "noise_sigma": NOISE_SIGMA,
        "embed_s": embed_s,
    }
    meta_file.write_text(json.dumps(meta))
    partial.unlink(missing_ok=True)
    return base
