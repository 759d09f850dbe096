"""Exact search against the read-only memory-bandwidth bound, one thread (WEB_THREADS=1), with and without filters.

An embedded store of N clustered synthetic unit vectors (folders of 1,000 records, taken_at = the record's number)
searched exactly (IndexFlatIP in an IndexIDMap, as the store builds it at or below ANN_THRESHOLD). Each round runs
every method once, one after another, so the machine's load falls on all of them alike; figures are medians over
the rounds, as CPU time (thread_time: this thread's own time, its wall time on an idle core) and wall time.

  bound      np.dot of the index's first half with its second half: every byte of the faiss index's own memory
             read once, in two streams, nothing written (one stream, np.dot(x, x), is printed too: it was lower)
  scan       the store's index.search of one query, k=24 (faiss's per-row inner products with a top-k heap)
  filtered   the same with a folder filter of 10 % (a rowid bitmap, IDSelectorBitmap, as store.knn builds it;
             IDSelectorBatch, a hash set, beside it): its bytes are the scored rows', its bound np.dot over as
             many bytes
  others     the ways tried to scan faster: faiss's BLAS path, numpy's sgemv with a partial sort, and the compact
             VECTOR_CODECs (their scans read 1/2 and 1/4 of the bytes; store.knn then rescores from SQLite)
  store.knn  the whole query (SQLite, faiss, hits) without and with filters; a filter's SQLite query beside
             the table scan it was before (substr over the table, NOT INDEXED)

    python bench/bench_exact_scan.py [--n 100000] [--dim 384] [--rounds 60]
"""

from __future__ import annotations

import os

# before numpy and faiss: one math thread, as the web process
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_ann import clustered  # noqa: E402
from image_search.stores import Filters, ImageRecord  # noqa: E402
from image_search.stores.embedded import faiss_index  # noqa: E402
from image_search.stores.embedded.store import EmbeddedStore  # noqa: E402

K = 24


def fill_store(data_dir: Path, n: int, dim: int) -> EmbeddedStore:
    store = EmbeddedStore(data_dir)
    store.claim("bench-exact-scan", dim)
    vectors = clustered(n, dim, seed=1)
    for start in range(0, n, 10_000):
        records = [
            ImageRecord(f"/photos/{i // 1000}/{i}.jpg", "/photos", 1000, 0, 640, 480, float(i), "JPEG")
            for i in range(start, min(n, start + 10_000))
        ]
        store.upsert(records, vectors[start : start + len(records)])
    store.flush()
    return store


def side_by_side(methods: dict[str, Callable[[np.ndarray], object]], queries: np.ndarray) -> dict[str, tuple]:
    """{name: (median CPU s, median wall s)}, every method run once per query, in turn."""
    cpu: dict[str, list[float]] = {name: [] for name in methods}
    wall: dict[str, list[float]] = {name: [] for name in methods}
    for q in queries:
        for name, method in methods.items():
            started, started_cpu = time.perf_counter(), time.thread_time()
            method(q)
            cpu[name].append(time.thread_time() - started_cpu)
            wall[name].append(time.perf_counter() - started)
    return {name: (float(np.median(cpu[name])), float(np.median(wall[name]))) for name in methods}


