"""Query latency and load: /api/search over N synthetic vectors with a real text encoder.

Prints: server-side p50/p95 of GET /api/search (test client; includes text encoding), its parts,
faiss 1 vs 2 threads, text encoder 1 vs 2 threads, and a loopback load test (2 clients, werkzeug
threaded server). Exact search against the memory-bandwidth bound: bench/bench_exact_scan.py.

    python bench/bench_query.py [--n 100000] [--queries 200] [--load-requests 150] [--load-seconds 60]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: single-core bandwidth bounds

import argparse
import http.client
import json
import multiprocessing
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_ann import clustered
from image_search import create_app
from image_search.stores import ImageRecord
from image_search.stores.embedded.options import AnnParams
from image_search.stores.embedded.store import EmbeddedStore

SUBJECTS = [
    "a dog",
    "two cats",
    "a red car",
    "mountains",
    "a beach",
    "a city street",
    "a birthday cake",
    "an old bridge",
    "children playing",
    "a bowl of soup",
    "a snowy forest",
    "a sailing boat",
]
PLACES = ["at night", "in the rain", "on the grass", "in summer", "from above", "near the sea"]
QUERIES = [f"{s} {p}" for s in SUBJECTS for p in PLACES]


def pct(values, q) -> float:
    return float(np.percentile(values, q))


def fill_store(data_dir: Path, n: int, dim: int, model_id: str) -> np.ndarray:
    store = EmbeddedStore(data_dir)
    store.claim(model_id, dim)
    vectors = clustered(n, dim, seed=1)
    for start in range(0, n, 10_000):
        records = [
            ImageRecord(
                path=f"/photos/{i // 1000}/{i}.jpg",
                root="/photos",
                size=1000,
                mtime_ns=0,
                width=640,
                height=480,
                taken_at=float(i),
                format="JPEG",
            )
            for i in range(start, min(n, start + 10_000))
        ]
        store.upsert(records, vectors[start : start + len(records)])
    store.flush()
    store.close()
    return vectors


def make_app(data_dir: Path):
    from standins import MiniLMText

    return create_app({"DATA_DIR": data_dir, "EMBEDDER": MiniLMText(threads=1), "WEB_THREADS": 1})


def latency(app, queries) -> None:
    client = app.test_client()
    for q in queries[:10]:  # warm: model, index, caches
        client.get("/api/search", query_string={"q": q, "k": 24})
    wall, cpu, took = [], [], []
    for q in queries:
        started, started_cpu = time.perf_counter(), time.thread_time()
        response = client.get("/api/search", query_string={"q": q, "k": 24})
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
        assert response.status_code == 200, response.data
        took.append(response.get_json()["took_ms"])
    service = app.extensions["image_search"]
    encode, knn = [], []
    for q in queries:
        started = time.thread_time()
        vector = service.embedder.embed_texts([q])[0]
        encode.append((time.thread_time() - started) * 1000)
        started = time.thread_time()
        service.store.knn(vector, 24)
        knn.append((time.thread_time() - started) * 1000)
    print(
        f"GET /api/search, {len(queries)} queries, k=24: request wall p50 {pct(wall, 50):.1f} ms, "
        f"p95 {pct(wall, 95):.1f} ms (service took_ms p50 {pct(took, 50):.1f}); request CPU time "
        f"p50 {pct(cpu, 50):.1f} ms, p95 {pct(cpu, 95):.1f} ms"
    )
    print(
        f"  CPU time p50 of the parts: text encoding {pct(encode, 50):.1f} ms, store.knn {pct(knn, 50):.1f} ms"
        f"  (CPU time = wall time on an idle core: every thread here is single-threaded)"
    )


def faiss_threads(index: faiss.Index, queries: np.ndarray) -> None:
    """Exact search's QPS on 1 and 2 OpenMP threads (its bandwidth: bench/bench_exact_scan.py)."""
    for batch in (1, 16):
        qps = []
        for threads in (1, 2):
            faiss.omp_set_num_threads(threads)
            started = time.perf_counter()
            for start in range(0, len(queries), batch):
                index.search(queries[start : start + batch], 24)
            qps.append(len(queries) / (time.perf_counter() - started))
        print(
            f"faiss exact QPS, {batch} quer{'y' if batch == 1 else 'ies'} per call: 1 thread "
            f"{qps[0]:.0f}, 2 threads {qps[1]:.0f} (x{qps[1] / qps[0]:.2f})"
        )
    faiss.omp_set_num_threads(1)


