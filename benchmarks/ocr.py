"""OCR accuracy and speed on English book pages, and what a scanned book costs to index.

Pages of the shared PDFs are rendered to images at 150 and 300 dpi (what a scanner makes),
wrapped as image-only PDFs, and read back through Quarry's PDF loader, which finds no text
layer and recognises them (indexer.ocr). The character error rate (CER) compares that text
with the same page's text layer: Levenshtein distance / length of the text layer, both in
:func:`comparable` form (NFKC, typographic quotes and dashes as ASCII, whitespace runs as one
space: differences no search sees).

    python benchmarks/ocr.py                 # 8 pages of 4 books at 150 and 300 dpi
    python benchmarks/ocr.py --pages 2 --json

The corpus helpers here (render, wrap, CER) are what tests/test_ocr.py builds its files with.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import PDFS, machine, table

BOOK_PAGES: list[tuple[str, int]] = [
    ("Adventures-Of-Sherlock-Holmes.pdf", 11),
    ("Alice-In-Wonderland.pdf", 11),
    ("The-War-of-the-Worlds.pdf", 11),
    ("The-Art-of-Public-Speaking.pdf", 12),
    ("Adventures-Of-Sherlock-Holmes.pdf", 120),
    ("Alice-In-Wonderland.pdf", 40),
    ("The-War-of-the-Worlds.pdf", 150),
    ("The-Art-of-Public-Speaking.pdf", 200),
]
"""(file, physical page) pairs: ordinary book text pages, two per book, each with a text layer."""

_FOLD = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "—": "-", "–": "-", "\u00a0": " "})


def comparable(text: str) -> str:
    """Text in the form CER is measured on: NFKC, ASCII quotes and dashes, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).translate(_FOLD).split())


def character_error_rate(reference: str, recognised: str) -> float:
    """Levenshtein distance over the reference's length, both in :func:`comparable` form."""
    from rapidfuzz.distance import Levenshtein

    ref, hyp = comparable(reference), comparable(recognised)
    return Levenshtein.distance(ref, hyp) / max(1, len(ref))


def text_layer(pdf: Path, number: int) -> str:
    """The text layer of page ``number`` (1-based) as PDFium gives it (line-end hyphens as '-')."""
    import pypdfium2 as pdfium

    from indexer.loaders.pdf import PDFIUM_LINE_END_HYPHEN

    document = pdfium.PdfDocument(str(pdf))
    try:
        textpage = document[number - 1].get_textpage()
        return textpage.get_text_bounded().replace(PDFIUM_LINE_END_HYPHEN, "-\n")
    finally:
        document.close()


def render(pdf: Path, number: int, dpi: int) -> Any:
    """Page ``number`` of ``pdf`` as a greyscale PIL image at ``dpi``: a scan of it."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    try:
        return document[number - 1].render(scale=dpi / 72, grayscale=True).to_pil()
    finally:
        document.close()


def image_only_pdf(images: list[Any], dpi: int, target: Path) -> Path:
    """Write ``images`` as a PDF of image pages only (no text layer), one page each."""
    first, *rest = [image.convert("L") for image in images]
    first.save(target, "PDF", resolution=float(dpi), save_all=True, append_images=rest)
    return target


def mixed_pdf(pdf: Path, numbers: list[int], scanned: set[int], dpi: int, target: Path) -> Path:
    """Pages ``numbers`` of ``pdf`` in order, those in ``scanned`` as images, the rest with
    their text layer."""
    import pypdfium2 as pdfium

    source = pdfium.PdfDocument(str(pdf))
    out = pdfium.PdfDocument.new()
    with tempfile.TemporaryDirectory() as folder:
        scans = {}
        for number in sorted(scanned):
            path = image_only_pdf([render(pdf, number, dpi)], dpi, Path(folder) / f"{number}.pdf")
            scans[number] = pdfium.PdfDocument(str(path))
        for number in numbers:
            if number in scans:
                out.import_pages(scans[number], [0])
            else:
                out.import_pages(source, [number - 1])
        out.save(str(target))
        for scan in scans.values():
            scan.close()
    out.close()
    source.close()
    return target


def _child_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(pages: list[tuple[str, int]], dpis: list[int]) -> dict[str, Any]:
    """Read image-only copies of ``pages`` at each dpi through the PDF loader."""
    from indexer import ocr
    from indexer.loaders import load

    t0 = time.perf_counter()
    ocr.engine()
    load_s = time.perf_counter() - t0
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for dpi in dpis:
            for name, number in pages:
                pdf = PDFS / name
                scan = image_only_pdf([render(pdf, number, dpi)], dpi, Path(folder) / f"{dpi}-{number}-{name}")
                wall, cpu = time.perf_counter(), _child_cpu_s()
                document = load(scan)
                wall, cpu = time.perf_counter() - wall, _child_cpu_s() - cpu
                (page,) = document.pages
                rows.append(
                    {
                        "file": name,
                        "page": number,
                        "dpi": dpi,
                        "ocr": page.ocr,
                        "cer": round(character_error_rate(text_layer(pdf, number), page.text), 4),
                        "chars": len(comparable(text_layer(pdf, number))),
                        "wall_s": round(wall, 2),
                        "cpu_s": round(cpu, 2),
                    }
                )
                logging.info("%s", rows[-1])
    summary = {}
    for dpi in dpis:
        mine = [r for r in rows if r["dpi"] == dpi]
        wall = sum(r["wall_s"] for r in mine)
        summary[str(dpi)] = {
            "pages": len(mine),
            "mean_cer": round(sum(r["cer"] for r in mine) / len(mine), 4),
            "max_cer": max(r["cer"] for r in mine),
            "pages_per_s": round(len(mine) / wall, 3),
            "s_per_page": round(wall / len(mine), 2),
            "cpu_s_per_page": round(sum(r["cpu_s"] for r in mine) / len(mine), 2),
            "book_200_pages_min": round(200 * wall / len(mine) / 60, 1),
        }
    return {
        "machine": machine(),
        "engine": ocr.ENGINE_NAME,
        "engine_load_s": round(load_s, 2),
        "summary": summary,
        "pages": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=len(BOOK_PAGES), help="how many of the book pages to read")
    parser.add_argument("--dpi", type=int, nargs="+", default=[150, 300])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    result = measure(BOOK_PAGES[: args.pages], args.dpi)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"OCR: {result['engine']} on {result['machine']} (engine load {result['engine_load_s']} s)\n")
    print(
        table(
            ["file", "page", "dpi", "CER", "chars", "s", "CPU s"],
            [
                [r["file"], r["page"], r["dpi"], f"{100 * r['cer']:.2f}%", r["chars"], r["wall_s"], r["cpu_s"]]
                for r in result["pages"]
            ],
        )
    )
    print()
    print(
        table(
            ["dpi", "pages", "mean CER", "max CER", "pages/s", "s/page", "CPU s/page", "200-page scan"],
            [
                [
                    dpi,
                    s["pages"],
                    f"{100 * s['mean_cer']:.2f}%",
                    f"{100 * s['max_cer']:.2f}%",
                    s["pages_per_s"],
                    s["s_per_page"],
                    s["cpu_s_per_page"],
                    f"{s['book_200_pages_min']} min",
                ]
                for dpi, s in result["summary"].items()
            ],
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
