"""Which files are photos to index: a folder walk, and a deterministic share of it for sharded runs."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from image_search.images import image_extensions
from image_search.paths import is_text, printable_path

NOT_UTF8 = "its name is not valid UTF-8 (shown with \\x escapes): rename it to index it"

# Pillow opens these, but they are documents or data formats, not photos.
NOT_PHOTOS = {
    ".eps",
    ".ps",
    ".pdf",
    ".h5",
    ".hdf",
    ".grib",
    ".bufr",
    ".mpeg",
    ".mpg",
    ".emf",
    ".wmf",
    ".fit",
    ".fits",
    ".fli",
    ".flc",
}


def photo_extensions() -> set[str]:
    return image_extensions() - NOT_PHOTOS


def is_image_name(path: str) -> bool:
    """Whether a file of this name would be walked as a photo (its extension; `--watch` filters events)."""
    return os.path.splitext(path)[1].lower() in photo_extensions()


def in_shard(path: str, shard: tuple[int, int] | None) -> bool:
    """A deterministic share of the files, so N machines can index one collection together."""
    if shard is None:
        return True
    index, count = shard
    digest = hashlib.sha1(path.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % count == index


def walk_images(root: Path, skipped: list[tuple[str, str]]) -> Iterator[str]:
    """Absolute paths of image files under root; links to folders are not followed (no loops).

    Names that are not valid UTF-8 are skipped with a reason: the stores, the pages and JSON hold text,
    and such a name cannot be one (nor be shown, but as escapes). Their folders are not entered."""
    extensions = photo_extensions()

    def unreadable(error: OSError) -> None:
        skipped.append((printable_path(error.filename or str(root)), f"cannot read folder: {error.strerror}"))

    if not is_text(str(root)):
        skipped.append((printable_path(str(root)), NOT_UTF8))
        return
    if not root.is_dir():  # one file; planning checks that it is a regular file
        yield str(root)
        return
    for folder, dirs, files in os.walk(root, onerror=unreadable):
        for name in [d for d in dirs if not is_text(d)]:
            dirs.remove(name)
            skipped.append((printable_path(os.path.join(folder, name)), NOT_UTF8))
        dirs.sort()
        for name in sorted(files):
            if os.path.splitext(name)[1].lower() in extensions:
                if is_text(name):
                    yield os.path.join(folder, name)
                else:
                    skipped.append((printable_path(os.path.join(folder, name)), NOT_UTF8))