def bandwidth_table(store: EmbeddedStore, queries: np.ndarray) -> None:
    index = store._current_index()
    inner = faiss.downcast_index(index.index)
    n, d = inner.ntotal, inner.d
    xb = faiss.rev_swig_ptr(inner.get_xb(), n * d)  # the index's own float32 memory, not a copy
    halves = xb[: n * d // 2 * 2].reshape(2, -1)
    folder = np.arange(n // 3, n // 3 + n // 10, dtype=np.int64) + 1  # rowids of a 10 % folder
    sub = xb[: len(folder) * d].reshape(2, -1)
    bitmap, batch = faiss_index.id_bitmap(folder), faiss.IDSelectorBatch(folder)
    matrix = xb.reshape(n, d)
    codecs = {}
    for codec in ("fp16", "int8"):
        codecs[codec] = faiss.IndexScalarQuantizer(d, faiss_index.scalar_quantizer(codec), faiss.METRIC_INNER_PRODUCT)
        codecs[codec].train(matrix)
        codecs[codec].add(matrix)

    def blas_search(q: np.ndarray) -> object:
        """faiss's BLAS path (sgemm in blocks), which it takes from distance_compute_blas_threshold queries on."""
        default, faiss.cvar.distance_compute_blas_threshold = faiss.cvar.distance_compute_blas_threshold, 1
        try:
            return index.search(q[None], K)
        finally:
            faiss.cvar.distance_compute_blas_threshold = default

    def numpy_search(q: np.ndarray) -> object:
        scores = matrix @ q  # OpenBLAS sgemv
        top = np.argpartition(scores, -K)[-K:]
        return top[np.argsort(-scores[top])]

    methods: dict[str, Callable[[np.ndarray], object]] = {
        "bound: np.dot(first half, second half)": lambda q: np.dot(halves[0], halves[1]),
        "np.dot(x, x), one stream": lambda q: np.dot(xb, xb),
        "scan: index.search": lambda q: index.search(q[None], K),
        "faiss BLAS path (distance_compute_blas_threshold 1)": blas_search,
        "numpy sgemv + argpartition": numpy_search,
        "VECTOR_CODEC fp16 scan (bytes of its codes)": lambda q: codecs["fp16"].search(q[None], K),
        "VECTOR_CODEC int8 scan (bytes of its codes)": lambda q: codecs["int8"].search(q[None], K),
        "bound, 10 % of the bytes": lambda q: np.dot(sub[0], sub[1]),
        "filtered 10 %: IDSelectorBitmap": lambda q: index.search(
            q[None],
            K,
            params=faiss.SearchParameters(sel=bitmap),  # type: ignore[call-arg]
        ),
        "filtered 10 %: IDSelectorBatch": lambda q: index.search(
            q[None],
            K,
            params=faiss.SearchParameters(sel=batch),  # type: ignore[call-arg]
        ),
    }
    got = side_by_side(methods, queries)
    scanned = {name: n * d * 4 if "10 %" not in name else len(folder) * d * 4 for name in methods}
    scanned |= {name: n * d * (2 if "fp16" in name else 1) for name in methods if "VECTOR_CODEC" in name}
    print(f"exact scan, {n:,} x {d} float32 ({n * d * 4 / 1e6:.0f} MB), 1 thread, {len(queries)} rounds:")
    print("| method | CPU ms | GB/s (CPU) | bound time / its time (CPU) | wall ms | same, wall |")
    print("|---|---|---|---|---|---|")
    for name, (cpu, wall) in got.items():
        bound = got["bound, 10 % of the bytes" if "10 %" in name else "bound: np.dot(first half, second half)"]
        print(
            f"| {name} | {cpu * 1000:.2f} | {scanned[name] / cpu / 1e9:.1f} | {bound[0] / cpu:.2f} "
            f"| {wall * 1000:.2f} | {bound[1] / wall:.2f} |"
        )


def store_table(store: EmbeddedStore, queries: np.ndarray) -> None:
    n = store.count()
    cases = {
        "no filter": None,
        "folder of 1 %": Filters(folder=f"/photos/{n // 2000}"),
        "dates, 10 %": Filters(date_from=n / 3, date_to=n / 3 + n / 10),
        "min width (every row)": Filters(min_width=600),
    }
    methods: dict[str, Callable[[np.ndarray], object]] = {
        name: (lambda f: lambda q: store.knn(q, K, f))(filters) for name, filters in cases.items()
    }
    db = store._reader()
    prefix = f"/photos/{n // 2000}/"
    where, args = store._filter_sql(Filters(folder=prefix))
    methods["folder of 1 %: SQLite rowids, now"] = lambda q: db.execute(
        f"SELECT rowid FROM images WHERE {where}", args
    ).fetchall()
    methods["folder of 1 %: SQLite rowids, before (table scan)"] = lambda q: db.execute(
        "SELECT rowid FROM images NOT INDEXED WHERE width >= 0 AND height >= 0 AND substr(path, 1, ?) = ?",
        (len(prefix), prefix),
    ).fetchall()
    got = side_by_side(methods, queries)
    print(f"store.knn, k={K}, {n:,} records ({store.stats()['kind']}):")
    print("| query | CPU ms | wall ms |")
    print("|---|---|---|")
    for name, (cpu, wall) in got.items():
        print(f"| {name} | {cpu * 1000:.2f} | {wall * 1000:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    queries = clustered(args.rounds, args.dim, seed=2)
    with tempfile.TemporaryDirectory() as tmp:
        store = fill_store(Path(tmp), args.n, args.dim)
        if faiss_index.is_hnsw(store._current_index()):
            raise SystemExit(f"{args.n:,} x {args.dim} is past the exact limit: this measures exact search")
        bandwidth_table(store, queries)
        store_table(store, queries)
        store.close()
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
