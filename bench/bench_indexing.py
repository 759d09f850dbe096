"""Indexing throughput: end-to-end (files -> decode -> model -> store) vs model-only, same images, same run.

The model is a real-architecture stand-in (randomly initialised CLIP ViT-B/32 vision tower, 2 torch
threads = INDEX_THREADS). The photos are real (scikit-image samples, Debian darknet and tuxpaint
templates) replicated into camera-like JPEGs (12 MP, 2 MP, original size) with crops and flips,
so every file differs. Rounds alternate end-to-end and model-only, so noise hits both alike.

    python bench/bench_indexing.py [--images 120] [--rounds 4] [--workdir /tmp/bench_indexing]
"""

from __future__ import annotations

import argparse
import glob
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from image_search.demo_photos import SAMPLES  # noqa: E402
from image_search.images import decode  # noqa: E402
from image_search.indexing.plan import plan_run  # noqa: E402
from image_search.indexing.run import run_plan  # noqa: E402
from image_search.stores.embedded.store import EmbeddedStore  # noqa: E402
from image_search.threads import limit_threads  # noqa: E402
from standins import RandomViT  # noqa: E402

DEBIAN = ["/tmp/perf/debs/x/usr/share/darknet/data/*.jpg", "/tmp/perf/debs/x/usr/share/tuxpaint/templates/*.jpg"]
SIZES = [(4000, 3000), (1600, 1200), None]  # camera, phone-export, original


def sources() -> list[Image.Image]:
    import skimage.data

    found = [Image.fromarray(getattr(skimage.data, n)()).convert("RGB") for n in SAMPLES]
    for pattern in DEBIAN:  # fetched with: apt-get download darknet tuxpaint-data; dpkg-deb -x
        found += [Image.open(p).convert("RGB") for p in sorted(glob.glob(pattern))]
    return found


def make_photos(folder: Path, count: int) -> list[Path]:
    paths = sorted(folder.glob("*.jpg"))
    if len(paths) >= count:
        return paths[:count]
    folder.mkdir(parents=True, exist_ok=True)
    originals, rng = sources(), np.random.default_rng(0)
    for i in range(count):
        img = originals[i % len(originals)]
        w, h = img.size
        box = (int(rng.integers(0, w // 8 + 1)), int(rng.integers(0, h // 8 + 1)))
        img = img.crop((*box, w - int(rng.integers(0, w // 8 + 1)), h - int(rng.integers(0, h // 8 + 1))))
        img = ImageOps.mirror(img) if i % 2 else img
        size = SIZES[i % len(SIZES)]
        if size:
            img = img.resize(size if img.width >= img.height else size[::-1], Image.BILINEAR)
        img.save(folder / f"photo{i:04}.jpg", quality=90)
    return sorted(folder.glob("*.jpg"))[:count]


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def end_to_end(model, folder: Path, batch: int, **kw) -> tuple[float, float]:
    """images/s and peak RSS (MB, sampled) of plan_run + run_plan into a fresh store."""
    peak, done = [rss_mb()], threading.Event()

    def sample():
        while not done.wait(0.05):
            peak.append(rss_mb())

    threading.Thread(target=sample, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        store = EmbeddedStore(Path(tmp))
        report = run_plan(store, model, plan_run(store, [folder]), batch_size=batch, **kw)
        store.close()
    done.set()
    assert not report.skipped, report.skipped[:3]
    return report.embedded / report.seconds, max(peak)


def model_only(model, paths: list[Path], batch: int, draft: int) -> float:
    """images/s of embed_images on images decoded beforehand (decoding not timed)."""
    total = 0.0
    for start in range(0, len(paths), batch):
        images = [decode(str(p), draft).image for p in paths[start : start + batch]]
        started = time.perf_counter()
        model.embed_images(images)
        total += time.perf_counter() - started
    return len(paths) / total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_indexing"))
    args = parser.parse_args()
    paths = make_photos(args.workdir / "photos", args.images)
    megabytes = sum(p.stat().st_size for p in paths) / 1e6
    print(f"{len(paths)} JPEGs, {megabytes:.0f} MB (1/3 each 12 MP, 2 MP, original size)")
    limit_threads(2)
    model = RandomViT(threads=2)
    model.embed_images([Image.new("RGB", (224, 224))] * 4)  # warm
    folder = args.workdir / "photos"
    # (name, draft size, run_plan options or None for model-only); each pipeline is compared with
    # the model-only run on images decoded at the same draft size.
    variants = [
        ("model only", 224, None),
        ("end-to-end", 224, {}),
        ("model only", 448, None),
        ("end-to-end, before (no shrink in workers)", 448, {"draft_size": 448, "shrink_in_workers": False}),
    ]
    rows = {}
    for _ in range(args.rounds):
        for name, draft, kw in variants:
            if kw is None:
                result = model_only(model, paths, args.batch, draft), None
            else:
                result = end_to_end(model, folder, args.batch, **kw)
            rows.setdefault((name, draft), []).append(result)
    # Paired: each end-to-end pass against the model-only pass just before it (same noise).
    print("| pipeline | JPEG draft | images/s (mean) | x model-only (median of paired rounds) | peak RSS MB |")
    print("|---|---|---|---|---|")
    for (name, draft), results in rows.items():
        base = rows[("model only", draft)]
        ratios = [r / b for (r, _), (b, _) in zip(results, base, strict=True)]
        peak = max((p for _, p in results if p is not None), default=None)
        print(
            f"| {name} | {draft} | {np.mean([r for r, _ in results]):.1f} | {np.median(ratios):.2f} "
            f"({' '.join(f'{x:.2f}' for x in ratios)}) | {f'{peak:.0f}' if peak else ''} |"
        )


if __name__ == "__main__":
    main()
