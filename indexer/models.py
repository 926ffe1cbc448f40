"""Model files: find GGUFs in the model folders, say what each is, pick defaults."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from indexer.errors import ModelInvalid, ModelMissing
from indexer.gguf_info import EMBEDDING_ARCHS, GGUFInfo, InfoCache

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
        if self.info.architecture not in EMBEDDING_ARCHS:
            return "other"
        return self.info.kind

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
                found.append(LocalModel(path, cache.get(path)))
            except ModelInvalid as exc:
                found.append(LocalModel(path, None, str(exc)))
            except OSError as exc:
                found.append(LocalModel(path, None, f"{path.name}: {exc.strerror}"))
    return found


def _preference(model: LocalModel) -> tuple[int, int, str]:
    """Q8_0 first (the accuracy of f16 at half the size), then smaller, then by name."""
    name = model.path.name.lower()
    return (0 if "q8_0" in name else 1, model.path.stat().st_size, name)


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
