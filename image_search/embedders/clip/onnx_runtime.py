"""CLIP on ONNX Runtime: both towers exported once from the sentence-transformers models and cached.

Preprocessing uses the same Hugging Face image processor and tokenizer (with the same truncation) as
sentence-transformers, so the vectors equal the torch ones (within float rounding).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from image_search.atomic import atomic_write
from image_search.embedders.clip.location import HOW_TO_FIX, mismatched_text_model
from image_search.embedders.clip.preprocess import ClipPreprocessing
from image_search.embedders.onnx_session import cpu_session
from image_search.errors import ModelUnavailable

log = logging.getLogger(__name__)

EXPORT_VERSION = "1"  # part of the cache key: bump when the exported graphs change
OPSET = 17


@dataclass(frozen=True)
class TextLayout:
    """Where a Transformer -> mean Pooling -> Dense* text model keeps its parts."""

    transformer_dir: Path
    max_length: int | None  # sentence-transformers' max_seq_length; None: the tokenizer's limit
    lowercase: bool


@dataclass(frozen=True)
class TextSide:
    """What embedding texts needs, loaded at the first text: the text tower, its tokenizer and token limit."""

    tower: Any  # an ONNX Runtime session or an OpenVinoModel
    tokenizer: Any
    max_length: int


def read_modules(model_dir: Path) -> list[dict]:
    modules_file = model_dir / "modules.json"
    if not modules_file.exists():
        raise ModelUnavailable(f"{model_dir} has no modules.json: not a sentence-transformers model. {HOW_TO_FIX}")
    return sorted(json.loads(modules_file.read_text()), key=lambda module: module["idx"])


def image_module_dir(model_dir: Path) -> Path:
    """The directory of the CLIP module (the transformers CLIPModel and its processor)."""
    return model_dir / read_modules(model_dir)[0]["path"]


def text_layout(model_dir: Path) -> TextLayout:
    modules = read_modules(model_dir)
    kinds = [module["type"].rsplit(".", 1)[-1] for module in modules]
    supported = (
        len(kinds) >= 2
        and kinds[:2] == ["Transformer", "Pooling"]
        and all(kind in ("Dense", "Normalize") for kind in kinds[2:])
    )
    pooling = json.loads((model_dir / modules[1]["path"] / "config.json").read_text()) if supported else {}
    mode = pooling.get("pooling_mode", "mean" if pooling.get("pooling_mode_mean_tokens") else None)
    legacy_modes = [key for key, on in pooling.items() if key.startswith("pooling_mode_") and on]
    if not supported or mode not in ("mean", ["mean"]) or legacy_modes not in ([], ["pooling_mode_mean_tokens"]):
        raise ModelUnavailable(
            f"The ONNX runtime handles Transformer -> mean Pooling -> Dense text models; {model_dir} has "
            f"{kinds} (pooling {mode}). Use IMAGE_SEARCH_RUNTIME=torch for it."
        )
    transformer_dir = model_dir / modules[0]["path"]
    st_config_file = transformer_dir / "sentence_bert_config.json"
    st_config = json.loads(st_config_file.read_text()) if st_config_file.exists() else {}
    processor_kwargs = st_config.get("processor_kwargs") or st_config.get("tokenizer_args") or {}
    max_length = st_config.get("max_seq_length") or processor_kwargs.get("model_max_length")
    return TextLayout(transformer_dir, max_length, bool(st_config.get("do_lower_case")))


def cache_key(model_dir: Path) -> str:
    """Changes when the model's files (names, sizes, times, configs) or the export code change."""
    digest = hashlib.sha256(f"{EXPORT_VERSION}|{model_dir.resolve()}".encode())
    for path in sorted(model_dir.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(model_dir).parts):
            stat = path.stat()
            digest.update(f"{path.relative_to(model_dir)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
            if path.suffix == ".json":
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class OnnxClip:
    """The two CLIP towers as ONNX Runtime sessions; returns raw (unnormalised) vectors."""

    def __init__(
        self,
        image_dir: Path,
        text_dir: Path,
        cache_dir: Path,
        *,
        threads: int = 1,
        quantize: bool = False,
        names: tuple[str, str] | None = None,
        open_model: Callable[[Path, int], Any] | None = None,
    ) -> None:
        """open_model(onnx_path, threads): what runs an exported tower (default an ONNX Runtime session;
        openvino_runtime passes OpenVINO's); it has a session's run(None, feeds).

        Only the image tower opens here. The text tower (about 540 MB for the multilingual model, seconds to
        compile on OpenVINO) and its tokenizer open at the first text, so an indexer embedding images never
        loads them; both exports are still made here when missing, once per model. transformers (which imports
        torch: seconds of CPU) is imported only where needed: the image preprocessing is preprocess.py's unless
        the model asks for more."""
        clip_dir, layout = image_module_dir(image_dir), text_layout(text_dir)
        image_path, text_path = exported_towers(image_dir, text_dir, cache_dir, names)
        if quantize:
            image_path = quantized(image_path)
        self.image_path, self.text_path = image_path, text_path
        self._open_model = open_model or cpu_session
        self._threads = threads
        self._image = self._open_model(image_path, threads)
        self.dim = output_width(self._image)
        self._preprocess = ClipPreprocessing.from_model(clip_dir) or _processor(clip_dir)
        self._layout, self._text_dir = layout, text_dir
        self._text: TextSide | None = None  # at the first text
        self._text_lock = threading.Lock()

    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        return self.embed_pixels(np.stack([self.pixels(image) for image in images]))

    def pixels(self, image: Image.Image) -> np.ndarray:
        """One image as the image tower takes it (3 x H x W, normalised), so callers can make it apart."""
        return self._preprocess(image)

    def embed_pixels(self, pixels: np.ndarray) -> np.ndarray:
        return self._image.run(None, {"pixel_values": np.asarray(pixels, dtype=np.float32)})[0]

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        side = self._text_side()
        if self._layout.lowercase:
            texts = [text.lower() for text in texts]
        tokens = side.tokenizer(
            texts, padding=True, truncation="longest_first", max_length=side.max_length, return_tensors="np"
        )
        feeds = {name: tokens[name].astype(np.int64) for name in ("input_ids", "attention_mask")}
        return side.tower.run(None, feeds)[0]

    def _text_side(self) -> TextSide:
        """The text tower and tokenizer, opened by the first caller (the web app's first searches may come
        together). A damaged or foreign file raises ModelUnavailable saying which, at each try until it loads."""
        with self._text_lock:
            if self._text is None:
                self._text = self._open_text_side()
            return self._text

    def _open_text_side(self) -> TextSide:
        try:
            tower = self._open_model(self.text_path, self._threads)
        except Exception as error:
            raise ModelUnavailable(
                f"Could not load the CLIP text tower {self.text_path} ({type(error).__name__}: {error}); delete "
                f"that file to have it exported again from {self._text_dir}. {HOW_TO_FIX}"
            ) from error
        if output_width(tower) != self.dim:
            raise mismatched_text_model(self.text_path, output_width(tower), self.dim)
        try:
            tokenizer, max_length = load_tokenizer(self._layout)
        except Exception as error:
            raise ModelUnavailable(
                f"Could not load the CLIP text model's tokenizer from {self._layout.transformer_dir} "
                f"({type(error).__name__}: {error}). {HOW_TO_FIX}"
            ) from error
        return TextSide(tower, tokenizer, max_length)


def _processor(clip_dir: Path) -> Callable[[Image.Image], np.ndarray]:
    """transformers' image processor for the model, one image at a time (where preprocess.py does not apply)."""
    from transformers import AutoImageProcessor

    processor = AutoImageProcessor.from_pretrained(str(clip_dir))
    return lambda image: processor(images=[image], return_tensors="np")["pixel_values"][0]


def load_tokenizer(layout: TextLayout) -> tuple[Any, int]:
    """The text model's tokenizer and the token limit sentence-transformers applies (its max_seq_length, else the
    tokenizer's, capped by the model's positions)."""
    from transformers import AutoConfig, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(layout.transformer_dir))
    if layout.max_length is not None:
        return tokenizer, layout.max_length
    positions = getattr(AutoConfig.from_pretrained(str(layout.transformer_dir)), "max_position_embeddings", -1)
    return tokenizer, min(tokenizer.model_max_length, positions if positions > 0 else 10**9)


