"""One writer at a time: a lease on an index, taken before anything is written.

The lease is one small JSON object beside the tables (``_quarry/writer.lease`` in the bucket,
``index.lock`` in a local index folder): who holds it (a name, host and pid), when it was
taken and when it expires. It is created with a conditional PUT (If-None-Match: * — exactly
one of two racing writers wins), renewed every third of its term by a thread while the run
lasts (If-Match on the ETag it last wrote, so a writer that stalled past its term and lost
the lease finds out instead of overwriting its successor's), and deleted when the run ends.
A writer killed with SIGKILL leaves its lease behind: the next writer is refused until the
expiry, then takes it over (If-Match on the expired lease's ETag: one of several takers wins).

Locally the same lease is a file created with O_EXCL; renewal and takeover compare its
content before replacing it (a window of microseconds between two processes on one machine,
where S3 has none), and a lock left by a process that no longer exists on this host is taken
over at once.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from indexer.errors import QuarryError
from indexer.store.location import Location

log = logging.getLogger(__name__)

LEASE_OBJECT = "_quarry/writer.lease"
LOCK_FILE = "index.lock"
LEASE_ENV = "QUARRY_LEASE_SECONDS"
DEFAULT_LEASE_S = 60.0
"""A lease's term: a writer killed without releasing it holds the index this long at most.
Renewed every third of it, so a writer survives two missed renewals (a slow network)."""


class LeaseHeld(QuarryError):
    """Another writer holds the index's lease; the message names it and when it ends."""


