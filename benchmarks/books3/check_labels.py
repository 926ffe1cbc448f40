"""Check the page labels of benchmarks/queries/books3-unseen.jsonl against the generated PDFs.

Usage: python benchmarks/books3/check_labels.py

Builds the PDFs with make_pdfs.py into a temporary folder, reads every page's text with pypdf,
and for each in-domain query checks that its evidence pattern (benchmarks/books3/evidence.json:
query -> regular expression, case-insensitive, whitespace collapsed) is found on every labelled
page. Pages outside the label that also match are listed for a person to judge (a match there
need not answer the query). Runs no search and no model. Exit status 1 if a label fails.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from pypdf import PdfReader

from benchmarks.books3.make_pdfs import main as make_pdfs

HERE = Path(__file__).resolve().parent
SET = HERE.parent / "queries" / "books3-unseen.jsonl"
EVIDENCE = HERE / "evidence.json"


def page_texts(pdf: Path) -> list[str]:
    """Each page's text, whitespace collapsed and line-end hyphens rejoined ("field- mice" -> "field-mice")."""
    texts = [re.sub(r"\s+", " ", page.extract_text() or "") for page in PdfReader(pdf).pages]
    return [text.replace("- ", "-") for text in texts]


def main(query_set: Path = SET, evidence_file: Path = EVIDENCE, make: Callable[[list[str]], int] = make_pdfs) -> int:
    """Check ``query_set``'s labels against ``evidence_file`` on the PDFs ``make`` writes;
    another book set passes its own three."""
    evidence: dict[str, str] = json.loads(evidence_file.read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in query_set.read_text(encoding="utf-8").splitlines() if line.strip()]
    failures = 0
    with tempfile.TemporaryDirectory() as folder:
        make([folder])
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
