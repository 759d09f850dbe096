"""CLIP: images through CLIP ViT-B/32, texts in 50+ languages through its multilingual text student.

Both sentence-transformers models map into one 512-d space. Runs on torch (sentence-transformers) or
on ONNX Runtime (towers exported once, cached in cache_dir; same vectors; on 2 CPU cores text queries
about 4x faster, images about 1.2x, or about 3x with the int8 image tower: bench/bench_clip.py).
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image

from image_search.embedders.base import Embedder, l2_normalise
from image_search.embedders.clip.location import HOW_TO_FIX, find_local, locate, short_name
from image_search.embedders.clip.options import RUNTIMES, ClipOptions
from image_search.errors import ModelUnavailable

log = logging.getLogger(__name__)


class Towers(Protocol):
    """The two towers on one runtime: onnx_runtime.OnnxClip (ONNX Runtime or OpenVINO) or torch_runtime.TorchClip."""

    dim: int

    def embed_images(self, images: list[Image.Image]) -> np.ndarray: ...

    def embed_texts(self, texts: list[str]) -> np.ndarray: ...


@runtime_checkable
class PixelTowers(Towers, Protocol):
    """Towers that take pixel arrays as well (onnx_runtime.OnnxClip): preprocessing then runs off the model's thread."""

    def pixels(self, image: Image.Image) -> np.ndarray: ...

    def embed_pixels(self, pixels: np.ndarray) -> np.ndarray: ...


DEFAULT_IMAGE_MODEL = ClipOptions.image_model
DEFAULT_TEXT_MODEL = ClipOptions.text_model


def clip_weights_available_locally(
    image_model: str = DEFAULT_IMAGE_MODEL, text_model: str = DEFAULT_TEXT_MODEL
) -> bool:
    """Both models are on disk (local directories or in the Hugging Face cache); no network, no loading."""
    return find_local(image_model) is not None and find_local(text_model) is not None


# The runtimes whose vectors differ from f32's, and the suffix of their model ids.
REDUCED = {"torch": "", "onnx": "", "openvino": "", "onnx-int8": "int8", "openvino-bf16": "bf16"}


def clip_model_id(image_model: str, text_model: str, reduced: str = "") -> str:
    """Names the vector space: the same for torch, ONNX and OpenVINO f32 (equal vectors), not for int8 or bf16."""
    return f"clip:{short_name(image_model)}+{short_name(text_model)}" + (f"+{reduced}" if reduced else "")


def _load_towers(
    runtime: str, image_dir: Path, text_dir: Path, cache_dir: Path, *, threads: int, quantize: bool, names
) -> tuple[str, Towers, str]:
    """(the runtime actually used, its towers, why it was chosen)."""
    if runtime == "torch":
        from image_search.embedders.clip.torch_runtime import TorchClip

        return "torch", TorchClip(image_dir, text_dir, threads=threads), "RUNTIME=torch"
    from image_search.embedders.clip.onnx_runtime import OnnxClip

    if runtime == "onnx":
        towers = OnnxClip(image_dir, text_dir, cache_dir, threads=threads, quantize=quantize, names=names)
        return ("onnx-int8" if quantize else "onnx"), towers, "RUNTIME=onnx" + (", QUANTIZE" if quantize else "")
    if runtime == "openvino":
        from image_search.embedders.clip.onnx_runtime import exported_towers
        from image_search.embedders.clip.openvino_runtime import bf16_verdict, openvino_clip

        @functools.cache  # built once, and with QUANTIZE only when bf16 is not used or its check is measured
        def build(precision: str) -> OnnxClip:
            return openvino_clip(image_dir, text_dir, cache_dir, threads=threads, precision=precision, names=names)

        if not quantize:
            return "openvino", build("f32"), "RUNTIME=openvino"
        exports = exported_towers(image_dir, text_dir, cache_dir, names)
        bf16, why = bf16_verdict(exports, lambda: build("f32"), lambda: build("bf16"))
        if bf16 is None:
            log.warning("QUANTIZE with RUNTIME=openvino: %s; running f32", why)
            return "openvino", build("f32"), f"RUNTIME=openvino, QUANTIZE: {why}"
        return "openvino-bf16", bf16, f"RUNTIME=openvino, QUANTIZE: {why}"
    from image_search.embedders.clip.runtime_choice import choose

    chosen = choose(image_dir, text_dir, cache_dir, threads=threads, names=names)
    return chosen.runtime, chosen.towers, f"RUNTIME=auto, {chosen.reason}"


