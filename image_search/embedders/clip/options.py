"""Which CLIP to load and how to run it; the defaults are the reference design's models."""

from __future__ import annotations

from dataclasses import dataclass

# auto: the fastest of onnx, openvino and openvino bf16 (when it passes its self-check), measured once per model
RUNTIMES = ("auto", "torch", "onnx", "openvino")


@dataclass(frozen=True)
class ClipOptions:
    # sentence-transformers names or local directories
    image_model: str = "clip-ViT-B-32"
    text_model: str = "sentence-transformers/clip-ViT-B-32-multilingual-v1"
    runtime: str = "auto"  # auto | torch | onnx | openvino (f32 vectors equal on all; auto may pick bf16)
    # reduced precision, its own model id: onnx -> int8 image tower (~2.5x faster, unchecked: off until checked
    # on real weights); openvino -> bf16 towers, used only when they pass a self-check against f32
    quantize: bool = False
    hub_timeout: float = 10.0  # seconds auto mode waits for the model hub
