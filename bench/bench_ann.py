"""Exact (IndexFlatIP) vs HNSW as the embedded store builds them: build time, recall@10, QPS.

Synthetic clustered unit vectors (512-d, 2000 clusters, low-rank spread within each). Queries are fresh draws from
the same distribution, searched one at a time as the web app does, with 1 faiss thread
(WEB_THREADS); builds use 2 threads (INDEX_THREADS).

    python bench/bench_ann.py [--n 1000000] [--dim 512] [--queries 200]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from image_search.stores.embedded.faiss_index import new_index  # noqa: E402
from image_search.stores.embedded.options import AnnParams  # noqa: E402


def clustered(n: int, dim: int, seed: int, clusters: int = 2000, rank: int = 48) -> np.ndarray:
    """Cluster centres plus mostly low-rank spread (embeddings have a low intrinsic dimension;
    isotropic 512-d noise would make every neighbour equally far) plus a little isotropic noise."""
    out = np.empty((n, dim), dtype=np.float32)
    start = 0
    for chunk in clustered_chunks(n, dim, seed, clusters, rank):
        out[start : start + len(chunk)] = chunk
        start += len(chunk)
    return out


def cluster_centres(dim: int, clusters: int = 2000) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((clusters, dim), dtype=np.float32)


def clustered_chunks(
    n: int, dim: int, seed: int, clusters: int = 2000, rank: int = 48, chunk: int = 100_000
) -> Iterator[np.ndarray]:
    """clustered()'s rows, `chunk` at a time (the same values): bounded memory for a million rows."""
    base = np.random.default_rng(0)
    centres = base.standard_normal((clusters, dim), dtype=np.float32)
    spread = base.standard_normal((rank, dim), dtype=np.float32) / np.sqrt(rank)
    rng = np.random.default_rng(seed)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        x = (
            centres[rng.integers(0, clusters, m)]
            + 0.8 * rng.standard_normal((m, rank), dtype=np.float32) @ spread
            + 0.3 * rng.standard_normal((m, dim), dtype=np.float32)
        )
        yield (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)  # x is float64 (spread is)


def timed_add(index, data: np.ndarray) -> float:
    started = time.perf_counter()
    for start in range(0, len(data), 50_000):
        chunk = data[start : start + 50_000]
        index.add_with_ids(chunk, np.arange(start, start + len(chunk), dtype=np.int64))
    return time.perf_counter() - started


def single_queries(index, queries: np.ndarray, k: int, params=None) -> tuple[np.ndarray, float]:
    ids = np.empty((len(queries), k), dtype=np.int64)
    started = time.perf_counter()
    for i, q in enumerate(queries):
        ids[i] = index.search(q[None, :], k, params=params)[1][0]
    return ids, len(queries) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef", type=int, nargs="*", default=[64, 128, 256])
    args = parser.parse_args()
    k, params = 10, AnnParams(threshold=0)  # threshold 0: new_index picks HNSW

    t = time.perf_counter()
    data, queries = clustered(args.n, args.dim, 1), clustered(args.queries, args.dim, 2)
    print(f"data: {args.n:,} x {args.dim} clustered unit vectors ({time.perf_counter() - t:.0f}s to make)")

    faiss.omp_set_num_threads(2)
    exact = new_index(args.dim, 0, AnnParams())
    exact_build = timed_add(exact, data)
    hnsw = new_index(args.dim, args.n, params)
    hnsw_build = timed_add(hnsw, data)
    print(
        f"build, 2 threads: exact {exact_build:.1f}s, HNSW M={params.m} efConstruction="
        f"{params.ef_construction} {hnsw_build:.1f}s ({args.n / hnsw_build:,.0f} vectors/s)"
    )

    faiss.omp_set_num_threads(1)
    truth, exact_qps = single_queries(exact, queries, k)
    del exact
    print(f"exact: {exact_qps:.1f} QPS (1 thread, single queries)")
    print("| efSearch | recall@10 | QPS | x exact |")
    print("|---|---|---|---|")
    for ef in args.ef:
        ids, qps = single_queries(hnsw, queries, k, faiss.SearchParametersHNSW(efSearch=ef))
        recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(ids, truth, strict=True)])
        print(f"| {ef} | {recall:.3f} | {qps:.0f} | {qps / exact_qps:.0f}x |")
    print(
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.1f} GB; "
        f"HNSW bytes/vector ~{4 * args.dim + 2 * params.m * 4 * 1.05 + 8:.0f} (vector, links, id)"
    )


if __name__ == "__main__":
    main()
