"""CLIP on torch vs ONNX Runtime vs OpenVINO (f32 and bf16), side by side, on random weights of the real models' sizes.

ViT-B/32 image tower and multilingual DistilBERT text tower (configs in tests/doubles/tiny_clip.py, no
download), or real models with --image-model/--text-model. Measures image throughput at one batch
size (preprocessing included) and single-query text latency, alternating the runtimes round by
round so a noisy machine hits them alike; reports the best and the median round, by wall clock and
per CPU-second. OpenVINO bf16 runs when it passes its self-check (cosine >= 0.999 to f32 on fixed inputs);
--quantize adds the int8 ONNX image tower and its cosine to fp32. Last, what RUNTIME=auto picks.

    python -m bench.bench_clip [--threads 2] [--rounds 5] [--quantize]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def photos(count: int) -> list[Image.Image]:
    """Camera-sized noise images: preprocessing (resize + crop) costs what it costs on real photos."""
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)) for _ in range(count)]


def timed(call) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def random_models(workdir: Path) -> tuple[Path, Path]:
    from tests.doubles.tiny_clip import REAL_SIZES, build_random_clip

    image_dir, text_dir = workdir / "vit-b-32-image", workdir / "vit-b-32-text"
    if not (image_dir.exists() and text_dir.exists()):
        start = time.perf_counter()
        image_dir, text_dir = build_random_clip(workdir, REAL_SIZES, prefix="vit-b-32")
        print(f"built random ViT-B/32 + multilingual DistilBERT in {time.perf_counter() - start:.0f}s")
    return image_dir, text_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=int, default=10, help="single-query texts per round")
    parser.add_argument("--quantize", action="store_true", help="also the int8 ONNX image tower")
    parser.add_argument("--image-model", help="a real image model (name or directory) instead of random")
    parser.add_argument("--text-model", help="a real text model (name or directory) instead of random")
    parser.add_argument("--workdir", type=Path, help="keep models and exports here (default: a temp dir)")
    args = parser.parse_args()

    from image_search.embedders.clip.embedder import ClipEmbedder

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-clip-"))
    if args.image_model and args.text_model:
        image_model, text_model = args.image_model, args.text_model
    else:
        image_model, text_model = map(str, random_models(workdir))
    common = dict(threads=args.threads, batch_size=args.batch, cache_dir=workdir / "cache", local_files_only=True)
    variants = {
        "torch": dict(runtime="torch"),
        "onnx": dict(runtime="onnx"),
        "ov f32": dict(runtime="openvino"),
        "ov bf16": dict(runtime="openvino", quantize=True),
    }
    if args.quantize:
        variants["onnx int8"] = dict(runtime="onnx", quantize=True)
    embedders = {}
    for name, options in variants.items():
        start = time.perf_counter()
        embedder = ClipEmbedder(image_model, text_model, **common, **options)
        print(f"{name:10} ready in {time.perf_counter() - start:5.1f}s: {embedder.runtime_description}")
        if name == "ov bf16" and embedder.runtime != "openvino-bf16":
            continue  # bf16 failed its self-check or this CPU lacks it: said above
        embedders[name] = embedder

    images = photos(args.batch)
    queries = ["a mountain covered in snow", "ein Berg mit Schnee", "a red car on the beach", "la montagne"]
    image_times = {name: [] for name in embedders}
    text_times = {name: [] for name in embedders}
    vectors = {name: embedder.embed_images(images) for name, embedder in embedders.items()}  # warm-up
    for _ in range(args.rounds):
        for name, embedder in embedders.items():
            image_times[name].append(timed(lambda e=embedder: e.embed_images(images)))
            for index in range(args.queries):
                query = queries[index % len(queries)]
                text_times[name].append(timed(lambda e=embedder, q=query: e.embed_texts([q])))

    print(f"\nthreads {args.threads}, batch {args.batch}, {args.rounds} rounds; best / median")
    print(f"{'':10} {'images/s wall':>16} {'images/CPU-s':>16} {'text ms wall':>16} {'text CPU-ms':>16}")
    for name in embedders:
        wall = [args.batch / w for w, _ in image_times[name]]
        cpu = [args.batch / c for _, c in image_times[name]]
        text_wall = [w * 1000 for w, _ in text_times[name]]
        text_cpu = [c * 1000 for _, c in text_times[name]]
        print(
            f"{name:10} {max(wall):7.1f} / {statistics.median(wall):6.1f} {max(cpu):7.1f} / "
            f"{statistics.median(cpu):6.1f} {min(text_wall):7.1f} / {statistics.median(text_wall):6.1f} "
            f"{min(text_cpu):7.1f} / {statistics.median(text_cpu):6.1f}"
        )

    texts = {name: embedder.embed_texts(queries) for name, embedder in embedders.items()}
    print(
        f"\nonnx vs torch, max |difference|: images {np.abs(vectors['onnx'] - vectors['torch']).max():.1e}, "
        f"texts {np.abs(texts['onnx'] - texts['torch']).max():.1e}"
    )
    print(
        f"openvino f32 vs torch, max |difference|: images {np.abs(vectors['ov f32'] - vectors['torch']).max():.1e}, "
        f"texts {np.abs(texts['ov f32'] - texts['torch']).max():.1e}"
    )
    for name in ("onnx int8", "ov bf16"):
        if name in vectors:
            cosine = np.sum(vectors[name] * vectors["onnx"], axis=1)
            text_cosine = np.sum(texts[name] * texts["onnx"], axis=1)
            print(
                f"{name} vs onnx f32: image cosine min {cosine.min():.5f}, mean {cosine.mean():.5f}; "
                f"text cosine min {text_cosine.min():.5f}"
            )
    start = time.perf_counter()
    auto = ClipEmbedder(image_model, text_model, **common, runtime="auto")
    print(f"\nRUNTIME=auto ({time.perf_counter() - start:.1f}s): {auto.runtime_description}")


if __name__ == "__main__":
    main()
