"""Turn the book parts in benchmarks/books4/text/*.txt into PDFs with fixed page breaks.

Usage: python benchmarks/books4/make_pdfs.py OUT_FOLDER

The same layout as benchmarks/books3/make_pdfs.py (whose functions this reuses): paragraphs
re-flowed and word-wrapped to 90 characters, blocks of short lines kept, 50 lines a page,
characters outside cp1252 transliterated. Pages are a pure function of the text, so the page
labels of benchmarks/queries/books4-unseen.jsonl hold for every run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from benchmarks.books3.make_pdfs import pages_of
from tests.pdf_maker import write_pdf

TEXT = Path(__file__).resolve().parent / "text"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the PDFs (created if missing)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for source in sorted(TEXT.glob("*.txt")):
        pages = pages_of(source.read_text(encoding="utf-8"))
        write_pdf(args.out / f"{source.stem}.pdf", pages)
        sys.stdout.write(f"{source.stem}.pdf: {len(pages)} pages\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
