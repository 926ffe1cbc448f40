"""The model catalogue (indexer/data/catalogue.json) and the model choices the settings
show: every catalogue entry, downloaded or not, and every local GGUF in the model folders."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from indexer.errors import ModelMissing
from indexer.models.files import LocalModel

PRESETS = {"reranker": ("fast", "balanced", "quality", "multilingual"), "embedder": ("small", "multilingual")}


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    name: str
    kind: str
    repo: str
    filename: str
    size_mb: int
    architecture: str
    licence: str
    languages: tuple[str, ...]
    presets: tuple[str, ...] = ()
    sha256: str | None = None
    revision: str = "main"
    notes: str = ""
    topic_gate: tuple[float, float] | None = None
    family: str = ""
    """How it is scored or embedded (indexer.models.families), e.g. 'xlm-roberta', 'rank-template'."""
    prompt: str = ""
    """For an LLM reranker without a head: its yes/no prompt with {query} and {document}."""

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> CatalogueEntry:
        gate = row.get("topic_gate")
        return cls(
            name=row["name"],
            kind=row["kind"],
            repo=row["repo"],
            filename=row["filename"],
            size_mb=int(row["size_mb"]),
            architecture=row["architecture"],
            licence=row["licence"],
            languages=tuple(row.get("languages", ())),
            presets=tuple(row.get("presets", ())),
            sha256=row.get("sha256"),
            revision=row.get("revision", "main"),
            notes=row.get("notes", ""),
            topic_gate=(float(gate[0]), float(gate[1])) if gate else None,
            family=row["family"],
            prompt=row.get("prompt", ""),
        )


@cache
def catalogue() -> tuple[CatalogueEntry, ...]:
    text = resources.files("indexer").joinpath("data/catalogue.json").read_text(encoding="utf-8")
    return tuple(CatalogueEntry.from_json(row) for row in json.loads(text)["models"])


def entry(name: str) -> CatalogueEntry:
    """The catalogue entry called ``name`` (or a preset such as 'fast'), case-insensitively."""
    wanted = name.lower()
    for item in catalogue():
        if item.name.lower() == wanted:
            return item
    for item in catalogue():
        if wanted in item.presets and item.kind == "reranker":
            return item
    for item in catalogue():
        if wanted in item.presets:
            return item
    names = ", ".join(e.name for e in catalogue())
    raise ModelMissing(f"no catalogue model called '{name}'; the catalogue has {names}")


def entry_for_file(path: Path) -> CatalogueEntry | None:
    name = path.name.lower()
    return next((e for e in catalogue() if e.filename.lower() == name), None)


@dataclass(frozen=True, slots=True)
class Choice:
    """One line in the settings' model list."""

    name: str
    kind: str
    path: Path | None
    """Where it is on disk; None for a catalogue model not downloaded yet."""
    entry: CatalogueEntry | None
    size_mb: float
    architecture: str
    languages: str
    licence: str
    problem: str = ""

    @property
    def on_disk(self) -> bool:
        return self.path is not None

    @property
    def label(self) -> str:
        where = "on disk" if self.on_disk else "download"
        presets = f" [{', '.join(self.entry.presets)}]" if self.entry and self.entry.presets else ""
        kind = self.architecture.split(",")[0]
        return f"{self.name}{presets} — {kind}, {self.size_mb:.0f} MB, {self.languages}, {self.licence} ({where})"


def choices(kind: str, local: list[LocalModel]) -> list[Choice]:
    """Catalogue entries of ``kind`` (with their local file when present), then every other
    local GGUF of that kind, then local files that failed validation, with their reason."""
    out: list[Choice] = []
    claimed: set[Path] = set()
    for item in catalogue():
        if item.kind != kind:
            continue
        match = next((m for m in local if m.path.name.lower() == item.filename.lower() and m.kind == kind), None)
        if match:
            claimed.add(match.path)
        out.append(
            Choice(
                name=item.name,
                kind=kind,
                path=match.path if match else None,
                entry=item,
                size_mb=item.size_mb,
                architecture=item.architecture,
                languages=", ".join(item.languages),
                licence=item.licence,
            )
        )
    for model in local:
        if model.path in claimed or model.kind not in (kind, "invalid"):
            continue
        info = model.info
        out.append(
            Choice(
                name=model.path.name,
                kind=model.kind,
                path=model.path,
                entry=None,
                size_mb=model.path.stat().st_size / 1e6 if model.path.exists() else 0.0,
                architecture=info.architecture if info else "?",
                languages=", ".join(info.languages) if info and info.languages else "languages not stated",
                licence=info.license if info and info.license else "licence not stated",
                problem=model.problem,
            )
        )
    return out
