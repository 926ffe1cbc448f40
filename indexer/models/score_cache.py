"""An in-memory LRU of rerank scores keyed by (model, query, passage), so a repeated query, or
one refined while typing that brings back the same candidates, does not re-score them."""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from pathlib import Path

from indexer.constants import RERANK_CACHE_PAIRS


def model_identity(path: Path) -> str:
    """Changes when the file does: a re-downloaded model never reuses old scores."""
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


class ScoreCache:
    """Thread-safe; holds raw model outputs (before the sigmoid)."""

    def __init__(self, capacity: int = RERANK_CACHE_PAIRS) -> None:
        self.capacity = capacity
        self._scores: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(model: str, query: str, passage: str) -> bytes:
        digest = hashlib.blake2b(digest_size=16)
        for part in (model, query, passage):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\x00")
        return digest.digest()

    def get(self, key: bytes) -> float | None:
        with self._lock:
            value = self._scores.get(key)
            if value is not None:
                self._scores.move_to_end(key)
            return value

    def lookup(self, model: str, query: str, passages: list[str]) -> tuple[list[float], list[bytes], list[int]]:
        """What is known of a query's passages: (raw scores, NaN where not cached; each
        passage's key for ``put``; the positions still to score)."""
        keys = [self.key(model, query, p) for p in passages]
        raw = [math.nan] * len(passages)
        todo = []
        for i, key in enumerate(keys):
            cached = self.get(key)
            if cached is None:
                todo.append(i)
            else:
                raw[i] = cached
        return raw, keys, todo

    def put(self, key: bytes, raw: float) -> None:
        with self._lock:
            self._scores[key] = raw
            self._scores.move_to_end(key)
            while len(self._scores) > self.capacity:
                self._scores.popitem(last=False)

    def __len__(self) -> int:
        return len(self._scores)

    def clear(self) -> None:
        with self._lock:
            self._scores.clear()
