"""The thumbnail cache: DATA_DIR/thumbnails/<id[:2]>/<id>-<mtime_ns>.jpg, made on first request; a larger
size (for sharp tiles on dense screens, srcset) is <id>-<mtime_ns>-<size>px.jpg beside it.

A thumbnail is served only while its original is still there (a deleted photo's thumbnail is not
shown, and is deleted); the indexer deletes those of pruned and replaced images. When it cannot be
written (a full disk, a read-only data dir) it is served from memory, uncached, instead of failing.
"""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path

from image_search.atomic import atomic_write
from image_search.images import PixelBudget, open_image
from image_search.stores.base import ImageRecord
from image_search.user_files import require_regular

log = logging.getLogger(__name__)

# What follows "<id>-" in a cached thumbnail's name: the original's mtime_ns, then the size when not the default.
VERSION = re.compile(r"\d+(-\d+px)?")


class ThumbnailCache:
    def __init__(self, data_dir: Path, default_size: int = 256):
        self.folder = Path(data_dir) / "thumbnails"
        self.default_size = default_size

    def path_for(self, image_id: str, mtime_ns: int, size: int | None = None) -> Path:
        suffix = "" if size in (None, self.default_size) else f"-{size}px"
        return self.folder / image_id[:2] / f"{image_id}-{mtime_ns}{suffix}.jpg"

    def get(self, record: ImageRecord, size: int, budget: PixelBudget | None = None) -> Path | bytes:
        """The cached file, or the JPEG's bytes when it cannot be cached. OSError when the original is
        missing (its thumbnails are then deleted), NotAFile or ImageError when it is not a usable image."""
        try:
            require_regular(record.path, os.stat(record.path))
        except FileNotFoundError:
            self.forget([record.id])
            raise
        target = self.path_for(record.id, record.mtime_ns, size)
        if target.is_file():
            return target
        img = open_image(record.path, draft_size=size, budget=budget)
        img.thumbnail((size, size))
        buffer = io.BytesIO()
        img.save(buffer, "JPEG", quality=85)
        data = buffer.getvalue()
        try:
            atomic_write(target, lambda tmp: Path(tmp).write_bytes(data))  # a half-written file is never served
        except OSError as exc:
            log.warning("thumbnail of %s served uncached: cannot write %s: %s", record.id, target, exc.strerror or exc)
            return data
        self.forget_earlier_versions(record)
        return target

    def forget_earlier_versions(self, record: ImageRecord) -> None:
        """Delete the thumbnails, of any size, made from earlier versions of this image's file."""
        for path in (self.folder / record.id[:2]).glob(f"{record.id}-*.jpg"):
            version = path.name[len(record.id) + 1 : -4]
            if VERSION.fullmatch(version) and version.partition("-")[0] != str(record.mtime_ns):
                try:
                    path.unlink()
                except OSError:
                    pass  # gone already, or a read-only data dir

    def forget(self, ids: Iterable[str]) -> None:
        """Delete the cached thumbnails of these images (every version and size)."""
        for image_id in ids:
            for path in (self.folder / image_id[:2]).glob(f"{image_id}-*.jpg"):
                # not another thread's temporary file (<name>.<random>.tmp.jpg) of a thumbnail in the making
                if VERSION.fullmatch(path.name[len(image_id) + 1 : -4]):
                    try:
                        path.unlink()
                    except OSError:
                        pass  # gone already, or a read-only data dir: nothing to free there

    def keep_only(self, records: Iterable[ImageRecord]) -> None:
        """Delete every cached thumbnail but those of these records' current versions (after a rebuild)."""
        keep = {(r.id, str(r.mtime_ns)) for r in records}
        for path in self.folder.glob("*/*.jpg"):
            image_id, _, version = path.name[:-4].partition("-")
            if VERSION.fullmatch(version) and (image_id, version.partition("-")[0]) not in keep:
                try:
                    path.unlink()
                except OSError:
                    pass  # gone already, or a read-only data dir
