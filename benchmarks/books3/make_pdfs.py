"""Turn the book parts in benchmarks/books3/text/*.txt into PDFs with fixed page breaks.

Usage: python benchmarks/books3/make_pdfs.py OUT_FOLDER

Each ``NAME.txt`` becomes ``OUT_FOLDER/NAME.pdf``: paragraphs (blocks between blank lines) are
re-flowed and word-wrapped to WIDTH characters, blocks of short lines (headings, ingredient
lists, tables) keep their lines, one blank line separates blocks, and every page holds
LINES_PER_PAGE lines (the last one fewer). Pages are a pure function of the text, so the page
labels of benchmarks/queries/books3-unseen.jsonl hold for every run. Characters that cp1252
(the PDF's WinAnsi encoding) cannot hold are transliterated (accents dropped, else "?").
The PDFs are written with tests/pdf_maker.write_pdf (11 pt Helvetica), so nothing new is needed.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from tests.pdf_maker import write_pdf

TEXT = Path(__file__).resolve().parent / "text"
WIDTH = 90
"""Characters per wrapped line."""
LINES_PER_PAGE = 50
"""Lines per page: 50 lines of 14 pt leading fill a letter page from y=740 down to y=54."""
SHORT = 50
"""A block whose lines are all shorter than this keeps its line breaks (a list, a heading)."""


def cp1252(text: str) -> str:
    """``text`` with every character cp1252 cannot encode transliterated (NFKD, accents dropped) or "?"."""
    out = []
    for char in text:
        try:
            char.encode("cp1252")
            out.append(char)
        except UnicodeEncodeError:
            plain = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            try:
                plain.encode("cp1252")
                out.append(plain or "?")
            except UnicodeEncodeError:
                out.append("?")
    return "".join(out)


def lines_of(text: str) -> list[str]:
    """The printed lines of ``text``: blocks re-flowed to WIDTH, short-line blocks kept, one blank between."""
    lines: list[str] = []
    for block in text.replace("\t", "    ").split("\n\n"):
        raw = [line.rstrip() for line in block.split("\n") if line.strip()]
        if not raw:
            continue
        if lines:
            lines.append("")
        if all(len(line) < SHORT for line in raw):
            for line in raw:
                lines.extend(textwrap.wrap(line.strip(), WIDTH) or [""])
        else:
            lines.extend(textwrap.wrap(" ".join(line.strip() for line in raw), WIDTH))
    return lines


def pages_of(text: str) -> list[list[str]]:
    """``text`` cut into pages of LINES_PER_PAGE printed lines (a page never starts with a blank line)."""
    pages: list[list[str]] = []
    current: list[str] = []
    for line in lines_of(cp1252(text)):
        if not current and not line:
            continue
        current.append(line)
        if len(current) == LINES_PER_PAGE:
            pages.append(current)
            current = []
    if current:
        pages.append(current)
    return pages


def main(argv: list[str] | None = None, text: Path = TEXT) -> int:
    """Write ``text``/NAME.txt as OUT/NAME.pdf (OUT from ``argv``); another book set passes its folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the PDFs (created if missing)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for source in sorted(text.glob("*.txt")):
        pages = pages_of(source.read_text(encoding="utf-8"))
        write_pdf(args.out / f"{source.stem}.pdf", pages)
        sys.stdout.write(f"{source.stem}.pdf: {len(pages)} pages\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
