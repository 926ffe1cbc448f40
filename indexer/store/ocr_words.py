"""Where the words recognised by OCR are kept, with their boxes: one JSON file per document in
the index folder (``ocr-words/<doc_id>.json``), so the page preview marks a passage on a
scanned page without running OCR again.

The file holds, for each OCRed page, its words in reading order and their boxes normalised to
the page (indexer.types.OcrWord): ``{"path": ..., "size": bytes, "pages": {"3": [[word, left,
top, right, bottom], ...]}}``, about 40 bytes a word (a 300-word page: ~12 KB). It is written
atomically (indexer.atomic) before the document's passages are stored, replaced when the
document is indexed again, and removed with the document; a missing, unreadable or outdated
file (the document's size changed since) only means no marks on the page.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

from indexer.atomic import write_text_atomic
from indexer.types import OcrWord

log = logging.getLogger(__name__)

FOLDER = "ocr-words"


def sidecar(index_folder: Path, doc_id: str) -> Path:
    """The file holding the OCR words of the document ``doc_id`` (indexer.store.lance.doc_id_for)."""
    return index_folder / FOLDER / f"{doc_id}.json"


def save(index_folder: Path, doc_id: str, path: str, size: int, pages: Mapping[int, Iterable[OcrWord]]) -> None:
    """Keep the OCR words of the document ``doc_id`` (file ``path`` of ``size`` bytes) by page
    number; with no pages, remove what was kept for it. Raises OSError."""
    if not pages:
        remove(index_folder, [doc_id])
        return
    payload = {
        "path": path,
        "size": size,
        "pages": {str(number): [list(word) for word in words] for number, words in pages.items()},
    }
    write_text_atomic(sidecar(index_folder, doc_id), json.dumps(payload, ensure_ascii=False, separators=(",", ":")))


def remove(index_folder: Path, doc_ids: Iterable[str]) -> None:
    """Forget the OCR words of these documents (those without any are skipped)."""
    for doc_id in doc_ids:
        sidecar(index_folder, doc_id).unlink(missing_ok=True)


_memo_lock = threading.Lock()
_memo: dict[str, tuple[int, dict]] = {}
"""The last document read: sidecar path -> (its mtime_ns, its payload). A preview pages
through one document at a time, so one entry saves re-reading a book's words per page."""


def load(index_folder: Path, doc_id: str, path: str, page: int) -> tuple[OcrWord, ...] | None:
    """The OCR words of ``page`` (1-based; 1 for a single image) of the document ``doc_id``
    at ``path``, in reading order; None when none were kept for that page, or the file at
    ``path`` is no longer the size it was when it was read. Never raises."""
    file = sidecar(index_folder, doc_id)
    try:
        stamp = file.stat().st_mtime_ns
        with _memo_lock:
            memo = _memo.get(str(file))
        if memo is not None and memo[0] == stamp:
            payload = memo[1]
        else:
            payload = json.loads(file.read_text(encoding="utf-8"))
            with _memo_lock:
                _memo.clear()
                _memo[str(file)] = (stamp, payload)
        if Path(path).stat().st_size != payload.get("size"):
            log.info("%s changed since it was read; its OCR words are not used", path)
            return None
        words = payload.get("pages", {}).get(str(page))
        if not words:
            return None
        return tuple((str(w[0]), float(w[1]), float(w[2]), float(w[3]), float(w[4])) for w in words)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, IndexError, AttributeError) as exc:
        log.warning("the OCR words of %s cannot be read: %s", path, exc)
        return None
