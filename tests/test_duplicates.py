import shutil
import uuid

import faiss
import numpy as np
import pytest

from image_search.indexing.plan import plan_run
from image_search.indexing.run import run_plan
from image_search.service.duplicates import find_duplicates
from image_search.settings import load_settings
from image_search.stores.base import ImageRecord, VectorStore
from image_search.stores.elasticsearch.store import ElasticsearchStore
from image_search.stores.embedded.store import EmbeddedStore
from tests.photos import solid
from tests.reference_duplicates import per_image_duplicates


def test_groups_near_duplicates_and_leaves_the_rest_out(tmp_path, photo_dir, embedder):
    shutil.copy(photo_dir / "red.jpg", photo_dir / "nested" / "red copy.jpg")
    solid((225, 30, 25)).save(photo_dir / "red-edited.png")
    store = EmbeddedStore(tmp_path / "store")
    run_plan(store, embedder, plan_run(store, [photo_dir]))
    groups = find_duplicates(store, threshold=0.99)
    names = [[r.name for r in g.records] for g in groups]
    assert names == [["red copy.jpg", "red-edited.png", "red.jpg"], ["transparent.png", "white.bmp"]]
    assert 0.99 <= groups[0].similarity < 1.0
    assert groups[0].total_size == sum(r.size for r in groups[0].records)
    assert find_duplicates(store, threshold=1.0 - 1e-6)[0].records[0].name == "red copy.jpg"


def test_nothing_indexed_no_groups(tmp_path):
    assert find_duplicates(EmbeddedStore(tmp_path / "store"), 0.95) == []


def test_an_image_pruned_while_grouping_is_left_out(tmp_path, photo_dir, embedder, monkeypatch):
    """A running indexer may delete a record during the pass: no crash, no group for it. (The stores read
    records and vectors together; the generic iter_vectors asks per id, as the former method did.)"""
    shutil.copy(photo_dir / "red.jpg", photo_dir / "nested" / "red copy.jpg")
    store = EmbeddedStore(tmp_path / "store")
    run_plan(store, embedder, plan_run(store, [photo_dir]))
    gone = next(r.id for r in store.iter_records() if r.name == "red copy.jpg")
    real = store.get_vector
    monkeypatch.setattr(store, "get_vector", lambda image_id: None if image_id == gone else real(image_id))
    monkeypatch.setattr(store, "iter_vectors", lambda chunk=3: VectorStore.iter_vectors(store, chunk))
    names = [[r.name for r in g.records] for g in find_duplicates(store, threshold=0.99)]
    assert names == [["transparent.png", "white.bmp"]]


@pytest.fixture
def one_thread():
    """The former method's many one-query searches: faiss's thread fork/join dominates on busy cores."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


def clustered(n: int, dim: int = 16, seed: int = 3) -> np.ndarray:
    """Unit vectors in tight clusters of 1 to 12 (near-duplicates) among scattered ones."""
    rng = np.random.default_rng(seed)
    rows = []
    while len(rows) < n:
        centre = rng.normal(size=dim)
        for _ in range(int(rng.integers(1, 13))):
            rows.append(centre + rng.normal(scale=rng.choice([0.05, 0.15, 0.3]), size=dim))
    vectors = np.asarray(rows[:n], dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize(
    ("kind", "n", "thresholds"),
    [
        ("embedded", 400, (0.9, 0.97, 0.995)),
        ("es-fake", 60, (0.95,)),
        ("es-real", 60, (0.95,)),
    ],
)
def test_the_bulk_pass_finds_the_groups_of_one_knn_per_image(kind, n, thresholds, tmp_path, request, one_thread):
    if kind == "embedded":
        store: VectorStore = EmbeddedStore(tmp_path / "store")
    else:  # the former method's 10 requests per image are slow over HTTP: fewer images there
        if kind == "es-real":
            config = request.getfixturevalue("es_cluster").config("dups")
        else:
            config = {"ES_URL": request.getfixturevalue("fake_es").url, "ES_INDEX": f"dups-{uuid.uuid4().hex[:8]}"}
        # The reference's kNN scores exact (int8_hnsw, the default index, rescored from the float vectors),
        # as the bulk pass's are: unrescored quantised scores move pairs across the threshold.
        config["ES_RESCORE_OVERSAMPLE"] = "2"
        store = ElasticsearchStore.from_options(load_settings(config).elasticsearch)
    vectors = clustered(n)
    records = [ImageRecord(f"/p/{i:03d}.jpg", "/p", 1000 + i, 0, 10, 10, 0.0, "JPEG") for i in range(n)]
    store.claim("m", 16)
    store.upsert(records, vectors)
    store.flush()
    try:
        for threshold in thresholds:
            bulk, reference = find_duplicates(store, threshold), per_image_duplicates(store, threshold)
            assert len(bulk) >= 3
            assert [[r.id for r in g.records] for g in bulk] == [[r.id for r in g.records] for g in reference]
            assert all(abs(b.similarity - r.similarity) < 1e-5 for b, r in zip(bulk, reference, strict=True))
    finally:
        if kind != "embedded":
            store.clear()


def test_a_chain_of_similar_steps_does_not_join_unrelated_images(tmp_path):
    """Eight images 25° apart in turn: each is 0.91 like the next, the ends -0.5. At 0.6 every group holds
    only images all 0.6 alike (transitive linking made one group of all eight)."""
    angles = np.radians(25.0 * np.arange(8))
    vectors = np.zeros((8, 16), dtype=np.float32)
    vectors[:, 0], vectors[:, 1] = np.cos(angles), np.sin(angles)
    store = EmbeddedStore(tmp_path / "store")
    store.claim("m", 16)
    store.upsert([ImageRecord(f"/p/{i}.jpg", "/p", 1000, 0, 10, 10, 0.0, "JPEG") for i in range(8)], vectors)
    groups = find_duplicates(store, threshold=0.6)
    assert groups and all(len(g.records) <= 3 for g in groups)
    for g in groups:
        rows = [int(r.name.split(".")[0]) for r in g.records]
        pairwise = vectors[rows] @ vectors[rows].T
        assert pairwise.min() >= 0.6 - 1e-6 and abs(g.similarity - pairwise.min()) < 1e-5


def test_the_suggested_keeper_has_the_most_pixels_then_the_largest_file():
    from image_search.service.duplicates import DuplicateGroup

    small = ImageRecord("/p/a-small.jpg", "/p", 9000, 0, 320, 240, 5.0, "JPEG")
    big_light = ImageRecord("/p/b.jpg", "/p", 2000, 0, 1024, 768, 9.0, "JPEG")
    big_heavy = ImageRecord("/p/c.png", "/p", 8000, 0, 1024, 768, 9.0, "PNG")
    big_heavy_older = ImageRecord("/p/d/z.png", "/p", 8000, 0, 1024, 768, 1.0, "PNG")
    assert DuplicateGroup([small, big_light, big_heavy], 0.99).suggested_keeper is big_heavy
    assert DuplicateGroup([big_heavy, big_heavy_older], 0.99).suggested_keeper is big_heavy_older
    assert DuplicateGroup([big_heavy, small], 0.99).key == min(big_heavy.id, small.id)
