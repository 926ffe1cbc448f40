"""Open a result: at its page in a PDF viewer that can do that, else in the default app.

Commands are argument lists run without a shell; paths from the store never reach one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

VIEWERS: dict[str, list[str]] = {
    "evince": ["evince", "--page-label={page}", "{path}"],
    "okular": ["okular", "-p", "{page}", "{path}"],
    "zathura": ["zathura", "-P", "{page}", "{path}"],
    "sumatrapdf": ["SumatraPDF.exe", "-page", "{page}", "{path}"],
    "preview": [
        "osascript",
        "-e",
        'tell application "Preview" to open POSIX file "{path}"',
        "-e",
        'tell application "System Events" to tell process "Preview" to click menu item "Go to Page…" of menu "Go" of menu bar 1',
        "-e",
        'tell application "System Events" to keystroke "{page}" & return',
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


def open_command(path: str, page: int | None, viewer: str | None, custom: str = "") -> list[str] | None:
    """The argument list that opens ``path`` at ``page``, or None for 'use the default app'.

    ``custom`` is a command template such as ``myviewer --page {page} {path}``; it is split
    on spaces before substitution, so a path with spaces stays one argument.
    """
    if page is None or Path(path).suffix.lower() != ".pdf":
        return None
    if custom.strip():
        template = custom.split()
    elif viewer and viewer in VIEWERS:
        template = VIEWERS[viewer]
    else:
        return None
    return [part.replace("{path}", path).replace("{page}", str(page)) for part in template]


def launch(command: list[str]) -> None:
    subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
