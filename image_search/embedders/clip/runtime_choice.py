"""RUNTIME=auto: the fastest CLIP runtime that passes on this CPU, measured once per model and remembered.

Candidates: ONNX Runtime f32, OpenVINO f32 and OpenVINO bf16 (only when it passed its self-check). Each embeds
the same batch of images a few times; the best images/s wins (indexing is where the time goes; text queries
are a few ms on each). The choice is written beside the exports (first writer wins), so every process of the
app (the web server at 1 thread, `flask index` at 2) uses one vector space.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from image_search.atomic import atomic_write
from image_search.embedders.clip.onnx_runtime import OnnxClip, exported_towers
from image_search.embedders.clip.openvino_runtime import bf16_verdict, openvino_clip
from image_search.embedders.openvino_model import check_images

log = logging.getLogger(__name__)

TIMED_RUNS = 2  # after one warm-up run; the best run counts (a shared machine only ever slows one down)
TIMED_BATCH = 8


@dataclass(frozen=True)
class Chosen:
    runtime: str  # onnx | openvino | openvino-bf16
    towers: OnnxClip
    reason: str


def images_per_second(towers: OnnxClip, images: list[Image.Image]) -> float:
    towers.embed_images(images)
    best = float("inf")
    for _ in range(TIMED_RUNS):
        start = time.perf_counter()
        towers.embed_images(images)
        best = min(best, time.perf_counter() - start)
    return len(images) / best


def choose(image_dir: Path, text_dir: Path, cache_dir: Path, *, threads: int, names: tuple[str, str]) -> Chosen:
    image_path, text_path = exported_towers(image_dir, text_dir, cache_dir, names)
    record = image_path.with_name(f"runtime-choice-{image_path.stem}-{text_path.stem}.json")

    def build(runtime: str) -> OnnxClip:
        if runtime == "onnx":
            return OnnxClip(image_dir, text_dir, cache_dir, threads=threads, names=names)
        precision = "bf16" if runtime == "openvino-bf16" else "f32"
        return openvino_clip(image_dir, text_dir, cache_dir, threads=threads, precision=precision, names=names)

    known = _read(record)
    if known is not None:  # only the chosen runtime is loaded (ONNX Runtime's sessions took seconds for nothing)
        return Chosen(known["runtime"], build(known["runtime"]), f"measured fastest on this CPU: {known['why']}")
    record.unlink(missing_ok=True)  # a damaged record (a foreign or truncated file) is measured again
    onnx = build("onnx")
    try:
        candidates = {"onnx": onnx, "openvino": build("openvino")}
    except Exception as error:  # openvino missing or unable to compile: ONNX Runtime, measured again next time
        log.warning("OpenVINO unavailable (%s: %s); using ONNX Runtime", type(error).__name__, error)
        return Chosen("onnx", onnx, f"OpenVINO unavailable ({error})")
    bf16, bf16_why = bf16_verdict(
        (image_path, text_path), lambda: candidates["openvino"], lambda: build("openvino-bf16")
    )
    if bf16 is not None:
        candidates["openvino-bf16"] = bf16
    images = (check_images() * TIMED_BATCH)[:TIMED_BATCH]
    rates = {name: images_per_second(towers, images) for name, towers in candidates.items()}
    fastest = max(rates, key=rates.__getitem__)
    why = ", ".join(f"{name} {rate:.1f} images/s" for name, rate in rates.items()) + f" at {threads} threads"
    why += f"; {bf16_why}"
    log.info("CLIP runtime measured: %s; using %s", why, fastest)
    atomic_write(
        record, lambda temp: Path(temp).write_text(json.dumps({"runtime": fastest, "why": why})), replace=False
    )
    known = _read(record) or {"runtime": fastest, "why": why}  # another process measured first: its choice stands
    chosen = known["runtime"]
    towers = candidates.get(chosen) or build(chosen)
    return Chosen(chosen, towers, f"measured fastest on this CPU: {known['why']}")


def _read(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    valid = isinstance(value, dict) and value.get("runtime") in ("onnx", "openvino", "openvino-bf16")
    return value if valid and isinstance(value.get("why"), str) else None
