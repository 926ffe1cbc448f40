"""Whether a collection needs other models than the ones chosen: a collection whose passages
are mostly not English, searched with an embedder that reads only English, is told about the
catalogue's multilingual preset (indexer/data/catalogue.json)."""

from __future__ import annotations

from pathlib import Path

from indexer.models.catalogue import catalogue, entry_for_file

MOSTLY = 0.5
"""Share of passages not in English above which a collection is 'mostly not English'."""

MIN_PASSAGES = 5
"""Fewer passages than this say too little about a collection's languages."""

NAMED_LANGUAGES = 4
"""Languages named in the advice, most passages first."""


def multilingual_models() -> tuple[str, str]:
    """(embedder, reranker) names of the catalogue's multilingual preset."""
    embedder = next(e.name for e in catalogue() if e.kind == "embedder" and "multilingual" in e.presets)
    reranker = next(e.name for e in catalogue() if e.kind == "reranker" and "multilingual" in e.presets)
    return embedder, reranker


def reads_english_only(embedder: Path | None) -> bool:
    """Whether the embedder file is a catalogue model for English alone. Files the catalogue
    does not know and remote embedders (None) are not judged."""
    known = entry_for_file(embedder) if embedder is not None else None
    return known is not None and tuple(known.languages) == ("en",)


def multilingual_advice(counts: dict[str, int], embedder: Path | None) -> str:
    """One sentence for the window, or '' when there is nothing to say.

    Args:
        counts: stored passages per language (ISO 639-1), as ``Store.language_counts`` gives.
        embedder: the local embedder's file (None for a remote one).
    """
    total = sum(counts.values())
    other = {lang: n for lang, n in counts.items() if lang != "en"}
    if total < MIN_PASSAGES or sum(other.values()) <= MOSTLY * total or not reads_english_only(embedder):
        return ""
    share = round(100 * sum(other.values()) / total)
    named = ", ".join(sorted(other, key=lambda lang: (-other[lang], lang))[:NAMED_LANGUAGES])
    more = ", …" if len(other) > NAMED_LANGUAGES else ""
    embedder_name, reranker_name = multilingual_models()
    return (
        f"{share} % of these passages are not English ({named}{more}), and the embedder "
        f"{embedder.stem if embedder else ''} reads English only: the multilingual models "
        f"({embedder_name} and {reranker_name}) find their meaning better."
    )
