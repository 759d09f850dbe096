"""Crash-safety harness: SIGKILL `flask index` at random moments, let each next run resume, then check
that the store is consistent. Prints its figures; exits 1 if it found a problem.

    python bench/crash_harness.py [--images 300] [--kills 20] [--seed 1]

Uses the test embedder (tests/doubles/colour_embedder.py, via IMAGE_SEARCH_EMBEDDER_FACTORY), so the runs
are fast and every stored vector can be checked against the file it came from. Between runs the
collection changes (files added, rewritten, deleted; runs use --prune), so kills also land in
updates and deletes, not only in first-time inserts.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write_image(path: Path, rng: random.Random, size=(320, 240)) -> None:
    base = np.array([rng.randrange(256) for _ in range(3)], dtype=np.int16)
    noise = np.random.default_rng(rng.randrange(2**32)).integers(-40, 40, (size[1], size[0], 3))
    Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8)).save(path, "JPEG", quality=90)


def make_collection(folder: Path, count: int, rng: random.Random) -> None:
    for i in range(count):
        sub = folder / f"set{i % 5}"
        sub.mkdir(parents=True, exist_ok=True)
        write_image(sub / f"img{i:05d}.jpg", rng)


def change_collection(folder: Path, rng: random.Random, serial: int) -> None:
    """Add a few files, rewrite a few (an update), delete a few (a prune)."""
    files = sorted(folder.rglob("*.jpg"))
    for path in rng.sample(files, min(8, len(files))):
        write_image(path, rng)
    for path in rng.sample(files, min(4, len(files))):
        path.unlink()
    for i in range(20):
        write_image(folder / f"set{i % 5}" / f"new{serial:03d}-{i}.jpg", rng)


def start_indexer(folder: Path, data_dir: Path, batch_size: int) -> subprocess.Popen:
    env = dict(
        os.environ,
        IMAGE_SEARCH_DATA_DIR=str(data_dir),
        IMAGE_SEARCH_EMBEDDER_FACTORY="tests.doubles.colour_embedder:ColourEmbedder",
        PYTHONPATH=str(ROOT),
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "image_search",
            "index",
            "--prune",
            "--batch-size",
            str(batch_size),
            str(folder),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def generation(data_dir: Path) -> int:
    """The store's write counter (every committed batch bumps it), or -1 before the store exists."""
    try:
        db = sqlite3.connect(f"file:{data_dir / 'images.sqlite'}?mode=ro", uri=True, timeout=30)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        finally:
            db.close()
        return int(row[0]) if row else 0
    except sqlite3.Error:
        return -1


