"""POST /api/selection: the selection's zip for scripts (JSON ids, no form token), errors as {"error": ...}."""

from __future__ import annotations

import io
import zipfile

import pytest

from tests.conftest import id_of


def test_the_zip_of_ids_sent_as_json(indexed, client, photo_dir):
    ids = [id_of(indexed, photo_dir / n) for n in ("red.jpg", "nested/blue.webp")]
    response = client.post("/api/selection", json={"ids": ids})
    assert response.status_code == 200 and response.mimetype == "application/zip" and response.is_streamed
    assert zipfile.ZipFile(io.BytesIO(response.data)).namelist() == ["red.jpg", "nested/blue.webp"]


@pytest.mark.parametrize(
    "body, status, says",
    [
        ({"ids": []}, 400, "Select at least one image."),
        ({"ids": ["0" * 20]}, 404, "1 selected image is not indexed ('00000000000000000000')"),
        ({"ids": "red.jpg"}, 400, 'Send JSON {"ids": ["IMAGE_ID", ...]}'),
        ({"ids": [1, 2]}, 400, 'Send JSON {"ids": ["IMAGE_ID", ...]}'),
        ({}, 400, 'Send JSON {"ids": ["IMAGE_ID", ...]}'),
        ([], 400, 'Send JSON {"ids": ["IMAGE_ID", ...]}'),
    ],
)
def test_bad_bodies_get_a_json_error(indexed, client, body, status, says):
    response = client.post("/api/selection", json=body)
    assert response.status_code == status and says in response.get_json()["error"]


def test_broken_json_says_what_this_route_takes(indexed, client):
    response = client.post("/api/selection", data="{oops", content_type="application/json")
    assert response.status_code == 400 and 'not valid JSON. Send JSON {"ids"' in response.get_json()["error"]


def test_over_the_cap_is_a_json_413(make_app, photo_dir):
    app = make_app(MAX_DOWNLOAD_MB=0.0001)
    assert app.test_cli_runner().invoke(args=["index", str(photo_dir)]).exit_code == 0
    response = app.test_client().post("/api/selection", json={"ids": [id_of(app, photo_dir / "white.bmp")]})
    assert response.status_code == 413 and "MAX_DOWNLOAD_MB" in response.get_json()["error"]
