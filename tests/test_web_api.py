import io

import numpy as np
import pytest

from image_search import create_app
from image_search.service.params import MAX_SIDE
from image_search.web.api_fields import MAX_TEXTS
from tests.conftest import id_of
from tests.photos import image_bytes, solid

# Also on the real cluster (tests/es_cluster.py), besides the embedded store and the fake.
pytestmark = pytest.mark.real_es


def test_search_by_text_shape(indexed, client, photo_dir):
    body = client.get("/api/search?q=green&k=2").get_json()
    assert body["model"] == "test-colour-v1" and isinstance(body["took_ms"], float)
    assert len(body["hits"]) == 2
    best = body["hits"][0]
    assert best["path"] == str(photo_dir / "green.png")
    assert set(best) == {"id", "path", "score", "taken_at", "thumbnail_url", "by_name"}
    assert best["thumbnail_url"] == f"/thumbnail/{best['id']}"
    assert body["hits"][0]["score"] >= body["hits"][1]["score"]


def test_search_by_image(indexed, client, photo_dir):
    response = client.post(
        "/api/search",
        data={"image": (io.BytesIO(image_bytes(solid((0, 0, 250)))), "q.png"), "k": "1"},
        content_type="multipart/form-data",
    )
    assert response.get_json()["hits"][0]["path"] == str(photo_dir / "nested" / "blue.webp")


def test_similar(indexed, client, photo_dir):
    red_id = id_of(indexed, photo_dir / "red.jpg")
    hits = client.get(f"/api/similar/{red_id}?k=3").get_json()["hits"]
    assert len(hits) == 3 and red_id not in {h["id"] for h in hits}


def test_embed_texts_and_image(client):
    vectors = client.post("/api/embed", json={"texts": ["red", "blue"]}).get_json()["vectors"]
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5) and len(vectors) == 2
    body = client.post(
        "/api/embed",
        data={"image": (io.BytesIO(image_bytes(solid((255, 0, 0)))), "q.png")},
        content_type="multipart/form-data",
    ).get_json()
    assert body["model"] == "test-colour-v1" and np.dot(body["vectors"][0], vectors[0]) > 0.99


@pytest.mark.parametrize(
    "method, url, kwargs",
    [
        ("get", "/api/search?q=", {}),
        ("get", "/api/search?q=red&k=0", {}),
        ("get", "/api/search?q=red&k=x", {}),
        ("get", "/api/search?q=red&k=100000", {}),
        ("post", "/api/search", {"data": {}}),
        ("post", "/api/search", {"data": {"image": (b"", "e.png")}}),
        ("post", "/api/search", {"data": {"image": (b"GIF89a broken", "b.gif")}}),
        ("post", "/api/embed", {"json": {"texts": []}}),
        ("post", "/api/embed", {"json": {"texts": [1]}}),
        ("post", "/api/embed", {"data": "not json", "content_type": "application/json"}),
        ("post", "/api/embed", {"json": {"texts": ["  "]}}),
    ],
)
def test_bad_requests_are_400_json(indexed, client, method, url, kwargs):
    if "image" in kwargs.get("data", {}):  # a fresh upload stream per run: the client closes it
        content, name = kwargs["data"]["image"]
        kwargs = {"data": {"image": (io.BytesIO(content), name)}}
    response = getattr(client, method)(url, **kwargs)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]


def test_unknown_id_and_route_are_404_json(client):
    assert client.get("/api/similar/nope").get_json()["error"]
    assert client.get("/api/similar/nope").status_code == 404
    assert client.get("/api/nothing").status_code == 404 and client.get("/api/nothing").get_json()["error"]


def test_filters_sort_and_cut_off(indexed, client, photo_dir):
    body = client.get(f"/api/search?q=red&k=5&folder={photo_dir / 'nested'}&sort=date").get_json()
    assert len(body["hits"]) == 3 and all("/nested/" in h["path"] for h in body["hits"])
    dates = [h["taken_at"] for h in body["hits"]]
    assert dates == sorted(dates, reverse=True)
    body = client.get("/api/search?q=blue&k=7").get_json()
    assert len(body["hits"]) == 7 and body["cutoff"] == 1 and body["hidden"] == 0  # scripts get k by default
    body = client.get("/api/search?q=blue&k=7&all=0").get_json()
    assert len(body["hits"]) == 1 and body["hidden"] == 6


def test_combined_query_and_image_plus_words(indexed, client, photo_dir):
    assert client.get("/api/search?q=red+%2B+3:blue&k=1").get_json()["hits"][0]["path"].endswith("blue.webp")
    response = client.post(
        "/api/search",
        data={"image": (io.BytesIO(image_bytes(solid((0, 0, 250)))), "q.png"), "q": "3:green", "k": "1"},
        content_type="multipart/form-data",
    )
    assert response.get_json()["hits"][0]["path"] == str(photo_dir / "green.png")
    red_id = id_of(indexed, photo_dir / "red.jpg")
    assert client.get(f"/api/similar/{red_id}?q=green&k=1").get_json()["hits"][0]["path"].endswith("yellow.gif")


