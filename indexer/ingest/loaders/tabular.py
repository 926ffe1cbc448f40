"""Spreadsheets and CSV: rows in blocks, each block a part whose location is its sheet and row
range ('Budget, rows 26–50'), the header row repeated at the top of each block so a passage
keeps its column names. XLSX through openpyxl; CSV through the standard library's csv module
with Quarry's charset detection."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

from indexer.ingest.loaders.archive import check_zip
from indexer.ingest.loaders.charset import decode_bytes
from indexer.ingest.loaders.limits import MAX_CELL_CHARS, MAX_CELLS, ExpansionBudget
from indexer.ingest.loaders.text import read_bytes
from indexer.types import LoadedDocument, Page

ROWS_PER_BLOCK = 25
"""Rows per part: a block of a typical sheet fits one passage (256 tokens), so a hit's row
range is close to the passage's own."""

MAX_COLUMNS = 200
"""Columns read per row: beyond this a 'spreadsheet' is a data dump, not a document."""


MAX_CSV_FIELD_CHARS = 16 * 1024 * 1024
"""The csv module's field limit while a CSV is read (its default, 131,072, skipped a whole
file for one pasted log); a field is then cut to MAX_CELL_CHARS like any cell."""


def row_text(cells: Sequence[object]) -> str:
    """One row as 'a | b | c': the first MAX_COLUMNS cells, each cut to MAX_CELL_CHARS."""
    texts = (" ".join(str(c)[:MAX_CELL_CHARS].split()) for c in cells[:MAX_COLUMNS] if c is not None)
    return " | ".join(t for t in texts if t)


def row_blocks(sheet: str, rows: Sequence[Sequence[object]], block: int = ROWS_PER_BLOCK) -> Iterator[Page]:
    """Pages of ``block`` rows each, labelled '<sheet>, rows a–b' by spreadsheet row number
    (from 1, empty rows counted as the sheet counts them)."""
    lines = [row_text(r) for r in rows]
    while lines and not lines[-1]:
        lines.pop()
    first = next((i for i, line in enumerate(lines) if line), None)
    if first is None:
        return
    header = lines[first]
    for start in range(first, len(lines), block):
        chunk = lines[start : start + block]
        text = "\n".join(line for line in chunk if line)
        if start > first and header:
            text = f"{header}\n{text}"
        end = start + len(chunk)
        prefix = f"{sheet}, " if sheet else ""
        yield Page(text=text, number=None, label=f"{prefix}rows {start + 1}–{end}")


def load_xlsx(path: Path) -> LoadedDocument:
    from openpyxl import load_workbook

    check_zip(path)
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        pages: list[Page] = []
        budget = ExpansionBudget(MAX_CELLS, "spreadsheet cells")
        for sheet in workbook.worksheets:
            # Read by its cells, not its declared <dimension> (WPS writes 'A1' for any size).
            if hasattr(sheet, "reset_dimensions"):
                sheet.reset_dimensions()
            rows: list[list[object]] = []
            for r in sheet.iter_rows(values_only=True):
                budget.take(len(r))
                rows.append(list(r))
            pages.extend(row_blocks(sheet.title, rows))
        title = (workbook.properties.title or "").strip()
    finally:
        workbook.close()
    return LoadedDocument(pages=pages, title=title or path.stem)


def load_csv(path: Path) -> LoadedDocument:
    text = decode_bytes(read_bytes(path))
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    previous = csv.field_size_limit(MAX_CSV_FIELD_CHARS)
    try:
        rows = list(csv.reader(io.StringIO(text), dialect))
    finally:
        csv.field_size_limit(previous)
    return LoadedDocument(pages=list(row_blocks("", rows)), title=path.stem.replace("_", " "))
