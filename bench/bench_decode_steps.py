"""Issue #16 item 2: where the indexer's per-image CPU goes outside the model, step by step, on one thread.

Each photo goes through the steps the decode threads of `run_plan` take (images.decode, run.shrink, the embedder's
prepare_image), timed one by one with this thread's CPU clock, so the steps add up to what a decode thread spends;
the whole chain is also timed as the pipeline calls it (`decode + shrink + prepare`), as a check of the sum. As
run_plan does, glibc's malloc keeps large freed blocks (image_search/allocator.py) unless --glibc-default. Figures
are CPU ms per image: in total, per step, and per kind of file (progressive or baseline JPEG, PNG, by size). PNG
copies of a few photos are made in --workdir when --png N > 0 (the camera set holds only JPEGs). Store writes: the
embedded store's upsert of the same number of records with random vectors, per image.

    bench/fetch_camera_photos.sh /tmp/camera-photos
    python bench/bench_decode_steps.py [--photos /tmp/camera-photos] [--rounds 2] [--png 6]
"""

from __future__ import annotations

import argparse
import collections
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[variable] = "1"

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from image_search import images  # noqa: E402
from image_search.embedders.clip.preprocess import ClipPreprocessing  # noqa: E402
from image_search.indexing.run import shrink  # noqa: E402
from image_search.stores import ImageRecord  # noqa: E402
from image_search.stores.embedded.store import EmbeddedStore  # noqa: E402
from image_search.user_files import open_regular  # noqa: E402

SIZE = 224  # CLIP ViT-B/32's input, as embedder.input_size gives it
PREPARE = ClipPreprocessing(
    shortest_edge=SIZE,
    crop=(SIZE, SIZE),
    resample=Image.Resampling.BICUBIC,
    rescale=1 / 255,
    mean=np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32),
    std=np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32),
)  # ViT-B/32's preprocessor_config.json


