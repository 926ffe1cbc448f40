"""Where an index lives: a local folder, or a prefix in an S3 bucket (``s3://BUCKET/PREFIX``)
that a team shares.

A shared location keeps the LanceDB tables and ``index.json`` in the bucket; what only this
machine needs (the OCR word boxes of ``ocr-words/``) stays in a local folder of its own
(indexer.paths.AppPaths.index). Credentials come from the standard AWS variables
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``,
``AWS_ENDPOINT_URL``, ``AWS_ALLOW_HTTP``), read when the store is opened and held only in
memory: they are never a field of a dataclass that is printed, never logged, and every
message built from a storage error goes through :func:`redact`.

Small objects beside the tables (``index.json``, the writer's lease, the probe) are read and
written with obstore, the Python binding of the Rust ``object_store`` crate that LanceDB
itself commits through: the same conditional PUT (``If-None-Match: *`` for create,
``If-Match: ETag`` for replace), the same credential and endpoint handling.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from indexer.atomic import write_text_atomic
from indexer.errors import QuarryError
from indexer.paths import SHARED_SCHEMES, is_url

log = logging.getLogger(__name__)

PROBE_PREFIX = "_quarry/probe-"
_ENV_OPTIONS = {
    # standard variable -> the storage option LanceDB and obstore both read
    "AWS_ACCESS_KEY_ID": "aws_access_key_id",
    "AWS_SECRET_ACCESS_KEY": "aws_secret_access_key",
    "AWS_SESSION_TOKEN": "aws_session_token",
    "AWS_REGION": "aws_region",
    "AWS_DEFAULT_REGION": "aws_region",
    "AWS_ENDPOINT_URL": "aws_endpoint",
    "AWS_ENDPOINT_URL_S3": "aws_endpoint",
    "AWS_ALLOW_HTTP": "allow_http",
}
_SECRET_OPTIONS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")


def _errors() -> tuple[type[BaseException], ...]:
    """What obstore raises for a failed request (its BaseError family, OSError for I/O)."""
    from obstore.exceptions import BaseError

    return (BaseError, OSError)


class SharedStoreError(QuarryError):
    """The shared index cannot be used: unreachable, refused, or unsafe to commit to."""


def redact(text: str, options: dict[str, str] | None = None) -> str:
    """``text`` with every credential of ``options`` (default: the environment's) replaced by
    '***', for a message, a log line or an exception that may quote a request."""
    secrets = [v for k, v in (options or storage_options_from_env()).items() if k in _SECRET_OPTIONS and v]
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def storage_options_from_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The storage options the standard AWS variables set; a region defaults to us-east-1
    (S3 look-alikes ignore it, and LanceDB refuses an s3 URL without one)."""
    environ = os.environ if environ is None else environ
    options: dict[str, str] = {}
    for variable, option in _ENV_OPTIONS.items():
        value = environ.get(variable, "").strip()
        if value and option not in options:
            options[option] = value
    options.setdefault("aws_region", "us-east-1")
    return options


@dataclass(frozen=True, slots=True)
class Location:
    """An index's location. ``uri``: a local folder's path or ``s3://bucket/prefix``;
    ``local``: the folder for this machine's own files beside the index (the index folder
    itself when the index is local)."""

    uri: str
    local: Path
    _options: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, uri: str | os.PathLike[str], local: Path) -> Location:
        """A location for ``uri``; a URL's credentials are read from the environment now.
        Raises SharedStoreError for a scheme Quarry does not support or a URL with no bucket
        or with credentials in it."""
        text = str(uri)
        if not is_url(text):
            return cls(str(Path(text)), Path(text))
        parts = urlsplit(text)
        if parts.scheme not in SHARED_SCHEMES:
            raise SharedStoreError(f"an index URL must start with {' or '.join(s + '://' for s in SHARED_SCHEMES)}")
        if "@" in parts.netloc or parts.query or parts.password:
            raise SharedStoreError("an index URL must not carry credentials: set AWS_ACCESS_KEY_ID and the rest")
        if not parts.netloc:
            raise SharedStoreError("an index URL names a bucket: s3://BUCKET/PREFIX")
        clean = f"{parts.scheme}://{parts.netloc}/{parts.path.strip('/')}".rstrip("/")
        return cls(clean, local, storage_options_from_env())

    @property
    def shared(self) -> bool:
        """Whether the index is in object storage (others may read and write it)."""
        return is_url(self.uri)

    @property
    def bucket(self) -> str:
        return urlsplit(self.uri).netloc

    @property
    def prefix(self) -> str:
        return urlsplit(self.uri).path.strip("/")

    def lance_options(self) -> dict[str, str]:
        """Storage options for lancedb.connect (credentials included: never log them)."""
        return dict(self._options)

    def redact(self, text: str) -> str:
        return redact(text, self._options)

    def describe(self) -> str:
        return self.uri

    # -- small objects beside the tables --------------------------------------------
    def _store(self) -> Any:
        from obstore.store import S3Store

        config = {k: v for k, v in self._options.items() if not k.startswith("new_table_")}
        return S3Store(self.bucket, prefix=self.prefix or None, config=config)

    def _fail(self, doing: str, exc: Exception) -> SharedStoreError:
        return SharedStoreError(f"{doing} {self.uri} failed: {self.redact(str(exc)).splitlines()[0][:300]}")

    def read(self, name: str) -> tuple[bytes, str] | None:
        """The object (or file) ``name`` and its ETag (a local file: its mtime), or None
        when there is none. Raises SharedStoreError (shared) or OSError (local)."""
        if not self.shared:
            path = self.local / name
            try:
                return path.read_bytes(), str(path.stat().st_mtime_ns)
            except FileNotFoundError:
                return None
        import obstore
        from obstore.exceptions import NotFoundError

        try:
            result = obstore.get(self._store(), name)
            return bytes(result.bytes()), str(result.meta.get("e_tag") or "")
        except (NotFoundError, FileNotFoundError):  # obstore raises the built-in one for a GET
            return None
        except _errors() as exc:  # obstore's own family, and the network's; each becomes one message
            raise self._fail(f"reading {name} from", exc) from None

    def write(self, name: str, data: bytes) -> None:
        """Write ``name`` whole (local: atomically). Raises SharedStoreError or OSError."""
        if not self.shared:
            write_text_atomic(self.local / name, data.decode("utf-8"))
            return
        import obstore

        try:
            obstore.put(self._store(), name, data)
        except _errors() as exc:
            raise self._fail(f"writing {name} to", exc) from None

    def create(self, name: str, data: bytes) -> str | None:
        """Create ``name`` only if it does not exist (conditional PUT, If-None-Match: *).
        Returns its ETag, or None when it exists already. Shared locations only."""
        import obstore
        from obstore.exceptions import AlreadyExistsError

        try:
            return str(obstore.put(self._store(), name, data, mode="create")["e_tag"] or "")
        except AlreadyExistsError:
            return None
        except _errors() as exc:
            raise self._fail(f"creating {name} in", exc) from None

    def replace(self, name: str, data: bytes, etag: str) -> str | None:
        """Overwrite ``name`` only if it is still the version ``etag`` (If-Match). Returns
        the new ETag, or None when someone else changed or removed it. Shared only."""
        import obstore
        from obstore.exceptions import NotFoundError, PreconditionError

        try:
            return str(obstore.put(self._store(), name, data, mode={"e_tag": etag})["e_tag"] or "")
        except (PreconditionError, NotFoundError, FileNotFoundError):
            return None
        except _errors() as exc:
            raise self._fail(f"replacing {name} in", exc) from None

    def delete(self, name: str) -> None:
        """Remove ``name``; a missing one is no error. Raises SharedStoreError (shared)."""
        if not self.shared:
            (self.local / name).unlink(missing_ok=True)
            return
        import obstore

        try:
            obstore.delete(self._store(), name)
        except FileNotFoundError:
            pass
        except _errors() as exc:
            raise self._fail(f"deleting {name} from", exc) from None

    def size_bytes(self) -> int:
        """Bytes the index takes: the files under the folder, or the objects under the prefix."""
        if not self.shared:
            return sum(f.stat().st_size for f in self.local.rglob("*") if f.is_file())
        import obstore

        try:
            return sum(int(m["size"]) for batch in obstore.list(self._store()) for m in batch)
        except _errors() as exc:
            raise self._fail("listing", exc) from None

    def list_names(self, under: str) -> list[str]:
        """Object names under ``under`` (relative to the prefix). Shared only."""
        import obstore

        try:
            return [str(m["path"]) for batch in obstore.list(self._store(), prefix=under) for m in batch]
        except _errors() as exc:
            raise self._fail("listing", exc) from None

    def check_conditional_put(self) -> None:
        """Prove the server enforces conditional PUT, which LanceDB's commits rely on: create
        a fresh probe object twice with If-None-Match: *; the second must fail (412). The
        probe is removed after. Raises SharedStoreError when the server overwrote it (two
        writers' commits would then silently lose rows) or cannot be reached."""
        name = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
        first = self.create(name, b"first")
        if first is None:
            raise SharedStoreError(f"{self.uri}: a fresh probe object already existed; try again")
        try:
            second = self.create(name, b"second")
        finally:
            self.delete(name)
        if second is not None:
            raise SharedStoreError(
                f"the object store behind {self.uri} ignores conditional PUT (If-None-Match): a second "
                "create-if-absent of one object succeeded. LanceDB's commits are not safe there (concurrent "
                "commits overwrite each other and rows are lost without an error); use a server that enforces "
                "it (AWS S3, SeaweedFS, MinIO, Cloudflare R2)"
            )
        log.debug("%s enforces conditional PUT", self.uri)
