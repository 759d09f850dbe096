"""The Elasticsearch store on a real cluster beside the embedded store, on the same vectors, in one run.

Per dimension (512 and the offline model's 2280 by default): clustered synthetic unit vectors
(bench_ann.clustered), loaded through the product's own stores (ElasticsearchStore: streaming_bulk,
refresh off during the load; EmbeddedStore: SQLite + faiss). Figures: bulk docs/s; kNN p50/p95 at
k = 10, 24, 100 without and with a filter (a folder holding 10 % of the images); recall@10 against
faiss exact search (IndexFlatIP over the same vectors) for `hnsw` and `int8_hnsw` (the default, not
rescored), and for `int8_hnsw` rescored from the float vectors (ES_RESCORE_OVERSAMPLE 2 and 1);
disk per vector (`_stats` store size; `_disk_usage` of the vector field) and JVM heap per vector (the
nodes' heap used before and after the load: noisy, the HNSW graph and vectors live off heap).

    make es   # or any 8.12+ cluster
    python bench/bench_es.py --es-url http://127.0.0.1:9200 [--n 200000] [--dims 512,2280 | 512:20000,2280:5000]
                             [--queries 100] [--variants hnsw,int8_hnsw] [--shards 1]

Indices are named bench-es-*, made with --shards primary shards (1 by default; one bulk request is
indexed shard by shard in parallel, so 2 lets the load use both cores of a 2-core box) and 0 replicas
(one copy: the load is not doubled on this box), and deleted at the end. Latencies are measured in
this process, one query at a time, as the web app sends them (JSON both ways included).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.bench_ann import clustered  # noqa: E402
from image_search.settings import load_settings  # noqa: E402
from image_search.stores.base import Filters, ImageRecord, VectorStore  # noqa: E402
from image_search.stores.elasticsearch.store import ElasticsearchStore  # noqa: E402
from image_search.stores.embedded.store import EmbeddedStore  # noqa: E402

KS = (10, 24, 100)
BATCH = 2000  # vectors per upsert call
FILTERED = "/bench/f0"  # the folder of every tenth image
# The index types compared: hnsw (float vectors) and the store's default, int8_hnsw (its options: None).
VARIANTS: dict[str, dict | None] = {"hnsw": {"type": "hnsw", "m": 16, "ef_construction": 100}, "int8_hnsw": None}
PROGRESS = 20_000  # documents between two progress lines of a load


def make_records(n: int) -> list[ImageRecord]:
    return [
        ImageRecord(
            path=f"/bench/f{i % 10}/{i:07d}.jpg",
            root="/bench",
            size=i,
            mtime_ns=i,
            width=640,
            height=480,
            taken_at=1_600_000_000.0 + i,
            format="JPEG",
        )
        for i in range(n)
    ]


@contextmanager
def bench_index(es_url: str, name: str, shards: int, **settings) -> Iterator[ElasticsearchStore]:
    """The store on a new index bench-es-NAME-*, with `shards` primaries and 0 replicas (one copy: the load is not
    doubled on this box) and any other ES_* settings; the index is deleted after."""
    config = {
        "ES_URL": es_url,
        "ES_INDEX": f"bench-es-{name}-{uuid.uuid4().hex[:6]}",
        "ES_REPLICAS": "0",
        "ES_SHARDS": str(shards),
        **settings,
    }
    store = ElasticsearchStore.from_options(load_settings(config).elasticsearch)
    try:
        yield store
    finally:
        store.clear()
        store.close()


def load(store: VectorStore, records: list[ImageRecord], vectors: np.ndarray, name: str) -> float:
    """Seconds to claim, write everything and make it searchable, as `flask index` does. Prints the rate so
    far every PROGRESS documents, so that a run stopped before its end still yields bulk docs/s."""
    started = time.perf_counter()
    with store.bulk_load():
        store.claim("bench", vectors.shape[1])
        for start in range(0, len(records), BATCH):
            store.upsert(records[start : start + BATCH], vectors[start : start + BATCH])
            done = start + len(records[start : start + BATCH])
            if done % PROGRESS == 0 and done < len(records):
                seconds = time.perf_counter() - started
                print(
                    f"  ({name}: {done:,} written in {seconds:.0f} s, {done / seconds:,.0f} docs/s so far)", flush=True
                )
        store.flush()
    store.knn(vectors[0], 1)  # the first search builds what a lazy store builds (the embedded faiss index)
    seconds = time.perf_counter() - started
    print(
        f"  ({name}: {len(records):,} searchable in {seconds:.0f} s, {len(records) / seconds:,.0f} docs/s)", flush=True
    )
    return seconds


def latencies(store: VectorStore, queries: np.ndarray, k: int, filters: Filters | None) -> tuple[float, float]:
    times = []
    for q in queries:
        started = time.perf_counter()
        store.knn(q, k, filters)
        times.append(time.perf_counter() - started)
    p50, p95 = np.percentile(np.array(times) * 1000, [50, 95])
    return float(p50), float(p95)


def recall_at_10(store: VectorStore, queries: np.ndarray, truth: np.ndarray, ids: list[str]) -> float:
    found = 0
    for q, want in zip(queries, truth, strict=True):
        got = {h.id for h in store.knn(q, 10)}
        found += len(got & {ids[i] for i in want})
    return found / truth.size


def heap_used(client, samples: int = 5) -> int:
    """The nodes' heap used, the least of a few samples a second apart (closest to after a collection)."""
    least = None
    for _ in range(samples):
        nodes = client.nodes.stats(metric="jvm")["nodes"].values()
        used = sum(node["jvm"]["mem"]["heap_used_in_bytes"] for node in nodes)
        least = used if least is None else min(least, used)
        time.sleep(1)
    return int(least or 0)