class LeaseLost(QuarryError):
    """This writer's lease expired and another took it: nothing more may be written."""


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    """What a lease object holds."""

    holder: str
    """Who writes: 'user@host pid 123'."""
    host: str
    pid: int
    token: str
    """Unique per lease taken (the ETag of equal content would be equal)."""
    taken_at: float
    expires_at: float
    """Unix seconds; renewed leases move it on."""

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self)).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> LeaseInfo | None:
        try:
            raw = json.loads(data)
            return cls(**{k: raw[k] for k in cls.__slots__})
        except (ValueError, TypeError, KeyError):
            return None

    def describe(self) -> str:
        ends = datetime.fromtimestamp(self.expires_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        since = datetime.fromtimestamp(self.taken_at, UTC).strftime("%H:%M:%S UTC")
        return f"{self.holder} (since {since}); its lease ends at {ends} unless that writer renews it"


def lease_seconds() -> float:
    """The lease term: $QUARRY_LEASE_SECONDS (tests shorten it), else DEFAULT_LEASE_S."""
    try:
        value = float(os.environ.get(LEASE_ENV, "") or DEFAULT_LEASE_S)
    except ValueError:
        return DEFAULT_LEASE_S
    return max(value, 1.0)


def _holder() -> str:
    try:
        user = os.getlogin()
    except OSError:
        user = os.environ.get("USER") or os.environ.get("USERNAME") or "someone"
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


class _Backend:
    """Create / read / replace-if-unchanged / delete of one lease record."""

    def create(self, data: bytes) -> str | None:
        raise NotImplementedError

    def read(self) -> tuple[bytes, str] | None:
        raise NotImplementedError

    def replace(self, data: bytes, version: str) -> str | None:
        raise NotImplementedError

    def delete(self, version: str) -> None:
        raise NotImplementedError


class _ObjectBackend(_Backend):
    def __init__(self, location: Location) -> None:
        self.location = location

    def create(self, data: bytes) -> str | None:
        return self.location.create(LEASE_OBJECT, data)

    def read(self) -> tuple[bytes, str] | None:
        return self.location.read(LEASE_OBJECT)

    def replace(self, data: bytes, version: str) -> str | None:
        return self.location.replace(LEASE_OBJECT, data, version)

    def delete(self, version: str) -> None:
        found = self.read()
        if found is not None and found[1] == version:
            self.location.delete(LEASE_OBJECT)


class _FileBackend(_Backend):
    """The version of the file is its content (each lease's token makes it unique)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def create(self, data: bytes) -> str | None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return None
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return data.decode("utf-8")

    def read(self) -> tuple[bytes, str] | None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        return data, data.decode("utf-8", errors="replace")

    def replace(self, data: bytes, version: str) -> str | None:
        found = self.read()
        if found is None or found[1] != version:
            return None
        temporary = self.path.with_name(f"{self.path.name}.{uuid.uuid4().hex}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, self.path)
        return data.decode("utf-8")

    def delete(self, version: str) -> None:
        found = self.read()
        if found is not None and found[1] == version:
            self.path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class Lease:
    """The writer's lease on ``location``. ``acquire`` takes it or raises LeaseHeld; while
    held, a daemon thread renews it; ``check`` raises LeaseLost once a renewal found it taken;
    ``release`` ends it. Also a context manager (acquire on enter, release on exit)."""

    def __init__(self, location: Location, term_s: float | None = None, holder: str | None = None) -> None:
        self.location = location
        self.term_s = lease_seconds() if term_s is None else term_s
        self.holder = holder or _holder()
        self._backend: _Backend = (
            _ObjectBackend(location) if location.shared else _FileBackend(location.local / LOCK_FILE)
        )
        self._version: str | None = None
        self._info: LeaseInfo | None = None
        self._lost = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def held(self) -> bool:
        return self._version is not None and not self._lost

    def _new_info(self) -> LeaseInfo:
        now = time.time()
        token = self._info.token if self._info else uuid.uuid4().hex
        taken = self._info.taken_at if self._info else now
        return LeaseInfo(self.holder, socket.gethostname(), os.getpid(), token, taken, now + self.term_s)

    def acquire(self) -> Lease:
        """Take the lease: create it, or take over one that has expired (or, locally, whose
        process is gone). Raises LeaseHeld naming the holder and the expiry; SharedStoreError
        when the store cannot be reached."""
        for _ in range(5):
            info = self._new_info()
            version = self._backend.create(info.to_bytes())
            if version is not None:
                return self._start(info, version)
            found = self._backend.read()
            if found is None:
                continue  # released meanwhile: create again
            data, current = found
            other = LeaseInfo.from_bytes(data)
            if other is not None and not self._expired(other):
                raise LeaseHeld(
                    f"{self.location.describe()} is being written by {other.describe()}; nothing was written"
                )
            version = self._backend.replace(info.to_bytes(), current)
            if version is not None:
                why = "unreadable" if other is None else f"expired at {other.describe()}"
                log.warning("took over the writer's lease on %s (the last one was %s)", self.location.describe(), why)
                return self._start(info, version)
        raise LeaseHeld(f"{self.location.describe()}: other writers keep taking the lease; nothing was written")

    def _expired(self, other: LeaseInfo) -> bool:
        if other.expires_at <= time.time():
            return True
        local_dead = not self.location.shared and other.host == socket.gethostname() and not _alive(other.pid)
        return local_dead

    def _start(self, info: LeaseInfo, version: str) -> Lease:
        self._info, self._version, self._lost = info, version, ""
        self._stop.clear()
        self._thread = threading.Thread(target=self._renew_loop, name="quarry-lease", daemon=True)
        self._thread.start()
        log.info("writer's lease on %s taken for %.0f s", self.location.describe(), self.term_s)
        return self

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.term_s / 3):
            try:
                self.renew()
            except QuarryError as exc:  # unreachable for a moment: the next renewal tries again
                log.warning("renewing the writer's lease failed: %s", exc)

    def renew(self) -> None:
        """Move the expiry on by a term; marks the lease lost when another writer took it."""
        with self._lock:
            if self._version is None or self._lost:
                return
            info = self._new_info()
            version = self._backend.replace(info.to_bytes(), self._version)
            if version is None:
                self._lost = "another writer took the lease after it expired"
                log.error("the writer's lease on %s was lost: %s", self.location.describe(), self._lost)
                return
            self._info, self._version = info, version

    def check(self) -> None:
        """Raise LeaseLost when the lease was lost, LeaseHeld when it was never taken."""
        if self._version is None:
            raise LeaseHeld(f"{self.location.describe()}: this process does not hold the writer's lease")
        if self._lost:
            raise LeaseLost(f"{self.location.describe()}: {self._lost}; stopped before writing more")

    def release(self) -> None:
        """End the lease (stop renewing, delete it if it is still ours). Never raises."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            version, self._version = self._version, None
        if version is not None and not self._lost:
            try:
                self._backend.delete(version)
            except (QuarryError, OSError) as exc:
                log.warning("the writer's lease could not be removed (it expires by itself): %s", exc)

    def __enter__(self) -> Lease:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
