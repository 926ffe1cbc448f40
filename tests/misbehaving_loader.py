"""A loader for the extractor tests, run in the child process: it hangs or dies on request
and reads normally otherwise."""

from __future__ import annotations

import os
import time
from pathlib import Path

from indexer import loaders
from indexer.types import LoadedDocument


def load(path: Path) -> LoadedDocument:
    if "hang" in path.name:
        time.sleep(3600)
    if "crash" in path.name:
        os._exit(11)  # as a segfault in a native parser would end the process
    return loaders.load(path)
