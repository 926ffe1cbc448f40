"""Settings file: defaults, round trip, migration from version 1, and a corrupt file that is
kept aside and replaced by the defaults with a notice."""

from __future__ import annotations

import json

import pytest

from indexer import settings
from indexer.settings import SCHEMA_VERSION, Settings


def test_missing_file_gives_defaults(tmp_path):
    loaded = settings.load(tmp_path / "settings.json")
    assert loaded.settings == Settings() and loaded.notice == ""


def test_round_trip(tmp_path):
    path = tmp_path / "config" / "settings.json"
    chosen = Settings(reranker="bge-reranker-v2-m3", candidates=30, min_score=0.35, device="cpu", exclude=("*.log",))
    settings.save(path, chosen)
    assert settings.load(path).settings == chosen
    assert json.loads(path.read_text())["version"] == SCHEMA_VERSION
    assert not list(path.parent.glob(".*tmp"))


def test_version_1_is_migrated_and_rewritten(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 1, "top_n": 25, "reranker_model": "mine.gguf", "device": "cpu"}))
    loaded = settings.load(path)
    assert loaded.notice == ""
    assert loaded.settings.candidates == 25 and loaded.settings.reranker == "mine.gguf"
    on_disk = json.loads(path.read_text())
    assert on_disk["version"] == SCHEMA_VERSION and "top_n" not in on_disk
    backup = tmp_path / "settings.json.v1-backup"
    assert json.loads(backup.read_text())["top_n"] == 25, "the file as it was is kept before the upgrade"


def test_version_2_minimum_score_goes_back_to_the_default(tmp_path):
    # Version 2's minimum score was on the rerank × topic scale; the calibrated score's is another.
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 2, "min_score": 0.2, "results": 7}))
    loaded = settings.load(path).settings
    assert loaded.min_score == Settings().min_score == 0.5 and loaded.results == 7
    assert json.loads((tmp_path / "settings.json.v2-backup").read_text())["min_score"] == 0.2


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[1, 2, 3]",
        json.dumps({"version": 2, "candidates": "many"}),
        json.dumps({"version": 2, "device": "tpu"}),
        json.dumps({"version": 3, "min_score": 7}),
        json.dumps({"version": 99}),
        "\udcff".encode("utf-8", "surrogateescape").decode("latin-1"),
    ],
)
def test_corrupt_file_is_backed_up_and_defaults_used(tmp_path, content):
    path = tmp_path / "settings.json"
    path.write_text(content, encoding="utf-8")
    loaded = settings.load(path)
    assert loaded.settings == Settings()
    assert "could not be read" in loaded.notice
    backups = list(tmp_path.glob("settings.json.broken-*"))
    assert len(backups) == 1 and backups[0].read_text(encoding="utf-8") == content
    assert not path.exists()


def test_unknown_keys_are_ignored(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 2, "colour": "teal", "results": 7}))
    assert settings.load(path).settings.results == 7


def test_invalid_values_cannot_be_saved(tmp_path):
    with pytest.raises(ValueError, match="minimum score"):
        settings.save(tmp_path / "s.json", Settings(min_score=1.5))
    assert not (tmp_path / "s.json").exists()
