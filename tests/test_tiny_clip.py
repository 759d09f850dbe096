"""The tiny CLIP test double loads like the real models: by path, offline, with sentence-transformers."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.doubles.tiny_clip import TINY_CLIP_DIM, build_tiny_clip


@pytest.fixture(scope="module")
def loaded(tiny_clip_models):
    from sentence_transformers import SentenceTransformer

    image_dir, text_dir = tiny_clip_models
    return SentenceTransformer(str(image_dir), device="cpu"), SentenceTransformer(str(text_dir), device="cpu")


def test_image_model_encodes_an_image(loaded):
    image_model, _ = loaded
    vectors = image_model.encode([Image.new("RGB", (64, 48), (200, 30, 30))], normalize_embeddings=True)
    assert vectors.shape == (1, TINY_CLIP_DIM) and vectors.dtype == np.float32
    assert np.isclose(np.linalg.norm(vectors[0]), 1.0, atol=1e-5)


def test_text_model_encodes_texts_in_two_languages(loaded):
    _, text_model = loaded
    vectors = text_model.encode(["a mountain covered in snow", "ein Berg mit Schnee"], normalize_embeddings=True)
    assert vectors.shape == (2, TINY_CLIP_DIM)
    assert not np.allclose(vectors[0], vectors[1])


def test_layout_matches_the_real_models(tiny_clip_models):
    image_dir, text_dir = tiny_clip_models
    assert (image_dir / "modules.json").read_text().count("sentence_transformers.models.CLIPModel") == 1
    assert (image_dir / "0_CLIPModel" / "config.json").exists()
    assert (text_dir / "0_Transformer" / "sentence_bert_config.json").exists()


def test_build_is_deterministic(tiny_clip_models, tmp_path):
    image_dir, text_dir = build_tiny_clip(tmp_path)
    for built, reference in (
        (image_dir / "0_CLIPModel", tiny_clip_models[0] / "0_CLIPModel"),
        (text_dir / "2_Dense", tiny_clip_models[1] / "2_Dense"),
    ):
        assert (built / "model.safetensors").read_bytes() == (reference / "model.safetensors").read_bytes()
