import io

import numpy as np
import pytest

from tests.conftest import id_of
from tests.photos import image_bytes, solid


def test_search_by_text_shape(indexed, client, photo_dir):
    body = client.get("/api/search?q=green&k=2").get_json()
    assert body["model"] == "test-colour-v1" and isinstance(body["took_ms"], float)
    assert len(body["hits"]) == 2
    best = body["hits"][0]
    assert best["path"] == str(photo_dir / "green.png")
    assert set(best) == {"id", "path", "score", "taken_at", "thumbnail_url"}
    assert best["thumbnail_url"] == f"/thumbnail/{best['id']}"
    assert body["hits"][0]["score"] >= body["hits"][1]["score"]


def test_search_by_image(indexed, client, photo_dir):
    response = client.post("/api/search", data={"image": (io.BytesIO(image_bytes(solid((0, 0, 250)))), "q.png"),
                                                "k": "1"}, content_type="multipart/form-data")
    assert response.get_json()["hits"][0]["path"] == str(photo_dir / "nested" / "blue.webp")


def test_similar(indexed, client, photo_dir):
    red_id = id_of(indexed, photo_dir / "red.jpg")
    hits = client.get(f"/api/similar/{red_id}?k=3").get_json()["hits"]
    assert len(hits) == 3 and red_id not in {h["id"] for h in hits}


def test_embed_texts_and_image(client):
    vectors = client.post("/api/embed", json={"texts": ["red", "blue"]}).get_json()["vectors"]
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5) and len(vectors) == 2
    body = client.post("/api/embed", data={"image": (io.BytesIO(image_bytes(solid((255, 0, 0)))), "q.png")},
                       content_type="multipart/form-data").get_json()
    assert body["model"] == "test-colour-v1" and np.dot(body["vectors"][0], vectors[0]) > 0.99


@pytest.mark.parametrize("method, url, kwargs", [
    ("get", "/api/search?q=", {}), ("get", "/api/search?q=red&k=0", {}), ("get", "/api/search?q=red&k=x", {}),
    ("get", "/api/search?q=red&k=100000", {}), ("post", "/api/search", {"data": {}}),
    ("post", "/api/search", {"data": {"image": (io.BytesIO(b""), "e.png")}}),
    ("post", "/api/search", {"data": {"image": (io.BytesIO(b"GIF89a broken"), "b.gif")}}),
    ("post", "/api/embed", {"json": {"texts": []}}), ("post", "/api/embed", {"json": {"texts": [1]}}),
    ("post", "/api/embed", {"data": "not json", "content_type": "application/json"}),
    ("post", "/api/embed", {"json": {"texts": ["  "]}}),
])
def test_bad_requests_are_400_json(indexed, client, method, url, kwargs):
    response = getattr(client, method)(url, **kwargs)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]


def test_unknown_id_and_route_are_404_json(client):
    assert client.get("/api/similar/nope").get_json()["error"]
    assert client.get("/api/similar/nope").status_code == 404
    assert client.get("/api/nothing").status_code == 404 and client.get("/api/nothing").get_json()["error"]