def exported_towers(
    image_dir: Path, text_dir: Path, cache_dir: Path, names: tuple[str, str] | None = None
) -> tuple[Path, Path]:
    """The two towers' ONNX files in cache_dir (named after the models and their files), exported if missing."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    image_name, text_name = names or (image_dir.resolve().name, text_dir.resolve().name)
    image_path = cache_dir / f"clip-image-{image_name}-{cache_key(image_dir)}.onnx"
    text_path = cache_dir / f"clip-text-{text_name}-{cache_key(text_dir)}.onnx"
    if not image_path.exists():
        export_image_tower(image_dir, image_path)
    if not text_path.exists():
        export_text_tower(text_dir, text_path)
    return image_path, text_path


def output_width(model) -> int:
    """The embedding width of an ONNX Runtime session or an OpenVINO model."""
    if hasattr(model, "output_width"):
        return int(model.output_width())
    return int(model.get_outputs()[0].shape[-1])


def quantized(path: Path) -> Path:
    """The int8 (dynamic quantisation, per-channel weights) twin of an ONNX model, made once."""
    target = path.with_name(path.stem + "-int8pc.onnx")  # the recipe is in the name
    if not target.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        log.info("quantising %s", path.name)
        atomic_write(
            target, lambda temp: quantize_dynamic(str(path), str(temp), weight_type=QuantType.QInt8, per_channel=True)
        )
    return target


def export_image_tower(image_dir: Path, path: Path) -> None:
    """pixel_values (n x 3 x H x W) -> image embedding, as sentence-transformers' CLIPModel computes it."""
    import torch
    from sentence_transformers import SentenceTransformer

    from image_search.embedders.clip.towers import ImageTower

    log.info("exporting the CLIP image tower of %s to ONNX", image_dir)
    model = SentenceTransformer(str(image_dir), device="cpu", local_files_only=True)
    tower = ImageTower(_auto_model(model[0])).eval()
    size = tower.image_size
    _export(tower, (torch.zeros(2, 3, size, size),), ["pixel_values"], {"pixel_values": {0: "batch"}}, path)


