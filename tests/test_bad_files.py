"""A folder of more than thirty bad files indexed together with good ones: nothing crashes
or hangs, every bad file is reported with its reason (in the run's report, in the store and
by `quarry status`), every good file is searchable, and no input file changes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfWriter

from indexer.ingest.pipeline import Indexer
from indexer.types import Progress
from tests.conftest import PDFS, quarry

REAL_PDF = PDFS / "Closed-Syllables.pdf"


def _docx(path: Path, body: str | None, content_types: bool = True) -> None:
    with zipfile.ZipFile(path, "w") as z:
        if content_types:
            z.writestr("[Content_Types].xml", "<Types/>")
        if body is not None:
            z.writestr("word/document.xml", body)


def make_bad(folder: Path) -> dict[str, str]:
    """Bad files by name, each with a word its reason must contain (case-insensitive)."""
    rng = __import__("random").Random(3)
    noise = bytes(rng.randrange(256) for _ in range(40_000))
    pdf = REAL_PDF.read_bytes()
    bad: dict[str, str] = {}

    def put(name: str, data: bytes, reason: str) -> None:
        (folder / name).write_bytes(data)
        bad[name] = reason

    for suffix in ("pdf", "txt", "md", "docx", "html", "htm", "rst"):
        put(f"empty.{suffix}", b"", "empty")
    for suffix in ("txt", "md", "pdf", "docx", "html"):
        put(f"random-bytes.{suffix}", noise, "")
    put("truncated-third.pdf", pdf[: len(pdf) // 3], "")
    put("truncated-1k.pdf", pdf[:1024], "")
    put("header-only.pdf", b"%PDF-1.7\n", "")
    put("html-page-named.pdf", b"<!DOCTYPE html><html><body>Not a PDF</body></html>", "")
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt("secret")
    with (folder / "encrypted.pdf").open("wb") as handle:
        writer.write(handle)
    bad["encrypted.pdf"] = "encrypted"
    blank = PdfWriter()
    blank.add_blank_page(200, 200)
    with (folder / "scanned-blank.pdf").open("wb") as handle:
        blank.write(handle)
    bad["scanned-blank.pdf"] = "no text"
    _docx(folder / "no-document-xml.docx", None)
    bad["no-document-xml.docx"] = ""
    _docx(folder / "broken-xml.docx", "<w:document><w:body><w:p>unclosed")
    bad["broken-xml.docx"] = ""
    put("text-named.docx", b"This is plain text pretending to be a Word file.\n" * 20, "")
    put("ole-container.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + noise[:4000], "")
    put("nul-bytes.md", b"# Title\n\nSome text\x00\x00\x00 with NUL bytes\x00 inside.\n" * 50, "binary")
    put("control-chars.txt", bytes(rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 65]) for _ in range(5000)), "")
    put("replacement-soup.txt", ("\ufffd\u00ad" * 3000 + "ok").encode("utf-8"), "unreadable")
    put(
        "scripts-only.html", b"<html><head><script>var a = 1;</script><style>p{}</style></head><body></body></html>", ""
    )
    put("gzip-named.html", b"\x1f\x8b\x08\x00" + noise[:3000], "")
    put("only-whitespace.txt", b" \n\t\n   \n" * 100, "")
    put("text-named.pdf", b"Just a few lines of plain text saved with the wrong suffix.\n" * 10, "")
    # Huge files: sparse, so the test writes almost nothing.
    for name, size in (("huge-text.txt", 300 * 1024 * 1024), ("huge.pdf", 300 * 1024 * 1024)):
        with (folder / name).open("wb") as handle:
            handle.truncate(size)
        bad[name] = "large"
    (folder / "zz-vanishes.txt").write_text("This file is deleted after the scan, before it is read.\n")
    bad["zz-vanishes.txt"] = "vanish"
    return bad


GOOD = {
    "good-note.md": "# Orchard\n\nThe quince harvest was recorded as zephyrquince in the ledger.\n",
    "good-latin1.txt": "Caf\xe9 cr\xe8me recipe: the word is zephyrcafe.\n",
    "good page.html": "<html><body><h1>Tide</h1><p>The zephyrtide tables are printed weekly.</p></body></html>",
    "-leading-dash.txt": "A file named with a leading dash mentions zephyrdash.\n",
    "spaced   name (copy) [1].md": "# Copies\n\nThe duplicate keeps zephyrcopy in it.\n",
    "ünïcödé-名前.txt": "Unicode names hold zephyrunicode too.\n",
    "x" * 200 + ".txt": "A very long file name carries zephyrlong.\n",
}


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    folder = tmp_path / "mixed"
    folder.mkdir()
    bad = make_bad(folder)
    for name, text in GOOD.items():
        encoding = "latin-1" if "latin1" in name else "utf-8"
        (folder / name).write_bytes(text.encode(encoding))
    deep = folder.joinpath(*[f"level{i}" for i in range(40)])
    deep.mkdir(parents=True)
    (deep / "deep.txt").write_text("Forty folders down lies zephyrdeep.\n")
    shutil.copy(REAL_PDF, folder / "real.pdf")
    # Things that are not regular files: never read (reading a FIFO would block forever).
    os.mkfifo(folder / "a-pipe.txt")
    (folder / "dangling.txt").symlink_to(folder / "does-not-exist.txt")
    (folder / "loop").symlink_to(folder)
    return folder, bad


def tree_hashes(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.stat().st_size < 50_000_000:
            out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def test_bad_files_never_stop_indexing(corpus, store, embedder, basedir):
    folder, bad = corpus
    assert len(bad) >= 30
    before = tree_hashes(folder)
    vanishing = folder / "zz-vanishes.txt"

    def delete_after_scan(p: Progress) -> None:
        if p.stage == "indexing" and vanishing.exists():
            vanishing.unlink()

    report = Indexer(store, embedder).run([folder], progress=delete_after_scan)
    skipped = {s.path.name: s.reason for s in report.skipped}
    for name, reason in bad.items():
        assert name in skipped, f"{name} was not reported"
        assert skipped[name], name
        assert reason.lower() in skipped[name].lower(), (name, skipped[name])
    stored = {Path(d.path).name: d for d in store.all_documents().values()}
    for name in bad:
        if name != "zz-vanishes.txt":
            assert stored[name].status == "skipped" and stored[name].reason, name
    for token in (
        "zephyrquince",
        "zephyrcafe",
        "zephyrtide",
        "zephyrdash",
        "zephyrcopy",
        "zephyrunicode",
        "zephyrlong",
        "zephyrdeep",
    ):
        hits = store.text_search(token, 3)
        assert hits and token in hits[0].text.lower(), token
    assert stored["real.pdf"].status == "ok"
    assert "a-pipe.txt" not in stored  # not a regular file: never read, never listed
    # A link to nothing is listed as skipped, with why, so the person sees it was not read.
    assert stored["dangling.txt"].status == "skipped" and "cannot be reached" in skipped["dangling.txt"]
    # Nothing was written to the user's files.
    del before[str(vanishing)]
    assert tree_hashes(folder) == before


def test_status_lists_skipped_files_with_reasons(corpus, basedir):
    folder, _bad = corpus
    (folder / "zz-vanishes.txt").unlink()
    env = {**os.environ, "QUARRY_HOME": str(basedir)}
    done = quarry(None, "index", str(folder), env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    status = quarry(None, "status", "--json", env=env, timeout=120)
    data = json.loads(status.stdout)
    reasons = {Path(s["path"]).name: s["reason"] for s in data["skipped"]}
    assert len(reasons) >= 30
    assert "encrypted" in reasons["encrypted.pdf"].lower()


def test_a_file_name_that_is_not_utf8_is_skipped_and_reported(tmp_path, store, embedder):
    folder = tmp_path / "names"
    folder.mkdir()
    odd = folder / os.fsdecode(b"latin1-caf\xe9.txt")
    odd.write_text("The name of this file is Latin-1 bytes, not UTF-8.\n")
    (folder / "fine.txt").write_text("A well named neighbour mentions zephyrneighbour.\n")
    report = Indexer(store, embedder).run([folder])
    assert [s.reason for s in report.skipped if s.path == odd] == [
        "file name is not valid UTF-8; rename it to index it"
    ]
    assert store.text_search("zephyrneighbour", 3)
    assert Indexer(store, embedder).run([folder]).chunks_embedded == 0  # stable on the next run


MISBEHAVING = {
    "raises-value.txt": "ValueError: the parser gave up",
    "raises-exit.txt": "SystemExit",
    "raises-recursion.txt": "RecursionError",
    "raises-unprintable.txt": "_Unprintable",
    "returns-none.txt": "returned NoneType",
    "returns-bytes.txt": "not text",
}


def test_a_loader_that_returns_invalid_unicode_or_raises_never_ends_the_run(tmp_path, store, embedder):
    """Whatever a parser does (lone surrogates, any exception, an answer that is not text),
    that file is skipped with its reason or cleaned, and every other file is indexed."""
    folder = tmp_path / "misbehaving"
    folder.mkdir()
    for name in [*MISBEHAVING, "surrogates.txt"]:
        (folder / name).write_text("Ordinary words the misbehaving loader never returns.\n")
    (folder / "zz-good.txt").write_text("The rain gauge is emptied at noon, says zephyrgauge.\n")
    report = Indexer(store, embedder, loader="tests.misbehaving_loader:load").run([folder])
    skipped = {s.path.name: s.reason for s in report.skipped}
    assert set(skipped) == set(MISBEHAVING)
    for name, reason in MISBEHAVING.items():
        assert reason in skipped[name], (name, skipped[name])
    assert sorted(p.name for p in report.added) == ["surrogates.txt", "zz-good.txt"]
    assert store.text_search("zephyrgauge", 3)[0].path.endswith("zz-good.txt")
    (hit,) = store.text_search("zephyrsurrogate", 3)
    assert hit.text == "Lone halves and a split pair 😀 in zephyrsurrogate text."
    assert hit.title == "Broken title"
