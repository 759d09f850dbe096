"""ClipEmbedder on the tiny random CLIP pair (tests/doubles/tiny_clip.py): torch and ONNX, offline."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from image_search.embedders.clip.embedder import ClipEmbedder, clip_model_id, clip_weights_available_locally
from image_search.errors import ModelUnavailable
from tests.doubles.tiny_clip import TINY_CLIP_DIM

TEXTS = ["a mountain covered in snow", "ein Berg mit Schnee", "une montagne enneigée " * 60, "x"]


def _images() -> list[Image.Image]:
    noise = np.random.RandomState(0).randint(0, 256, (90, 120, 3), dtype=np.uint8)
    return [Image.new("RGB", (64, 48), (200, 30, 30)), Image.fromarray(noise), Image.new("L", (40, 70), 128)]


@pytest.fixture(scope="module")
def torch_embedder(tiny_clip_models):
    image_dir, text_dir = tiny_clip_models
    return ClipEmbedder(str(image_dir), str(text_dir), runtime="torch", batch_size=2)


@pytest.fixture(scope="module")
def onnx_embedder(tiny_clip_models, tmp_path_factory):
    image_dir, text_dir = tiny_clip_models
    return ClipEmbedder(
        str(image_dir), str(text_dir), runtime="onnx", batch_size=2, cache_dir=tmp_path_factory.mktemp("onnx-cache")
    )


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_vectors_are_unit_float32_of_dim(runtime, request):
    embedder = request.getfixturevalue(f"{runtime}_embedder")
    assert embedder.dim == TINY_CLIP_DIM
    for vectors, n in ((embedder.embed_images(_images()), 3), (embedder.embed_texts(TEXTS), 4)):
        assert vectors.shape == (n, TINY_CLIP_DIM) and vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed_texts([]).shape == (0, TINY_CLIP_DIM)


def test_onnx_vectors_equal_torch_vectors(torch_embedder, onnx_embedder):
    assert np.abs(onnx_embedder.embed_images(_images()) - torch_embedder.embed_images(_images())).max() <= 1e-4
    # Texts of different lengths, one past max_seq_length: padding and truncation match too.
    assert np.abs(onnx_embedder.embed_texts(TEXTS) - torch_embedder.embed_texts(TEXTS)).max() <= 1e-4
    single = onnx_embedder.embed_texts(["Schnee"])
    assert np.abs(single - torch_embedder.embed_texts(["Schnee"])).max() <= 1e-4


def test_two_languages_give_different_vectors(onnx_embedder):
    english, german = onnx_embedder.embed_texts(TEXTS[:2])
    assert not np.allclose(english, german)


def test_model_id_is_stable_and_runtime_independent(torch_embedder, onnx_embedder, tiny_clip_models):
    assert torch_embedder.model_id == onnx_embedder.model_id == "clip:tiny-clip-image+tiny-clip-text"
    assert clip_model_id("clip-ViT-B-32", "sentence-transformers/clip-ViT-B-32-multilingual-v1") == (
        "clip:clip-ViT-B-32+clip-ViT-B-32-multilingual-v1"
    )


def test_onnx_export_is_cached(tiny_clip_models, onnx_embedder, tmp_path):
    image_dir, text_dir = tiny_clip_models
    ClipEmbedder(str(image_dir), str(text_dir), runtime="onnx", cache_dir=tmp_path)
    files = sorted(path.name for path in (tmp_path / "onnx").iterdir())
    assert len(files) == 2 and all(name.endswith(".onnx") and not name.startswith(".") for name in files)
    mtimes = [path.stat().st_mtime_ns for path in (tmp_path / "onnx").iterdir()]
    ClipEmbedder(str(image_dir), str(text_dir), runtime="onnx", cache_dir=tmp_path)
    assert [path.stat().st_mtime_ns for path in (tmp_path / "onnx").iterdir()] == mtimes


def test_missing_local_directory_says_how_to_fix(tmp_path):
    with pytest.raises(ModelUnavailable) as error:
        ClipEmbedder(str(tmp_path / "no-such-model"), str(tmp_path / "no-such-text"))
    message = str(error.value)
    assert "no-such-model" in message and "does not exist" in message
    assert "IMAGE_SEARCH_CLIP_IMAGE_MODEL" in message and "IMAGE_SEARCH_MODEL=offline" in message


def test_uncached_hub_name_fails_fast_without_network():
    start = time.monotonic()
    with pytest.raises(ModelUnavailable) as error:
        ClipEmbedder("nobody-has/this-clip-model", "nobody-has/this-text-model", local_files_only=True)
    assert time.monotonic() - start < 5
    message = str(error.value)
    assert "'nobody-has/this-clip-model'" in message and "Hugging Face cache" in message
    assert "local files only" in message and "connect to the internet once" in message


def test_weights_available_locally(tiny_clip_models, tmp_path):
    assert clip_weights_available_locally(*map(str, tiny_clip_models))
    assert not clip_weights_available_locally(str(tmp_path / "missing"), str(tiny_clip_models[1]))
    assert not clip_weights_available_locally("nobody-has/this-clip-model", "nobody-has/this-text-model")


def test_int8_onnx_image_tower_is_close_and_named_apart(tiny_clip_models, onnx_embedder, tmp_path):
    image_dir, text_dir = tiny_clip_models
    int8 = ClipEmbedder(str(image_dir), str(text_dir), runtime="onnx", quantize=True, cache_dir=tmp_path)
    assert int8.model_id == onnx_embedder.model_id + "+int8"
    cosine = np.sum(int8.embed_images(_images()) * onnx_embedder.embed_images(_images()), axis=1)
    assert cosine.min() > 0.98
    assert ClipEmbedder(str(image_dir), str(text_dir), quantize=True).model_id == onnx_embedder.model_id  # torch


def test_export_cache_key_follows_the_model_files(tiny_clip_models, tmp_path):
    import os
    import shutil

    from image_search.embedders.clip.onnx_runtime import cache_key

    copy = Path(shutil.copytree(tiny_clip_models[0], tmp_path / "copy"))
    assert cache_key(copy) != cache_key(tiny_clip_models[0])  # another directory
    before = cache_key(copy)
    config = copy / "0_CLIPModel" / "config.json"
    os.utime(config, ns=(config.stat().st_atime_ns, config.stat().st_mtime_ns + 10**9))
    assert cache_key(copy) != before  # retrained or replaced in place


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_a_directory_without_a_model_is_unavailable(runtime, tiny_clip_models, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelUnavailable, match="empty"):
        ClipEmbedder(str(tmp_path / "empty"), str(tiny_clip_models[1]), runtime=runtime, cache_dir=tmp_path)


def test_onnx_equals_torch_for_a_text_model_saved_by_this_sentence_transformers(tiny_clip_models, tmp_path):
    """The current save layout (no max_seq_length: the tokenizer's limit applies) works as the legacy one."""
    from sentence_transformers import SentenceTransformer

    image_dir, text_dir = map(str, tiny_clip_models)
    resaved = tmp_path / "resaved-text"
    SentenceTransformer(text_dir, device="cpu").save(str(resaved))
    by_torch = ClipEmbedder(image_dir, str(resaved), runtime="torch")
    by_onnx = ClipEmbedder(image_dir, str(resaved), runtime="onnx", cache_dir=tmp_path)
    assert np.abs(by_onnx.embed_texts(TEXTS) - by_torch.embed_texts(TEXTS)).max() <= 1e-4


def _fake_hub_cache(cache: Path, repo: str, model_dir: Path) -> None:
    """Lay a model out as huggingface_hub caches a download (refs/main -> snapshots/<commit>)."""
    import shutil

    folder = cache / f"models--{repo.replace('/', '--')}"
    commit = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(model_dir, folder / "snapshots" / commit)
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text(commit)


def test_hub_names_resolve_from_the_cache_without_network(tiny_clip_models, tmp_path, monkeypatch):
    monkeypatch.setenv("SENTENCE_TRANSFORMERS_HOME", str(tmp_path / "hub"))
    _fake_hub_cache(tmp_path / "hub", "sentence-transformers/tiny-clip-image", tiny_clip_models[0])
    _fake_hub_cache(tmp_path / "hub", "someone/tiny-clip-text", tiny_clip_models[1])
    assert clip_weights_available_locally("tiny-clip-image", "someone/tiny-clip-text")
    embedder = ClipEmbedder(
        "tiny-clip-image", "someone/tiny-clip-text", local_files_only=True, runtime="onnx", cache_dir=tmp_path
    )
    assert embedder.model_id == "clip:tiny-clip-image+tiny-clip-text"
    assert embedder.embed_texts(["Schnee"]).shape == (1, TINY_CLIP_DIM)


def test_input_size_comes_from_the_image_processor(tiny_clip_models):
    from image_search.embedders.clip.embedder import shortest_edge

    assert shortest_edge(tiny_clip_models[0]) == 32  # the tiny model's processor resizes to 32
