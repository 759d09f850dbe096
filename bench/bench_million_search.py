"""A text query at 1,000,000 vectors through the app's own path: GET /api/search over an embedded store (HNSW).

The store: 1,000,000 records of 512-d clustered synthetic unit vectors (bench_ann.clustered, seed 1: the same
data as bench_ann.py), inserted with EmbeddedStore.upsert and indexed by EmbeddedStore.flush with the app's
default AnnParams (HNSW, M 32, efConstruction 80) on 2 faiss threads, as `flask index` would. Building it took
56 min here (2 shared cores, nice 10, load average 10-19), so the data directory is made once and kept in
--workdir (SQLite, then vectors.faiss); a later run only loads it.

512-d, not the offline model's 2280-d: the issue's "1 M vectors" at CLIP ViT-B/32's size (the default model);
1 M x 2280-d float32 is 9.1 GB for the index alone, beyond this shared machine's memory, and its build ~4.5x
longer. The text encoder is the offline model's, so its cost is real (standins.OfflineText512: the offline
model's query vector mapped to 512-d, onto the synthetic clusters of its ImageNet classes).

Printed, each measured in this one run, with 1 math thread (WEB_THREADS=1):
  GET /api/search?q=... (Flask test client) p50 / p95, wall and CPU time, and its parts (encoding, store.knn);
  recall@24 of those text queries, and of fresh draws from the collection's own distribution, against exact
  search (numpy's inner products over the same vectors, made again), at efSearch 64 to 1024 (128: the default);
  store.knn with a 10 % filter (HNSW with a rowid bitmap) and a 0.1 % one (scored exactly), with their recall.

    python bench/bench_million_search.py [--n 1000000] [--queries 200] [--workdir /tmp/search1m]
"""

from __future__ import annotations

import os

# before numpy and faiss: one math thread, as the web process
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_ann import cluster_centres, clustered, clustered_chunks  # noqa: E402
from bench_query import QUERIES  # noqa: E402
from image_search import create_app  # noqa: E402
from image_search.stores import Filters, ImageRecord  # noqa: E402
from image_search.stores.embedded import faiss_index  # noqa: E402
from image_search.stores.embedded.store import EmbeddedStore  # noqa: E402
from standins import OfflineText512  # noqa: E402

DIM = 512
K = 24
MODEL_ID = OfflineText512.model_id


def photo_path(i: int) -> str:
    return f"/photos/{i // 1000}/{i}.jpg"


def fill_store(data_dir: Path, n: int) -> None:
    """Made once: records, then the index the app builds on its first flush (the slow part)."""
    marker = data_dir / f".built-{n}-{DIM}"
    if marker.exists():
        return
    started = time.perf_counter()
    store = EmbeddedStore(data_dir)
    store.clear()
    store.claim(MODEL_ID, DIM)
    start = 0
    for chunk in clustered_chunks(n, DIM, seed=1):  # bench_ann.clustered's rows, 100,000 at a time
        for offset in range(0, len(chunk), 10_000):
            vectors = chunk[offset : offset + 10_000]
            first = start + offset
            records = [
                ImageRecord(photo_path(i), "/photos", 1000, 0, 640, 480, float(i), "JPEG")
                for i in range(first, first + len(vectors))
            ]
            store.upsert(records, vectors)
        start += len(chunk)
    inserted = time.perf_counter()
    print(f"inserted {n:,} records in {inserted - started:.0f} s", flush=True)
    faiss.omp_set_num_threads(2)  # INDEX_THREADS: `flask index` owns the machine
    store.flush()
    faiss.omp_set_num_threads(1)
    print(f"index built and saved in {time.perf_counter() - inserted:.0f} s ({store.stats()['kind']})", flush=True)
    store.close()
    marker.touch()


