"""Where Quarry keeps its files: platformdirs folders, or one base folder for tests and trials."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Quarry"
MODEL_DIRS_ENV = "QUARRY_MODEL_DIRS"
HOME_ENV = "QUARRY_HOME"


@dataclass(frozen=True, slots=True)
class AppPaths:
    config: Path
    data: Path
    cache: Path
    logs: Path
    models: Path
    """The user's own models folder: downloads land here."""

    @property
    def index(self) -> Path:
        return self.data / "index"

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