def export_text_tower(text_dir: Path, path: Path) -> None:
    """input_ids, attention_mask -> text embedding: transformer, mean pooling, the Dense layers."""
    from sentence_transformers import SentenceTransformer

    from image_search.embedders.clip.towers import TextTower

    log.info("exporting the CLIP text tower of %s to ONNX", text_dir)
    model = SentenceTransformer(str(text_dir), device="cpu", local_files_only=True)
    modules = list(model)
    tower = TextTower(_auto_model(modules[0]), [m for m in modules[2:] if hasattr(m, "linear")]).eval()
    # A padded example, so the traced graph keeps the attention mask.
    tokens = model.tokenizer(["a photo of a mountain covered in snow", "a"], padding=True, return_tensors="pt")
    inputs = (tokens["input_ids"].long(), tokens["attention_mask"].long())
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    _export(tower, inputs, ["input_ids", "attention_mask"], axes, path)


def _auto_model(module):
    return getattr(module, "auto_model", None) or module.model  # older sentence-transformers: .model


def _export(tower, inputs: tuple, input_names: list[str], axes: dict, path: Path) -> None:
    import torch

    def write(temp: str) -> None:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer and legacy-exporter notices; equality is tested
            # The TorchScript exporter: the dynamo one needs onnxscript, which the app does not ship.
            torch.onnx.export(
                tower,
                inputs,
                str(temp),
                dynamo=False,
                input_names=input_names,
                output_names=["embedding"],
                dynamic_axes={**axes, "embedding": {0: "batch"}},
                opset_version=OPSET,
            )

    atomic_write(path, write)
