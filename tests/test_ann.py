"""The embedded store's index: HNSW above a (here tiny) threshold, incremental catch-up, tombstones."""

import json
import sqlite3

import faiss
import numpy as np
import pytest

from image_search.stores import Filters, ImageRecord
from image_search.stores.embedded import faiss_index
from image_search.stores.embedded import store as embedded
from image_search.stores.embedded.faiss_index import IndexState
from image_search.stores.embedded.options import AnnParams
from image_search.stores.embedded.store import EmbeddedStore

DIM = 32


def vectors(n, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(10, DIM))
    v = centres[rng.integers(0, 10, n)] + 0.3 * rng.normal(size=(n, DIM))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def records(start, n, folder="/p"):
    return [
        ImageRecord(
            path=f"{folder}/{i}.jpg",
            root=folder,
            size=1,
            mtime_ns=1,
            width=100 + i,
            height=100,
            taken_at=float(i),
            format="JPEG",
        )
        for i in range(start, start + n)
    ]


def open_store(path):
    store = EmbeddedStore(path, AnnParams(threshold=50))
    store.claim("m", DIM)
    return store


@pytest.fixture
def ann(tmp_path):
    """An HNSW store of 500 vectors, and the vectors by path."""
    store = open_store(tmp_path)
    data = vectors(500)
    store.upsert(records(0, 500), data)
    store.flush()
    return store, data


def exact_top(data, query, k, rows=None):
    rows = np.arange(len(data)) if rows is None else rows
    return {f"/p/{i}.jpg" for i in rows[np.argsort(-(data[rows] @ query))[:k]]}


def found(store, query, k=10, filters=None):
    return {h.record.path for h in store.knn(query, k, filters)}


def test_hnsw_results_match_exact(ann):
    store, data = ann
    assert "HNSW" in store.stats()["kind"]
    queries = vectors(20, seed=1)
    recall = np.mean([len(found(store, q) & exact_top(data, q, 10)) / 10 for q in queries])
    assert recall >= 0.95


def test_small_store_is_exact(tmp_path):
    store = EmbeddedStore(tmp_path)
    store.claim("m", DIM)
    data = vectors(100)
    store.upsert(records(0, 100), data)
    assert "exact" in store.stats()["kind"]
    assert found(store, data[7]) == exact_top(data, data[7], 10)


def test_adds_are_incremental(ann):
    store, _ = ann
    index = store._current_index()
    new = vectors(5, seed=2)
    store.upsert(records(1000, 5), new)
    assert store.knn(new[3], 1)[0].record.path == "/p/1003.jpg"
    assert store._index is index and index.ntotal == 505  # added to, not rebuilt


def test_deletes_are_tombstoned_then_rebuilt(ann):
    store, data = ann
    index = store._current_index()
    store.delete([r.id for r in records(0, 20)])
    hits = store.knn(data[3], 10)
    assert "/p/3.jpg" not in {h.record.path for h in hits} and len(hits) == 10
    assert store._index is index and len(store._tombstones) == 20
    store.flush()  # 20 of 500 is under the 10% rebuild fraction: kept
    assert store._index is index
    store.delete([r.id for r in records(20, 40)])
    store.flush()
    assert store._index is not index and not store._tombstones
    assert store._index.ntotal == 440 and "/p/30.jpg" not in found(store, data[30])


def test_replacing_a_vector_drops_the_old_one(ann):
    store, data = ann
    store.knn(data[0], 1)
    store.upsert(records(0, 1), data[1:2])  # same path, new vector
    assert [h.record.path for h in store.knn(data[1], 2)].count("/p/0.jpg") == 1
    assert store.count() == 500


def test_reloads_from_disk_without_rebuilding(ann, tmp_path, monkeypatch):
    store, data = ann
    store.close()
    monkeypatch.setattr(embedded.faiss_index, "new_index", lambda *a: pytest.fail("rebuilt"))
    again = open_store(tmp_path)
    assert "/p/5.jpg" in found(again, data[5])


