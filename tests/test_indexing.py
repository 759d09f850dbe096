import os

import pytest

from image_search.indexing.plan import plan_run
from image_search.indexing.run import run_plan
from image_search.indexing.walk import in_shard, walk_images
from image_search.stores.embedded.store import EmbeddedStore

# Also on the real cluster (tests/es_cluster.py), besides the embedded store and the fake.
pytestmark = pytest.mark.real_es


def test_walk_finds_every_pillow_format_and_ignores_other_files(photo_dir):
    found = {os.path.basename(p) for p in walk_images(photo_dir, [])}
    assert found == {
        "red.jpg",
        "green.png",
        "blue.webp",
        "yellow.gif",
        "transparent.png",
        "black.tiff",
        "white.bmp",
        "broken.jpg",
        "empty.png",
    }


def test_symlink_loops_are_not_followed(photo_dir):
    (photo_dir / "nested" / "loop").symlink_to(photo_dir, target_is_directory=True)
    assert len(list(walk_images(photo_dir, []))) == 9


def test_records_carry_metadata(tmp_path, photo_dir, embedder):
    store = EmbeddedStore(tmp_path / "store")
    report = run_plan(store, embedder, plan_run(store, [photo_dir]), batch_size=2)
    assert report.added == 7 and len(report.skipped) == 2
    red = next(r for r in store.iter_records() if r.name == "red.jpg")
    assert (red.width, red.height, red.format, red.root) == (64, 48, "JPEG", str(photo_dir))
    assert red.taken_at == os.stat(red.path).st_mtime_ns / 1e9
    assert red.relative_path == "red.jpg"


def test_gif_first_frame_and_transparency_on_white(tmp_path, photo_dir, embedder):
    store = EmbeddedStore(tmp_path / "store")
    run_plan(store, embedder, plan_run(store, [photo_dir]))
    by_name = {r.name: store.get_vector(r.id) for r in store.iter_records()}
    yellow_text, white_text = embedder.embed_texts(["yellow", "white"])
    assert by_name["yellow.gif"] @ yellow_text > 0.99  # first frame, not the black second one
    assert by_name["transparent.png"] @ white_text > 0.99


def test_shards_partition_paths():
    paths = [f"/p/{i}.jpg" for i in range(200)]
    shares = [[p for p in paths if in_shard(p, (i, 4))] for i in range(4)]
    assert sorted(sum(shares, [])) == sorted(paths)
    assert all(20 < len(s) < 80 for s in shares)


class RefusingStore(EmbeddedStore):
    """Test double: an embedded store that refuses every PNG, as Elasticsearch may refuse documents."""

    def upsert(self, records, vectors):
        from image_search.errors import WriteFailures

        keep = [i for i, r in enumerate(records) if r.format != "PNG"]
        super().upsert([records[i] for i in keep], vectors[keep])
        refused = {r.path: "mapper_parsing_exception" for r in records if r.format == "PNG"}
        if refused:
            raise WriteFailures(refused, len(keep))


def test_refused_documents_are_reported_and_the_rest_is_kept(tmp_path, photo_dir, embedder):
    store = RefusingStore(tmp_path / "store")
    report = run_plan(store, embedder, plan_run(store, [photo_dir]))
    assert report.added == 5 and store.count() == 5
    assert (str(photo_dir / "green.png"), "not stored: mapper_parsing_exception") in report.skipped


def test_images_are_shrunk_to_the_models_input_size_in_the_workers(tmp_path, embedder):
    from tests.photos import solid

    folder = tmp_path / "big"
    folder.mkdir()
    solid((200, 30, 30), size=(400, 300)).save(folder / "wide.jpg", "JPEG")
    solid((30, 30, 200), size=(60, 80)).save(folder / "small.png", "PNG")
    seen, embed = [], embedder.embed_images
    embedder.input_size = 32
    embedder.embed_images = lambda images: seen.extend(im.size for im in images) or embed(images)
    store = EmbeddedStore(tmp_path / "store")
    run_plan(store, embedder, plan_run(store, [folder]))
    assert sorted(seen) == [(32, 43), (42, 32)]  # shorter side 32, aspect kept
    assert {(r.width, r.height) for r in store.iter_records()} == {(400, 300), (60, 80)}  # originals


