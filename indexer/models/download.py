"""Download catalogue models from the Hugging Face hub, the only network access Quarry makes.

huggingface_hub does the HTTP (its endpoint from HF_ENDPOINT, proxies from the usual
environment variables, redirects, retries and mid-transfer resume); this module adds what a
desktop app needs around it:

- the bytes go to ``<models>/.partial/<file>.part``, never under the model's own name, so a
  half-downloaded file is never offered as a model; a cancelled or interrupted download resumes
  from that file next time (the hub's ETag must still match, else it starts over);
- progress reaches a callback, and a cancel token stops the transfer;
- before the file is moved into place (an atomic rename) it must start with the GGUF magic
  (an HTML error or login page is reported as such), match the sha256 (the catalogue's, or
  the hub's LFS hash) and pass header validation for its kind. A refused file is deleted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.cancel import NEVER, CancelToken
from indexer.errors import Cancelled, ModelInvalid, QuarryError
from indexer.models.catalogue import CatalogueEntry
from indexer.models.gguf_info import GGUF_MAGIC, validate
from indexer.types import Progress, ProgressCallback, no_progress

log = logging.getLogger(__name__)

SHA256 = re.compile(r"^[0-9a-f]{64}$")
PARTIAL_DIR = ".partial"


class DownloadError(QuarryError):
    """A download that failed or was refused, with a message for people."""


@dataclass(frozen=True, slots=True)
class Remote:
    url: str
    size: int | None
    etag: str | None


class _Reporter:
    """What huggingface_hub's ``tqdm_class`` is called with: counts bytes, reports, cancels."""

    def __init__(self, progress: ProgressCallback, cancel: CancelToken, name: str, **kwargs: Any) -> None:
        self.progress, self.cancel, self.name = progress, cancel, name
        self.total = int(kwargs.get("total") or 0)
        self.n = int(kwargs.get("initial") or 0)
        self.progress(Progress("downloading", self.n, self.total, name))

    def update(self, n: float | None = 1) -> None:
        self.n += int(n or 0)
        self.cancel.raise_if_cancelled()
        self.progress(Progress("downloading", self.n, self.total, self.name))

    def __enter__(self) -> _Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def close(self) -> None:
        return None


def _remote(item: CatalogueEntry, endpoint: str | None) -> Remote:
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, RepositoryNotFoundError

    url = hf_hub_url(item.repo, item.filename, revision=item.revision, endpoint=endpoint)
    try:
        meta = get_hf_file_metadata(url, endpoint=endpoint)
    except RepositoryNotFoundError as exc:
        raise DownloadError(f"{item.name}: the repository {item.repo} was not found on the hub") from exc
    except EntryNotFoundError as exc:
        raise DownloadError(f"{item.name}: {item.filename} is not in {item.repo}") from exc
    except HfHubHTTPError as exc:
        raise DownloadError(f"{item.name}: the hub answered {exc}") from exc
    except Exception as exc:
        raise DownloadError(f"{item.name}: cannot reach the model hub ({type(exc).__name__}: {exc})") from exc
    return Remote(meta.location, meta.size, meta.etag)


def _sha256(path: Path, cancel: CancelToken) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            cancel.raise_if_cancelled()
            digest.update(block)
    return digest.hexdigest()


def _refuse(part: Path, message: str) -> DownloadError:
    part.unlink(missing_ok=True)
    part.with_suffix(".json").unlink(missing_ok=True)
    return DownloadError(message)


def _check_start(part: Path, item: CatalogueEntry) -> None:
    """Before anything else: is this a GGUF at all? An HTML page gets its own message."""
    with part.open("rb") as handle:
        head = handle.read(64)
    if head[:4] == GGUF_MAGIC:
        return
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype", b"<html", b"<head", b"<?xml")):
        raise _refuse(
            part, f"{item.name}: the server sent a web page instead of the model (a proxy, login or error page?)"
        )
    raise _refuse(part, f"{item.name}: the downloaded file is not a GGUF model (wrong magic bytes)")


def download(
    item: CatalogueEntry,
    models_dir: Path,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER,
    endpoint: str | None = None,
) -> Path:
    """Fetch ``item`` into ``models_dir`` and return its path; DownloadError says why not.
    A file already there with the right hash is kept as it is."""
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers

    final = models_dir / item.filename
    remote = _remote(item, endpoint)
    expected = (item.sha256 or "").lower() or (remote.etag if remote.etag and SHA256.match(remote.etag) else None)
    if final.exists():
        if expected is None or _sha256(final, cancel) == expected:
            return final
        log.warning("%s on disk does not match the hub; downloading again", final.name)

    partial_dir = models_dir / PARTIAL_DIR
    partial_dir.mkdir(parents=True, exist_ok=True)
    part = partial_dir / f"{item.filename}.part"
    state = part.with_suffix(".json")
    resume = part.stat().st_size if part.exists() else 0
    if resume:
        try:
            same = json.loads(state.read_text()).get("etag") == remote.etag
        except (OSError, ValueError):
            same = False
        if not same or (remote.size is not None and resume > remote.size):
            resume = 0
    state.write_text(json.dumps({"etag": remote.etag, "repo": item.repo, "file": item.filename}))
    if resume:
        log.info("resuming %s at %d bytes", item.filename, resume)

    def reporter(**kwargs: Any) -> _Reporter:
        return _Reporter(progress, cancel, item.name, **kwargs)

    try:
        with part.open("ab" if resume else "wb") as handle:
            http_get(
                remote.url,
                handle,
                resume_size=resume,
                headers=build_hf_headers(),
                expected_size=remote.size,
                displayed_filename=item.filename,
                tqdm_class=reporter,  # type: ignore[arg-type]
            )
    except Cancelled:
        log.info("download of %s cancelled at %d bytes; it resumes next time", item.filename, part.stat().st_size)
        raise
    except Exception as exc:
        if part.exists() and part.stat().st_size >= 4:
            _check_start(part, item)  # a web page is refused at once, not resumed
        raise DownloadError(f"{item.name}: download interrupted ({exc}); it resumes when you try again") from exc

    _check_start(part, item)
    if expected is not None:
        progress(Progress("checking", 0, 1, item.name))
        actual = _sha256(part, cancel)
        if actual != expected:
            raise _refuse(
                part, f"{item.name}: checksum mismatch (expected sha256 {expected[:12]}…, got {actual[:12]}…)"
            )
    try:
        validate(part, item.kind)
    except ModelInvalid as exc:
        raise _refuse(part, f"{item.name}: {str(exc).replace(part.name, 'the downloaded file')}") from exc
    os.replace(part, final)
    state.unlink(missing_ok=True)
    progress(Progress("downloaded", 1, 1, item.name))
    log.info("downloaded %s to %s", item.name, final)
    return final
