"""indexing/writer.py: model batches gathered into the store's write size; counts and refusals stay exact."""

from __future__ import annotations

import numpy as np

from image_search.errors import WriteFailures
from image_search.indexing.report import IndexReport
from image_search.indexing.writer import StoreWriter
from image_search.stores import ImageRecord
from image_search.stores.embedded.store import EmbeddedStore


class RecordingStore(EmbeddedStore):
    """Test double: an embedded store that writes 5 records at a time, logs each upsert's size and refuses
    the records whose path names 'bad', as Elasticsearch refuses documents."""

    write_size = 5  # type: ignore[assignment]  # a plain attribute in the double

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sizes: list[int] = []

    def upsert(self, records, vectors):
        self.sizes.append(len(records))
        keep = [i for i, r in enumerate(records) if "bad" not in r.path]
        super().upsert([records[i] for i in keep], vectors[keep])
        refused = {r.path: "refused by the double" for r in records if "bad" in r.path}
        if refused:
            raise WriteFailures(refused, len(keep))


def batch(names: list[str]) -> tuple[list[ImageRecord], np.ndarray]:
    records = [ImageRecord(f"/p/{n}.png", "/p", 1, 1, 1, 1, 0.0, "PNG") for n in names]
    vectors = np.eye(4, dtype=np.float32)[[len(n) % 4 for n in names]]
    return records, vectors


def test_batches_are_gathered_into_writes_of_the_stores_size(tmp_path):
    store = RecordingStore(tmp_path)
    store.claim("m", 4)
    report = IndexReport()
    writer = StoreWriter(store, report)
    names = [f"img{i}" for i in range(12)]
    for start in range(0, 12, 3):  # model batches of 3
        writer.add(*batch(names[start : start + 3]), updates=set())
    assert store.sizes == [5, 5]  # after batches 2 (6 waiting) and 4 (7 waiting: 5 written, 2 wait)
    writer.finish()
    assert store.sizes == [5, 5, 2] and report.added == 12 and store.count() == 12


def test_refusals_and_updates_are_counted_for_the_batch_they_came_in(tmp_path):
    store = RecordingStore(tmp_path)
    store.claim("m", 4)
    report = IndexReport()
    writer = StoreWriter(store, report)
    writer.add(*batch(["a", "bad1", "old1"]), updates={"/p/old1.png"})
    writer.add(*batch(["b", "old2", "bad2"]), updates={"/p/old2.png"})  # the first write: 5 of these 6
    writer.finish()
    assert (report.added, report.updated, report.refused) == (2, 2, 2)
    assert sorted(p for p, _ in report.skipped) == ["/p/bad1.png", "/p/bad2.png"]
    assert all(reason == "not stored: refused by the double" for _, reason in report.skipped)


def test_a_store_writing_each_batch_as_it_comes(tmp_path):
    store = EmbeddedStore(tmp_path)
    store.claim("m", 4)
    report = IndexReport()
    writer = StoreWriter(store, report)
    writer.add(*batch(["a", "b"]), updates=set())
    assert store.count() == 2  # written at once: write_size 1
    writer.finish()
    assert report.added == 2
