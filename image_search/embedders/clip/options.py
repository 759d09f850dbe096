"""Which CLIP to load and how to run it; the defaults are the reference design's models."""

from __future__ import annotations

from dataclasses import dataclass

RUNTIMES = ("torch", "onnx")


@dataclass(frozen=True)
class ClipOptions:
    # sentence-transformers names or local directories
    image_model: str = "clip-ViT-B-32"
    text_model: str = "sentence-transformers/clip-ViT-B-32-multilingual-v1"
    runtime: str = "onnx"  # onnx | torch (same vectors; ONNX Runtime is faster on CPUs)
    quantize: bool = False  # int8 ONNX image tower: ~2.5x faster; off until checked on real weights
    hub_timeout: float = 10.0  # seconds auto mode waits for the model hub