def test_index_files_of_earlier_versions_load_without_rebuilding(ann, tmp_path, monkeypatch):
    store, data = ann
    store.close()
    path = tmp_path / "vectors.faiss"
    header, body = path.read_bytes().split(b"\n", 1)
    keys = json.loads(header)
    assert list(keys) == [
        "format",
        "store_id",
        "generation",
        "token",
        "max_rowid",
        "log_seq",
        "dim",
        "tombstones",
        "codec",
    ]  # the header the state dict was written as
    del keys["codec"]  # files from before codecs were float32
    del keys["token"]  # and from before generation tokens, whose databases had none either:
    with sqlite3.connect(tmp_path / "images.sqlite") as db:
        db.execute("DELETE FROM generations")
    path.write_bytes(json.dumps(keys).encode() + b"\n" + body)
    monkeypatch.setattr(embedded.faiss_index, "new_index", lambda *a: pytest.fail("rebuilt"))
    assert "/p/5.jpg" in found(open_store(tmp_path), data[5])


def test_index_state_header_round_trip_and_damage():
    state = IndexState(
        store_id="ab", generation=7, max_rowid=9, log_seq=3, dim=4, tombstones=[2, 5], codec="int8", trained_on=20
    )
    assert IndexState.from_header(state.header()) == state and state.header().endswith(b"}\n")
    assert IndexState.from_header(b'{"format": 2}') == IndexState(store_id=None, dim=0)  # unusable: rebuilt
    for damaged in (b"[1, 2]", b'{"format": 2, "tombstones": 5}', b'{"dim": [4]}', b"{half"):
        with pytest.raises(ValueError):
            IndexState.from_header(damaged)


def test_other_process_sees_writes_incrementally(ann, tmp_path):
    writer, data = ann
    reader = open_store(tmp_path)
    index = reader._current_index()
    new = vectors(3, seed=3)
    writer.upsert(records(2000, 3), new)
    writer.delete([records(0, 1)[0].id])
    assert reader.knn(new[0], 1)[0].record.path == "/p/2000.jpg"
    assert "/p/0.jpg" not in found(reader, data[0])
    assert reader._index is index


def test_damaged_or_stale_file_is_rebuilt(ann, tmp_path):
    store, data = ann
    store.close()
    (tmp_path / "vectors.faiss").write_bytes(b"not an index")
    again = open_store(tmp_path)
    assert "/p/9.jpg" in found(again, data[9])
    again.clear()
    again.claim("m", DIM)
    again.upsert(records(0, 3), data[:3])
    assert found(again, data[0], 10) == {"/p/0.jpg", "/p/1.jpg", "/p/2.jpg"}


@pytest.mark.parametrize("exact_limit", [0, 10_000])
def test_filters_inside_hnsw(ann, monkeypatch, exact_limit):
    store, data = ann
    monkeypatch.setattr(embedded, "EXACT_FILTER_LIMIT", exact_limit)
    store.delete([records(0, 1)[0].id])
    filters = Filters(min_width=400)  # rows 300..499
    hits = store.knn(data[0], 10, filters)
    assert len(hits) == 10 and all(h.record.width >= 400 for h in hits)
    expected = exact_top(data, data[0], 10, np.arange(300, 500))
    assert len({h.record.path for h in hits} & expected) >= 9


def test_old_schema_is_migrated(tmp_path):
    import sqlite3

    db = sqlite3.connect(tmp_path / "images.sqlite")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute(embedded.IMAGES_TABLE.replace(" AUTOINCREMENT", ""))
    db.execute(
        "INSERT INTO images VALUES (7, 'a', '/p/a.jpg', '/p', 1, 1, 1, 1, 0, 'JPEG', ?)",
        (np.ones(DIM, np.float32).tobytes(),),
    )
    db.execute("INSERT INTO meta VALUES ('dim', ?)", (str(DIM),))
    db.commit()
    db.close()
    store = EmbeddedStore(tmp_path)
    assert store.knn(np.ones(DIM, np.float32), 1)[0].record.path == "/p/a.jpg"


