"""The user's settings: one versioned JSON file in the config folder, with migrations.

A file that cannot be read (bad JSON, wrong types, from a newer Quarry) is moved aside to
``settings.json.broken-<time>`` and the defaults are used, with a notice for the user: a
settings file never stops the app from starting.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from indexer.atomic import write_text_atomic
from indexer.constants import DEFAULT_CANDIDATES, DEFAULT_RESULTS, MIN_SCORE
from indexer.ingest.scan import ScanRules
from indexer.models.endpoints.config import Endpoint
from indexer.paths import SHARED_SCHEMES
from indexer.search.searcher import SearchOptions

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3
DEVICES = ("auto", "cpu", "gpu")
DEFAULT_DEADLINE_S = 2.0
DEFAULT_IDLE_UNLOAD_MIN = 10


@dataclass(frozen=True, slots=True)
class Settings:
    embedder: str | None = None
    """A file name or path; None picks the preferred embedder found."""
    reranker: str | None = None
    use_reranker: bool = True
    candidates: int = DEFAULT_CANDIDATES
    results: int = DEFAULT_RESULTS
    min_score: float = MIN_SCORE
    deadline_s: float = DEFAULT_DEADLINE_S
    device: str = "auto"
    threads: int | None = None
    cpu_variant: str = ""
    """A llama.cpp CPU variant to force ('zen4', 'haswell'…); '' lets Quarry prove one."""
    idle_unload_min: int = DEFAULT_IDLE_UNLOAD_MIN
    """Models unused this many minutes are released from memory; 0 keeps them loaded."""
    ocr: bool = True
    """Recognise the text of scanned PDF pages and image files (indexer.ingest.ocr). Its one model
    reads ~50 languages at once, so there is no language to choose."""
    folders: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    reranker_endpoint: Endpoint | None = None
    """A remote reranker used instead of the local one (indexer.models.endpoints); None: local."""
    embedder_endpoint: Endpoint | None = None
    """A remote embeddings endpoint used instead of the local embedder; None: local."""
    shared_index: str = ""
    """A team's index in object storage (s3://BUCKET/PREFIX) searched instead of the local one;
    '' for the local index. Only the URL: credentials come from the AWS variables, never here."""
    language_advice_shown: bool = False
    """The window has said once that a collection is mostly not English (indexer.models.advice)."""
    version: int = field(default=SCHEMA_VERSION)

    def search_options(self) -> SearchOptions:
        """The search options these settings choose (results, candidates, minimum score,
        rerank deadline)."""
        return SearchOptions(
            k=self.results, candidates=self.candidates, min_score=self.min_score, deadline_s=self.deadline_s
        )

    @property
    def rules(self) -> ScanRules:
        return ScanRules(include=self.include, exclude=self.exclude)

    def checked(self) -> Settings:
        """Raise ValueError when a value is out of range."""
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        if not 1 <= self.candidates <= 1000 or not 1 <= self.results <= 200:
            raise ValueError("candidates must be 1..1000 and results 1..200")
        if not 0.0 <= self.min_score <= 1.0:
            raise ValueError("the minimum score must be between 0 and 1")
        if self.deadline_s <= 0 or self.idle_unload_min < 0 or (self.threads is not None and self.threads < 1):
            raise ValueError("the deadline, idle time and threads must be positive")
        if self.shared_index:
            scheme, sep, rest = self.shared_index.partition("://")
            if scheme not in SHARED_SCHEMES or not sep or not rest.strip("/"):
                raise ValueError("the shared index must be a URL such as s3://BUCKET/PREFIX")
            if "@" in rest.split("/", 1)[0] or "?" in rest:
                raise ValueError("the shared index URL must not hold credentials: set AWS_ACCESS_KEY_ID and the rest")
        for kind, endpoint in (("reranker", self.reranker_endpoint), ("embedder", self.embedder_endpoint)):
            if endpoint is not None and endpoint.checked().kind != kind:
                raise ValueError(f"{endpoint.format!r} is not a {kind} endpoint format")
        return self


# Each step takes a settings dict of version N and returns one of version N + 1.
def _v1_to_v2(old: dict[str, Any]) -> dict[str, Any]:
    """Version 1 named the first-stage depth 'top_n' and the reranker 'reranker_model'."""
    new = dict(old)
    if "top_n" in new:
        new["candidates"] = new.pop("top_n")
    if "reranker_model" in new:
        new["reranker"] = new.pop("reranker_model")
    new["version"] = 2
    return new


def _v2_to_v3(old: dict[str, Any]) -> dict[str, Any]:
    """Version 2's minimum score was on the rerank × topic scale; version 3's is on the
    calibrated score's (indexer.search.calibration), where the old number means something
    else: it goes back to the default."""
    new = dict(old)
    if "min_score" in new:
        log.info("settings: the minimum score is now the strong-match threshold of the calibrated score; reset to %s", MIN_SCORE)
        new.pop("min_score")
    new["version"] = 3
    return new


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2, 2: _v2_to_v3}
ENDPOINTS = {"reranker_endpoint": "reranker", "embedder_endpoint": "embedder"}


def from_dict(data: dict[str, Any]) -> Settings:
    """Migrate and type-check a settings dict; raises ValueError on anything wrong."""
    if not isinstance(data, dict):
        raise ValueError("the settings file does not hold a JSON object")
    version = data.get("version", 1)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ValueError(f"settings version {version!r} is newer than this Quarry understands")
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](data)
        version = data["version"]
    known = {f.name: f for f in fields(Settings)}
    values: dict[str, Any] = {}
    defaults = Settings()
    for key, value in data.items():
        if key not in known:
            log.info("ignoring unknown setting %r", key)
            continue
        default = getattr(defaults, key)
        if isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"setting {key!r} must be a list of strings")
            value = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"setting {key!r} must be true or false")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"setting {key!r} must be a number")
            value = float(value)
        elif isinstance(default, int) and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"setting {key!r} must be a whole number")
        elif key in ("embedder", "reranker", "threads") and value is not None:
            expected = int if key == "threads" else str
            if isinstance(value, bool) or not isinstance(value, expected):
                raise ValueError(f"setting {key!r} has the wrong type")
        elif key in ("device", "cpu_variant", "shared_index") and not isinstance(value, str):
            raise ValueError(f"setting {key!r} must be a string")
        elif key in ENDPOINTS and value is not None:
            value = Endpoint.from_dict(value, ENDPOINTS[key])
        values[key] = value
    return replace(defaults, **values).checked()


def to_dict(settings: Settings) -> dict[str, Any]:
    """Everything, endpoint API keys included: what the settings file holds."""
    data = asdict(settings)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


def export(settings: Settings) -> dict[str, Any]:
    """The settings as they may be shown, logged or copied: ``to_dict`` with each endpoint's
    API key replaced by a marker saying whether one is set."""
    data = to_dict(settings)
    for key in ENDPOINTS:
        endpoint = getattr(settings, key)
        data[key] = endpoint.export() if endpoint is not None else None
    return data


@dataclass(frozen=True, slots=True)
class Loaded:
    settings: Settings
    notice: str = ""
    """Non-empty when the file was unusable and was replaced by the defaults."""


def load(path: Path) -> Loaded:
    if not path.exists():
        return Loaded(Settings())
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        settings = from_dict(raw)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError, TypeError, KeyError) as exc:
        backup = path.with_name(f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(path, backup)
            where = f"it was kept as {backup.name}"
        except OSError:
            where = "it could not be moved aside"
        log.warning("settings file %s unusable (%s); using defaults", path, exc)
        return Loaded(Settings(), f"Your settings file could not be read ({exc}); {where} and the defaults are in use.")
    if raw.get("version") != SCHEMA_VERSION:
        # Write the migrated form once, the file as it was kept beside it (0600, like it).
        backup = path.with_name(f"{path.name}.v{raw.get('version', 1)}-backup")
        try:
            write_text_atomic(backup, path.read_text(encoding="utf-8"), mode=0o600)
        except OSError as exc:
            log.warning("the old settings file could not be kept as %s: %s", backup.name, exc)
        save(path, settings)
    return Loaded(settings)


def save(path: Path, settings: Settings) -> None:
    """Atomic: a crash mid-write leaves the old file, never half a file. The file is readable
    by its owner only (it may hold an endpoint's API key)."""
    write_text_atomic(path, json.dumps(to_dict(settings.checked()), indent=2) + "\n", mode=0o600)