class ClipEmbedder(Embedder):
    """Images and texts (any of 50+ languages) into CLIP's space; unit float32 vectors.

    image_model / text_model: a hub name (bare names are under sentence-transformers/) or a local
    directory. local_files_only: never touch the network (fails fast when not cached). hub_timeout
    bounds the wait for an unreachable hub before a download. threads: math threads, set
    deliberately. quantize: int8 ONNX image tower (about 2.5x faster; its vectors differ slightly, so
    it gets its own model_id; check its cosine to fp32 on the real weights with the bench first).
    """

    def __init__(
        self,
        image_model: str = DEFAULT_IMAGE_MODEL,
        text_model: str = DEFAULT_TEXT_MODEL,
        *,
        runtime: str = "torch",
        cache_dir: Path | None = None,
        threads: int = 1,
        local_files_only: bool = False,
        hub_timeout: float = ClipOptions.hub_timeout,
        quantize: bool = False,
        batch_size: int = 32,
    ) -> None:
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {RUNTIMES}, not {runtime!r}")
        image_dir = locate(image_model, local_files_only=local_files_only, hub_timeout=hub_timeout)
        text_dir = locate(text_model, local_files_only=local_files_only, hub_timeout=hub_timeout)
        self.batch_size = batch_size
        names = (short_name(image_model), short_name(text_model))
        cache_root = Path(cache_dir) if cache_dir else Path.home() / ".cache" / "image_search"
        self._towers: Towers
        try:
            self.runtime, self._towers, self.runtime_reason = _load_towers(
                runtime, image_dir, text_dir, cache_root / "onnx", threads=threads, quantize=quantize, names=names
            )
        except ModelUnavailable:
            raise
        except Exception as error:  # damaged or foreign files: say which, keep the cause
            raise ModelUnavailable(
                f"Could not load CLIP from {image_dir} and {text_dir} ({type(error).__name__}: {error}). {HOW_TO_FIX}"
            ) from error
        self.model_id = clip_model_id(image_model, text_model, REDUCED[self.runtime])
        self.dim = self._towers.dim
        self.input_size = shortest_edge(image_dir)
        self.runtime_description = f"{self.runtime} ({self.runtime_reason})"
        log.info("CLIP runtime: %s", self.runtime_description)

    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        images = [image if image.mode == "RGB" else image.convert("RGB") for image in images]
        return self._batched(self._towers.embed_images, images)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        return self._batched(self._towers.embed_texts, list(texts))

    def prepare_texts(self) -> None:
        """Nothing is left to build: both towers' ONNX exports are made when the towers load, once per model. The
        text tower and tokenizer open in each process at its first text (OpenVINO compiles per thread count, and the
        web server's differs from the indexer's), so opening them here would only cost this process (an indexer)
        seconds and memory."""

    def prepare_image(self, image: Image.Image) -> Any:
        image = image if image.mode == "RGB" else image.convert("RGB")
        return self._towers.pixels(image) if isinstance(self._towers, PixelTowers) else image

    def embed_prepared(self, prepared: list[Any]) -> np.ndarray:
        if not isinstance(self._towers, PixelTowers):
            return self.embed_images(prepared)
        embed_pixels = self._towers.embed_pixels
        return self._batched(lambda batch: embed_pixels(np.stack(batch)), prepared)

    def _batched(self, embed, items: list) -> np.ndarray:
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [embed(items[start : start + self.batch_size]) for start in range(0, len(items), self.batch_size)]
        return l2_normalise(np.concatenate(parts))


def shortest_edge(image_dir: Path) -> int | None:
    """The side CLIP's image processor resizes to (224 for ViT-B/32), so the indexer can shrink
    photos to it while decoding; None when the processor config does not say."""
    import json

    for config in Path(image_dir).rglob("*processor_config.json"):  # older and newer transformers
        try:
            settings = json.loads(config.read_text())
            size = settings.get("image_processor", settings)["size"]
            return int(size["shortest_edge"] if isinstance(size, dict) else size)
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None