def wait_for_a_write(process: subprocess.Popen, data_dir: Path, before: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while process.poll() is None and generation(data_dir) == before and time.monotonic() < deadline:
        time.sleep(0.01)


def live_ids(index, state) -> set[int]:
    """Row ids the index answers with: all it holds but the tombstoned (HNSW cannot remove)."""
    import faiss

    return set(faiss.vector_to_array(index.id_map).tolist()) - set(state.tombstones)


def check_store(data_dir: Path, folder: Path) -> tuple[dict, list[str]]:
    """The consistency figures, and a list of problems (empty when all is well)."""
    import faiss

    from image_search.images import decode
    from image_search.stores.embedded.store import EmbeddedStore
    from tests.doubles.colour_embedder import ColourEmbedder

    problems = []
    db = sqlite3.connect(data_dir / "images.sqlite")
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    if integrity != "ok":
        problems.append(f"integrity_check: {integrity}")
    rows = db.execute("SELECT rowid, path, size, mtime_ns, vector FROM images").fetchall()
    generation = int((db.execute("SELECT value FROM meta WHERE key='generation'").fetchone() or [0])[0])
    db.close()
    files = {str(p) for p in folder.rglob("*.jpg")}
    paths = [r[1] for r in rows]
    if len(paths) != len(set(paths)):
        problems.append(f"{len(paths) - len(set(paths))} paths stored twice")
    if set(paths) != files:
        problems.append(f"{len(files - set(paths))} files missing, {len(set(paths) - files)} stored but gone")
    embedder, stale, wrong = ColourEmbedder(), 0, 0
    for _rowid, path, size, mtime_ns, blob in rows:
        if path not in files:
            continue
        st = os.stat(path)
        if (st.st_size, st.st_mtime_ns) != (size, mtime_ns):
            stale += 1
        expected = embedder.embed_images([decode(path, 448).image])[0]
        wrong += not np.allclose(np.frombuffer(blob, np.float32), expected, atol=1e-5)
    if stale or wrong:
        problems.append(f"{stale} records of an older file version, {wrong} vectors not of their file")
    rowids = {r[0] for r in rows}
    # The file on disk, when its header claims the current generation, must hold exactly those rows.
    from image_search.stores.embedded import faiss_index

    on_disk = faiss_index.read(data_dir / "vectors.faiss")
    on_disk_checked = bool(on_disk) and on_disk[1].generation == generation
    if on_disk_checked and live_ids(*on_disk) != rowids:
        problems.append("vectors.faiss claims the current generation but holds other rows")
    store = EmbeddedStore(data_dir)
    index = store._current_index()  # after load: from disk and caught up, or rebuilt from SQLite
    live = live_ids(index, store._state)
    if live != rowids:
        problems.append(f"loaded faiss index holds {len(live)} live rows, SQLite {len(rowids)}")
    positions = {rowid: i for i, rowid in enumerate(faiss.vector_to_array(index.id_map).tolist())}
    for rowid, *_, blob in rows[:50]:
        if rowid not in positions or not np.allclose(
            index.index.reconstruct(positions[rowid]), np.frombuffer(blob, np.float32)
        ):
            problems.append(f"faiss vector of row {rowid} differs from SQLite's")
            break
    store.close()
    # atomic_write's temporary files are <name>.<random>.tmp<suffix>: ".tmp" is not always the last suffix
    leftovers = [p.name for p in data_dir.iterdir() if {".tmp", ".gtmp"} & set(p.suffixes)]
    if leftovers:
        problems.append(f"temporary files left behind: {leftovers[:5]}")
    figures = {
        "sqlite integrity_check": integrity,
        "images on disk": len(files),
        "rows in SQLite": len(rows),
        "rows in faiss (after load)": len(live),
        "on-disk index checked": on_disk_checked,
    }
    return figures, problems


def run_harness(
    images: int, kills: int, seed: int, workdir: Path, batch_size: int = 4, max_delay: float = 2.0
) -> tuple[dict, list[str]]:
    rng = random.Random(seed)
    folder, data_dir = workdir / "photos", workdir / "data"
    make_collection(folder, images, rng)
    started, killed, mid_write, runs, finished = time.monotonic(), 0, 0, 0, 0
    while killed < kills:
        before = generation(data_dir)
        process = start_indexer(folder, data_dir, batch_size)
        runs += 1
        if rng.random() < 0.3:  # any moment: start-up, store creation, planning, writing
            time.sleep(rng.uniform(0.0, max_delay))
        else:  # soon after this run's first commit: mid-batch, mid-commit, mid-prune, mid-flush
            wait_for_a_write(process, data_dir, before)
            time.sleep(rng.uniform(0.0, 0.5))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
            killed += 1
            mid_write += generation(data_dir) != before
        else:
            output = process.communicate()[0].decode(errors="replace")
            if process.returncode != 0:
                return {}, [f"run {runs} failed after an earlier kill:\n{output[-2000:]}"]
            finished += 1
            change_collection(folder, rng, runs)  # more work, so later kills land in writes again
    final = start_indexer(folder, data_dir, batch_size)
    output = final.communicate(timeout=600)[0].decode(errors="replace")
    if final.returncode != 0:
        return {}, [f"final run failed:\n{output[-2000:]}"]
    figures, problems = check_store(data_dir, folder)
    figures = {
        "kills (SIGKILL)": killed,
        "kills after the run had committed": mid_write,
        "runs that finished between kills": finished,
        "runs in all": runs + 1,
        **figures,
        "seconds": round(time.monotonic() - started, 1),
    }
    return figures, problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crash-harness-") as tmp:
        figures, problems = run_harness(args.images, args.kills, args.seed, Path(tmp), args.batch_size)
    for key, value in figures.items():
        print(f"{key:>40}: {value}")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print("consistent" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
