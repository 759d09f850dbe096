"""What "why it matched" and the selection download cost, each beside what it adds to, in one run.

  concepts  -- a results page's concepts: get_vectors of its tiles' ids + top_concepts, on the embedded store
               at N offline-model vectors (2280-d), beside the knn of the page's own search (k = CUTOFF_WINDOW);
               for 24 tiles (a page) and 480 (MAX_RESULTS, a PAGE_SIZE of 480)
  zip       -- the selection's zip streamed (plan + stream, ZIP_STORED JPEGs) of F files of S MB, beside reading
               the same files whole; MB/s of each and the stream's peak Python memory (tracemalloc)
Each is repeated (`--rounds`), taking turns, and its median printed with the ratio and the load average.

    python bench/bench_selection.py [--records 20000] [--files 200] [--file-mb 1] [--rounds 5] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
import tracemalloc
from pathlib import Path

import numpy as np

from image_search.embedders.offline import bridge
from image_search.service import selection
from image_search.stores.base import ImageRecord
from image_search.stores.embedded.store import EmbeddedStore

CHUNK = 2000
SEARCH_K = 96  # CUTOFF_WINDOW: what a results page's search asks the store for


def offline_like_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    logits = rng.normal(size=(n, bridge.N_CLASSES)).astype(np.float32) * 3
    return bridge.stored_vectors(rng.normal(size=(n, bridge.FEATURE_DIM)).astype(np.float32), logits)


def fill(data_dir: Path, records: int) -> list[str]:
    shutil.rmtree(data_dir, ignore_errors=True)
    store, rng = EmbeddedStore(data_dir), np.random.default_rng(0)
    store.claim("bench-offline-like", bridge.FEATURE_DIM + bridge.N_CLASSES)
    ids = []
    with store.bulk_load():
        for start in range(0, records, CHUNK):
            batch = [
                ImageRecord(f"/photos/img{i:07}.jpg", "/photos", 1, 1, 4000, 3000, 0.0, "JPEG")
                for i in range(start, min(start + CHUNK, records))
            ]
            store.upsert(batch, offline_like_vectors(rng, len(batch)))
            ids += [r.id for r in batch]
    store.flush()
    store.close()
    return ids


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bench_concepts(store: EmbeddedStore, ids: list[str], rounds: int) -> None:
    rng = np.random.default_rng(1)
    names = bridge.concept_names("en")
    query = bridge.text_query(np.eye(1, bridge.N_CLASSES, 7, dtype=np.float32))[0]
    times: dict[str, list[float]] = {"search": [], "concepts 24": [], "concepts 480": []}
    for _ in range(rounds):
        started = time.perf_counter()
        store.knn(query, SEARCH_K)
        times["search"].append(time.perf_counter() - started)
        for tiles in (24, 480):
            page = list(rng.choice(ids, tiles, replace=False))
            started = time.perf_counter()
            vectors = store.get_vectors(page)
            bridge.top_concepts(np.stack(list(vectors.values())), names)
            times[f"concepts {tiles}"].append(time.perf_counter() - started)
    search = median_ms(times["search"])
    print(f"  search (knn k={SEARCH_K}): {search:8.2f} ms")
    for tiles in (24, 480):
        took = median_ms(times[f"concepts {tiles}"])
        print(f"  concepts of {tiles:3d} tiles:  {took:8.2f} ms  ({took / search:.2f}x the search)")


def bench_zip(folder: Path, files: int, file_mb: float, rounds: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    size = int(file_mb * 2**20)
    records = []
    for i in range(files):
        path = folder / f"{i:04}.jpg"
        if not path.exists() or path.stat().st_size != size:
            path.write_bytes(os.urandom(size))
        st = path.stat()
        records.append(ImageRecord(str(path), str(folder), st.st_size, st.st_mtime_ns, 1, 1, 0.0, "JPEG"))
    total_mb = files * size / 2**20
    read_s: list[float] = []
    zip_s: list[float] = []
    peaks: list[int] = []
    for _ in range(rounds):
        started = time.perf_counter()
        for r in records:
            with open(r.path, "rb") as f:
                while f.read(selection.READ_CHUNK):
                    pass
        read_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        sent = sum(len(piece) for piece in selection.stream(selection.plan(records)))
        zip_s.append(time.perf_counter() - started)
    tracemalloc.start()  # a pass of its own: tracing slows every allocation
    sum(len(piece) for piece in selection.stream(selection.plan(records)))
    peaks.append(tracemalloc.get_traced_memory()[1])
    tracemalloc.stop()
    read_rate, zip_rate = total_mb / statistics.median(read_s), total_mb / statistics.median(zip_s)
    print(f"  {files} files of {file_mb:g} MB ({total_mb:,.0f} MB), zip {sent / 2**20:,.1f} MB")
    print(f"  read whole:   {read_rate:8.0f} MB/s")
    print(f"  zip streamed: {zip_rate:8.0f} MB/s  ({zip_rate / read_rate:.2f}x reading)")
    print(f"  zip peak Python memory: {max(peaks) / 2**20:.1f} MB (tracemalloc; the zip is {sent / 2**20:,.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--file-mb", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_selection"))
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    ids = fill(args.workdir / "store", args.records)
    store = EmbeddedStore(args.workdir / "store")
    print(f"concepts, embedded store of {args.records:,} vectors of 2280-d, median of {args.rounds}:")
    bench_concepts(store, ids, args.rounds)
    store.close()
    print(f"selection zip, median of {args.rounds}:")
    bench_zip(args.workdir / "files", args.files, args.file_mb, args.rounds)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
