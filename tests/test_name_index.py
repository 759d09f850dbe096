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
