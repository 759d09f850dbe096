"""The embedded store serves reads side by side: searches share the faiss index (a readers-writer lock),
and each thread reads SQLite through its own connection, so one slow search or a write in progress
doesn't queue every other request behind it."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from image_search.stores.base import ImageRecord
from image_search.stores.embedded import faiss_index
from image_search.stores.embedded.store import EmbeddedStore

DIM = 8


@pytest.fixture
def store(tmp_path):
    store = EmbeddedStore(tmp_path / "data")
    vectors = np.random.default_rng(0).normal(size=(50, DIM)).astype(np.float32)
    records = [ImageRecord(f"/p/{i}.jpg", "/p", 1, i, 10, 10, 0.0, "JPEG") for i in range(50)]
    store.claim("m", DIM)
    store.upsert(records, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    store.flush()
    yield store
    store.close()


def in_thread(work) -> tuple[threading.Thread, list]:
    out: list = []
    thread = threading.Thread(target=lambda: out.append(work()), daemon=True)
    thread.start()
    return thread, out


def test_a_search_answers_while_another_is_inside_the_index(store, monkeypatch):
    inside, release = threading.Event(), threading.Event()
    real = faiss_index.search_params

    def slow_first(*args, **kwargs):  # the first search stops inside the index, under its read lock
        if not inside.is_set():
            inside.set()
            assert release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(faiss_index, "search_params", slow_first)
    query = np.ones(DIM, dtype=np.float32)
    first, first_hits = in_thread(lambda: store.knn(query, 3))
    assert inside.wait(10)
    second, second_hits = in_thread(lambda: store.knn(query, 3))
    second.join(5)
    try:
        assert not second.is_alive(), "the second search waited for the first"
    finally:
        release.set()
        first.join(5)
    assert [h.id for h in first_hits[0]] == [h.id for h in second_hits[0]] and len(second_hits[0]) == 3


def test_reads_go_on_while_a_write_holds_the_store(store):
    record = next(iter(store.iter_records()))
    with store._lock:  # what a long upsert holds
        reader, got = in_thread(lambda: (store.get(record.id), store.count(), store.get_vector(record.id)))
        reader.join(5)
        assert not reader.is_alive(), "a read waited for the write lock"
    assert got[0][0] == record and got[0][1] == 50 and got[0][2] is not None


def test_a_search_sees_writes_committed_by_another_thread(store):
    vector = np.zeros(DIM, dtype=np.float32)
    vector[0] = 1.0
    new = ImageRecord("/p/new.jpg", "/p", 1, 1, 10, 10, 0.0, "JPEG")
    writer, _ = in_thread(lambda: store.upsert([new], vector[None, :]))
    writer.join(5)
    assert store.knn(vector, 1)[0].id == new.id  # caught up: this thread's reader sees the commit
