"""`flask index --watch` latency: from a change on disk to the store having it, the real process and model.

A `flask index --watch` process (the model `IMAGE_SEARCH_MODEL`, default `offline`) watches a folder of
200 small JPEGs. Each change is made atomically (written beside, then renamed into place, as cameras and
sync tools do); the store's SQLite file is polled (read-only, every 10 ms) until it reflects the change.
Latency includes the debounce (`WATCH_QUIET_SECONDS`, default 1 s here as in the app) and the run.
Rounds take turns over: new file, changed file, moved file, deleted file. The first new file also loads
the model (the first pass had nothing to embed, so none was loaded), and is shown apart.

    python bench/bench_watch.py [--rounds 5] [--quiet 1.0] [--workdir /tmp/bench_watch]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 120.0


def photo(path: Path, seed: int) -> None:
    """A distinct 320x240 JPEG, written beside and renamed into place (one event, the whole file)."""
    rng = np.random.default_rng(seed)
    pixels = rng.random(3) * 200 + rng.normal(0, 20, (240, 320, 3))
    tmp = path.with_name(f".{path.name}.part")
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(tmp, "JPEG", quality=85)
    os.replace(tmp, path)


def stored(db: Path, path: Path) -> tuple[int, int] | None:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT size, mtime_ns FROM images WHERE path = ?", (str(path),)).fetchone()
    return (row[0], row[1]) if row else None


def wait_for(condition) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < TIMEOUT_S:
        try:
            if condition():
                return time.perf_counter() - started
        except sqlite3.OperationalError:  # the indexer is writing: ask again
            pass
        time.sleep(0.01)
    raise SystemExit("a change was not picked up within two minutes")


def one_round(db: Path, folder: Path, r: int) -> dict[str, float]:
    new, moved = folder / f"new{r}.jpg", folder / f"moved{r}.jpg"
    took = {}
    photo(new, 2000 + r)
    took["new file"] = wait_for(lambda: stored(db, new) is not None)
    before = stored(db, new)
    time.sleep(0.05)  # a later mtime
    photo(new, 3000 + r)
    took["changed file"] = wait_for(lambda: stored(db, new) not in (None, before))
    os.rename(new, moved)
    took["moved file"] = wait_for(lambda: stored(db, moved) is not None and stored(db, new) is None)
    moved.unlink()
    took["deleted file"] = wait_for(lambda: stored(db, moved) is None)
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quiet", type=float, default=1.0, help="WATCH_QUIET_SECONDS")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_watch"))
    args = parser.parse_args()
    folder, data = args.workdir / "photos", args.workdir / "data"
    shutil.rmtree(args.workdir, ignore_errors=True)
    folder.mkdir(parents=True)
    for i in range(200):
        photo(folder / f"p{i:03}.jpg", i)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "IMAGE_SEARCH_DATA_DIR": str(data),
        "IMAGE_SEARCH_WATCH_QUIET_SECONDS": str(args.quiet),
    }
    env.setdefault("IMAGE_SEARCH_MODEL", "offline")
    flask = [sys.executable, "-m", "flask", "--app", "image_search", "index"]
    subprocess.run([*flask, str(folder)], env=env, cwd=ROOT, check=True, capture_output=True)  # the first pass
    process = subprocess.Popen(
        [*flask, "--watch", str(folder)], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    assert process.stdout is not None
    threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True).start()
    wait_for(lambda: any(line.startswith("Watching ") for line in lines))
    db = data / "images.sqlite"
    print(f"model {env['IMAGE_SEARCH_MODEL']}, WATCH_QUIET_SECONDS={args.quiet}, 200 JPEGs watched")
    first = folder / "first.jpg"
    photo(first, 1000)
    loading = wait_for(lambda: stored(db, first) is not None)
    times: dict[str, list[float]] = {}
    for r in range(args.rounds):
        for name, seconds in one_round(db, folder, r).items():
            times.setdefault(name, []).append(seconds)
    process.send_signal(signal.SIGINT)
    code = process.wait(30)
    print("| change | latency s (median) | each round |")
    print("|---|---|---|")
    print(f"| first new file (loads the model) | {loading:.2f} | |")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.2f} | {' '.join(f'{v:.2f}' for v in values)} |")
    print(f"Ctrl-C: exit status {code}, last line {lines[-1].strip()!r}")


if __name__ == "__main__":
    main()