def vector_field_bytes(client, index: str) -> int | None:
    """On-disk bytes of the dense_vector field (graph + vectors) from the disk-usage analysis, if the server has it."""
    try:
        resp = client.options(request_timeout=600).indices.disk_usage(index=index, run_expensive_tasks=True)
    except Exception as exc:  # a technical-preview API: report its absence, don't fail the run
        print(f"  (_disk_usage unavailable: {exc})")
        return None
    fields = resp[index]["fields"]
    return int(fields.get("image_embedding", {}).get("total_in_bytes", 0)) or None


def report(name: str, n: int, seconds: float, rows: list[str]) -> None:
    print(f"  {name}: {n / seconds:,.0f} docs/s ({seconds:.1f} s); load average {os.getloadavg()[0]:.1f}")
    for row in rows:
        print(f"    {row}")


def bench_dim(args, dim: int, n: int) -> None:
    print(f"\n== {n:,} vectors, {dim}-d (load average {os.getloadavg()[0]:.1f}) ==", flush=True)
    vectors = clustered(n, dim, seed=0)
    queries = clustered(args.queries, dim, seed=1)
    records = make_records(n)
    ids = [r.id for r in records]
    exact = faiss.IndexFlatIP(dim)
    exact.add(vectors)
    truth = exact.search(queries, 10)[1]
    del exact  # its copy of the vectors (1.8 GB at 200,000 x 2280-d) is not needed again
    folder = Filters(folder=FILTERED)

    with tempfile.TemporaryDirectory() as tmp:
        embedded = EmbeddedStore(Path(tmp) / "data")
        seconds = load(embedded, records, vectors, "embedded")
        rows = [
            f"k={k}: p50 {a[0]:.1f} ms, p95 {a[1]:.1f} ms; filtered p50 {b[0]:.1f} ms, p95 {b[1]:.1f} ms"
            for k in KS
            for a, b in [(latencies(embedded, queries, k, None), latencies(embedded, queries, k, folder))]
        ]
        stats = embedded.stats()
        rows.append(f"recall@10 {recall_at_10(embedded, queries, truth, ids):.3f} ({stats['kind']})")
        index_bytes = embedded.index_path.stat().st_size if embedded.index_path.exists() else 0
        rows.append(
            f"disk {stats['size_bytes'] / n:,.0f} B/vector (SQLite + faiss files); in memory (the faiss index, "
            f"per web process) {index_bytes / n:,.0f} B/vector"
        )
        report("embedded", n, seconds, rows)
        embedded.close()

    for label in args.variants.split(","):
        options = VARIANTS[label]
        index_options = {"ES_INDEX_OPTIONS": options} if options else {}
        with bench_index(args.es_url, f"{label}-{dim}", args.shards, **index_options) as store:
            gc.collect()
            heap_before = heap_used(store.client)
            seconds = load(store, records, vectors, f"elasticsearch {label}")
            heap_after = heap_used(store.client)
            rows = [
                f"k={k}: p50 {a[0]:.1f} ms, p95 {a[1]:.1f} ms; filtered p50 {b[0]:.1f} ms, p95 {b[1]:.1f} ms"
                for k in KS
                for a, b in [(latencies(store, queries, k, None), latencies(store, queries, k, folder))]
            ]
            recall = recall_at_10(store, queries, truth, ids)
            if label == "int8_hnsw":
                rows.append(f"recall@10 {recall:.3f} (the default: quantised scores, no rescoring)")
                for oversample in (2.0, 1.0):  # k x 2 hits rescored from the float vectors; the k hits' scores
                    store.rescore_oversample = oversample
                    a, b = latencies(store, queries, 10, None), latencies(store, queries, 24, None)
                    found = recall_at_10(store, queries, truth, ids)
                    rows.append(
                        f"ES_RESCORE_OVERSAMPLE={oversample:g}: recall@10 {found:.3f}"
                        f"; k=10 p50 {a[0]:.1f} ms, p95 {a[1]:.1f} ms; k=24 p50 {b[0]:.1f} ms, p95 {b[1]:.1f} ms"
                    )
            else:
                rows.append(f"recall@10 {recall:.3f}")
            size = store.size_bytes() or 0
            field = vector_field_bytes(store.client, store.index)
            rows.append(
                f"disk {size / n:,.0f} B/vector (index store)"
                + (f", of which the vector field {field / n:,.0f} B/vector" if field else "")
            )
            rows.append(f"JVM heap used {(heap_after - heap_before) / n:,.0f} B/vector (3 nodes, before/after; noisy)")
            report(f"elasticsearch {label}", n, seconds, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--n", type=int, default=200_000, help="vectors per dimension, unless --dims says")
    parser.add_argument(
        "--dims", default="512,2280", help="comma-separated DIM or DIM:N (2280: the offline model's), e.g. 512:20000"
    )
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument(
        "--variants",
        default="hnsw,int8_hnsw",
        help="Elasticsearch index types in this order (a slow run: the default first)",
    )
    parser.add_argument(
        "--shards",
        type=int,
        default=1,
        help="primary shards per index; 2 or more lets a bulk load use more than one core of the cluster",
    )
    args = parser.parse_args()
    if unknown := set(args.variants.split(",")) - set(VARIANTS):
        parser.error(f"--variants: unknown {', '.join(sorted(unknown))} (known: {', '.join(VARIANTS)})")
    faiss.omp_set_num_threads(1)  # as the web process searches (WEB_THREADS)
    started = time.perf_counter()
    for spec in args.dims.split(","):
        dim, _, n = spec.partition(":")
        bench_dim(args, int(dim), int(n or args.n))
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
