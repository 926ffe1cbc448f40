"""Scanning: junk and hidden folders skipped, symlink loops survived, globs obeyed."""

from __future__ import annotations

import os
from pathlib import Path

from indexer.ingest.scan import ScanRules, scan


def make(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    for rel in [
        "a.txt",
        "b.md",
        "sub/c.pdf",
        "sub/d.html",
        ".hidden/e.txt",
        "node_modules/f.txt",
        "__pycache__/g.txt",
        "sub/.secret.txt",
        "photo.cr2",  # a camera raw file: not read (images are: OCR)
        "drafts/h.txt",
    ]:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    return root


def names(root: Path, rules: ScanRules = ScanRules()) -> set[str]:
    return {f.path.relative_to(root).as_posix() for f in scan(root, rules)}


def test_defaults(tmp_path: Path):
    root = make(tmp_path)
    assert names(root) == {"a.txt", "b.md", "sub/c.pdf", "sub/d.html", "drafts/h.txt"}


def test_include_and_exclude(tmp_path: Path):
    root = make(tmp_path)
    assert names(root, ScanRules(include=("*.txt",))) == {"a.txt", "drafts/h.txt"}
    assert names(root, ScanRules(exclude=("drafts", "*.md"))) == {"a.txt", "sub/c.pdf", "sub/d.html"}


def test_symlink_loop_is_not_followed_forever(tmp_path: Path):
    root = make(tmp_path)
    os.symlink(root, root / "sub" / "loop")
    found = list(scan(root))
    assert len(found) == 5


def test_single_file_root(tmp_path: Path):
    root = make(tmp_path)
    found = list(scan(root / "a.txt"))
    assert [f.path.name for f in found] == ["a.txt"]


def test_patterns_follow_gitignore_rules(tmp_path: Path):
    root = tmp_path / "docs"
    for rel in ["a.txt", "notes/b.txt", "notes/deep/c.txt", "drafts/d.md", "x/drafts/e.md", "keep/drafts.md"]:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    # '*' stops at '/': notes/*.txt is notes/b.txt only (fnmatch also took notes/deep/c.txt).
    assert names(root, ScanRules(include=("notes/*.txt",))) == {"notes/b.txt"}
    assert names(root, ScanRules(include=("notes/**/*.txt",))) == {"notes/b.txt", "notes/deep/c.txt"}
    # A name without '/' matches at any depth; 'drafts/' matches folders only.
    assert names(root, ScanRules(exclude=("drafts/",))) == {"a.txt", "notes/b.txt", "notes/deep/c.txt", "keep/drafts.md"}
    assert names(root, ScanRules(exclude=("/drafts",))) == {
        "a.txt",
        "notes/b.txt",
        "notes/deep/c.txt",
        "x/drafts/e.md",
        "keep/drafts.md",
    }
    # Negation re-includes.
    assert names(root, ScanRules(exclude=("*.txt", "!a.txt"))) == {"a.txt", "drafts/d.md", "x/drafts/e.md", "keep/drafts.md"}
