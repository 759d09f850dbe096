"""Selected results as a download (#15 item 10): the streamed zip of their originals, or their paths, by id only."""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import pytest

from image_search import create_app
from image_search.service import selection
from image_search.stores import ImageRecord
from tests.conftest import id_of, store_of
from tests.doubles.colour_embedder import ColourEmbedder
from tests.photos import image_bytes, solid


def post(client, *ids, **form):
    return client.post("/selection", data={"id": list(ids), **form})


def entries(response) -> dict[str, zipfile.ZipInfo]:
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.testzip() is None
    return {info.filename: info for info in archive.infolist()}


def test_the_zip_holds_the_selected_originals_streamed(indexed, client, photo_dir):
    names = ["red.jpg", "nested/black.tiff", "white.bmp"]
    response = post(client, *(id_of(indexed, photo_dir / n) for n in names))
    assert response.status_code == 200 and response.is_streamed and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == 'attachment; filename="images-3.zip"'
    got = entries(response)
    assert list(got) == names  # the selection's order, paths below the indexed folder, no README: nothing left out
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    for name in names:
        assert archive.read(name) == (photo_dir / name).read_bytes()
    assert got["red.jpg"].compress_type == zipfile.ZIP_STORED  # a JPEG is compressed already
    assert got["white.bmp"].compress_type == zipfile.ZIP_DEFLATED


def test_their_paths_as_text(indexed, client, photo_dir):
    ids = [id_of(indexed, photo_dir / n) for n in ("green.png", "red.jpg")]
    response = post(client, *ids, ids[0], action="paths")  # each once
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == f"{photo_dir / 'green.png'}\n{photo_dir / 'red.jpg'}\n"


def test_unknown_ids_refuse_the_whole_download_naming_no_path(indexed, client, photo_dir):
    red = id_of(indexed, photo_dir / "red.jpg")
    for action in ("zip", "paths"):
        response = post(client, red, "0" * 20, "../../etc/passwd", action=action)
        page = response.get_data(as_text=True)
        assert response.status_code == 404, page
        assert "2 selected images are not indexed" in page and "&#39;00000000000000000000&#39;" in page
        assert str(photo_dir) not in page and "red.jpg" not in page


@pytest.mark.parametrize(
    "form, status, says",
    [
        ({}, 400, "Select at least one image."),
        ({"id": ["", "  "]}, 400, "Select at least one image."),
        ({"id": [f"{i:020x}" for i in range(481)]}, 400, "Select at most 480 images at once."),
    ],
)
def test_an_empty_or_oversized_selection_is_a_clear_400(indexed, client, form, status, says):
    response = client.post("/selection", data=form)
    assert response.status_code == status and says in response.get_data(as_text=True)


def test_over_the_size_cap_is_a_413(make_app, runner, photo_dir, store_config):
    app = make_app(MAX_DOWNLOAD_MB=0.0001)  # about 100 bytes
    assert app.test_cli_runner().invoke(args=["index", str(photo_dir)]).exit_code == 0
    response = post(app.test_client(), id_of(app, photo_dir / "red.jpg"), id_of(app, photo_dir / "white.bmp"))
    page = response.get_data(as_text=True)
    assert response.status_code == 413 and "at most 0.0001 MB (MAX_DOWNLOAD_MB)" in page and "Select fewer" in page


def test_vanished_files_are_left_out_and_named_in_the_readme(indexed, client, photo_dir):
    ids = [id_of(indexed, photo_dir / n) for n in ("red.jpg", "green.png")]
    (photo_dir / "green.png").unlink()
    response = post(client, *ids)
    assert list(entries(response)) == ["red.jpg", "README.txt"]
    readme = zipfile.ZipFile(io.BytesIO(response.data)).read("README.txt").decode()
    assert "1 of the 2 selected images is not in this zip" in readme and f"{photo_dir / 'green.png'}: missing" in readme
    (photo_dir / "red.jpg").unlink()
    response = post(client, *ids)  # nothing left to send: a page, not an empty zip
    assert response.status_code == 404 and "None of the selected files can be read" in response.get_data(as_text=True)


def test_a_file_changed_after_the_check_is_left_out_not_sent_over_the_cap(indexed, photo_dir):
    service = indexed.extensions["image_search"]
    with indexed.test_request_context():
        download = service.selection_zip([id_of(indexed, photo_dir / n) for n in ("red.jpg", "green.png")])
        (photo_dir / "green.png").write_bytes(image_bytes(solid((20, 200, 30), size=(300, 300))))  # grown since
        data, count = b"".join(download.chunks), download.count
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert count == 2 and archive.namelist() == ["red.jpg", "README.txt"]
    assert "green.png: changed before its turn" in archive.read("README.txt").decode()


def test_a_file_moved_out_of_its_folder_by_a_link_is_left_out(indexed, client, photo_dir, tmp_path):
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(b"not for download")
    red = photo_dir / "red.jpg"
    red_id = id_of(indexed, red)
    red.unlink()
    red.symlink_to(outside)
    response = post(client, red_id, id_of(indexed, photo_dir / "green.png"))
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.namelist() == ["green.png", "README.txt"]
    assert "red.jpg: no longer inside an indexed folder" in archive.read("README.txt").decode()
    assert b"not for download" not in response.data


