import shutil

from image_search.indexing.plan import plan_run
from image_search.indexing.run import run_plan
from image_search.service.duplicates import find_duplicates
from image_search.stores.embedded.store import EmbeddedStore
from tests.photos import solid


def test_groups_near_duplicates_transitively_and_leaves_the_rest_out(tmp_path, photo_dir, embedder):
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
    """A running indexer may delete a record between iter_records and get_vector: no crash, no group for it."""
    shutil.copy(photo_dir / "red.jpg", photo_dir / "nested" / "red copy.jpg")
    store = EmbeddedStore(tmp_path / "store")
    run_plan(store, embedder, plan_run(store, [photo_dir]))
    gone = next(r.id for r in store.iter_records() if r.name == "red copy.jpg")
    real = store.get_vector
    monkeypatch.setattr(store, "get_vector", lambda image_id: None if image_id == gone else real(image_id))
    names = [[r.name for r in g.records] for g in find_duplicates(store, threshold=0.99)]
    assert names == [["transparent.png", "white.bmp"]]
