"""The thumbnail cache: DATA_DIR/thumbnails/<id[:2]>/<id>-<mtime_ns>.jpg, made on first request.

A thumbnail is served only while its original is still there (a deleted photo's thumbnail is not
shown, and is deleted); the indexer deletes those of pruned and replaced images. When it cannot be
written (a full disk, a read-only data dir) it is served from memory, uncached, instead of failing.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from image_search.atomic import atomic_write
from image_search.images import PixelBudget, open_image
from image_search.stores.base import ImageRecord
from image_search.user_files import require_regular

log = logging.getLogger(__name__)


class ThumbnailCache:
    def __init__(self, data_dir: Path):
        self.folder = Path(data_dir) / "thumbnails"

    def path_for(self, image_id: str, mtime_ns: int) -> Path:
        return self.folder / image_id[:2] / f"{image_id}-{mtime_ns}.jpg"

    def get(self, record: ImageRecord, size: int, budget: PixelBudget | None = None) -> Path | bytes:
        """The cached file, or the JPEG's bytes when it cannot be cached. OSError when the original is
        missing (its thumbnails are then deleted), NotAFile or ImageError when it is not a usable image."""
        try:
            require_regular(record.path, os.stat(record.path))
        except FileNotFoundError:
            self.forget([record.id])
            raise
        target = self.path_for(record.id, record.mtime_ns)
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
        self.forget([record.id], keep=target)  # the thumbnails of its earlier versions
        return target

    def forget(self, ids: Iterable[str], keep: Path | None = None) -> None:
        """Delete the cached thumbnails of these images (all versions but `keep`)."""
        for image_id in ids:
            for path in (self.folder / image_id[:2]).glob(f"{image_id}-*.jpg"):
                # not another thread's temporary file (<name>.<random>.tmp.jpg) of a thumbnail in the making
                if path != keep and path.name[len(image_id) + 1 : -4].isdigit():
                    try:
                        path.unlink()
                    except OSError:
                        pass  # gone already, or a read-only data dir: nothing to free there

    def keep_only(self, records: Iterable[ImageRecord]) -> None:
        """Delete every cached thumbnail but those of these records' current versions (after a rebuild)."""
        keep = {self.path_for(r.id, r.mtime_ns) for r in records}
        for path in self.folder.glob("*/*.jpg"):
            version = path.name[:-4].partition("-")[2]
            if version.isdigit() and path not in keep:
                try:
                    path.unlink()
                except OSError:
                    pass  # gone already, or a read-only data dir
