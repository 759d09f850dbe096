"""CLIP on OpenVINO (clip/openvino_runtime.py) and RUNTIME=auto (clip/runtime_choice.py) on the tiny random CLIP."""

from __future__ import annotations

import json

import numpy as np
import pytest

from image_search.embedders.clip import openvino_runtime, runtime_choice
from image_search.embedders.clip.embedder import ClipEmbedder
from tests.test_clip_embedder import TEXTS, _images

pytest.importorskip("openvino")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("openvino-cache")


@pytest.fixture(scope="module")
def openvino_embedder(tiny_clip_models, cache):
    image_dir, text_dir = tiny_clip_models
    return ClipEmbedder(str(image_dir), str(text_dir), runtime="openvino", batch_size=2, cache_dir=cache)


def test_openvino_f32_vectors_equal_torch_and_onnx(tiny_clip_models, openvino_embedder, cache):
    image_dir, text_dir = map(str, tiny_clip_models)
    by_torch = ClipEmbedder(image_dir, text_dir, runtime="torch", batch_size=2)
    by_onnx = ClipEmbedder(image_dir, text_dir, runtime="onnx", batch_size=2, cache_dir=cache)
    for reference in (by_torch, by_onnx):
        assert np.abs(openvino_embedder.embed_images(_images()) - reference.embed_images(_images())).max() <= 1e-4
        assert np.abs(openvino_embedder.embed_texts(TEXTS) - reference.embed_texts(TEXTS)).max() <= 1e-4
    assert openvino_embedder.model_id == by_torch.model_id == "clip:tiny-clip-image+tiny-clip-text"
    assert openvino_embedder.runtime == "openvino"


def test_compiled_models_are_cached_beside_the_exports(openvino_embedder, cache):
    openvino_embedder.embed_texts(TEXTS)  # the text tower compiles at the first text
    assert len(list((cache / "onnx" / "openvino" / "f32-1threads").glob("*.blob"))) == 2


def test_f32_and_bf16_blobs_are_kept_apart(tiny_clip_models, tmp_path):
    """OpenVINO names a blob without the precision: sharing one folder gave bf16 the f32 blob (NaN vectors)."""
    if not openvino_runtime.reduced_precision_supported("bf16"):
        pytest.skip("this CPU has no bf16")
    f32 = _f32(tiny_clip_models, tmp_path)
    names = ("tiny-clip-image", "tiny-clip-text")
    image_dir, text_dir = tiny_clip_models
    bf16 = openvino_runtime.openvino_clip(
        image_dir, text_dir, tmp_path / "onnx", threads=1, precision="bf16", names=names
    )
    assert openvino_runtime.self_check(f32, bf16) >= 0.999


class Perturbed:
    """Test double: towers whose vectors are another towers' plus noise of the given size (a bad bf16)."""

    def __init__(self, towers, noise: float):
        self.towers, self.noise, self.rng = towers, noise, np.random.default_rng(0)

    def embed_images(self, images):
        vectors = self.towers.embed_images(images)
        return vectors + self.noise * self.rng.standard_normal(vectors.shape) * np.abs(vectors).mean()

    def embed_texts(self, texts):
        return self.towers.embed_texts(texts)


def _f32(tiny_clip_models, cache):
    image_dir, text_dir = tiny_clip_models
    names = ("tiny-clip-image", "tiny-clip-text")
    return openvino_runtime.openvino_clip(image_dir, text_dir, cache / "onnx", threads=1, precision="f32", names=names)


def _exports(towers):
    return towers.image_path, towers.text_path


def test_bf16_is_used_only_after_passing_its_self_check_and_the_verdict_is_remembered(
    tiny_clip_models, tmp_path, monkeypatch
):
    monkeypatch.setattr(openvino_runtime, "reduced_precision_supported", lambda precision: True)
    f32 = _f32(tiny_clip_models, tmp_path)
    passing, why = openvino_runtime.bf16_verdict(_exports(f32), lambda: f32, lambda: Perturbed(f32, 1e-4))
    assert passing is not None and "passed" in why
    (record,) = tmp_path.glob("onnx/openvino-bf16-check-*.json")
    assert json.loads(record.read_text())["cosine"] >= 0.999
    record.unlink()
    failing, why = openvino_runtime.bf16_verdict(_exports(f32), lambda: f32, lambda: Perturbed(f32, 0.5))
    assert failing is None and "failed its self-check" in why
    never = []  # a remembered failure builds no bf16 model at all
    assert openvino_runtime.bf16_verdict(_exports(f32), lambda: f32, lambda: never.append(1))[0] is None and never == []


def test_a_cpu_without_bf16_says_so(tiny_clip_models, tmp_path, monkeypatch):
    monkeypatch.setattr(openvino_runtime, "reduced_precision_supported", lambda precision: False)
    f32 = _f32(tiny_clip_models, tmp_path)
    towers, why = openvino_runtime.bf16_verdict(_exports(f32), lambda: f32, lambda: pytest.fail("built"))
    assert towers is None and "no bf16 support" in why