def exact_top(n: int, queries: np.ndarray, rows: tuple[int, int] | None = None) -> list[set[str]]:
    """Each query's K nearest paths by exact inner product over the store's vectors (made again, 100,000 rows
    at a time, so only one chunk is in memory), among rows lo..hi-1 when `rows` is given."""
    lo, hi = rows or (0, n)
    best = np.full((len(queries), K), -np.inf, dtype=np.float32)
    best_rows = np.zeros((len(queries), K), dtype=np.int64)
    start = 0
    for chunk in clustered_chunks(n, DIM, seed=1):
        scores = queries @ chunk.T
        outside = (np.arange(start, start + len(chunk)) < lo) | (np.arange(start, start + len(chunk)) >= hi)
        scores[:, outside] = -np.inf
        scores = np.hstack([best, scores])
        candidates = np.hstack([best_rows, np.broadcast_to(np.arange(start, start + len(chunk)), scores[:, K:].shape)])
        top = np.argpartition(scores, -K, axis=1)[:, -K:]
        best, best_rows = np.take_along_axis(scores, top, 1), np.take_along_axis(candidates, top, 1)
        start += len(chunk)
    return [{photo_path(int(i)) for i in row} for row in best_rows]


def recall(found: list[set[str]], truth: list[set[str]]) -> float:
    return float(np.mean([len(f & t) / K for f, t in zip(found, truth, strict=True)]))


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def timed(calls: list[Callable[[], object]], before: Callable[[], object] = lambda: None) -> tuple[list, list, list]:
    """(wall, process CPU, this thread's CPU) ms of each call. The process's CPU time counts the encoder's side
    thread (MiniLM beside e5): everything done, as if on one core. This thread's leaves the side thread out: the
    request's own path when the side thread finishes first on another core."""
    wall: list[float] = []
    cpu: list[float] = []
    own: list[float] = []
    for call in calls:
        before()
        started, started_cpu, started_own = time.perf_counter(), time.process_time(), time.thread_time()
        call()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        own.append((time.thread_time() - started_own) * 1000)
    return wall, cpu, own


def p50_line(name: str, times: tuple[list, list, list]) -> str:
    return "| " + " | ".join([name, *(f"{pct(t, 50):.1f} / {pct(t, 95):.1f}" for t in times)]) + " |"


def hnsw_search(index: faiss.Index, queries: np.ndarray, ef: int) -> tuple[list[set[str]], list[float]]:
    params = faiss.SearchParametersHNSW(efSearch=ef)  # type: ignore[attr-defined]
    found: list[set[str]] = []

    def search(q: np.ndarray) -> None:
        rowids = index.search(q[None], K, params=params)[1][0]
        found.append({photo_path(int(r) - 1) for r in rowids})  # rowid = row + 1 in this store

    _, _, cpu = timed([lambda q=q: search(q) for q in queries])
    return found, cpu


