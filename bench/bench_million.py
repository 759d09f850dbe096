"""A no-op `flask index` over 1,000,000 known files: wall time and peak RSS of the whole process.

Real files: 1,000,000 zero-byte `.jpg` files in 1,000 folders (made once, kept in --workdir). Their
records are inserted straight into the embedded store with `EmbeddedStore.upsert` (each with the file's
own size and mtime, and a random 512-d vector), as if indexed: so every file is known and unchanged, and
the run has nothing to embed. Measured, each in its own process (peak RSS from wait4's ru_maxrss):
  no-op           -- `flask index --no-duplicates ROOT` (no model loaded; no faiss index loaded)
  no-op --prune   -- the same with --prune (every record under ROOT read back, its file checked)
  record map      -- what the plan held before: a dict of every record (`{r.path: r for r in iter_records()}`)
`--no-duplicates`: the store's near-duplicate groups were never computed here (a pass over 1 M vectors);
a run that changes nothing does not read stored groups anyway.

    python bench/bench_million.py [--files 1000000] [--dim 512] [--workdir /tmp/bench_million]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from image_search.stores.base import ImageRecord  # noqa: E402
from image_search.stores.embedded.store import EmbeddedStore  # noqa: E402

PER_FOLDER = 1000
RECORD_MAP = """
import sys
from image_search.stores.embedded.store import EmbeddedStore
store = EmbeddedStore(sys.argv[1])
known = {r.path: r for r in store.iter_records()}
print(len(known), "records held")
"""


def make_files(photos: Path, count: int) -> None:
    marker = photos / f".made-{count}"
    if marker.exists():
        return
    for i in range(0, count, PER_FOLDER):
        folder = photos / f"f{i // PER_FOLDER:04}"
        folder.mkdir(parents=True, exist_ok=True)
        for j in range(i, min(i + PER_FOLDER, count)):
            (folder / f"{j:07}.jpg").touch()
    marker.touch()


def fill_store(photos: Path, data: Path, count: int, dim: int) -> None:
    marker = data / f".filled-{count}-{dim}"
    if marker.exists():
        return
    store = EmbeddedStore(data)
    store.clear()
    store.claim("bench-million-records", dim)
    rng = np.random.default_rng(0)
    batch: list[ImageRecord] = []
    for folder in sorted(p for p in photos.iterdir() if p.is_dir()):
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            st = entry.stat()
            batch.append(ImageRecord(entry.path, str(photos), st.st_size, st.st_mtime_ns, 64, 48, 0.0, "JPEG"))
        if len(batch) >= 10_000:
            store.upsert(batch, rng.standard_normal((len(batch), dim), dtype=np.float32))
            batch = []
    if batch:
        store.upsert(batch, rng.standard_normal((len(batch), dim), dtype=np.float32))
    assert store.count() == count, store.count()
    store.close()
    marker.touch()


def measured(command: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS in MB, last line of output) of one process. CPU time (user + system) is
    its wall time on an idle core: the machine is shared."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    output = process.stdout.read().decode() if process.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command} failed:\n{output}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, output.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_million"))
    args = parser.parse_args()
    photos, data = args.workdir / "photos", args.workdir / "data"
    started = time.perf_counter()
    make_files(photos, args.files)
    fill_store(photos, data, args.files, args.dim)
    setup = time.perf_counter() - started
    print(f"{args.files:,} zero-byte files known to the store ({args.dim}-d); set up in {setup:.0f} s")
    env = {**os.environ, "IMAGE_SEARCH_DATA_DIR": str(data), "PYTHONPATH": str(ROOT)}
    flask = [sys.executable, "-m", "flask", "--app", "image_search", "index", "--no-duplicates"]
    runs = [
        ("no-op", [*flask, str(photos)]),
        ("no-op --prune", [*flask, "--prune", str(photos)]),
        ("record map (the plan before)", [sys.executable, "-c", RECORD_MAP, str(data)]),
    ]
    print("| run | wall s | CPU s | peak RSS MB | output |")
    print("|---|---|---|---|---|")
    for name, command in runs:
        seconds, cpu, peak, last = measured(command, env)
        print(f"| {name} | {seconds:.1f} | {cpu:.1f} | {peak:.0f} | {last} |")
    print("goal: a no-op run over 1 M known files within 300 MB RSS")


if __name__ == "__main__":
    main()
