import io

import pytest
from PIL import Image

from image_search import create_app
from tests.conftest import first_tile_name
from tests.photos import image_bytes, solid

# Also on the real cluster (tests/es_cluster.py), besides the embedded store and the fake.
pytestmark = pytest.mark.real_es


def upload(client, data: bytes, name="query.png"):
    return client.post("/search/image", data={"image": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_upload_redirects_to_a_stable_results_url(indexed, client, tmp_path):
    response = upload(client, image_bytes(solid((220, 10, 10))))
    assert response.status_code == 303
    url = response.headers["Location"]
    assert url.startswith("/search/image/")
    page = client.get(url).get_data(as_text=True)
    assert first_tile_name(page) == "red.jpg"
    assert client.get(url + "?page=2").status_code == 200
    assert not list(tmp_path.rglob("query.png"))  # never written to disk


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"<html><script>alert(1)</script></html>", "not a usable image"),
        (image_bytes(solid((1, 2, 3)), "JPEG")[:300], "not a usable image"),
    ],
)
def test_bad_uploads_are_400(indexed, client, data, message):
    response = upload(client, data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_decompression_bomb_is_400(indexed, client, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    response = upload(client, image_bytes(solid((1, 2, 3), size=(100, 100))))
    assert response.status_code == 400 and "too large" in response.get_data(as_text=True)


def test_upload_over_the_limit_is_413(tmp_path, embedder):
    app = create_app(
        {"TESTING": True, "DATA_DIR": tmp_path, "EMBEDDER": embedder, "WTF_CSRF_ENABLED": False, "MAX_UPLOAD_MB": 0.01}
    )
    response = upload(app.test_client(), b"x" * 20000)
    assert response.status_code == 413 and "at most 0.01 MB" in response.get_data(as_text=True)


def test_missing_file_field_is_400(client):
    response = client.post("/search/image", data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Choose an image" in response.get_data(as_text=True)


def test_csrf_is_required(tmp_path, embedder):
    app = create_app({"TESTING": True, "DATA_DIR": tmp_path, "EMBEDDER": embedder})
    response = upload(app.test_client(), image_bytes(solid((1, 2, 3))))
    assert response.status_code == 400 and "reload the page" in response.get_data(as_text=True)
    client = app.test_client()
    form = client.get("/search/image").get_data(as_text=True)
    token = form.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        "/search/image",
        data={"csrf_token": token, "image": (io.BytesIO(image_bytes(solid((1, 2, 3)))), "q.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303


def test_upload_with_words_keeps_them_in_the_results_url(indexed, client):
    response = client.post(
        "/search/image",
        data={"image": (io.BytesIO(image_bytes(solid((0, 0, 250)))), "q.png"), "q": "3:green"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("?q=3:green")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert first_tile_name(page) == "green.png" and "Images like your picture + “3:green”" in page
    response = client.post(
        "/search/image",
        data={"image": (io.BytesIO(image_bytes(solid((0, 0, 250)))), "q.png"), "q": "dog +"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "Part 2 of the query is empty" in response.get_data(as_text=True)


def test_upload_with_only_negative_words(indexed, client):
    """The upload page suggests "-people": beside an image, the image is the positive part."""
    response = client.post(
        "/search/image",
        data={"image": (io.BytesIO(image_bytes(solid((0, 0, 250)))), "q.png"), "q": "-green"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("?q=-green")
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and first_tile_name(page.get_data(as_text=True)) != "green.png"
    response = client.post(
        "/api/search",
        data={"image": (io.BytesIO(image_bytes(solid((0, 0, 250)))), "q.png"), "q": "-green", "k": "2"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and response.get_json()["hits"]
