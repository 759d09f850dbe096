"""Issue #16 item 4, the text side: `flask index` of a handful of new photos with CLIP, this checkout against another
one (`--before`: a checkout of the commit before CLIP's text tower loaded lazily), each the whole process.

CLIP ViT-B/32 and its multilingual text model with random weights of the real sizes (tests/doubles/tiny_clip.py;
speed and memory don't depend on the weights), 2 threads, per RUNTIME. Per runtime, one data dir (the exports
shared): a first run of this checkout exports the towers, measures RUNTIME=auto's choice and claims the store for
the model (with two seed photos); its store is kept aside. Then every run starts from that store and indexes the
same new photos (a store that knows its model, so no text side is prepared: what every later run costs). Each
checkout runs once unmeasured (OpenVINO's compiled blobs, the page cache), then the rounds take turns, the order
swapped each round. Per run: wall, CPU (user + system of the reaped child: the machine is shared, so wall includes
waiting) and peak RSS.

    git -C /work/main worktree add --detach /tmp/before 9b28e29   # or: git archive 9b28e29 | tar -x -C /tmp/before
    python bench/bench_lazy_text.py --before /tmp/before [--runtimes auto,openvino,onnx] [--new 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
THREADS = 2


def make_photos(folder: Path, count: int, seed: int) -> None:
    """`count` distinct camera-sized JPEGs (1600 x 1200, gradients with noise)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, 1600, dtype=np.float32)[None, :, None]
    for i in range(count):
        path = folder / f"photo{i:02}.jpg"
        if not path.exists():
            base, tilt = rng.random(3, dtype=np.float32) * 180, rng.random(3, dtype=np.float32) * 70
            pixels = base + tilt * ramp + rng.normal(0, 12, (1200, 1600, 3)).astype(np.float32)
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=90)


def run(checkout: Path, env: dict[str, str], folder: Path) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MB, summary line) of one whole `flask index FOLDER` process of `checkout`."""
    command = [sys.executable, "-m", "flask", "--app", "image_search", "index", str(folder)]
    log = Path(env["IMAGE_SEARCH_DATA_DIR"]).parent / "last-output.txt"
    started = time.perf_counter()
    with log.open("w") as out:
        child = subprocess.Popen(
            command, env={**env, "PYTHONPATH": str(checkout)}, cwd=checkout, stdout=out, stderr=out
        )
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    output = log.read_text()
    if child.returncode != 0:
        raise SystemExit(f"flask index of {checkout} failed ({child.returncode}):\n{output}")
    summary = next((line for line in output.splitlines() if " added, " in line), "?")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, summary


def restore(data: Path, kept: Path | None) -> None:
    """The data dir as the first run left it (`kept`: the store of the seed photos), or empty; the exports in
    models/ stay."""
    for entry in data.iterdir():
        if entry.name != "models":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    if kept is not None:
        shutil.copytree(kept, data, dirs_exist_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True, help="a checkout of the earlier commit")
    parser.add_argument(
        "--runtimes",
        default="auto,openvino,onnx",
        help="RUNTIME values; openvino+quantize: RUNTIME=openvino QUANTIZE=true",
    )
    parser.add_argument("--new", type=int, default=8, help="new photos each timed run indexes")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_lazy_text"))
    args = parser.parse_args()
    from tests.doubles.tiny_clip import REAL_SIZES, build_random_clip

    work = args.workdir.resolve()
    image_model, text_model = work / "vit-b-32-image", work / "vit-b-32-text"
    if not (image_model.exists() and text_model.exists()):
        build_random_clip(work, REAL_SIZES, prefix="vit-b-32")
    seed, new = work / "seed", work / "new"
    make_photos(seed, 2, seed=1)
    make_photos(new, args.new, seed=2)
    checkouts = {"before": args.before.resolve(), "after": ROOT}
    print(f"{args.new} new 1600x1200 JPEGs; random CLIP ViT-B/32 of the real sizes; {THREADS} threads")
    print(f"before = {checkouts['before']}, after = {ROOT}; load average {os.getloadavg()}")
    for runtime in args.runtimes.split(","):
        data, kept = work / f"data-{runtime}", work / f"kept-{runtime}"
        data.mkdir(exist_ok=True)
        if not (data / "models").exists():  # one set of exports for every runtime: made once
            (work / "models").mkdir(exist_ok=True)
            (data / "models").symlink_to(work / "models")
        env = {
            **os.environ,
            "IMAGE_SEARCH_DATA_DIR": str(data),
            "IMAGE_SEARCH_MODEL": "clip",
            "IMAGE_SEARCH_CLIP_IMAGE_MODEL": str(image_model),
            "IMAGE_SEARCH_CLIP_TEXT_MODEL": str(text_model),
            "IMAGE_SEARCH_RUNTIME": runtime.split("+")[0],
            "IMAGE_SEARCH_QUANTIZE": str(runtime.endswith("+quantize")).lower(),
            "IMAGE_SEARCH_INDEX_THREADS": str(THREADS),
            "HF_HUB_OFFLINE": "1",
            **{name: str(THREADS) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
        }
        shutil.rmtree(kept, ignore_errors=True)
        restore(data, None)
        wall, cpu, rss, summary = run(ROOT, env, seed)
        print(f"\nRUNTIME={runtime}: first run (exports, choice, claims the store) {wall:.1f} s wall, {cpu:.1f} s CPU")
        kept.mkdir()
        for entry in data.iterdir():
            if entry.name != "models":
                (shutil.copytree if entry.is_dir() else shutil.copy2)(entry, kept / entry.name)
        for checkout in checkouts.values():  # unmeasured: compiled blobs and the page cache for both
            restore(data, kept)
            run(checkout, env, new)
        figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in checkouts}
        for round_number in range(args.rounds):
            order = list(checkouts) if round_number % 2 == 0 else list(reversed(checkouts))
            for name in order:
                restore(data, kept)
                wall, cpu, rss, summary = run(checkouts[name], env, new)
                figures[name].append((wall, cpu, rss))
                load = os.getloadavg()[0]
                print(f"  round {round_number + 1} {name:<6} {wall:6.2f} s wall {cpu:6.2f} s CPU {rss:7.0f} MB peak RSS"
                      f"   load {load:.1f}   {summary}")  # fmt: skip
        medians = {name: [statistics.median(r[i] for r in runs) for i in range(3)] for name, runs in figures.items()}
        (bw, bc, br), (aw, ac, ar) = medians["before"], medians["after"]
        cpu_ratios = [a[1] / b[1] for a, b in zip(figures["after"], figures["before"], strict=True)]
        print(
            f"  RUNTIME={runtime} medians: before {bw:.2f} s wall, {bc:.2f} s CPU, {br:.0f} MB; after {aw:.2f} s wall, "
            f"{ac:.2f} s CPU, {ar:.0f} MB; after/before CPU {statistics.median(cpu_ratios):.2f} (paired), "
            f"peak RSS {ar / br:.2f} ({br - ar:.0f} MB less)"
        )
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