def test_at_most_two_batches_of_pixels_in_memory(tmp_path, embedder, monkeypatch):
    from image_search.indexing import run as indexing
    from tests.photos import solid

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(40):
        solid((i, 0, 0), size=(8, 8)).save(folder / f"{i:02}.png")
    decoded, ahead, decode = [0], [], indexing._decode

    def counting_decode(*args):
        decoded[0] += 1
        return decode(*args)

    def embed(images, inner=embedder.embed_images):
        ahead.append(decoded[0] - embedder.image_calls)  # decoded but not yet embedded
        return inner(images)

    monkeypatch.setattr(indexing, "_decode", counting_decode)
    embedder.embed_images = embed
    store = EmbeddedStore(tmp_path / "store")
    plan = plan_run(store, [folder])
    assert all(isinstance(c.path, str) for c in plan.todo)  # the plan holds paths, not pixels
    run_plan(store, embedder, plan, batch_size=4)
    assert embedder.image_calls == 40 and max(ahead) <= 8


def test_index_paths_tells_its_progress_and_saves_the_run(app, photo_dir):
    from image_search.indexing import IndexOptions, IndexProgress
    from image_search.indexing.report import load_last_run

    class Recorder(IndexProgress):
        def __init__(self):
            self.started, self.batches = None, []

        def on_start(self, total, model_id, store_kind):
            self.started = (total, model_id, store_kind)

        def on_batch(self, n):
            self.batches.append(n)

    progress = Recorder()
    report = app.extensions["image_search"].index_paths([photo_dir], IndexOptions(batch_size=4), progress)
    total, model_id, store_kind = progress.started  # 9 files to try: 7 photos, a broken and an empty one
    assert (total, model_id) == (9, "test-colour-v1") and store_kind.startswith(app.config["STORE"])
    assert progress.batches == [4, 4, 1]
    assert report.added == 7 and load_last_run(app.config["DATA_DIR"])["added"] == 7


def test_planning_compares_the_walk_with_the_store_a_chunk_at_a_time(tmp_path, photo_dir, embedder, monkeypatch):
    from image_search.indexing import plan as planning

    store = EmbeddedStore(tmp_path / "store")
    run_plan(store, embedder, plan_run(store, [photo_dir]))
    asked: list[int] = []
    known_files = store.known_files

    def counting(paths):
        asked.append(len(paths))
        return known_files(paths)

    def every_record():
        raise AssertionError("planning read every record")

    monkeypatch.setattr(planning, "PLAN_CHUNK", 3)
    monkeypatch.setattr(store, "known_files", counting)
    monkeypatch.setattr(store, "iter_records", every_record)
    os.utime(photo_dir / "red.jpg", ns=(1, 1))
    plan = plan_run(store, [photo_dir, photo_dir / "red.jpg", photo_dir])  # overlapping roots: each file once
    assert plan.unchanged == 6 and [c.path for c in plan.todo if c.known] == [str(photo_dir / "red.jpg")]
    assert len(plan.todo) == 3 and sum(asked) == 9 and max(asked) == 3  # 7 photos, a broken and an empty file


def test_a_removed_folder_is_pruned_and_a_file_root_too(tmp_path, photo_dir, embedder):
    import shutil

    store = EmbeddedStore(tmp_path / "store")
    sub = photo_dir / "sub"
    sub.mkdir()
    shutil.copy(photo_dir / "red.jpg", sub / "red-again.jpg")
    run_plan(store, embedder, plan_run(store, [photo_dir]))
    assert store.count() == 8
    shutil.rmtree(sub)
    (photo_dir / "green.png").unlink()
    plan = plan_run(store, [sub, photo_dir / "green.png"], prune=True)  # both gone: walked as nothing
    assert not plan.todo and not plan.skipped and len(plan.gone_ids) == 2
    run_plan(store, embedder, plan)
    assert store.count() == 6


def test_distinct_roots_drop_those_inside_another_and_repeats():
    from pathlib import Path

    from image_search.indexing.plan import distinct_roots, indexed_folder

    roots = ["/p/a", "/p/a/b/c.jpg", "/p/ab", "/p/a", "/p/a/../ab/d.jpg", "/q/x.jpg"]
    assert distinct_roots(roots) == [Path("/p/a"), Path("/p/ab"), Path("/q/x.jpg")]
    assert indexed_folder(Path("/p/a/b/c.jpg"), ("/p", "/p/a")) == "/p/a"  # the innermost watched folder
    assert indexed_folder(Path("/p/ab/c.jpg"), ("/p/a",)) == "/p/ab"  # not inside it: its own folder