def test_a_post_without_the_forms_token_is_refused(tmp_path, photo_dir):
    app = create_app({"TESTING": True, "DATA_DIR": tmp_path / "data", "EMBEDDER": ColourEmbedder()})
    response = app.test_client().post("/selection", data={"id": ["x"]})
    assert response.status_code == 400 and "The form expired" in response.get_data(as_text=True)


def test_480_results_fit_in_one_download(make_app, photo_dir, tmp_path):
    """MAX_RESULTS, the most one results page's selection can hold (records written straight to the store)."""
    app = make_app()
    folder = tmp_path / "many"
    folder.mkdir()
    data = image_bytes(solid((200, 10, 10), size=(8, 8)), "JPEG")
    records = []
    for i in range(480):
        path = folder / f"{i:03d}.jpg"
        path.write_bytes(data)
        st = path.stat()
        records.append(ImageRecord(str(path), str(folder), st.st_size, st.st_mtime_ns, 8, 8, 0.0, "JPEG"))
    store = store_of(app)
    store.claim("test-colour-v1", 4)
    store.upsert(records, np.tile(np.float32([1, 0, 0, 0]), (480, 1)))
    store.flush()
    response = post(app.test_client(), *(r.id for r in records))
    assert response.status_code == 200 and len(entries(response)) == 480


# --- names inside the zip ------------------------------------------------------------------------
def record(path: str, root: str = "/photos") -> ImageRecord:
    return ImageRecord(path, root, 1, 1, 1, 1, 0.0, "JPEG")


def test_entry_names_never_climb_out_of_the_folder_they_unpack_into():
    assert selection.entry_name(record("/photos/a/../../etc/passwd")) == "a/etc/passwd"
    assert selection.entry_name(record("/photos//./b.jpg")) == "b.jpg"
    assert selection.entry_name(record("/photos/new\nline.jpg")) == "new_line.jpg"
    assert selection.entry_name(record("/elsewhere/c.jpg")) == "c.jpg"  # not under its root: the name alone


def test_entry_names_are_made_unique_in_any_case():
    taken: set[str] = set()
    names = [selection.unique_name(n, taken) for n in ("a/x.jpg", "a/X.JPG", "a/x.jpg", "noext", "noext", "README.txt")]
    assert names == ["a/x.jpg", "a/X (2).JPG", "a/x (3).jpg", "noext", "noext (2)", "README (2).txt"]


def test_the_stream_writes_a_valid_zip_in_pieces(tmp_path, monkeypatch):
    monkeypatch.setattr(selection, "READ_CHUNK", 1000)
    big = tmp_path / "big.png"
    big.write_bytes(os.urandom(5000))
    st = big.stat()
    entry = selection.Entry(ImageRecord(str(big), str(tmp_path), st.st_size, st.st_mtime_ns, 1, 1, 0.0, "PNG"),
                            "big.png", st.st_size, st.st_mtime_ns)  # fmt: skip
    pieces = list(selection.stream(selection.ZipPlan([entry])))
    assert len([p for p in pieces if p]) >= 5  # sent as it is read, not built whole first
    assert zipfile.ZipFile(io.BytesIO(b"".join(pieces))).read("big.png") == big.read_bytes()


def test_without_script_the_grid_is_a_form_posting_ticked_ids(indexed, client, photo_dir):
    """The checkboxes belong to the selection form (form=selection), which posts with the page's token."""
    page = client.get("/search?q=red").get_data(as_text=True)
    assert '<form class="selection" id="selection" method="post" action="/selection"' in page
    red = id_of(indexed, photo_dir / "red.jpg")
    assert f'<input type="checkbox" name="id" value="{red}" form="selection"' in page
    assert 'name="csrf_token"' in page.split('id="selection"', 1)[1].split("</form>", 1)[0]
    assert '<button type="submit" name="action" value="zip">' in page and 'value="paths"' in page


def test_downloads_at_once_are_limited_and_each_gives_its_place_back(indexed, client, photo_dir, monkeypatch):
    """Each streaming download holds a request thread while its client reads: at most DOWNLOADS_AT_ONCE."""
    import threading

    service = indexed.extensions["image_search"]
    monkeypatch.setattr(selection, "DOWNLOADS_AT_ONCE", 1)
    monkeypatch.setattr(service, "_download_slots", threading.BoundedSemaphore(1))
    red = id_of(indexed, photo_dir / "red.jpg")
    waiting = client.post("/selection", data={"id": [red]}, buffered=False)  # not read yet: its place is held
    assert waiting.status_code == 200
    busy = post(client, red)
    assert busy.status_code == 503 and "1 download of selected images is under way" in busy.get_data(as_text=True)
    assert client.post("/api/selection", json={"ids": [red]}).status_code == 503
    waiting.close()  # the client went away before a byte: the place is given back all the same
    assert [post(client, red).status_code for _ in range(3)] == [200, 200, 200]  # read whole: each gives it back
    with indexed.test_request_context():
        download = service.selection_zip([red])
        b"".join(download.chunks)  # read to its end, never closed: the stream's end gave it back
    assert post(client, red).status_code == 200
