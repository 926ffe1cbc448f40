"""PDF text extraction per extractor on ../shared/data/pdfs: pages per second, and split
words per book and in total.

A split word is a pair of adjacent words (only whitespace between) whose concatenation is a
word the same text uses elsewhere ('Ma rtian' where 'Martian' occurs) and one of whose halves
is not a word of that text outside such pairs ('rtian'). The second condition leaves out
English's own joinable pairs ('a long' / 'along', 'may be' / 'maybe', 'on to' / 'onto'), which
every extractor produces alike: they are reported apart as 'joinable pairs'.

Extractors: PDFium through pypdfium2 (get_text_bounded, what Quarry uses; get_text_range),
pypdf (the fallback), and Quarry's PDF loader followed by its normalisation step (what is
chunked). Single process, one core; the time includes opening each file.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import PDFS, machine, table

WORD = re.compile(r"[^\W\d_]+")
FOCUS = "The-War-of-the-Worlds.pdf"


def split_words(text: str) -> tuple[int, int]:
    """(split words, joinable pairs) of ``text``, as the module docstring defines them."""
    known = Counter(w.lower() for w in WORD.findall(text))
    pairs = []
    for match in re.finditer(r"([^\W\d_]+)\s+(?=([^\W\d_]+))", text):
        head, tail = match.group(1).lower(), match.group(2).lower()
        if known[head + tail]:
            pairs.append((head, tail))
    as_head = Counter(h for h, _ in pairs)
    as_tail = Counter(t for _, t in pairs)
    split = sum(1 for h, t in pairs if known[h] <= as_head[h] or known[t] <= as_tail[t])
    return split, len(pairs)


def pdfium_pages(path: Path, bounded: bool = True) -> list[str]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    texts = []
    try:
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_bounded() if bounded else textpage.get_text_range())
            textpage.close()
            page.close()
    finally:
        document.close()
    return texts


def pypdf_pages(path: Path) -> list[str]:
    from pypdf import PdfReader

    from indexer.ingest.loaders.pdf import quiet_pypdf

    quiet_pypdf()
    return [page.extract_text() or "" for page in PdfReader(path).pages]


def quarry_pages(path: Path) -> list[str]:
    from indexer.ingest.loaders.pdf import load_pdf
    from indexer.ingest.normalise import normalise_document

    return [page.text for page in normalise_document(load_pdf(path)).pages]


EXTRACTORS: dict[str, Callable[[Path], list[str]]] = {
    "pdfium (get_text_bounded)": pdfium_pages,
    "pdfium (get_text_range)": lambda p: pdfium_pages(p, bounded=False),
    "pypdf": pypdf_pages,
    "quarry loader + normalise": quarry_pages,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?", default=str(PDFS))
    parser.add_argument("--only", action="append", default=[], help="extractor names to run (substring)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    files = sorted(Path(args.folder).glob("*.pdf"))
    results: dict[str, dict[str, object]] = {}
    for name, extract in EXTRACTORS.items():
        if args.only and not any(o in name for o in args.only):
            continue
        pages = 0
        seconds = 0.0
        splits: dict[str, int] = {}
        joinable: dict[str, int] = {}
        for path in files:
            start = time.perf_counter()
            texts = extract(path)
            seconds += time.perf_counter() - start
            pages += len(texts)
            splits[path.name], joinable[path.name] = split_words("\n".join(texts))
        results[name] = {
            "pages": pages,
            "seconds": round(seconds, 3),
            "pages_per_s": round(pages / seconds, 1) if seconds else 0.0,
            "split_words_total": sum(splits.values()),
            "split_words_focus": splits.get(FOCUS),
            "split_words": splits,
            "joinable_pairs_total": sum(joinable.values()),
            "joinable_pairs_focus": joinable.get(FOCUS),
        }
    if args.json:
        print(json.dumps({"machine": machine(), "files": len(files), "extractors": results}))
        return 0
    print(f"{len(files)} PDFs in {args.folder}; {machine()}")
    rows = [
        [
            name,
            r["pages"],
            r["seconds"],
            r["pages_per_s"],
            r["split_words_focus"],
            r["split_words_total"],
            r["joinable_pairs_focus"],
            r["joinable_pairs_total"],
        ]
        for name, r in results.items()
    ]
    headers = ["extractor", "pages", "s", "pages/s", "split words (WotW)", "split words (all)"]
    print(table([*headers, "joinable pairs (WotW)", "joinable pairs (all)"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
