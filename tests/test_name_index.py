"""The embedded store's FTS5 names index: stores made before it get it, filled from their rows."""

from __future__ import annotations

import sqlite3

import numpy as np

from image_search.stores.base import ImageRecord
from image_search.stores.embedded.store import EmbeddedStore


def test_a_store_made_before_the_names_index_gets_it_filled(tmp_path):
    store = EmbeddedStore(tmp_path)
    store.claim("m", 4)
    store.upsert([ImageRecord("/p/holiday/sea.jpg", "/p", 1, 1, 10, 10, 0.0, "JPEG")], np.eye(4, dtype=np.float32)[:1])
    store.close()
    with sqlite3.connect(tmp_path / "images.sqlite") as db:  # as an older version left it
        for trigger in ("names_added", "names_deleted", "names_moved"):
            db.execute(f"DROP TRIGGER {trigger}")
        db.execute("DROP TABLE names")
    store = EmbeddedStore(tmp_path)
    assert [r.path for r, _ in store.name_matches(["holi"], 5)] == ["/p/holiday/sea.jpg"]
    store.upsert([ImageRecord("/p/holiday/sun.jpg", "/p", 1, 1, 10, 10, 0.0, "JPEG")], np.eye(4, dtype=np.float32)[1:2])
    assert len(store.name_matches(["holiday"], 5)) == 2  # and keeps it from then on
    store.close()


def one(path: str, row: int) -> tuple[list[ImageRecord], np.ndarray]:
    return [ImageRecord(path, "/p", 1, 1, 10, 10, 0.0, "JPEG")], np.eye(4, dtype=np.float32)[row : row + 1]


def test_the_names_index_follows_a_rebuild_swap(tmp_path):
    store = EmbeddedStore(tmp_path)
    store.claim("m", 4)
    store.upsert(*one("/p/holiday/sea.jpg", 0))
    with store.rebuilding() as staging:
        staging.claim("m", 4)
        staging.upsert(*one("/p/garden/rose.jpg", 1))
    assert store.name_matches(["holiday"], 5) == []  # the old content's names went with it
    assert [r.path for r, _ in store.name_matches(["rose"], 5)] == ["/p/garden/rose.jpg"]
    store.upsert(*one("/p/garden/tulip.jpg", 2))  # the triggers were made again with the table
    store.delete([one("/p/garden/rose.jpg", 1)[0][0].id])
    assert [r.path for r, _ in store.name_matches(["garden"], 5)] == ["/p/garden/tulip.jpg"]
    store.close()


def test_a_read_only_store_made_before_the_names_index_still_finds_names(tmp_path, read_only):
    store = EmbeddedStore(tmp_path)
    store.claim("m", 4)
    store.upsert(*one("/p/holiday/sea.jpg", 0))
    store.close()
    with sqlite3.connect(tmp_path / "images.sqlite") as db:
        for trigger in ("names_added", "names_deleted", "names_moved"):
            db.execute(f"DROP TRIGGER {trigger}")
        db.execute("DROP TABLE names")
    db.close()
    read_only(tmp_path)
    store = EmbeddedStore(tmp_path)
    assert store.read_only
    assert [r.path for r, _ in store.name_matches(["holi"], 5)] == ["/p/holiday/sea.jpg"]
    store.close()
