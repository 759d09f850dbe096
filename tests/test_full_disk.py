"""A full disk (ENOSPC, simulated where the app writes), and the thumbnail cache's life: one-line errors,
nothing half-written left behind, thumbnails served uncached, none kept for images no longer indexed."""

import errno
import os

import pytest

import image_search.indexing.report
import image_search.thumbnails
from image_search import atomic
from tests.conftest import id_of, store_of
from tests.photos import image_bytes, solid


def fill_the_disk(monkeypatch, module) -> list[str]:
    """module's atomic_write now runs out of space halfway through writing its temporary file."""
    failed: list[str] = []

    def write_until_full(path, write, **kwargs):
        def half_then_full(tmp: str) -> None:
            with open(tmp, "wb") as f:
                f.write(b"half a file")
            failed.append(tmp)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), tmp)

        return atomic.atomic_write(path, half_then_full, **kwargs)

    monkeypatch.setattr(module, "atomic_write", write_until_full)
    return failed


def temporary_files(folder) -> list:
    return [p for p in folder.rglob("*") if ".tmp" in p.name]


def cached(app, image_id) -> list:
    return sorted((app.config["DATA_DIR"] / "thumbnails").rglob(f"{image_id}-*.jpg"))


def test_a_thumbnail_that_cannot_be_cached_is_served_from_memory(indexed, client, photo_dir, monkeypatch):
    red_id = id_of(indexed, photo_dir / "red.jpg")
    failed = fill_the_disk(monkeypatch, image_search.thumbnails)
    response = client.get(f"/thumbnail/{red_id}")
    assert response.status_code == 200 and response.mimetype == "image/jpeg", response.get_data(as_text=True)
    assert response.data[:2] == b"\xff\xd8" and failed
    assert cached(indexed, red_id) == [] and temporary_files(indexed.config["DATA_DIR"]) == []
    monkeypatch.undo()  # space again: now it is cached
    assert client.get(f"/thumbnail/{red_id}").status_code == 200 and len(cached(indexed, red_id)) == 1


def test_a_full_disk_while_saving_the_run_is_one_line_and_leaves_nothing(app, runner, photo_dir, monkeypatch):
    failed = fill_the_disk(monkeypatch, image_search.indexing.report)
    result = runner.invoke(args=["index", str(photo_dir)])
    assert result.exit_code == 1 and failed
    assert result.output.splitlines()[-1] == f"Error: cannot write {failed[0]}: No space left on device"
    assert "Traceback" not in result.output
    assert temporary_files(app.config["DATA_DIR"]) == []
    assert store_of(app).count() == 7  # the batches were written before


def test_a_full_disk_while_saving_the_vector_index_leaves_nothing(make_app, photo_dir, monkeypatch, store_config):
    if store_config["STORE"] != "embedded":
        pytest.skip("the faiss file is the embedded store's")
    from image_search.stores.embedded import faiss_index

    app = make_app()
    failed = fill_the_disk(monkeypatch, faiss_index)
    result = app.test_cli_runner().invoke(args=["index", str(photo_dir)])
    assert result.exit_code == 0, result.output  # the index file is a cache: searches rebuild it from SQLite
    assert failed and temporary_files(app.config["DATA_DIR"]) == []
    assert app.test_client().get("/api/search?q=red").get_json()["hits"]


def test_a_deleted_originals_thumbnail_is_not_served_and_is_deleted(indexed, client, photo_dir):
    red_id = id_of(indexed, photo_dir / "red.jpg")
    assert client.get(f"/thumbnail/{red_id}").status_code == 200 and cached(indexed, red_id)
    (photo_dir / "red.jpg").unlink()
    assert client.get(f"/thumbnail/{red_id}").status_code == 404
    assert cached(indexed, red_id) == []


def test_pruned_and_replaced_images_lose_their_cached_thumbnails(indexed, client, runner, photo_dir):
    red_id, green_id = id_of(indexed, photo_dir / "red.jpg"), id_of(indexed, photo_dir / "green.png")
    for image_id in (red_id, green_id):
        assert client.get(f"/thumbnail/{image_id}").status_code == 200
    (photo_dir / "red.jpg").unlink()
    (photo_dir / "green.png").write_bytes(image_bytes(solid((0, 90, 0)), "PNG"))
    os.utime(photo_dir / "green.png", ns=(1, 1))
    result = runner.invoke(args=["index", "--prune", str(photo_dir)])
    assert result.exit_code == 0 and "1 updated" in result.output and "1 pruned" in result.output
    assert cached(indexed, red_id) == [] and cached(indexed, green_id) == []
    assert client.get(f"/thumbnail/{green_id}").status_code == 200
    assert [p.name for p in cached(indexed, green_id)] == [f"{green_id}-1.jpg"]


def test_a_rebuild_keeps_only_the_thumbnails_of_what_it_indexed(indexed, client, runner, photo_dir):
    red_id, blue_id = id_of(indexed, photo_dir / "red.jpg"), id_of(indexed, photo_dir / "nested" / "blue.webp")
    for image_id in (red_id, blue_id):
        assert client.get(f"/thumbnail/{image_id}").status_code == 200
    result = runner.invoke(args=["index", "--rebuild", str(photo_dir / "nested")])
    assert result.exit_code == 0, result.output
    assert cached(indexed, red_id) == [] and len(cached(indexed, blue_id)) == 1