def filtered(store: EmbeddedStore, queries: np.ndarray, n: int) -> None:
    """store.knn with a filter of 10 % (HNSW with a rowid bitmap) and one of 0.1 % (scored exactly)."""
    folder = n // 2000  # a folder in the middle: 1,000 records
    cases = {
        "dates, 10 % (HNSW, rowid bitmap)": (Filters(date_from=0.3 * n, date_to=0.4 * n), (3 * n // 10, 4 * n // 10)),
        "folder, 0.1 % (scored exactly)": (Filters(folder=f"/photos/{folder}"), (folder * 1000, folder * 1000 + 1000)),
    }
    print("| filter | store.knn wall p50 ms | CPU p50 ms | recall@24 vs exact |")
    print("|---|---|---|---|")
    for name, (filters, rows) in cases.items():
        found: list[set[str]] = []

        def search(q: np.ndarray, filters: Filters = filters, found: list[set[str]] = found) -> None:
            found.append({h.record.path for h in store.knn(q, K, filters)})

        wall, _, cpu = timed([lambda q=q: search(q) for q in queries])
        truth = exact_top(n, queries, rows)
        print(f"| {name} | {pct(wall, 50):.1f} | {pct(cpu, 50):.1f} | {recall(found, truth):.3f} |")
    allowed = np.arange(3 * n // 10, 4 * n // 10, dtype=np.int64) + 1
    makers = {"IDSelectorBitmap (now)": faiss_index.id_bitmap, "IDSelectorBatch (before)": faiss.IDSelectorBatch}
    for name, make in makers.items():
        _, _, cpu = timed([lambda make=make: make(allowed)] * 5)
        print(f"making the 10 % filter's selector, {name}: {pct(cpu, 50):.1f} ms CPU")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/search1m"))
    parser.add_argument("--ef", type=int, nargs="*", default=[64, 128, 256, 512, 1024], help="efSearch values to try")
    parser.add_argument("--prepare-only", action="store_true", help="make the store and its index, then stop")
    args = parser.parse_args()
    data_dir = args.workdir / f"store-{args.n}"
    fill_store(data_dir, args.n)
    if args.prepare_only:
        return
    faiss.omp_set_num_threads(1)
    embedder = OfflineText512(args.workdir / "models", cluster_centres(DIM), threads=1)
    app = create_app({"DATA_DIR": data_dir, "EMBEDDER": embedder, "WEB_THREADS": 1})
    service, client = app.extensions["image_search"], app.test_client()
    texts = (QUERIES * (args.queries // len(QUERIES) + 1))[: args.queries]
    started = time.perf_counter()
    client.get("/api/search", query_string={"q": "warm up", "k": K})  # loads the models and the index
    print(
        f"first request (loads the models and the {service.store.stats()['kind']} index): "
        f"{time.perf_counter() - started:.1f} s"
    )
    for text in QUERIES[:5]:
        client.get("/api/search", query_string={"q": text, "k": K})

    def request(text: str) -> Callable[[], object]:
        def get() -> None:
            response = client.get("/api/search", query_string={"q": text, "k": K})
            assert response.status_code == 200 and response.get_json()["hits"], response.data

        return get

    # Every query is encoded as if first seen: the encoders' caches are emptied before each (not timed)
    requests = timed([request(t) for t in texts], before=embedder.forget_texts)
    vectors = {t: embedder.embed_texts([t])[0] for t in QUERIES}
    encodings = timed(
        [lambda t=t: (embedder.embed_texts([t]), embedder.text_confidence(t)) for t in texts],
        before=embedder.forget_texts,
    )
    searches = timed([lambda t=t: service.store.knn(vectors[t], K) for t in texts])
    print(
        f"{args.n:,} x {DIM}-d ({service.store.stats()['kind']}, efSearch {service.store.ann.ef_search}), "
        f"{len(texts)} text queries ({len(QUERIES)} distinct, each encoded afresh), k={K}, 1 math thread:"
    )
    print("| what | wall p50 / p95 ms | process CPU p50 / p95 ms | request thread's CPU p50 / p95 ms |")
    print("|---|---|---|---|")
    print(p50_line("GET /api/search?q=... (text encoding included)", requests))
    print(p50_line("  text encoding (embed_texts + text_confidence)", encodings))
    print(p50_line("  store.knn", searches))

    text_vectors = np.stack([vectors[t] for t in QUERIES])
    drawn = clustered(args.queries, DIM, seed=2)  # fresh draws from the collection's own distribution
    truth = {"text queries": exact_top(args.n, text_vectors), "drawn queries": exact_top(args.n, drawn)}
    print("| queries | efSearch | recall@24 vs exact | index.search CPU p50 ms |")
    print("|---|---|---|---|")
    for name, queries in (("text queries", text_vectors), ("drawn queries", drawn)):
        for ef in args.ef:
            found, cpu = hnsw_search(service.store._current_index(), queries, ef)
            print(f"| {name} | {ef} | {recall(found, truth[name]):.3f} | {pct(cpu, 50):.2f} |")
    store_found = [{h.record.path for h in service.store.knn(q, K)} for q in text_vectors]
    store_recall = recall(store_found, truth["text queries"])
    print(f"store.knn recall@24 of the text queries (paths, efSearch 128): {store_recall:.3f}")
    filtered(service.store, text_vectors, args.n)
    print(
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB; "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
