"""A loader for the extractor and pipeline tests, run in the child process: it hangs, dies,
raises or returns invalid text on request (by a word in the file name) and reads normally
otherwise."""

from __future__ import annotations

import os
import time
from pathlib import Path

from indexer.ingest import loaders
from indexer.types import LoadedDocument, Page


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("even the message is broken")


def load(path: Path) -> LoadedDocument | object:
    name = path.name
    if "hang" in name:
        time.sleep(3600)
    if "crash" in name:
        os._exit(11)  # as a segfault in a native parser would end the process
    if "surrogates" in name:  # what pypdf returns for some font maps: lone UTF-16 halves
        text = "Lone \ud800 halves \udfff and a split pair \ud83d\ude00 in zephyrsurrogate text.\x00\x07"
        return LoadedDocument(pages=[Page(text=text, number=1)], title="Broken \udcff title")
    if "raises-value" in name:
        raise ValueError("the parser gave up")
    if "raises-exit" in name:
        raise SystemExit(3)
    if "raises-recursion" in name:
        raise RecursionError("maximum recursion depth exceeded")
    if "raises-unprintable" in name:
        raise _Unprintable()
    if "returns-none" in name:
        return None
    if "returns-bytes" in name:
        return LoadedDocument(pages=[Page(text=b"bytes, not text", number=None)], title="bytes")  # type: ignore[arg-type]
    return loaders.load(path)
