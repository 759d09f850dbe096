"""Near-duplicates: the former method (one exact kNN per image through the store, as each /duplicates
request ran it) vs the bulk pass (`flask duplicates`: chunked read, batched faiss kNN), side by side in
one run on the same embedded store. Prints wall and CPU seconds of each and whether the groups agree.

Synthetic 512-d unit vectors: clusters of 1 to 6 near-copies (the duplicates) among scattered images.
Stores go under /work/scratch/h-dups or --dir, never in the repository.

    python bench/bench_duplicates.py [--n 20000] [--dim 512] [--threshold 0.95]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from image_search.service.duplicates import find_duplicates  # noqa: E402
from image_search.stores.base import ImageRecord  # noqa: E402
from image_search.stores.embedded.store import EmbeddedStore  # noqa: E402
from tests.reference_duplicates import per_image_duplicates  # noqa: E402


def near_copies(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    i = 0
    while i < n:
        centre = rng.standard_normal(dim, dtype=np.float32)
        for _ in range(min(int(rng.integers(1, 7)), n - i)):
            out[i] = centre + rng.choice([0.05, 0.15, 0.4]) * rng.standard_normal(dim, dtype=np.float32)
            i += 1
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def timed(label: str, threads: int, run):
    faiss.omp_set_num_threads(threads)
    wall, cpu = time.perf_counter(), time.process_time()
    groups = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<52} {threads} thread(s): {wall:8.1f} s wall {cpu:8.1f} s CPU  {len(groups)} groups", flush=True)
    return groups, wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("--dir", type=Path, default=Path("/work/scratch/h-dups"))
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.dir) as where:
        store = EmbeddedStore(Path(where))
        vectors = near_copies(args.n, args.dim)
        records = [
            ImageRecord(f"/photos/{i:06d}.jpg", "/photos", 100_000 + i, i, 640, 480, float(i), "JPEG")
            for i in range(args.n)
        ]
        store.claim("bench", args.dim)
        for start in range(0, args.n, 2000):
            store.upsert(records[start : start + 2000], vectors[start : start + 2000])
        store.flush()
        print(f"{args.n} vectors, {args.dim}-d, threshold {args.threshold}, embedded store (exact faiss index)")
        bulk1, bulk_wall = timed("bulk pass (flask duplicates)", 1, lambda: find_duplicates(store, args.threshold))
        timed("bulk pass (flask duplicates, INDEX_THREADS)", 2, lambda: find_duplicates(store, args.threshold))
        old, old_wall = timed(
            "former: one kNN per image (a request, WEB_THREADS)", 1, lambda: per_image_duplicates(store, args.threshold)
        )
        same = [[r.id for r in g.records] for g in bulk1] == [[r.id for r in g.records] for g in old]
        print(f"same groups: {same}; former / bulk wall at 1 thread: {old_wall / bulk_wall:.1f}x")
        store.close()


if __name__ == "__main__":
    main()
