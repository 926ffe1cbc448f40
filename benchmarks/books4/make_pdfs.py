"""Turn the book parts in benchmarks/books4/text/*.txt into PDFs with fixed page breaks.

Usage: python benchmarks/books4/make_pdfs.py OUT_FOLDER

The same layout as benchmarks/books3/make_pdfs.py (whose code this runs on books4's texts): paragraphs
re-flowed and word-wrapped to 90 characters, blocks of short lines kept, 50 lines a page,
characters outside cp1252 transliterated. Pages are a pure function of the text, so the page
labels of benchmarks/queries/books4-unseen.jsonl hold for every run.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from benchmarks.books3.make_pdfs import main as make_book_pdfs

TEXT = Path(__file__).resolve().parent / "text"


def main(argv: list[str] | None = None) -> int:
    return make_book_pdfs(argv, text=TEXT)


if __name__ == "__main__":
    raise SystemExit(main())
