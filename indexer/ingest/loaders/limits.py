"""Bounds on what one file may expand to in memory, checked before the reader allocates.

A reader that multiplies what it read (a spreadsheet's repeated rows and columns, a run of
repeated spaces, a zip member's decompressed bytes) takes the product from an ExpansionBudget
first; a file that would pass its budget raises ExtractionFailed, so it is skipped with that
reason and the run goes on with the next file.
"""

from __future__ import annotations

from indexer.errors import ExtractionFailed

MAX_CELLS = 500_000
"""Spreadsheet cells one file may expand to (repeats counted): a large real workbook holds
fewer; a 1 KB ODS that repeats 100 columns over 1000 rows per row element holds millions."""

MAX_CELL_CHARS = 32_767
"""Characters kept of one cell or CSV field: Excel's own cell limit; the rest is cut."""

MAX_REPEATED_SPACES = 64
"""An ODF ``text:s c="…"`` is kept as at most this many spaces (they collapse to one anyway)."""


class ExpansionBudget:
    """A count (cells, nodes, bytes) one file may expand to; ``take(n)`` spends ``n`` of it.

    Raises:
        ExtractionFailed: from ``take`` when the total would pass ``limit``; the message
            names ``what`` and the limit, for the skipped list.
    """

    def __init__(self, limit: int, what: str) -> None:
        self.limit = limit
        self.what = what
        self.used = 0

    def take(self, n: int) -> None:
        self.used += max(n, 0)
        if self.used > self.limit:
            raise ExtractionFailed(f"expands past {self.limit:,} {self.what}; not read (a limit against memory blow-up)")


def repeat_count(raw: str | None, cap: int | None = None) -> int:
    """A repeat attribute's value as a count of at least 1 (``cap`` bounds it when given);
    a value that is not a number counts 1."""
    try:
        value = max(int(raw or 1), 1)
    except ValueError:
        return 1
    return min(value, cap) if cap is not None else value
