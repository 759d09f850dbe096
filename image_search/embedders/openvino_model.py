"""The one way OpenVINO models are made: read from the project's ONNX exports, compiled for the CPU with a fixed
thread count and an explicit precision, the compiled blob cached beside the exports."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from image_search.atomic import atomic_write
from image_search.embedders.base import require

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install openvino"
PRECISIONS = ("f32", "bf16")
# bf16 (or another reduced precision) is used only when its vectors are this close to f32's on fixed inputs
MIN_COSINE = 0.999


def reduced_precision_supported(precision: str = "bf16") -> bool:
    """Whether this CPU runs `precision` natively (OpenVINO's OPTIMIZATION_CAPABILITIES: AVX512-BF16 or AMX)."""
    import openvino as ov

    return precision.upper() in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


class OpenVinoModel:
    """An ONNX file compiled by OpenVINO for the CPU; `run` has ONNX Runtime's signature, so callers swap it in.

    threads: INFERENCE_NUM_THREADS, set deliberately like the ONNX sessions' intra-op threads (OpenVINO
    otherwise takes every core, which a web process serving requests side by side must not). precision:
    f32 (this CPU's default hint is bf16 where it has AMX/AVX512-BF16, so f32 is always asked for by name) or
    bf16. One stream: a call runs on `threads` threads, the app runs calls side by side itself.
    """

    def __init__(self, onnx_path: Path, threads: int, precision: str = "f32", cache_dir: Path | None = None):
        require("openvino", hint=INSTALL_HINT)
        import openvino as ov

        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
        core = ov.Core()
        threads = max(1, int(threads))
        if cache_dir is not None:
            # OpenVINO 2026.4's blob names ignore the precision hint: a bf16 compile loaded the f32 blob and
            # returned NaN (the self-check caught it). So one folder per precision and thread count.
            cache_dir = cache_dir / f"{precision}-{threads}threads"
            cache_dir.mkdir(parents=True, exist_ok=True)
            core.set_property({"CACHE_DIR": str(cache_dir)})
        config = {
            "INFERENCE_NUM_THREADS": threads,
            "INFERENCE_PRECISION_HINT": precision,
            "NUM_STREAMS": 1,
            "PERFORMANCE_HINT": "LATENCY",
            "ENABLE_HYPER_THREADING": False,
        }
        self.path, self.precision = Path(onnx_path), precision
        self._compiled = core.compile_model(str(onnx_path), "CPU", config)
        self._local = threading.local()  # an infer request per thread: requests are not thread-safe
        self.input_names = [port.get_any_name() for port in self._compiled.inputs]
        self.output_names = [port.get_any_name() for port in self._compiled.outputs]

    def output_width(self, index: int = 0) -> int:
        return int(self._compiled.outputs[index].get_partial_shape()[-1].get_length())

    def run(self, output_names: list[str] | None, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self._compiled.create_infer_request()
        results = request.infer(feeds, share_inputs=False)
        wanted = output_names or self.output_names
        by_name = {port.get_any_name(): value for port, value in results.items()}
        return [np.array(by_name[name], dtype=np.float32) for name in wanted]


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two equally shaped float arrays (the self-check's measure)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.sum(a * b, axis=1) / np.maximum(norms, 1e-30)


def check_images() -> list[Image.Image]:
    """Fixed inputs for the self-checks: noise, a gradient and flat colours, at camera-like sizes."""
    rng = np.random.RandomState(16)
    gradient = np.linspace(0, 255, 320 * 240 * 3).reshape(240, 320, 3).astype(np.uint8)
    return [
        Image.fromarray(rng.randint(0, 256, (300, 400, 3), dtype=np.uint8)),
        Image.fromarray(gradient),
        Image.fromarray(np.clip(rng.normal(120, 40, (256, 256, 3)), 0, 255).astype(np.uint8)),
        Image.new("RGB", (224, 224), (30, 120, 200)),
    ]


def remembered_verdict(record: Path, measure_cosine: Callable[[], float]) -> tuple[bool, float]:
    """(passed, cosine) of a reduced-precision self-check, measured once and kept in `record` (first writer
    wins, so processes checking at once agree). NaN (a model that overflows in bf16) fails."""
    known = read_verdict(record)
    if known is None:
        cosine = float(measure_cosine())
        verdict = {"cosine": cosine, "passed": bool(cosine >= MIN_COSINE), "min_cosine": MIN_COSINE}
        atomic_write(record, lambda temp: Path(temp).write_text(json.dumps(verdict)), replace=False)
        known = read_verdict(record) or verdict
        log.info("%s: cosine %.5f to f32 (needs %s)", record.name, known["cosine"], MIN_COSINE)
    return bool(known["passed"]), float(known["cosine"])


def read_verdict(path: Path) -> dict | None:
    """The remembered verdict, or None where there is none or it is unreadable (then it is measured again)."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) and {"cosine", "passed"} <= set(value) else None
