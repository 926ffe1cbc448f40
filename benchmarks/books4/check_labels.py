"""Check the page labels of benchmarks/queries/books4-unseen.jsonl against the generated PDFs.

Usage: python benchmarks/books4/check_labels.py

As benchmarks/books3/check_labels.py (whose page reader this reuses): builds the PDFs with
make_pdfs.py into a temporary folder, reads every page's text with pypdf, and for each in-domain
query checks that its evidence pattern (benchmarks/books4/evidence.json: query -> regular
expression, case-insensitive, whitespace collapsed) is found on every labelled page. Pages
outside the label that also match are listed for a person to judge. Runs no search and no
model. Exit status 1 if a label fails.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from benchmarks.books3.check_labels import page_texts
from benchmarks.books4.make_pdfs import main as make_pdfs

HERE = Path(__file__).resolve().parent
SET = HERE.parent / "queries" / "books4-unseen.jsonl"
EVIDENCE = HERE / "evidence.json"


def main() -> int:
    evidence: dict[str, str] = json.loads(EVIDENCE.read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    failures = 0
    with tempfile.TemporaryDirectory() as folder:
        make_pdfs([folder])
        pages = {pdf.name: page_texts(pdf) for pdf in Path(folder).glob("*.pdf")}
        for row in rows:
            if row["kind"] == "off-topic":
                continue
            pattern = re.compile(evidence[row["query"]].replace("- ", "-"), re.IGNORECASE)
            found = [n for n, text in enumerate(pages[row["file"]], 1) if pattern.search(text)]
            missing = [n for n in row["pages"] if n not in found]
            extra = [n for n in found if n not in row["pages"]]
            failures += bool(missing)
            status = "FAIL" if missing else "ok"
            sys.stdout.write(f"{status:4} {row['file']} {row['pages']} {row['query']!r}")
            sys.stdout.write(f" missing {missing}" if missing else "")
            sys.stdout.write(f" (also matches {extra})\n" if extra else "\n")
    sys.stdout.write(f"{len(rows)} queries, {failures} failed labels\n")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