def test_config_reaches_the_store(tmp_path):
    from image_search import create_app

    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": tmp_path,
            "ANN_THRESHOLD": 5,
            "HNSW_M": 8,
            "HNSW_EF_SEARCH": 20,
            "HNSW_EF_CONSTRUCTION": 30,
            "TOMBSTONE_FRACTION": 0.5,
        }
    )
    ann = app.extensions["image_search"].store.ann
    assert (ann.threshold, ann.m, ann.ef_search, ann.ef_construction, ann.rebuild_fraction) == (5, 8, 20, 30, 0.5)


@pytest.mark.parametrize("codec", ["fp16", "int8"])
@pytest.mark.parametrize("threshold", [50, 10_000])  # HNSW, exact
def test_compact_codecs_rescore_exactly(tmp_path, codec, threshold):
    store = EmbeddedStore(tmp_path, AnnParams(threshold=threshold, codec=codec))
    store.claim("m", DIM)
    data = vectors(500)
    store.upsert(records(0, 20), data[:20])  # int8 first learns ranges from 20 vectors...
    store.knn(data[0], 1)
    store.upsert(records(20, 480), data[20:])
    store.flush()  # ...and again from all 500
    assert store._state.trained_on in (None, 500)  # None: fp16 needs no training
    assert codec in store.stats()["kind"]
    for q in vectors(10, seed=4):
        hits = store.knn(q, 10)
        assert len({h.record.path for h in hits} & exact_top(data, q, 10)) >= 9
        assert all(abs(h.score - data[int(h.record.name[:-4])] @ q) < 1e-5 for h in hits)  # exact scores


def test_unset_threshold_follows_the_dimension(tmp_path, monkeypatch):
    """Unset ANN_THRESHOLD: exact while a scan reads at most EXACT_SCAN_FLOATS, so wider vectors go HNSW sooner."""
    from image_search.stores.embedded import options

    assert AnnParams().exact_limit(512) == 195_312 and AnnParams().exact_limit(2280) == 43_859
    assert AnnParams(threshold=7).exact_limit(2280) == 7
    monkeypatch.setattr(options, "EXACT_SCAN_FLOATS", 50 * DIM)  # 50 vectors of DIM
    store = EmbeddedStore(tmp_path, AnnParams())
    store.claim("m", DIM)
    store.upsert(records(0, 50), vectors(50))
    store.flush()
    assert not faiss_index.is_hnsw(store._index)
    store.upsert(records(50, 450), vectors(500)[50:])
    store.flush()
    assert faiss_index.is_hnsw(store._index) and "HNSW" in store.stats()["kind"]


@pytest.mark.parametrize("threshold", [None, 50])  # exact (IndexFlatIP) and HNSW
def test_rowid_bitmap_selects_the_same_hits_as_a_batch_of_ids(tmp_path, threshold):
    """Filters reach faiss as a bitmap of rowids: exactly the hits a selector of the same ids gives."""
    store = EmbeddedStore(tmp_path, AnnParams(threshold=threshold))
    store.claim("m", DIM)
    store.upsert(records(0, 300), vectors(300))
    store.delete([r.id for r in records(0, 300)[::7]])  # rowids with gaps
    store.flush()
    index = store._current_index()
    allowed = np.array([r for r in range(1, 301) if r % 3 and r % 7 != 1], dtype=np.int64)
    bitmap = faiss_index.id_bitmap(allowed)
    assert [bitmap.is_member(int(i)) for i in range(0, 320)] == [i in set(allowed) for i in range(0, 320)]
    for query in vectors(5, seed=9):
        got = index.search(query[None], 20, params=faiss_index.search_params(index, store.ann, bitmap, 20))
        want = index.search(
            query[None], 20, params=faiss_index.search_params(index, store.ann, faiss.IDSelectorBatch(allowed), 20)
        )
        assert got[1].tolist() == want[1].tolist() and set(got[1][0]) <= set(allowed)
    store.close()