def encoder_threads(embedder, queries) -> None:
    import torch

    result = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        embedder.embed_texts(queries[:3])
        times = []
        for q in queries[:60]:
            started = time.perf_counter()
            embedder.embed_texts([q])
            times.append((time.perf_counter() - started) * 1000)
        result.append(pct(times, 50))
    torch.set_num_threads(1)
    print(f"text encoding p50: 1 thread {result[0]:.1f} ms, 2 threads {result[1]:.1f} ms")


def codecs(data_dir: Path, queries: np.ndarray, k: int = 24) -> None:
    """store.knn by VECTOR_CODEC over the same SQLite: CPU p50, overlap with float32, index size."""
    faiss.omp_set_num_threads(1)
    exact = None
    for codec in ("float32", "fp16", "int8"):
        store = EmbeddedStore(data_dir, AnnParams(codec=codec))
        store.flush()  # builds (and saves) this codec's index
        size = (data_dir / "vectors.faiss").stat().st_size / store.count()
        found, times = [], []
        for q in queries:
            started = time.thread_time()
            found.append({h.id for h in store.knn(q, k)})
            times.append((time.thread_time() - started) * 1000)
        exact = exact or found
        overlap = np.mean([len(a & b) / k for a, b in zip(found, exact, strict=True)])
        print(f"| {codec} | {pct(times, 50):.1f} | {overlap:.3f} | {size:.0f} |")
        store.close()


def serve(data_dir: Path, port_pipe) -> None:
    """The app on 127.0.0.1 in its own process (its own GIL), as `flask run` would serve it."""
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, make_app(data_dir), threaded=True)
    port_pipe.send(server.server_port)
    server.serve_forever()


def load_test(data_dir: Path, clients: int, requests: int, seconds: float) -> None:
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    server = ctx.Process(target=serve, args=(data_dir, send), daemon=True)
    server.start()
    if not receive.poll(180):
        raise SystemExit("the server did not start")
    port = receive.recv()
    latencies, errors, lock = [], [], threading.Lock()

    def get(q):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("GET", "/api/search?" + urllib.parse.urlencode({"q": q, "k": 24}))
            response = conn.getresponse()
            body = response.read()
            return response.status, body
        finally:
            conn.close()

    for q in QUERIES[:5]:
        get(q)  # warm the server: model and index load on first use

    def client(offset):
        deadline = time.monotonic() + seconds
        for i in range(requests // clients):
            if time.monotonic() > deadline:
                break
            started = time.perf_counter()
            try:
                status, body = get(QUERIES[(offset + i) % len(QUERIES)])
                error = None if status == 200 and json.loads(body)["hits"] else f"HTTP {status}"
            except (OSError, ValueError, KeyError) as exc:
                error = repr(exc)
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)
                if error:
                    errors.append(error)

    started = time.perf_counter()
    workers = [threading.Thread(target=client, args=(c * 7,)) for c in range(clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    server.terminate()
    server.join(10)
    print(
        f"load, {clients} clients on 127.0.0.1 (werkzeug threaded): {len(latencies)} requests in "
        f"{elapsed:.1f}s = {len(latencies) / elapsed:.1f} req/s, p50 {pct(latencies, 50):.1f} ms, "
        f"p95 {pct(latencies, 95):.1f} ms, errors {len(errors)} {errors[:3]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--load-requests", type=int, default=150)
    parser.add_argument("--load-seconds", type=float, default=60)
    args = parser.parse_args()
    queries = (QUERIES * (args.queries // len(QUERIES) + 1))[: args.queries]
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        started = time.perf_counter()
        vectors = fill_store(data_dir, args.n, 384, "bench-minilm-l6-v2")
        print(f"store: {args.n:,} synthetic 384-d vectors ({time.perf_counter() - started:.0f}s to insert)")
        app = make_app(data_dir)
        latency(app, queries)
        service = app.extensions["image_search"]
        faiss_threads(service.store._current_index(), vectors[: args.queries] + 0.01)
        encoder_threads(service.embedder, queries)
        load_test(data_dir, args.clients, args.load_requests, args.load_seconds)
        print("| VECTOR_CODEC | store.knn CPU p50 ms | recall@24 vs float32 | index bytes/vector |")
        print("|---|---|---|---|")
        codecs(data_dir, vectors[: args.queries] + 0.01)


if __name__ == "__main__":
    main()
