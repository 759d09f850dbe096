"""Reading the user's files: only regular files, checked without ever blocking.

A named pipe (FIFO) in a photo folder, or an indexed file later replaced by one, would block a plain
open() until something writes to it: forever, for the indexer holding the index lock or for a web
thread serving a thumbnail. A device file (/dev/zero) would be read without end. So a file is opened
with O_NONBLOCK (which makes open() of a FIFO return at once) and used only when fstat says it is a
regular file; the type is checked on the open descriptor, so a swap after a stat() cannot slip past.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from image_search.errors import ImageError, NotAFile
from image_search.paths import printable_path

KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def kind_of(mode: int) -> str:
    """What a file of this st_mode is, in words, for the messages."""
    return next((words for test, words in KINDS if test(mode)), "not a regular file")


def require_regular(path: str | os.PathLike, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise NotAFile(
            f"{printable_path(os.fspath(path))} is {kind_of(st.st_mode)}, not a regular file: it is not read"
        )


def open_regular(path: str | os.PathLike) -> BinaryIO:
    """The file opened for reading, if it is a regular file (links followed); else NotAFile.
    OSError (missing, unreadable) passes through."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        require_regular(path, os.fstat(fd))
        os.set_blocking(fd, True)  # reads of a regular file never block anyway; Pillow expects a plain file
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike, max_bytes: int | None = None) -> bytes:
    """The whole file, if it is a regular file of at most max_bytes (ImageError otherwise)."""
    with open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        if max_bytes is not None and size > max_bytes:
            raise ImageError(
                f"{printable_path(os.fspath(path))} is {size / 2**20:.1f} MB: at most {max_bytes / 2**20:g} MB"
            )
        return f.read()
