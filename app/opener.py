"""Open a result: at its page in a PDF viewer that can do that, else in the default app.

Commands are argument lists run without a shell, and the page is always the physical page
(the n-th page of the file, counted from 1), never the printed label: evince's
``--page-label=6`` opens the page *labelled* 6, which in a book with roman front matter is
another page. A path is only ever one item of the argument list: never spliced into shell or
script source (on macOS the AppleScript receives it through ``on run argv``), and made
absolute first, so a name with a leading dash cannot be read as an option.

Where the viewer has a search option, the query is primed in it (``find_text``): evince
``--find``, okular ``--find``, zathura ``--find``, SumatraPDF ``-search``. Preview has none
(it opens at the page). The search text is always glued to its option (``--find=…``) or,
for SumatraPDF, follows ``-search`` and never starts with '-'.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from indexer.search.terms import query_words

FIND_CHARS = 80
"""The longest search text handed to a viewer."""

# The page placeholder is the physical page number (1-based) in every template.
VIEWERS: dict[str, list[str]] = {
    "evince": ["evince", "--page-index={page}", "{path}"],
    "okular": ["okular", "-p", "{page}", "{path}"],
    "zathura": ["zathura", "-P", "{page}", "{path}"],
    "sumatrapdf": ["SumatraPDF.exe", "-page", "{page}", "{path}"],
    # Preview has no page option: open the file, then Go > Go to Page… with the number.
    # The path and the page arrive as argv items; the script text never changes.
    "preview": [
        "osascript",
        "-e",
        "on run argv",
        "-e",
        'tell application "Preview" to open (POSIX file (item 1 of argv))',
        "-e",
        'tell application "System Events" to tell process "Preview" to click menu item "Go to Page…" of menu "Go" of menu bar 1',
        "-e",
        'tell application "System Events" to keystroke (item 2 of argv) & return',
        "-e",
        "end run",
        "{path}",
        "{page}",
    ],
}


def detect_viewer() -> str | None:
    """The first PDF viewer on this machine that can open at a page."""
    if sys.platform == "darwin":
        return "preview"
    for name in ("evince", "okular", "zathura"):
        if shutil.which(name):
            return name
    if sys.platform == "win32" and shutil.which("SumatraPDF.exe"):
        return "sumatrapdf"
    return None


FIND_ARGS: dict[str, list[str]] = {
    "evince": ["--find={query}"],  # -l, --find=STRING: the word or phrase to find
    "okular": ["--find={query}"],  # --find <string>
    "zathura": ["--find={query}"],  # -f, --find=string: open and search for the string
    "sumatrapdf": ["-search", "{query}"],  # -search <term>
}
"""Each viewer's search option, put before the path when there is something to find."""


def find_text(query: str, passage: str) -> str:
    """What to prime the viewer's search with: the whole query where the passage holds it
    word for word, else the longest word of the passage that is a query word (same stem,
    indexer.search.terms: 'insurer' primes 'insurance'), as the passage writes it, else ''.
    A viewer finds literal text, and a question is rarely on the page as typed."""
    words = " ".join(query.split())
    flat = " ".join(passage.split()).lower()
    if words and len(words) <= FIND_CHARS and re.search(r"\b" + re.escape(words.lower()) + r"\b", flat):
        return words.lstrip("-")
    present = [m.group() for m in query_words(query).finditer(passage)]
    return max(present, key=len, default="")[:FIND_CHARS].lstrip("-")


def safe_path(path: str) -> str:
    """``path`` made absolute, so that it never starts with '-' (an option to the viewer)."""
    return os.path.abspath(path)


def open_command(
    path: str, page: int | None, viewer: str | None, custom: str = "", find: str = ""
) -> list[str] | None:
    """The argument list that opens ``path`` at physical ``page`` (1-based) with ``find``
    (see find_text) in the viewer's search where it has one, or None for 'use the default app'.

    ``custom`` is a command template such as ``myviewer --page {page} {path}`` (``{query}``
    for the search text); it is split on spaces before substitution, so a path with spaces
    (or quotes, ``$``, backticks, newlines) stays one argument, passed as it is.
    """
    if page is None or Path(path).suffix.lower() != ".pdf":
        return None
    if custom.strip():
        template = custom.split()
    elif viewer and viewer in VIEWERS:
        template = list(VIEWERS[viewer])
        if find and viewer in FIND_ARGS:
            at = template.index("{path}")
            template[at:at] = FIND_ARGS[viewer]
    else:
        return None
    target = safe_path(path)
    query = " ".join(find.split()).lstrip("-")

    def fill(part: str) -> str:
        # One placeholder per item, so a '{page}' inside a file name or a query is never substituted.
        if part == "{path}":
            return target
        if "{query}" in part:
            return part.replace("{query}", query)
        return part.replace("{page}", str(page)).replace("{path}", target)

    return [fill(part) for part in template if query or "{query}" not in part]


def launch(command: list[str]) -> None:
    """Start ``command`` detached, without a shell, its output discarded."""
    subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
