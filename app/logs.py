"""Logging for the front ends: a rotating file in the logs folder, and stderr for people."""

from __future__ import annotations

import logging
import logging.handlers
import sys

from indexer.paths import AppPaths

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure(paths: AppPaths, verbose: int = 0) -> None:
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
    for handler in list(root.handlers):
        if getattr(handler, "_quarry", False):
            root.removeHandler(handler)
    paths.logs.mkdir(parents=True, exist_ok=True)
    file_handler = logging.handlers.RotatingFileHandler(
        paths.logs / "quarry.log", maxBytes=2_000_000, backupCount=3, encoding="utf-8", errors="backslashreplace"
    )
    file_handler.setFormatter(logging.Formatter(FORMAT))
    file_handler.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    console.setLevel(logging.INFO if verbose else logging.WARNING)
    for handler in (file_handler, console):
        handler._quarry = True  # type: ignore[attr-defined]
        root.addHandler(handler)
