"""The whole app on the real CLIP loading code, with the tiny random CLIP pair loaded by path."""

import io

import pytest

from image_search import create_app


@pytest.fixture(params=["torch", "onnx", "openvino"])
def clip_app(request, tmp_path, tiny_clip_models):
    image_dir, text_dir = tiny_clip_models
    return create_app(
        {
            "TESTING": True,
            "DATA_DIR": tmp_path / "data",
            "WTF_CSRF_ENABLED": False,
            "MODEL": "clip",
            "RUNTIME": request.param,
            "CLIP_IMAGE_MODEL": str(image_dir),
            "CLIP_TEXT_MODEL": str(text_dir),
        }
    )


def test_index_and_search_with_tiny_clip(clip_app, photo_dir):
    result = clip_app.test_cli_runner().invoke(args=["index", str(photo_dir)])
    assert result.exit_code == 0, result.output
    assert "Model: clip:tiny-clip-image+tiny-clip-text" in result.output and "7 added" in result.output
    client = clip_app.test_client()
    body = client.get("/api/search?q=a red square&k=7").get_json()
    assert body["model"] == "clip:tiny-clip-image+tiny-clip-text" and len(body["hits"]) == 7
    assert body["hits"][0]["score"] >= body["hits"][-1]["score"]
    # An indexed image as the query finds itself first: same pixels, same vector.
    red = (photo_dir / "red.jpg").read_bytes()
    hits = client.post(
        "/api/search", data={"image": (io.BytesIO(red), "red.jpg")}, content_type="multipart/form-data"
    ).get_json()["hits"]
    assert hits[0]["path"] == str(photo_dir / "red.jpg") and hits[0]["score"] == pytest.approx(1, abs=1e-4)
    assert "Model: clip:tiny-clip-image+tiny-clip-text" in client.get("/search?q=hund").get_data(as_text=True)