def test_quantize_on_openvino_falls_back_to_f32_with_its_id_when_bf16_fails(tiny_clip_models, tmp_path, monkeypatch):
    monkeypatch.setattr(openvino_runtime, "self_check", lambda reference, candidate: 0.9)
    monkeypatch.setattr(openvino_runtime, "reduced_precision_supported", lambda precision: True)
    image_dir, text_dir = map(str, tiny_clip_models)
    embedder = ClipEmbedder(image_dir, text_dir, runtime="openvino", quantize=True, cache_dir=tmp_path)
    assert embedder.runtime == "openvino" and embedder.model_id == "clip:tiny-clip-image+tiny-clip-text"
    assert "failed its self-check" in embedder.runtime_reason


def test_bf16_that_passes_gets_its_own_model_id(tiny_clip_models, tmp_path, monkeypatch):
    monkeypatch.setattr(openvino_runtime, "self_check", lambda reference, candidate: 0.9999)
    monkeypatch.setattr(openvino_runtime, "reduced_precision_supported", lambda precision: True)
    image_dir, text_dir = map(str, tiny_clip_models)
    embedder = ClipEmbedder(image_dir, text_dir, runtime="openvino", quantize=True, cache_dir=tmp_path)
    assert embedder.runtime == "openvino-bf16" and embedder.model_id == "clip:tiny-clip-image+tiny-clip-text+bf16"


def test_a_remembered_bf16_pass_opens_the_bf16_image_tower_alone(tiny_clip_models, tmp_path, monkeypatch):
    monkeypatch.setattr(openvino_runtime, "self_check", lambda reference, candidate: 0.9999)
    monkeypatch.setattr(openvino_runtime, "reduced_precision_supported", lambda precision: True)
    image_dir, text_dir = map(str, tiny_clip_models)
    ClipEmbedder(image_dir, text_dir, runtime="openvino", quantize=True, cache_dir=tmp_path)  # measures the verdict
    opened = []
    real = openvino_runtime.OpenVinoModel

    def recording(path, threads, precision, cache_dir):
        opened.append((path.name.split("-")[1], precision))
        return real(path, threads, precision, cache_dir)

    monkeypatch.setattr(openvino_runtime, "OpenVinoModel", recording)
    again = ClipEmbedder(image_dir, text_dir, runtime="openvino", quantize=True, cache_dir=tmp_path)
    assert again.runtime == "openvino-bf16" and opened == [("image", "bf16")]  # no f32 towers, no text tower


def test_auto_measures_once_picks_the_fastest_and_remembers_it(tiny_clip_models, tmp_path, monkeypatch):
    rates = {"onnx": 10.0, "openvino": 30.0}
    measured = []

    def rate(towers, images):
        name = "openvino" if hasattr(towers._image, "output_width") else "onnx"
        measured.append(name)
        return rates[name]

    monkeypatch.setattr(runtime_choice, "images_per_second", rate)
    monkeypatch.setattr(openvino_runtime, "reduced_precision_supported", lambda precision: False)
    image_dir, text_dir = map(str, tiny_clip_models)
    first = ClipEmbedder(image_dir, text_dir, runtime="auto", cache_dir=tmp_path, threads=2)
    assert first.runtime == "openvino" and "openvino 30.0 images/s" in first.runtime_reason
    assert sorted(measured) == ["onnx", "openvino"]
    rates.update(onnx=99.0)  # a later process (the web server at 1 thread) keeps the remembered choice
    again = ClipEmbedder(image_dir, text_dir, runtime="auto", cache_dir=tmp_path, threads=1)
    assert again.runtime == "openvino" and again.model_id == first.model_id and len(measured) == 2
    assert np.abs(again.embed_texts(TEXTS) - first.embed_texts(TEXTS)).max() <= 1e-4


def test_auto_without_openvino_runs_onnx(tiny_clip_models, tmp_path, monkeypatch):
    def missing(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'openvino'")

    monkeypatch.setattr(runtime_choice, "openvino_clip", missing)
    image_dir, text_dir = map(str, tiny_clip_models)
    embedder = ClipEmbedder(image_dir, text_dir, runtime="auto", cache_dir=tmp_path)
    assert embedder.runtime == "onnx" and "OpenVINO unavailable" in embedder.runtime_reason
    assert not list(tmp_path.glob("onnx/runtime-choice-*.json"))  # measured again once it is installed


def test_a_damaged_choice_file_is_measured_again(tiny_clip_models, tmp_path):
    image_dir, text_dir = map(str, tiny_clip_models)
    ClipEmbedder(image_dir, text_dir, runtime="auto", cache_dir=tmp_path)
    (record,) = tmp_path.glob("onnx/runtime-choice-*.json")
    record.write_text('{"runtime": "tpu"')
    embedder = ClipEmbedder(image_dir, text_dir, runtime="auto", cache_dir=tmp_path)
    assert embedder.runtime in ("onnx", "openvino", "openvino-bf16")
    assert json.loads(record.read_text())["runtime"] == embedder.runtime
