"""CLIP's image preprocessing without transformers (clip/preprocess.py), images prepared apart from the model
(Embedder.prepare_image in the indexer's decode threads), and the tokenizer loaded only at the first text."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from image_search.embedders.clip.embedder import ClipEmbedder
from image_search.embedders.clip.onnx_runtime import image_module_dir
from image_search.embedders.clip.preprocess import ClipPreprocessing
from image_search.errors import ModelUnavailable

ROOT = Path(__file__).resolve().parent.parent


def images() -> list[Image.Image]:
    rng = np.random.default_rng(3)
    sizes = [(224, 224), (300, 224), (224, 301), (777, 301), (33, 900), (20, 10), (31, 32)]
    return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for w, h in sizes]


def real_sized_config(folder: Path) -> Path:
    """The real ViT-B/32 processor settings (224), in the legacy preprocessor_config.json layout."""
    folder.mkdir()
    config = {
        "crop_size": 224,
        "do_center_crop": True,
        "do_normalize": True,
        "do_resize": True,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_processor_type": "CLIPImageProcessor",
        "image_std": [0.26862954, 0.26130258, 0.27577711],
        "resample": 3,
        "size": {"shortest_edge": 224},
    }
    (folder / "preprocessor_config.json").write_text(json.dumps({**config, "crop_size": {"height": 224, "width": 224}}))
    return folder


@pytest.mark.parametrize("model", ["tiny", "real-sized"])
def test_arrays_equal_the_transformers_processor(model, tiny_clip_models, tmp_path):
    from transformers import AutoImageProcessor

    folder = image_module_dir(tiny_clip_models[0]) if model == "tiny" else real_sized_config(tmp_path / "clip")
    ours, theirs = ClipPreprocessing.from_model(folder), AutoImageProcessor.from_pretrained(str(folder))
    assert ours is not None
    for image in images():
        expected = theirs(images=[image], return_tensors="np")["pixel_values"][0]
        assert ours(image).dtype == expected.dtype and ours(image).shape == expected.shape
        assert np.array_equal(ours(image), expected)


def test_other_processor_settings_use_transformers(tmp_path):
    folder = real_sized_config(tmp_path / "clip")
    config = json.loads((folder / "preprocessor_config.json").read_text())
    (folder / "preprocessor_config.json").write_text(json.dumps({**config, "size": {"height": 224, "width": 224}}))
    assert ClipPreprocessing.from_model(folder) is None
    (folder / "preprocessor_config.json").write_text(json.dumps({**config, "do_center_crop": False}))
    assert ClipPreprocessing.from_model(folder) is None
    (folder / "preprocessor_config.json").write_text("{not json")
    assert ClipPreprocessing.from_model(folder) is None


@pytest.fixture(scope="module")
def onnx_embedder(tiny_clip_models, tmp_path_factory):
    image_dir, text_dir = tiny_clip_models
    cache = tmp_path_factory.mktemp("onnx-cache")
    return ClipEmbedder(str(image_dir), str(text_dir), runtime="onnx", batch_size=3, cache_dir=cache)


@pytest.mark.parametrize("runtime", ["onnx", "torch"])
def test_prepared_images_give_the_vectors_of_embed_images(runtime, tiny_clip_models, onnx_embedder):
    embedder = onnx_embedder
    if runtime == "torch":
        embedder = ClipEmbedder(str(tiny_clip_models[0]), str(tiny_clip_models[1]), runtime="torch", batch_size=3)
    batch = [*images(), Image.new("L", (40, 70), 128)]
    prepared = embedder.embed_prepared([embedder.prepare_image(image) for image in batch])
    assert np.abs(prepared - embedder.embed_images(batch)).max() <= 1e-6


def test_embedding_images_never_imports_transformers(tiny_clip_models, onnx_embedder):
    """An indexer on ONNX Runtime (or OpenVINO) pays no seconds for importing transformers and torch."""
    image_dir, text_dir = tiny_clip_models
    code = (
        "import sys; from pathlib import Path; from PIL import Image\n"
        "from image_search.embedders.clip.embedder import ClipEmbedder\n"
        f"e = ClipEmbedder({str(image_dir)!r}, {str(text_dir)!r}, runtime='onnx', cache_dir=Path(sys.argv[1]))\n"
        "e.embed_prepared([e.prepare_image(Image.new('RGB', (64, 48)))]); e.prepare_texts()\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    cache = onnx_embedder._towers.image_path.parent.parent  # the exports already made: none is made again
    done = subprocess.run(
        [sys.executable, "-c", code, str(cache)], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_a_damaged_tokenizer_is_unavailable_at_the_first_text(tiny_clip_models, tmp_path):
    text_dir = tmp_path / "text"
    shutil.copytree(tiny_clip_models[1], text_dir)
    embedder = ClipEmbedder(str(tiny_clip_models[0]), str(text_dir), runtime="onnx", cache_dir=tmp_path / "cache")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        for path in text_dir.rglob(name):
            path.write_text("{damaged")
    assert embedder.embed_images(images()[:1]).shape[0] == 1
    with pytest.raises(ModelUnavailable, match="tokenizer"):
        embedder.embed_texts(["a photo"])