@pytest.mark.parametrize(
    "url, message",
    [
        ("/api/search?q=red&to=31-12-2023", "YYYY-MM-DD"),
        ("/api/search?q=red&type=exe", "Unknown file type"),
        ("/api/search?q=red&min_height=-1", "whole number"),
        ("/api/search?q=2:", "nothing after"),
        ("/api/search?q=red&all=yes", "'all'"),
        ("/api/similar/abc?q=red&from=x", "YYYY-MM-DD"),
        ("/api/duplicates?threshold=0.2", "between 0.5 and 1"),
    ],
)
def test_bad_parameters_are_400_with_a_message(indexed, client, url, message):
    response = client.get(url)
    assert response.status_code == 400 and message in response.get_json()["error"]


def test_duplicates_and_health(indexed, client, photo_dir):
    groups = client.get("/api/duplicates").get_json()["groups"]
    assert [[i["path"] for i in g["images"]] for g in groups] == [
        [str(photo_dir / "transparent.png"), str(photo_dir / "white.bmp")]
    ]
    assert set(groups[0]["images"][0]) == {"id", "path", "size", "width", "height"}
    health = client.get("/api/health").get_json()
    assert health["store"]["count"] == 7 and health["active_model"] == "test-colour-v1"
    assert health["folders"][0]["not_indexed"] == 2 and health["last_run"]["failed"] == 2


def test_limits_follow_the_app_config_in_checks_and_document(tmp_path, embedder):
    app = create_app({"TESTING": True, "DATA_DIR": tmp_path, "EMBEDDER": embedder, "MAX_K": 50, "MAX_QUERY_CHARS": 10})
    client = app.test_client()
    doc = client.get("/api/openapi.json").get_json()
    params = {p["name"]: p["schema"] for p in doc["paths"]["/api/search"]["get"]["parameters"]}
    assert params["k"]["maximum"] == 50 and params["q"]["maxLength"] == 10
    assert params["min_width"]["maximum"] == MAX_SIDE
    texts = doc["components"]["schemas"]["Texts"]["properties"]["texts"]
    assert texts["maxItems"] == MAX_TEXTS and texts["items"]["maxLength"] == 10
    response = client.get("/api/search?q=red&k=51")
    assert response.status_code == 400 and response.get_json() == {"error": "'k' must be between 1 and 50."}
    assert client.get("/api/search?q=red&k=50").status_code == 200
    assert "too long" in client.get("/api/search?q=" + "x" * 11).get_json()["error"]
    # CSRF is on in this app: the API stays exempt.
    assert client.post("/api/embed", json={"texts": ["red"]}).status_code == 200
    other = create_app({"TESTING": True, "DATA_DIR": tmp_path / "other", "EMBEDDER": embedder})
    params = {
        p["name"]: p["schema"]
        for p in other.test_client().get("/api/openapi.json").get_json()["paths"]["/api/search"]["get"]["parameters"]
    }
    assert params["k"]["maximum"] == 200 and params["q"]["maxLength"] == 300


def test_the_document_describes_answers_errors_and_the_token(tmp_path, embedder):
    app = create_app({"TESTING": True, "DATA_DIR": tmp_path, "EMBEDDER": embedder, "ACCESS_TOKEN": "t"})
    response = app.test_client().get("/api/openapi.json", headers={"Authorization": "Bearer t"})
    doc = response.get_json()
    schemas = doc["components"]["schemas"]
    assert set(schemas["Hits"]["required"]) == {"model", "took_ms", "notice", "cutoff", "hidden", "hits", "weak"}
    assert set(schemas["Hit"]["required"]) == {"id", "path", "score", "taken_at", "thumbnail_url", "by_name"}
    assert schemas["Error"]["required"] == ["error"]
    assert doc["security"] == [{"bearer": []}] and doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    embed = doc["paths"]["/api/embed"]["post"]
    assert set(embed["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert embed["responses"]["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_the_apps_error_handlers_still_answer(client, monkeypatch):
    page = client.get("/nowhere")
    assert page.status_code == 404 and page.mimetype == "text/html"
    response = client.post("/api/health")
    assert response.status_code == 405 and list(response.get_json()) == ["error"]
    assert client.get("/api/search?q=red&k=x").get_json() == {"error": "'k' must be a whole number, not 'x'."}
    monkeypatch.setattr(type(client.application.extensions["image_search"]), "health", lambda self: 1 / 0)
    response = client.get("/api/health")
    assert response.status_code == 500 and "server log" in response.get_json()["error"]
