"""`flask index --watch`: file-system events (watchdog; inotify on Linux) batched into incremental runs.

Events only name paths. What to do with them is decided by the planning every run uses (plan.py): a
batch is an incremental run with pruning over the changed paths (a new or changed file is embedded, a
deleted or moved-away one pruned, a folder moved in walked), whose records keep the watched folder as
their root. Changes are debounced: a batch runs once the folders have been quiet for `quiet` seconds,
or `max_wait` seconds after its first change while changes keep coming.

A watched folder that disappears (an unmounted disk, a folder moved away) keeps its images; when it is
back it is watched again and checked whole, as a first run would check it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

from image_search.errors import UserError
from image_search.indexing.walk import is_image_name
from image_search.paths import printable_path

# Events that change nothing on disk, and a folder's own "modified" (a child changed: that child has its
# own event; walking the whole folder for it would make every change a walk of its folder).
IGNORED = {"opened", "closed_no_write"}
CHECK_FOLDERS_S = 1.0  # how often the watched folders' presence is checked (removed, re-added)


class ChangedPaths(FileSystemEventHandler):
    """The paths events named since the last batch, in order, each once. The observer's thread adds to
    it; the watching thread takes a batch when it is due."""

    def __init__(self) -> None:
        self._due = threading.Condition()
        self._paths: dict[str, None] = {}  # an ordered set
        self._first = self._last = 0.0

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in IGNORED or (event.is_directory and event.event_type == "modified"):
            return
        named = [event.src_path, event.dest_path] if event.dest_path else [event.src_path]
        paths = [os.fsdecode(p) for p in named]
        self.add([p for p in paths if event.is_directory or is_image_name(p)])

    def add(self, paths: Sequence[str]) -> None:
        if not paths:
            return
        with self._due:
            now = time.monotonic()
            if not self._paths:
                self._first = now
            self._last = now
            self._paths.update(dict.fromkeys(paths))
            self._due.notify_all()

    def take(self, quiet: float, max_wait: float, timeout: float) -> list[str]:
        """The batch, once it is due (quiet for `quiet` s, or `max_wait` s old); [] if none is due within
        `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._due:
            while True:
                now = time.monotonic()
                if self._paths and now >= min(self._last + quiet, self._first + max_wait):
                    batch, self._paths = list(self._paths), {}
                    return batch
                wake = min(self._last + quiet, self._first + max_wait) if self._paths else deadline
                if now >= deadline:
                    return []
                self._due.wait(max(0.0, min(wake, deadline) - now))


def watch(
    roots: Sequence[Path],
    run_batch: Callable[[list[str]], None],
    *,
    quiet: float,
    max_wait: float,
    stop: threading.Event,
    on_note: Callable[[str], None] = lambda message: None,
    on_ready: Callable[[], None] = lambda: None,
) -> None:
    """Run `run_batch(changed paths)` for each batch of changes under `roots` (folders) until `stop` is
    set or KeyboardInterrupt. A batch that fails with a user's error (the store unreachable, another
    indexer holding the lock, a full disk) is told to `on_note` and tried again after `max_wait`; so is a
    watched folder that went or came back."""
    changes = ChangedPaths()
    observer = Observer()
    watches: dict[Path, ObservedWatch | None] = {root: None for root in roots}
    observer.start()
    try:
        _follow_folders(observer, changes, watches, on_note, first=True)
        on_ready()
        next_check = time.monotonic() + CHECK_FOLDERS_S
        while not stop.is_set():
            batch = changes.take(quiet, max_wait, timeout=max(0.0, next_check - time.monotonic()))
            if batch:
                try:
                    run_batch(batch)
                except (UserError, OSError) as exc:
                    on_note(f"{exc} (tried again in {max_wait:g} s)")
                    changes.add(batch)  # nothing is lost: tried again with whatever comes meanwhile
                    stop.wait(max_wait)
            if time.monotonic() >= next_check:
                _follow_folders(observer, changes, watches, on_note)
                next_check = time.monotonic() + CHECK_FOLDERS_S
    finally:
        observer.stop()
        observer.join(timeout=5)


def _follow_folders(
    observer: BaseObserver,
    changes: ChangedPaths,
    watches: dict[Path, ObservedWatch | None],
    on_note: Callable[[str], None],
    first: bool = False,
) -> None:
    """Watch each folder that is there, stop watching those that are gone; one that came back is
    checked whole (what changed while it was away sent no events)."""
    for root, watched in watches.items():
        present = root.is_dir()
        if present and watched is None:
            watches[root] = observer.schedule(changes, str(root), recursive=True)
            if not first:
                on_note(f"{printable_path(str(root))} is back: watching it again, checking it whole")
                changes.add([str(root)])
        elif not present and watched is not None:
            on_note(f"{printable_path(str(root))} is gone: its images stay indexed until it is back")
            try:
                observer.unschedule(watched)
            except KeyError:  # its emitter already stopped with the folder
                pass
            watches[root] = None
