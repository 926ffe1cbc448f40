"""Live folders: watchdog reports file changes under the indexed folders; after a quiet
spell (debounce) the roots that changed are handed to a callback, which re-runs the
incremental indexer on them. A folder that disappears (an unplugged drive) is noticed and
watched again when it comes back."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

from indexer.ingest.scan import JUNK_DIRS

log = logging.getLogger(__name__)

DEBOUNCE_S = 1.5
"""Changes are gathered until this long passes without another: a copy of many files, or
an editor's save-as-temp-then-rename, becomes one indexing run."""
RECHECK_S = 2.0
"""How often roots are checked for having disappeared or come back."""


class _Collector(FileSystemEventHandler):
    def __init__(self, watcher: FolderWatcher, root: Path) -> None:
        self.watcher, self.root = watcher, root

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return  # reads (ours included) change nothing
        if event.is_directory and event.event_type == "modified":
            return  # a folder's listing changed: the file events themselves follow
        paths = [event.src_path, getattr(event, "dest_path", "")]
        if all(not p or _ignored(Path(str(p)), self.root) for p in paths):
            return  # hidden and junk folders are never indexed (our own store may live there)
        self.watcher.touch(self.root)


def _ignored(path: Path, root: Path) -> bool:
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return True
    return any(part.startswith(".") or part in JUNK_DIRS for part in parts)


class FolderWatcher:
    """Calls ``on_change(roots)`` from its own thread when files under ``roots`` change."""

    def __init__(
        self,
        roots: Iterable[Path],
        on_change: Callable[[list[Path]], None],
        debounce_s: float = DEBOUNCE_S,
    ) -> None:
        self.on_change = on_change
        self.debounce_s = debounce_s
        self._roots: set[Path] = {Path(r).resolve() for r in roots}
        self._watches: dict[Path, ObservedWatch] = {}
        self._dirty: dict[Path, float] = {}
        self._lock = threading.Lock()
        self._vanished: set[Path] = set()
        self._stop = threading.Event()
        self._resync = threading.Event()
        self.ready = threading.Event()
        """Set once the first watches are in place (start() returns before that)."""
        self._observer = Observer()
        self._thread = threading.Thread(target=self._loop, name="quarry-watch", daemon=True)

    # -- control ------------------------------------------------------------------
    def start(self) -> FolderWatcher:
        """Returns at once: placing recursive watches walks every folder below the roots,
        which takes seconds for a home folder, so the watcher's own thread does it."""
        self._observer.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._observer.stop()
        self._observer.join(timeout=5)

    def add(self, root: Path) -> None:
        with self._lock:
            self._roots.add(Path(root).resolve())
        self._resync.set()

    def remove(self, root: Path) -> None:
        root = Path(root).resolve()
        with self._lock:
            self._roots.discard(root)
            self._dirty.pop(root, None)
            watch = self._watches.pop(root, None)
        if watch is not None:
            self._observer.unschedule(watch)

    @property
    def roots(self) -> list[Path]:
        with self._lock:
            return sorted(self._roots)

    def touch(self, root: Path) -> None:
        with self._lock:
            self._dirty[root] = time.monotonic()

    # -- the loop ----------------------------------------------------------------------
    def _sync_watches(self) -> None:
        """Watch every root that exists; drop watches of roots that vanished (their inotify
        watch died with them) but keep their documents, since an unplugged drive usually
        comes back; a root that comes back is watched again and re-indexed."""
        for root in self.roots:
            present = root.is_dir()
            with self._lock:
                watch = self._watches.get(root)
            if present and watch is None:
                try:
                    watch = self._observer.schedule(_Collector(self, root), str(root), recursive=True)
                except OSError as exc:
                    log.warning("cannot watch %s: %s", root, exc)
                    continue
                with self._lock:
                    self._watches[root] = watch
                if root in self._vanished:  # came back: index what is there now
                    self._vanished.discard(root)
                    log.info("watched folder is back: %s", root)
                    self.touch(root)
            elif not present and watch is not None:
                log.info("watched folder disappeared: %s", root)
                try:
                    self._observer.unschedule(watch)
                except (KeyError, OSError):
                    pass
                with self._lock:
                    self._watches.pop(root, None)
                self._vanished.add(root)

    def _loop(self) -> None:
        self._sync_watches()
        self.ready.set()
        last_check = time.monotonic()
        while not self._stop.wait(0.2):
            now = time.monotonic()
            if now - last_check >= RECHECK_S or self._resync.is_set():
                self._resync.clear()
                last_check = now
                self._sync_watches()
            with self._lock:
                due = [r for r, t in self._dirty.items() if now - t >= self.debounce_s]
                for root in due:
                    del self._dirty[root]
            due = [r for r in due if r.is_dir()]  # a vanished root waits until it is back
            if due:
                try:
                    self.on_change(due)
                except Exception:
                    log.exception("re-indexing after a change failed")
