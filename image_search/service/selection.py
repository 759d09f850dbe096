"""Selected images as one download: a zip written while it is sent (zipfile into a streamed response), or
their paths.

Every file is checked before the first byte goes out (still under its indexed folder, still a regular file,
the total within the cap), so a refusal is a clear 4xx page rather than a broken download. A file that
vanishes or changes between that check and its turn in the stream is left out and named in the zip's
README.txt: the zip never holds more bytes than were checked against the cap.
"""

from __future__ import annotations

import io
import os
import stat
import threading
import time
import zipfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field

from flask_babel import gettext, ngettext

from image_search.paths import is_within_root
from image_search.stores import ImageRecord
from image_search.user_files import kind_of, open_regular

# Formats whose data is compressed already: stored as they are (deflating a JPEG costs CPU and saves ~1%).
COMPRESSED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "GIF", "WEBP", "HEIF", "HEIC", "AVIF"})
READ_CHUNK = 1 << 20  # bytes read, written into the zip and sent at a time
README = "README.txt"
# Downloads streamed at once per process. Each holds a request thread for as long as its client takes to read
# it (waitress blocks the thread once 16 MB wait unsent), so of the production server's 4 threads 2 stay for pages.
DOWNLOADS_AT_ONCE = 2
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry


@dataclass(frozen=True)
class Entry:
    record: ImageRecord
    name: str  # its name inside the zip
    size: int
    mtime_ns: int


@dataclass
class ZipPlan:
    entries: list[Entry] = field(default_factory=list)
    left_out: list[tuple[ImageRecord, str]] = field(default_factory=list)  # (record, why), for README.txt

    @property
    def total_bytes(self) -> int:
        return sum(entry.size for entry in self.entries)


class DownloadSlot:
    """One of DOWNLOADS_AT_ONCE places, given back once (when the stream ends, or when the response is
    closed: a client that goes away before the first byte never starts the stream)."""

    def __init__(self, slots: threading.BoundedSemaphore):
        self._slots, self._lock, self._held = slots, threading.Lock(), True

    def release(self) -> None:
        with self._lock:
            if self._held:
                self._held = False
                self._slots.release()


@dataclass
class ZipDownload:
    chunks: Iterator[bytes]
    count: int  # files in it
    close: Callable[[], None]  # gives its slot back; call it when the response closes


def take_slot(slots: threading.BoundedSemaphore) -> DownloadSlot | None:
    return DownloadSlot(slots) if slots.acquire(blocking=False) else None


def released_after(chunks: Iterator[bytes], slot: DownloadSlot) -> Iterator[bytes]:
    try:
        yield from chunks
    finally:
        slot.release()


def plan(records: list[ImageRecord]) -> ZipPlan:
    """Which files go into the zip, under which names, and which are left out and why (checked now)."""
    result = ZipPlan()
    taken: set[str] = set()
    for record in records:
        if not is_within_root(record.path, record.root):
            result.left_out.append((record, gettext("no longer inside an indexed folder")))
            continue
        try:
            st = os.stat(record.path)
        except OSError as exc:
            result.left_out.append((record, gettext("missing or unreadable (%(reason)s)", reason=exc.strerror)))
            continue
        if not stat.S_ISREG(st.st_mode):
            result.left_out.append((record, gettext("now %(kind)s, not a file", kind=kind_of(st.st_mode))))
            continue
        result.entries.append(Entry(record, unique_name(entry_name(record), taken), st.st_size, st.st_mtime_ns))
    return result


def entry_name(record: ImageRecord) -> str:
    """The file's path below its indexed folder, as a relative zip name: no empty, `.` or `..` parts, no
    control characters, so unpacking it can never write outside the folder it is unpacked into."""
    parts = [part for part in record.relative_path.split("/") if part not in ("", ".", "..")]
    clean = ["".join("_" if ord(char) < 32 or ord(char) == 127 else char for char in part) for part in parts]
    return "/".join(clean) or record.id


def unique_name(name: str, taken: set[str]) -> str:
    """`name`, or `name (2)` before its extension when another entry has it (in any case: unpacked on a
    case-insensitive disk, one would replace the other)."""
    stem, dot, ext = name.rpartition(".") if "." in name.rsplit("/", 1)[-1] else (name, "", "")
    candidate, n = name, 1
    while candidate.lower() in taken or candidate == README:
        n += 1
        candidate = f"{stem} ({n}){dot}{ext}"
    taken.add(candidate.lower())
    return candidate


class _Pending(io.RawIOBase):
    """What zipfile has written and the response has not yet sent. Not seekable, so zipfile writes each
    entry's sizes after its data (a data descriptor) instead of seeking back."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def stream(zip_plan: ZipPlan) -> Iterator[bytes]:
    """The zip's bytes, about READ_CHUNK at a time, each file read as its turn comes."""
    pending = _Pending()
    left_out = list(zip_plan.left_out)
    with zipfile.ZipFile(pending, "w") as archive:
        for entry in zip_plan.entries:
            why = yield from _write_entry(archive, entry, pending)
            if why:
                left_out.append((entry.record, why))
        if left_out:
            archive.writestr(README, readme(len(zip_plan.entries) + len(zip_plan.left_out), left_out))
    yield pending.take()


def _write_entry(archive: zipfile.ZipFile, entry: Entry, pending: _Pending) -> Generator[bytes, None, str | None]:
    """Write one file (yielding what is ready to send); -> why it was left out, or None."""
    try:
        file = open_regular(entry.record.path)
    except OSError as exc:
        return gettext("vanished before its turn (%(reason)s)", reason=exc.strerror or exc)
    with file:
        st = os.fstat(file.fileno())
        if st.st_size != entry.size or st.st_mtime_ns != entry.mtime_ns:
            return gettext("changed before its turn")
        info = zipfile.ZipInfo(entry.name, max(ZIP_EPOCH, time.localtime(st.st_mtime)[:6]))
        info.compress_type = (
            zipfile.ZIP_STORED if entry.record.format.upper() in COMPRESSED_FORMATS else zipfile.ZIP_DEFLATED
        )
        info.file_size = entry.size
        with archive.open(info, "w", force_zip64=entry.size > zipfile.ZIP64_LIMIT) as out:
            left = entry.size
            while left > 0:
                data = file.read(min(READ_CHUNK, left))
                if not data:  # shortened while read: the entry ends here
                    break
                out.write(data)
                left -= len(data)
                yield pending.take()
    return None


def readme(selected: int, left_out: list[tuple[ImageRecord, str]]) -> str:
    lines = [
        ngettext(
            "%(num)s of the %(selected)s selected images is not in this zip:",
            "%(num)s of the %(selected)s selected images are not in this zip:",
            len(left_out),
            selected=selected,
        ),
        "",
    ]
    lines += [f"{record.path}: {why}" for record, why in left_out]
    return "\n".join(lines) + "\n"
