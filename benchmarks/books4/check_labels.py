"""Check the page labels of benchmarks/queries/books4-unseen.jsonl against the generated PDFs.

Usage: python benchmarks/books4/check_labels.py

As benchmarks/books3/check_labels.py (whose check this runs on books4's set): builds the PDFs with
make_pdfs.py into a temporary folder, reads every page's text with pypdf, and for each in-domain
query checks that its evidence pattern (benchmarks/books4/evidence.json: query -> regular
expression, case-insensitive, whitespace collapsed) is found on every labelled page. Pages
outside the label that also match are listed for a person to judge. Runs no search and no
model. Exit status 1 if a label fails.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from benchmarks.books3.check_labels import main as check_labels
from benchmarks.books4.make_pdfs import main as make_pdfs

HERE = Path(__file__).resolve().parent


def main() -> int:
    return check_labels(HERE.parent / "queries" / "books4-unseen.jsonl", HERE / "evidence.json", make_pdfs)


if __name__ == "__main__":
    raise SystemExit(main())
