"""A no-op incremental `flask index` beside a full one, each the whole process timed (start to exit).

The folder is realistic in shape: small JPEGs of varied content in nested folders, plus a broken and an
empty file (tried again by every run, which must not cost a model load). The model is the real one the
app picks (`IMAGE_SEARCH_MODEL`, default `offline`: no download). Runs, in order, in one data dir:
  full      -- a first run: loads the model, embeds everything, prepares the text side
  no-op     -- nothing changed: no model loaded (goal <= 1.5 s)
  one file  -- one file touched: the model is loaded to embed it (what every run cost before)
The no-op and one-file runs are repeated (`--rounds`), taking turns, and their medians printed. With `--before
PATH` (a checkout of an earlier commit) each round also runs that checkout's no-op, in turns with this one's.

    python bench/bench_noop.py [--files 10000] [--rounds 3] [--workdir /tmp/bench_noop] [--before PATH]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
FLASK = [sys.executable, "-m", "flask", "--app", "image_search", "index"]


def make_folder(folder: Path, count: int) -> None:
    """`count` distinct 96x72 JPEGs (smooth colour gradients with noise), 500 to a folder."""
    marker = folder / f".made-{count}"
    if marker.exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 1, 96, dtype=np.float32)[None, :, None]
    for i in range(count):
        sub = folder / f"album{i // 500:03}"
        sub.mkdir(parents=True, exist_ok=True)
        base, tilt = rng.random(3, dtype=np.float32) * 200, rng.random(3, dtype=np.float32) * 55
        pixels = base + tilt * ramp + rng.normal(0, 8, (72, 96, 3)).astype(np.float32)
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(sub / f"img{i:06}.jpg", quality=85)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (folder / "empty.png").write_bytes(b"")
    marker.touch()


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(folder: Path, env: dict[str, str], checkout: Path = ROOT) -> tuple[float, float, str]:
    """(wall s, CPU s, summary line) of one whole `flask index` process of `checkout`. CPU time (user + system of
    the reaped child) is what the run costs on an idle core: the machine is shared, so wall includes waiting."""
    started, cpu = time.perf_counter(), children_cpu()
    env = {**env, "PYTHONPATH": str(checkout)}
    done = subprocess.run([*FLASK, str(folder)], env=env, cwd=checkout, capture_output=True, text=True, timeout=3600)
    seconds, cpu = time.perf_counter() - started, children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"flask index failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    summary = next(line for line in done.stdout.splitlines() if " added, " in line)
    return seconds, cpu, summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_noop"))
    parser.add_argument("--before", type=Path, help="a checkout of an earlier commit: its no-op run too, in turns")
    args = parser.parse_args()
    folder, data = args.workdir / "photos", args.workdir / "data"
    make_folder(folder, args.files)
    shutil.rmtree(data, ignore_errors=True)
    models = Path(os.environ.get("BENCH_MODELS", "/tmp/bench_noop_models"))  # exported ONNX graphs, kept
    (data / "models").parent.mkdir(parents=True, exist_ok=True)
    if models.is_dir():
        shutil.copytree(models, data / "models")
    env = {**os.environ, "IMAGE_SEARCH_DATA_DIR": str(data)}
    env.setdefault("IMAGE_SEARCH_MODEL", "offline")
    print(f"{args.files} JPEGs (96x72) + a broken and an empty file; model {env['IMAGE_SEARCH_MODEL']}")
    full, full_cpu, summary = timed_run(folder, env)
    print(f"full run      {full:7.2f} s wall {full_cpu:7.2f} s CPU   {summary}")
    if not models.is_dir():
        shutil.copytree(data / "models", models)
    runs: dict[str, list[tuple[float, float]]] = {"no-op": [], "no-op before": [], "one file": []}
    checkouts = {"no-op": ROOT, "no-op before": args.before.resolve() if args.before else None, "one file": ROOT}
    touched = next(folder.glob("album000/*.jpg"))
    for round_number in range(args.rounds):
        noops = ["no-op", "no-op before"] if round_number % 2 == 0 else ["no-op before", "no-op"]
        for name in [*noops, "one file"]:
            checkout = checkouts[name]
            if checkout is None:
                continue
            if name == "one file":
                touched.touch()
            wall, cpu, summary = timed_run(folder, env, checkout)
            runs[name].append((wall, cpu))
            print(f"{name:<12}  {wall:7.2f} s wall {cpu:7.2f} s CPU   {summary}")
    noop, one = runs["no-op"], runs["one file"]
    print(
        f"median: no-op {statistics.median(w for w, _ in noop):.2f} s wall, "
        f"{statistics.median(c for _, c in noop):.2f} s CPU (goal <= 1.5 s); one changed file "
        f"{statistics.median(w for w, _ in one):.2f} s wall, {statistics.median(c for _, c in one):.2f} s CPU; "
        f"full {full:.2f} s wall; load average {os.getloadavg()}"
    )
    if runs["no-op before"]:
        before = runs["no-op before"]
        print(
            f"no-op before: {statistics.median(w for w, _ in before):.2f} s wall, "
            f"{statistics.median(c for _, c in before):.2f} s CPU; after / before CPU "
            f"{statistics.median(a[1] / b[1] for a, b in zip(noop, before, strict=True)):.2f} (paired)"
        )


if __name__ == "__main__":
    main()
