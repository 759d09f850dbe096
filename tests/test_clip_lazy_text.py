"""CLIP's text tower and tokenizer load at the first text, on every runtime: an indexing run never opens them
(the tiny random CLIP of the real architecture, loaded by path through the app)."""

from __future__ import annotations

import numpy as np
import pytest

from image_search import create_app
from image_search.embedders.clip import onnx_runtime, openvino_runtime, torch_runtime
from image_search.embedders.clip.embedder import ClipEmbedder
from image_search.errors import ModelUnavailable
from tests.conftest import id_of
from tests.test_clip_embedder import TEXTS, _images

RUNTIMES = ["torch", "onnx", "openvino", "auto"]


def _needs(runtime: str) -> None:
    if runtime in ("openvino", "auto"):
        pytest.importorskip("openvino")


@pytest.fixture
def opened(monkeypatch) -> list[str]:
    """The names of the model files or folders each runtime opens from now on (wrapping the real loaders)."""
    names: list[str] = []

    def recording(load, name_of):
        def load_and_record(*args, **kwargs):
            names.append(name_of(args))
            return load(*args, **kwargs)

        return load_and_record

    monkeypatch.setattr(onnx_runtime, "cpu_session", recording(onnx_runtime.cpu_session, lambda a: a[0].name))
    openvino_model = openvino_runtime.OpenVinoModel
    monkeypatch.setattr(openvino_runtime, "OpenVinoModel", recording(openvino_model, lambda a: a[0].name))
    monkeypatch.setattr(torch_runtime, "_load", recording(torch_runtime._load, lambda a: a[0].name))
    return names


def _app(tmp_path, tiny_clip_models, runtime: str):
    image_dir, text_dir = tiny_clip_models
    config = {
        "TESTING": True,
        "DATA_DIR": tmp_path / "data",
        "MODEL": "clip",
        "RUNTIME": runtime,
        "CLIP_IMAGE_MODEL": str(image_dir),
        "CLIP_TEXT_MODEL": str(text_dir),
    }
    return create_app(config)


def _first_process(tmp_path, tiny_clip_models, runtime: str) -> ClipEmbedder:
    """What a first process on a new model does once (exports, RUNTIME=auto's measurement), texts embedded first."""
    image_dir, text_dir = map(str, tiny_clip_models)
    embedder = ClipEmbedder(image_dir, text_dir, runtime=runtime, cache_dir=tmp_path / "data" / "models")
    embedder.embed_texts(TEXTS)
    return embedder


def _is_text(name: str) -> bool:
    return name.startswith("clip-text-") or name == "tiny-clip-text"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_an_indexing_run_never_opens_the_text_tower_and_a_later_text_query_equals_the_eager_one(
    runtime, tmp_path, tiny_clip_models, photo_dir, opened
):
    _needs(runtime)
    eager = _first_process(tmp_path, tiny_clip_models, runtime)
    opened.clear()
    app = _app(tmp_path, tiny_clip_models, runtime)
    result = app.test_cli_runner().invoke(args=["index", str(photo_dir)])
    assert result.exit_code == 0 and "7 added" in result.output, result.output
    assert opened and not [name for name in opened if _is_text(name)], opened  # the image tower only

    body = app.test_client().get("/api/search?q=a red square&k=3").get_json()
    assert len(body["hits"]) == 3
    assert len([name for name in opened if _is_text(name)]) == 1
    lazy = app.extensions["image_search"].embedder
    assert lazy.runtime == eager.runtime
    assert np.abs(lazy.embed_texts(TEXTS) - eager.embed_texts(TEXTS)).max() <= 1e-5
    assert len([name for name in opened if _is_text(name)]) == 1  # opened once, then kept


@pytest.mark.parametrize("runtime", ["onnx", "openvino"])
def test_a_damaged_text_tower_is_model_unavailable_at_the_first_search(runtime, tmp_path, tiny_clip_models, photo_dir):
    _needs(runtime)
    eager = _first_process(tmp_path, tiny_clip_models, runtime)
    text_path = eager._towers.text_path
    text_path.write_bytes(b"not an ONNX graph")
    app = _app(tmp_path, tiny_clip_models, runtime)
    result = app.test_cli_runner().invoke(args=["index", str(photo_dir)])
    assert result.exit_code == 0 and "7 added" in result.output, result.output  # images need no text tower

    client = app.test_client()
    response = client.get("/api/search?q=a red square")
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert "Could not load the CLIP text tower" in error and text_path.name in error and "delete that file" in error
    page = client.get("/search?q=a red square")
    assert page.status_code == 503 and "Could not load the CLIP text tower" in page.get_data(as_text=True)
    similar = client.get(f"/api/similar/{id_of(app, photo_dir / 'red.jpg')}")
    assert similar.status_code == 200 and similar.get_json()["hits"]  # image searches go on


def test_a_damaged_text_model_on_torch_is_model_unavailable_at_the_first_text(tmp_path, tiny_clip_models):
    import shutil

    image_dir, text_dir = tiny_clip_models
    damaged = shutil.copytree(text_dir, tmp_path / "damaged-text")
    (damaged / "modules.json").write_text("[{")
    embedder = ClipEmbedder(str(image_dir), str(damaged), runtime="torch")
    assert embedder.embed_images(_images()).shape == (3, embedder.dim)
    with pytest.raises(ModelUnavailable, match="Could not load the CLIP text model from .*damaged-text"):
        embedder.embed_texts(["a dog"])
