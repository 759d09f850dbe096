"""One indexer per store at a time: a second one refuses with a clear message instead of corrupting it."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from image_search.errors import LockHeld, StoreError


class IndexLock:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None

    def __enter__(self) -> IndexLock:
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # a read-only data dir (a backup, a shared disk): searchable, not indexable
            raise StoreError(
                f"cannot index into {self.path.parent}: {exc.strerror or exc}. Searching works from it; "
                f"to index, use a writable data directory (IMAGE_SEARCH_DATA_DIR)."
            ) from None
        try:
            # The kernel drops the lock when the process dies, even by SIGKILL: no stale lock files.
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(self._fd)
            raise LockHeld(
                f"Another `flask index` (pid {holder}) is writing to this store; wait for it to finish and run again."
            ) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, str(os.getpid()).encode(), 0)
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


@contextmanager
def file_lock(path: Path, shared: bool = False) -> Iterator[None]:
    """A blocking flock for a short critical section shared by processes (e.g. a file and its marker).
    Where the lock file cannot be made (a read-only data dir) nobody writes, so none is needed."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the lock