class Steps:
    """CPU seconds of this thread per named step, for one image."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str, call: Callable[[], Any]) -> Any:
        started = time.thread_time()
        result = call()
        self.seconds[name] = self.seconds.get(name, 0.0) + time.thread_time() - started
        return result


def steps_of(path: Path) -> dict[str, float]:
    """images._decode, run.shrink and prepare_image, their steps timed one by one (the same calls, in order)."""
    step = Steps()
    with ExitStack() as scope:
        fp = step("file open + read", lambda: io.BytesIO(scope.enter_context(open_regular(path)).read()))
        img = step("Image.open (header)", lambda: scope.enter_context(Image.open(fp)))
        header = img.size
        if img.format == "JPEG":
            step("draft", lambda: img.draft("RGB", (SIZE, SIZE)))
        pixels = step("progressive scans cut", lambda: images._fewer_scans(img, fp, SIZE, scope)) or img
        pixels.seek(0)
        step("decode (libjpeg / zlib)", pixels.load)
        exif = step("EXIF read", img.getexif)
        rgb = step("mode conversion + whole-factor reduce", lambda: images.reduced_rgb(pixels, SIZE))
        upright = step("EXIF transpose", lambda: images.upright(rgb, exif.get(images.ORIENTATION)))
        step("taken_at", lambda: images.exif_taken_at(exif))
        del header
    small = step("shrink (bicubic to 224)", lambda: shrink(upright, SIZE))
    step("model input (resize, crop, normalise)", lambda: PREPARE(small))
    return step.seconds


def whole_chain(path: Path) -> float:
    started = time.thread_time()
    PREPARE(shrink(images.decode(str(path), SIZE).image, SIZE))
    return time.thread_time() - started


def kind_of(path: Path) -> str:
    with Image.open(path) as img:
        if img.format != "JPEG":
            return f"{img.format} {'<=2' if img.width * img.height <= 2e6 else '>2'} MP"
        coding = "progressive" if img.info.get("progressive") else "baseline"
        megapixels = img.width * img.height / 1e6
        size = "<=2 MP" if megapixels <= 2 else "2-5 MP" if megapixels <= 5 else ">5 MP"
        return f"JPEG {coding} {size}"


def store_writes(count: int) -> float:
    """CPU s of the embedded store's upsert of `count` records of 512-d vectors, in batches of 32, and the flush."""
    with tempfile.TemporaryDirectory(prefix="bench-decode-store-") as folder:
        store = EmbeddedStore(Path(folder))
        store.claim("bench", 512, True)
        vectors = np.random.default_rng(0).standard_normal((count, 512)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        records = [
            ImageRecord(path=f"/photos/{i}.jpg", root="/photos", size=1, mtime_ns=1, width=1, height=1,
                        taken_at=0.0, format="JPEG")
            for i in range(count)
        ]  # fmt: skip
        started = time.process_time()
        for start in range(0, count, 32):
            store.upsert(records[start : start + 32], vectors[start : start + 32])
        store.flush()
        seconds = time.process_time() - started
        store.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=Path("/tmp/camera-photos"))
    parser.add_argument("--rounds", type=int, default=2, help="passes over the photos (the median is kept)")
    parser.add_argument("--png", type=int, default=6, help="PNG copies of this many photos, measured apart")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_decode_steps"))
    parser.add_argument(
        "--glibc-default", action="store_true", help="leave malloc's thresholds as they are (run_plan sets them)"
    )
    args = parser.parse_args()
    if not args.glibc_default:
        try:
            from image_search.allocator import keep_large_blocks
        except ImportError:  # a checkout from before allocator.py
            print("no image_search.allocator: glibc's defaults")
        else:
            print(f"keep_large_blocks(): {keep_large_blocks()}")
    paths = sorted(args.photos.glob("*.jpg"))
    if not paths:
        raise SystemExit(f"no photos in {args.photos}: run bench/fetch_camera_photos.sh {args.photos}")
    extra: list[Path] = []
    if args.png:
        args.workdir.mkdir(parents=True, exist_ok=True)
        for path in sorted(args.photos.glob("*-0.jpg"))[:: max(1, 70 // args.png)][: args.png]:
            png = args.workdir / f"{path.stem}.png"
            if not png.exists():
                with Image.open(path) as img:
                    img.save(png)
            extra.append(png)
    every = paths + extra
    kinds = {path: kind_of(path) for path in every}
    per_round: list[dict[Path, dict[str, float]]] = []
    chain_rounds: list[dict[Path, float]] = []
    for round_number in range(args.rounds):
        per_round.append({path: steps_of(path) for path in every})
        chain_rounds.append({path: whole_chain(path) for path in every})
        print(f"round {round_number + 1} done, load average {os.getloadavg()[0]:.1f}", flush=True)
    # per image and step: the median over rounds
    steps = {path: {name: statistics.median(r[path].get(name, 0.0) for r in per_round) for name in per_round[0][path]}
             for path in every}  # fmt: skip
    chain = {path: statistics.median(r[path] for r in chain_rounds) for path in every}
    names = list(dict.fromkeys(name for path in every for name in steps[path]))

    def table(selection: list[Path], title: str) -> None:
        total = sum(sum(steps[p].values()) for p in selection) / len(selection) * 1000
        print(f"\n{title}: {len(selection)} images, CPU ms per image (median of {args.rounds} rounds)")
        print("| step | ms | share |")
        print("|---|---|---|")
        for name in names:
            ms = sum(steps[p].get(name, 0.0) for p in selection) / len(selection) * 1000
            print(f"| {name} | {ms:.2f} | {ms / total:.0%} |")
        whole = sum(chain[p] for p in selection) / len(selection) * 1000
        print(f"| **sum of steps** | **{total:.2f}** | |")
        print(f"| decode + shrink + prepare as the pipeline calls them | {whole:.2f} | |")

    table(paths, f"camera photos ({args.photos})")
    print("\nby kind (sum of steps; the largest steps):")
    print("| kind | images | ms per image | decode | reduce | shrink | model input | cut scans |")
    print("|---|---|---|---|---|---|---|---|")
    by_kind: dict[str, list[Path]] = collections.defaultdict(list)
    for path in every:
        by_kind[kinds[path]].append(path)
    for kind, selection in sorted(by_kind.items()):

        def ms(name: str, selection: list[Path] = selection) -> float:
            return sum(steps[p].get(name, 0.0) for p in selection) / len(selection) * 1000

        total = sum(sum(steps[p].values()) for p in selection) / len(selection) * 1000
        print(
            f"| {kind} | {len(selection)} | {total:.2f} | {ms('decode (libjpeg / zlib)'):.2f} | "
            f"{ms('mode conversion + whole-factor reduce'):.2f} | {ms('shrink (bicubic to 224)'):.2f} | "
            f"{ms('model input (resize, crop, normalise)'):.2f} | {ms('progressive scans cut'):.2f} |"
        )
    print(f"\nstore writes (embedded store, 512-d, batches of 32, flush): "
          f"{store_writes(len(paths)) / len(paths) * 1000:.2f} ms CPU per image")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
