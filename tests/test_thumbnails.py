"""The thumbnail cache (image_search/thumbnails.py): two sizes side by side, and every size forgotten together."""

from __future__ import annotations

from PIL import Image

from image_search.stores.base import ImageRecord
from image_search.thumbnails import ThumbnailCache


def record_of(path, mtime_ns: int = 1) -> ImageRecord:
    with Image.open(path) as img:
        width, height = img.size
    return ImageRecord(str(path), str(path.parent), path.stat().st_size, mtime_ns, width, height, 0.0, "JPEG")


def wide_photo(tmp_path):
    path = tmp_path / "wide.jpg"
    Image.new("RGB", (1200, 600), (200, 30, 30)).save(path, "JPEG")
    return path


def test_each_size_is_cached_in_its_own_file(tmp_path):
    cache, record = ThumbnailCache(tmp_path / "data", 256), record_of(wide_photo(tmp_path))
    small, large = cache.get(record, 256), cache.get(record, 512)
    assert small != large and small.name.endswith("-1.jpg") and large.name.endswith("-1-512px.jpg")
    with Image.open(small) as img_small, Image.open(large) as img_large:
        assert img_small.size == (256, 128) and img_large.size == (512, 256)
    assert cache.get(record, 512) == large  # served from the cache


def test_a_changed_original_replaces_the_thumbnails_of_every_size(tmp_path):
    cache, photo = ThumbnailCache(tmp_path / "data", 256), wide_photo(tmp_path)
    old_small, old_large = cache.get(record_of(photo, 1), 256), cache.get(record_of(photo, 1), 512)
    new_small = cache.get(record_of(photo, 2), 256)
    assert new_small.exists() and not old_small.exists() and not old_large.exists()


def test_forget_and_keep_only_cover_the_larger_size(tmp_path):
    cache, photo = ThumbnailCache(tmp_path / "data", 256), wide_photo(tmp_path)
    record = record_of(photo)
    large = cache.get(record, 512)
    cache.keep_only([record])
    assert large.exists()
    cache.keep_only([])
    assert not large.exists()
    large = cache.get(record, 512)
    cache.forget([record.id])
    assert not large.exists()
