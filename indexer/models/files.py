"""Model files: find GGUFs in the model folders, say what each is, pick defaults."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from indexer.errors import ModelInvalid, ModelMissing
from indexer.models.families import family_of
from indexer.models.gguf_info import CAUSAL_ARCHS, EMBEDDING_ARCHS, GGUFInfo, InfoCache

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LocalModel:
    path: Path
    info: GGUFInfo | None
    problem: str = ""

    @property
    def kind(self) -> str:
        if self.info is None:
            return "invalid"
        if self.info.architecture not in EMBEDDING_ARCHS | CAUSAL_ARCHS:
            return "other"
        return self.info.kind

    @property
    def family(self) -> str:
        """How a reranker is scored (indexer.models.families), '' for other kinds."""
        return family_of(self.info).name if self.kind == "reranker" and self.info else ""

    @property
    def usable(self) -> bool:
        return self.kind in ("embedder", "reranker")


def find_models(folders: list[Path], cache: InfoCache | None = None) -> list[LocalModel]:
    """Every .gguf file directly in (or one level below) each model folder."""
    cache = cache or InfoCache(None)
    found: list[LocalModel] = []
    seen: set[Path] = set()
    for folder in folders:
        candidates = sorted(folder.glob("*.gguf")) + sorted(folder.glob("*/*.gguf"))
        for path in candidates:
            real = path.resolve()
            if real in seen or not path.is_file():
                continue
            seen.add(real)
            try:
                info = cache.get(path)
                if info.kind == "reranker":
                    family_of(info)  # a reranker that cannot score right is listed with why
                found.append(LocalModel(path, info))
            except ModelInvalid as exc:
                found.append(LocalModel(path, None, str(exc)))
            except OSError as exc:
                found.append(LocalModel(path, None, f"{path.name}: {exc.strerror}"))
    return found


SMALL_MODEL_BYTES = 1_000_000_000


MIN_REAL_WIDTH = 128
"""Hidden sizes below this are test fixtures, not models anyone searches with: the smallest
published cross-encoders (ms-marco-TinyBERT-L-2) are 128 wide; the random-weight conformance
models in ../shared/models/conformance are 64 wide."""


def _preference(model: LocalModel) -> tuple[bool, int, int, str]:
    """Models of a real width first (a folder of tiny test fixtures must not win by size).
    Small models (≤ 1 GB) in f16 first: on the CPUs measured they rerank as fast as or
    faster than Q8_0 (AVX-512: 35 vs 27 pairs/s; AVX2: about even) and match the reference
    scores (max |Δlogit| 0.014 vs 0.26). Larger models prefer Q8_0, which halves memory.
    Then smaller files, then by name."""
    toy = model.info is not None and 0 < model.info.embedding_length < MIN_REAL_WIDTH
    name = model.path.name.lower()
    size = model.path.stat().st_size
    full = any(tag in name for tag in ("f16", "bf16"))
    if size <= SMALL_MODEL_BYTES:
        rank = 0 if full else 1 if "q8_0" in name else 2
    else:
        rank = 0 if "q8_0" in name else 1 if full else 2
    return (toy, rank, size, name)


def pick(models: list[LocalModel], kind: str, wanted: str | None = None) -> Path:
    """The model to use for ``kind``: the one named (file name or path), else the preferred one."""
    usable = [m for m in models if m.kind == kind]
    if wanted:
        wanted_path = Path(wanted).expanduser()
        if wanted_path.is_file():
            return wanted_path.resolve()
        for model in models:
            if model.path.name == wanted or model.path.stem == wanted:
                if model.kind != kind:
                    raise ModelInvalid(model.problem or f"{model.path.name} is a {model.kind}, not a {kind}")
                return model.path
        raise ModelMissing(f"no {kind} model named '{wanted}' in the model folders")
    if not usable:
        raise ModelMissing(f"no {kind} model found: put a GGUF {kind} in your models folder or set QUARRY_MODEL_DIRS")
    return sorted(usable, key=_preference)[0].path
