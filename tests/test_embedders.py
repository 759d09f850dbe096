"""Which embedder the app picks (image_search/embedders/__init__.py)."""

import pytest

from image_search import create_app
from image_search.embedders import select_local
from image_search.errors import ModelUnavailable
from image_search.settings import load_settings


def config(tmp_path, **overrides):
    base = {
        "MODEL": "auto",
        "CLIP_IMAGE_MODEL": "clip-ViT-B-32",
        "RUNTIME": "torch",
        "QUANTIZE": False,
        "CLIP_TEXT_MODEL": "sentence-transformers/clip-ViT-B-32-multilingual-v1",
        "DATA_DIR": tmp_path,
        "HUB_TIMEOUT": 1.0,
    }
    return load_settings({**base, **overrides})


def test_auto_uses_clip_when_its_weights_are_local(tmp_path, tiny_clip_models):
    image_dir, text_dir = tiny_clip_models
    embedder = select_local(config(tmp_path, CLIP_IMAGE_MODEL=str(image_dir), CLIP_TEXT_MODEL=str(text_dir)), 1)
    assert embedder.model_id == "clip:tiny-clip-image+tiny-clip-text"


def test_auto_falls_back_to_the_offline_model(tmp_path, caplog):
    embedder = select_local(config(tmp_path), 1)  # the hub is off in tests, nothing is cached
    assert embedder.model_id.startswith("offline-")
    assert "CLIP unavailable" in caplog.text and "using the offline model" in caplog.text


def test_clip_alone_says_what_was_tried_and_how_to_fix_it(tmp_path):
    with pytest.raises(ModelUnavailable) as error:
        select_local(config(tmp_path, MODEL="clip", CLIP_IMAGE_MODEL=str(tmp_path / "missing")), 1)
    assert "IMAGE_SEARCH_CLIP_IMAGE_MODEL" in str(error.value) and "IMAGE_SEARCH_MODEL=offline" in str(error.value)


def test_unknown_model_choice_is_refused(tmp_path):
    with pytest.raises(ModelUnavailable, match="clip, offline or auto"):
        select_local(config(tmp_path, MODEL="dall-e"), 1)


def test_an_unavailable_model_is_a_503_page_not_a_traceback(tmp_path):
    app = create_app(
        {"TESTING": True, "DATA_DIR": tmp_path, "MODEL": "clip", "CLIP_IMAGE_MODEL": str(tmp_path / "missing")}
    )
    response = app.test_client().get("/search?q=dog")
    assert response.status_code == 503 and "IMAGE_SEARCH_MODEL=offline" in response.get_data(as_text=True)
    response = app.test_client().get("/api/search?q=dog")
    assert response.status_code == 503 and "IMAGE_SEARCH_MODEL=offline" in response.get_json()["error"]
