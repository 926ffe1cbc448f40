"""OCR accuracy and speed on English book pages, and what a scanned book costs to index.

Pages of the shared PDFs are rendered to images at 150 and 300 dpi (what a scanner makes),
wrapped as image-only PDFs, and read back through Quarry's PDF loader, which finds no text
layer and recognises them (indexer.ingest.ocr). The character error rate (CER) compares that text
with the same page's text layer: Levenshtein distance / length of the text layer, both in
:func:`comparable` form (NFKC, typographic quotes and dashes as ASCII, whitespace runs as one
space: differences no search sees).

    python benchmarks/ocr.py                 # 8 pages of 4 books at 150 and 300 dpi
    python benchmarks/ocr.py --pages 2 --json
    python benchmarks/ocr.py --tesseract     # the same images through Tesseract too (if installed)
    python benchmarks/ocr.py --eval-pages benchmarks/queries/books-unseen.jsonl
        # `quarry eval --pages` on the shared PDFs, then on copies whose answer pages are scans

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

    from indexer.ingest.loaders.pdf import PDFIUM_LINE_END_HYPHEN

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


def tesseract(image: Any, folder: Path) -> str:
    """Tesseract's text for a PIL image (the `tesseract` command, English model): the engine
    Quarry was compared with (docs/benchmarks.md)."""
    import subprocess

    path = folder / "tesseract-input.png"
    image.save(path)
    done = subprocess.run(["tesseract", str(path), "stdout", "-l", "eng"], capture_output=True, text=True, check=True)
    return done.stdout


def measure(pages: list[tuple[str, int]], dpis: list[int], with_tesseract: bool = False) -> dict[str, Any]:
    """Read image-only copies of ``pages`` at each dpi through the PDF loader (and, with
    ``with_tesseract``, the same images through Tesseract)."""
    from indexer.ingest import ocr
    from indexer.ingest.loaders import load

    t0 = time.perf_counter()
    ocr.engine()
    load_s = time.perf_counter() - t0
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for dpi in dpis:
            for name, number in pages:
                pdf = PDFS / name
                image = render(pdf, number, dpi)
                scan = image_only_pdf([image], dpi, Path(folder) / f"{dpi}-{number}-{name}")
                wall, cpu = time.perf_counter(), _child_cpu_s()
                document = load(scan)
                wall, cpu = time.perf_counter() - wall, _child_cpu_s() - cpu
                (page,) = document.pages
                truth = text_layer(pdf, number)
                row = {
                    "file": name,
                    "page": number,
                    "dpi": dpi,
                    "ocr": page.ocr,
                    "cer": round(character_error_rate(truth, page.text), 4),
                    "chars": len(comparable(truth)),
                    "wall_s": round(wall, 2),
                    "cpu_s": round(cpu, 2),
                }
                if with_tesseract:
                    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
                    started = time.perf_counter()
                    text = tesseract(image, Path(folder))
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    row["tesseract_cer"] = round(character_error_rate(truth, text), 4)
                    row["tesseract_wall_s"] = round(time.perf_counter() - started, 2)
                    row["tesseract_cpu_s"] = round(after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime, 2)
                rows.append(row)
                logging.info("%s", row)
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
        if with_tesseract:
            summary[str(dpi)]["tesseract"] = {
                "mean_cer": round(sum(r["tesseract_cer"] for r in mine) / len(mine), 4),
                "max_cer": max(r["tesseract_cer"] for r in mine),
                "s_per_page": round(sum(r["tesseract_wall_s"] for r in mine) / len(mine), 2),
                "cpu_s_per_page": round(sum(r["tesseract_cpu_s"] for r in mine) / len(mine), 2),
            }
    return {
        "machine": machine(),
        "engine": ocr.ENGINE_NAME,
        "engine_load_s": round(load_s, 2),
        "summary": summary,
        "pages": rows,
    }


def scanned_copies(queries: Path, target: Path, dpi: int = 300) -> int:
    """Copy the shared PDFs to ``target`` with every page a question in ``queries`` points to
    turned into an image-only page (a scan at ``dpi``); returns how many pages were scanned."""
    import shutil

    import pypdfium2 as pdfium

    from indexer.search.evaluation import load_page_queries

    wanted: dict[str, set[int]] = {}
    for item in load_page_queries(queries):
        if item.file:
            wanted.setdefault(item.file, set()).update(item.pages)
    target.mkdir(parents=True, exist_ok=True)
    for pdf in sorted(p for p in PDFS.iterdir() if p.is_file()):
        if pdf.name not in wanted:
            shutil.copy(pdf, target / pdf.name)  # the other books, and the folder's README
            continue
        document = pdfium.PdfDocument(str(pdf))
        n_pages = len(document)
        document.close()
        mixed_pdf(pdf, list(range(1, n_pages + 1)), wanted[pdf.name], dpi, target / pdf.name)
    return sum(len(pages) for pages in wanted.values())


def eval_pages(queries: Path) -> dict[str, Any]:
    """hit@1/hit@3/MRR@10 (`quarry eval --pages`) on the text PDFs and on the scanned copies,
    each indexed from scratch in a folder of its own."""
    import subprocess

    results: dict[str, Any] = {"machine": machine(), "queries": str(queries)}
    with tempfile.TemporaryDirectory() as folder:
        scanned = Path(folder) / "scanned"
        results["scanned_pages"] = scanned_copies(queries, scanned)
        for name, documents in (("text", PDFS), ("scanned", scanned)):
            started = time.perf_counter()
            command = [sys.executable, "-m", "app.cli", "--basedir", str(Path(folder) / f"home-{name}")]
            done = subprocess.run(
                [*command, "eval", str(documents), "--pages", str(queries), "--json"],
                capture_output=True,
                text=True,
                check=True,
                cwd=Path(__file__).resolve().parent.parent,
            )
            results[name] = json.loads(done.stdout.strip().splitlines()[-1])
            results[f"{name}_s"] = round(time.perf_counter() - started, 1)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=len(BOOK_PAGES), help="how many of the book pages to read")
    parser.add_argument("--dpi", type=int, nargs="+", default=[150, 300])
    parser.add_argument("--tesseract", action="store_true", help="compare with the `tesseract` command")
    parser.add_argument("--eval-pages", type=Path, help="page-labelled questions: hit@k on text vs scanned pages")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.eval_pages:
        found = eval_pages(args.eval_pages)
        if args.json:
            print(json.dumps(found))
            return 0
        print(f"{found['queries']}: {found['scanned_pages']} answer pages scanned; {found['machine']}")
        rows = [
            [name, *(f"{found[kind][name][m]:.3f}" for kind in ("text", "scanned") for m in ("hit@1", "hit@3"))]
            for name in found["text"]
        ]
        print(table(["configuration", "text hit@1", "text hit@3", "scanned hit@1", "scanned hit@3"], rows))
        return 0
    result = measure(BOOK_PAGES[: args.pages], args.dpi, args.tesseract)
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
    if args.tesseract:
        print("\nTesseract (the same images):")
        print(
            table(
                ["dpi", "mean CER", "max CER", "s/page", "CPU s/page"],
                [
                    [
                        dpi,
                        f"{100 * t['mean_cer']:.2f}%",
                        f"{100 * t['max_cer']:.2f}%",
                        t["s_per_page"],
                        t["cpu_s_per_page"],
                    ]
                    for dpi, t in ((dpi, s["tesseract"]) for dpi, s in result["summary"].items())
                ],
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
