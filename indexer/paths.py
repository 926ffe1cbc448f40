"""Where Quarry keeps its files: platformdirs folders, or one base folder for tests and trials."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

import platformdirs

APP_NAME = "Quarry"
MODEL_DIRS_ENV = "QUARRY_MODEL_DIRS"
HOME_ENV = "QUARRY_HOME"
INDEX_ENV = "QUARRY_INDEX"
"""An index location (a folder, or s3://BUCKET/PREFIX) used instead of the one in data/."""
SHARED_SCHEMES = ("s3",)
"""URL schemes an index may live at (indexer.store.location)."""


def is_url(text: str) -> bool:
    """Whether ``text`` names an object-store location ('s3://…') rather than a folder."""
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.isalnum() and len(scheme) > 1


@dataclass(frozen=True, slots=True)
class AppPaths:
    config: Path
    data: Path
    cache: Path
    logs: Path
    models: Path
    """The user's own models folder: downloads land here."""
    index_uri: str = ""
    """Where the index is when not in ``data/index``: a folder, or s3://BUCKET/PREFIX (a
    shared index, indexer.store.location); empty: the default."""

    @property
    def index(self) -> Path:
        """The index folder; for a shared index, the local folder for what only this machine
        keeps beside it (OCR word boxes), one per URL under ``cache/shared-index/``."""
        if not self.index_uri:
            return self.data / "index"
        if is_url(self.index_uri):
            digest = hashlib.sha1(self.index_uri.rstrip("/").encode("utf-8")).hexdigest()[:16]
            return self.cache / "shared-index" / digest
        return Path(self.index_uri).expanduser().resolve()

    @property
    def index_location(self) -> str:
        """The index's location as LanceDB is given it: the folder's path, or the URL."""
        return self.index_uri.rstrip("/") if is_url(self.index_uri) else str(self.index)

    @property
    def shared_index(self) -> bool:
        return is_url(self.index_uri)

    def with_index(self, location: str | None) -> AppPaths:
        """These paths with the index at ``location`` (a folder or URL); None or '' keeps them."""
        return replace(self, index_uri=str(location)) if location else self

    @property
    def tuned_models(self) -> Path:
        """CPU-tuned copies of models (indexer.models.bf16); safe to delete, they are remade."""
        return self.cache / "tuned-models"

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.json"

    @classmethod
    def from_base(cls, base: Path) -> AppPaths:
        base = base.expanduser().resolve()
        return cls(
            config=base / "config",
            data=base / "data",
            cache=base / "cache",
            logs=base / "logs",
            models=base / "models",
        )

    @classmethod
    def default(cls, basedir: str | os.PathLike[str] | None = None) -> AppPaths:
        """The folders for this user; ``basedir`` or $QUARRY_HOME put them all under one folder."""
        base = basedir or os.environ.get(HOME_ENV)
        if base:
            return cls.from_base(Path(base))
        dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
        data = Path(dirs.user_data_dir)
        return cls(
            config=Path(dirs.user_config_dir),
            data=data,
            cache=Path(dirs.user_cache_dir),
            logs=Path(dirs.user_log_dir),
            models=data / "models",
        )

    def ensure(self) -> AppPaths:
        for folder in (self.config, self.data, self.cache, self.logs, self.models):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def model_dirs(self) -> list[Path]:
        """The user's models folder, then every folder in $QUARRY_MODEL_DIRS that exists."""
        folders = [self.models]
        for entry in os.environ.get(MODEL_DIRS_ENV, "").split(os.pathsep):
            if entry.strip():
                folder = Path(entry).expanduser().resolve()
                if folder not in folders:
                    folders.append(folder)
        return [f for f in folders if f.is_dir()]
