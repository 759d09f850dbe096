"""Load test on loopback: waitress serving the app, clients sending mixed queries. Prints throughput,
p50/p95 latency, errors and the server's RSS.

    python bench/load_test.py [--requests 10000] [--seconds 60] [--clients 4] [--threads 4] [--images 300]
                              [--index-during N]   # also run `flask index` on N new images meanwhile

Model: the test embedder (tests/doubles/colour_embedder.py, via IMAGE_SEARCH_EMBEDDER_FACTORY), so these
figures measure the web stack, the store and the server, not a neural network. Only 127.0.0.1.

    python bench/load_test.py --offline [--sizes 1000,100000] [--seconds 30] [--rounds 2] [--clients 8]

The real offline model (IMAGE_SEARCH_MODEL=offline) on collections of each size, one waitress server
each, as `make serve` runs it (4 threads, WEB_THREADS=1). The collections are synthetic: a few hundred
real small JPEGs are embedded by the model, and the store is filled directly with their records and
vectors plus noisy copies under made-up names (no file is served). Mix: 50 % text queries (half
repeated, half never seen before, most of them words of the file names, low confidence for the model,
so the file-name fallback runs), 25 % ~200 KB JPEG uploads, 25 % "more like this". The sizes take
turns, `--seconds` each per round, so both see the same machine; the p95 ratio is printed.
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = ["red", "green", "blue", "white", "black", "yellow", "a dog", "sunset over the sea", "rot und blau"]


def app_env(data_dir: Path, **extra) -> dict:
    env = dict(os.environ, IMAGE_SEARCH_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    env.setdefault("IMAGE_SEARCH_EMBEDDER_FACTORY", "tests.doubles.colour_embedder:ColourEmbedder")
    env.update(extra)
    return {k: v for k, v in env.items() if v}  # an empty value removes the variable


def start_server(data_dir: Path, threads: int = 4, **extra_env) -> tuple[subprocess.Popen, int]:
    """waitress as documented in the README, on 127.0.0.1 and a free port; returns (process, port)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "waitress",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            f"--threads={threads}",
            "--call",
            "image_search:create_app",
        ],
        cwd=ROOT,
        env=app_env(data_dir, **extra_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for line in process.stdout:
        match = re.search(r"Serving on http://127\.0\.0\.1:(\d+)", line)
        if match:
            threading.Thread(target=process.stdout.read, daemon=True).start()  # keep the pipe drained
            return process, int(match[1])
    raise RuntimeError(f"waitress did not start (exit {process.wait()})")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def multipart(data: bytes, kind: str = "png") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="q.{kind}"\r\n'
            f"Content-Type: image/{kind}\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


class Client(threading.Thread):
    def __init__(self, port: int, queries: list[bytes], seed: int, quota, stop_at: float):
        super().__init__(daemon=True)
        self.port, self.queries, self.rng, self.quota, self.stop_at = port, queries, random.Random(seed), quota, stop_at
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def request(self, conn) -> int:
        kind = self.rng.random()
        if kind < 0.6:
            q = self.rng.choice(WORDS).replace(" ", "+")
            conn.request("GET", f"/api/search?q={q}&k={self.rng.choice([5, 20, 50])}")
        elif kind < 0.85:
            body, content_type = multipart(self.rng.choice(self.queries))
            conn.request("POST", "/api/search?k=20", body=body, headers={"Content-Type": content_type})
        else:
            conn.request("GET", f"/search?q={self.rng.choice(WORDS).replace(' ', '+')}")
        response = conn.getresponse()
        response.read()
        return response.status

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while time.monotonic() < self.stop_at and self.quota():
            started = time.perf_counter()
            try:
                status = self.request(conn)
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(type(exc).__name__)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                continue
            self.latencies.append(time.perf_counter() - started)
            if status != 200:
                self.errors.append(str(status))


class OfflineMixClient(Client):
    """50 % text (half repeated, half never seen), 25 % ~200 KB JPEG uploads, 25 % more like this."""

    def __init__(self, port, queries, seed, quota, stop_at, ids: list[str], seen: list[str], vocabulary: list[str]):
        super().__init__(port, queries, seed, quota, stop_at)
        self.ids, self.seen, self.vocabulary = ids, seen, vocabulary
        self.kinds: list[str] = []

    def request(self, conn) -> int:
        kind = self.rng.random()
        if kind < 0.25:
            q = self.rng.choice(self.seen)
        elif kind < 0.5:  # three random words and a number: never asked before, the model's cache misses
            q = " ".join(self.rng.sample(self.vocabulary, 3) + [str(self.rng.randrange(10**6))])
        if kind < 0.5:
            conn.request("GET", f"/api/search?q={q.replace(' ', '+')}&k=24")
        elif kind < 0.75:
            body, content_type = multipart(self.rng.choice(self.queries), "jpeg")
            conn.request("POST", "/api/search?k=24", body=body, headers={"Content-Type": content_type})
        else:
            conn.request("GET", f"/api/similar/{self.rng.choice(self.ids)}?k=24")
        response = conn.getresponse()
        response.read()
        self.kinds.append("text" if kind < 0.5 else "upload" if kind < 0.75 else "similar")
        return response.status


def write_photos(folder: Path, count: int, rng: random.Random) -> None:
    from PIL import Image

    folder.mkdir()
    for i in range(count):
        Image.new("RGB", (160, 120), tuple(rng.randrange(256) for _ in range(3))).save(folder / f"{i}.jpg")


def start_indexer(folder: Path, data_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "image_search", "index", "--batch-size", "8", str(folder)],
        cwd=ROOT,
        env=app_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def prepare(workdir: Path, images: int) -> tuple[Path, list[bytes]]:
    from PIL import Image

    rng = random.Random(0)
    folder, data_dir = workdir / "photos", workdir / "data"
    write_photos(folder, images, rng)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "image_search", "index", str(folder)],
        cwd=ROOT,
        env=app_env(data_dir),
        check=True,
        capture_output=True,
    )
    queries = []
    for _ in range(8):
        buffer = io.BytesIO()
        Image.new("RGB", (320, 240), tuple(rng.randrange(256) for _ in range(3))).save(buffer, "PNG")
        queries.append(buffer.getvalue())
    return data_dir, queries


def run(requests: int, seconds: float, clients: int, threads: int, images: int, index_during: int = 0) -> dict:
    indexing = {}
    with tempfile.TemporaryDirectory(prefix="load-test-") as tmp:
        data_dir, queries = prepare(Path(tmp), images)
        if index_during:
            write_photos(Path(tmp) / "more", index_during, random.Random(1))
        server, port = start_server(data_dir, threads, IMAGE_SEARCH_WEB_THREADS="1")
        try:
            lock, sent = threading.Lock(), [0]

            def quota(limit=requests):
                with lock:
                    sent[0] += 1
                    return sent[0] <= limit

            warm = Client(port, queries, 99, lambda: True, time.monotonic() + 2)  # model, index, caches
            warm.run()
            rss_start = rss_mb(server.pid)
            started = time.monotonic()
            workers = [Client(port, queries, i, quota, started + seconds) for i in range(clients)]
            for worker in workers:
                worker.start()
            indexer = start_indexer(Path(tmp) / "more", data_dir) if index_during else None
            peak = rss_start
            while any(w.is_alive() for w in workers):
                time.sleep(0.5)
                peak = max(peak, rss_mb(server.pid))
                if indexer and indexer.poll() is not None and "indexer" not in indexing:
                    summary = indexer.stdout.read().strip().splitlines()[-1:]
                    indexing["indexer"] = (
                        f"exit {indexer.returncode} after {time.monotonic() - started:.1f} s: {summary}"
                    )
            elapsed = time.monotonic() - started
            if indexer and "indexer" not in indexing:
                indexing["indexer"] = f"still running after the load ended (exit {indexer.wait()})"
            rss_end = rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=10)
    latencies = sorted(sum((w.latencies for w in workers), []))
    errors = sum((w.errors for w in workers), [])

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return {
        "model": "test colour embedder (no neural network)",
        "server": f"waitress, {threads} threads, WEB_THREADS=1",
        "clients": clients,
        "indexed images": images,
        "requests": len(latencies) + len(errors),
        "seconds": round(elapsed, 1),
        "throughput (req/s)": round(len(latencies) / elapsed, 1),
        "p50 (ms)": round(pct(50), 1),
        "p95 (ms)": round(pct(95), 1),
        "errors": len(errors),
        "error kinds": sorted(set(errors)),
        "server RSS start (MB)": round(rss_start, 1),
        "server RSS peak (MB)": round(peak, 1),
        "server RSS end (MB)": round(rss_end, 1),
        **indexing,
    }


# Words of the synthetic file and folder names; the text queries draw on them, so name matches exist.
VOCABULARY = (
    "beach harbour lantern meadow garden kitchen birthday wedding holiday mountain river bridge market "
    "station castle forest village sunset morning winter summer autumn spring picnic concert museum "
    "tower island desert canyon valley lake harbor festival parade school office studio portrait family "
    "friends party dinner breakfast travel camping hiking cycling sailing skiing snow rain storm cloud "
    "street city night lights fireworks garden flowers roses tulips orchard vineyard farm barn horse cat "
    "dog puppy kitten bird parrot owl eagle fish aquarium zoo safari lion tiger elephant giraffe boat "
    "train plane airport car truck bicycle motorbike road tunnel lighthouse pier cliff cave waterfall"
).split()
SEEN_QUERIES = [
    "goldfish",
    "a red sports car",
    "espresso",
    "a dog on grass",
    "mountain lake",
    "birthday party",
    "sunset over the sea",
    "ein schneebedeckter Berg",
    "harbour lantern",
    "wedding",
    "a cat",
    "fireworks at night",
    "lighthouse",
    "picnic in the garden",
    "train station",
    "snowy street",
]
REAL_IMAGES = 240  # real small JPEGs embedded by the model; the rest are noisy copies of their vectors


def synthetic_picture(rng: random.Random, width: int, height: int):
    """A smooth colour field with shapes and grain: compresses like a photo, unlike flat colour."""
    import numpy as np
    from PIL import Image, ImageDraw

    gen = np.random.default_rng(rng.randrange(2**32))
    yy, xx = np.mgrid[0:height, 0:width] / max(width, height)
    base = np.stack(
        [128 + 100 * np.sin(xx * gen.uniform(2, 9) + yy * gen.uniform(1, 7) + gen.uniform(0, 6)) for _ in range(3)],
        axis=-1,
    )
    grain = gen.normal(0, 18, size=base.shape)
    image = Image.fromarray(np.clip(base + grain, 0, 255).astype("uint8"))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(width // 12, width // 3)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    return image


def offline_collections(
    workdir: Path, sizes: list[int], models: Path, server_env: dict[str, str] | None = None
) -> tuple[dict[int, Path], dict[int, list[str]], list[bytes], dict[int, str]]:
    """One data dir per size, filled directly: records and vectors, the faiss index saved by flush() with the
    server's index settings (exact or HNSW, codec), as `flask index` would leave it."""
    import numpy as np

    from image_search.embedders.offline.embedder import OfflineEmbedder
    from image_search.settings import load_settings
    from image_search.stores.base import ImageRecord
    from image_search.stores.embedded.store import EmbeddedStore

    rng = random.Random(0)
    photos = workdir / "photos"
    photos.mkdir(parents=True)
    embedder = OfflineEmbedder(models, threads=2)
    pictures = [synthetic_picture(rng, 160, 120) for _ in range(REAL_IMAGES)]
    for i, picture in enumerate(pictures):
        picture.save(photos / f"real_{i}.jpg", quality=85)
    base = np.vstack([embedder.embed_images(pictures[i : i + 32]) for i in range(0, REAL_IMAGES, 32)])
    embedder.embed_texts(["warm up"])  # builds the text models' graphs once, before any server needs them
    uploads = []
    for _ in range(12):
        buffer = io.BytesIO()
        synthetic_picture(rng, 640, 480).save(buffer, "JPEG", quality=92)  # ~200 KB
        uploads.append(buffer.getvalue())
    data_dirs, ids, kinds = {}, {}, {}
    for size in sizes:
        data_dir = workdir / f"data-{size}"
        data_dir.mkdir()
        (data_dir / "models").symlink_to(models)  # one export of the model for all
        settings = {k.removeprefix("IMAGE_SEARCH_"): v for k, v in (server_env or {}).items()}
        store = EmbeddedStore(data_dir, load_settings(settings).ann)
        store.claim(embedder.model_id, embedder.dim, embedder.unit_vectors)
        gen = np.random.default_rng(size)
        for start in range(0, size, 5000):
            n = min(5000, size - start)
            records = []
            for i in range(start, start + n):
                if i < REAL_IMAGES:
                    path = photos / f"real_{i}.jpg"
                else:
                    words = rng.sample(VOCABULARY, 3)
                    path = photos / words[0] / f"{words[1]}_{words[2]}_{i}.jpg"
                records.append(ImageRecord(str(path), str(photos), 20_000, i, 160, 120, 1.6e9 + i * 600, "JPEG"))
            vectors = base[np.arange(start, start + n) % REAL_IMAGES] + gen.normal(0, 0.02, (n, embedder.dim))
            store.upsert(records, (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32))
        store.flush()
        ids[size] = [r.id for r in store.iter_records()]
        kinds[size] = store.stats()["kind"]
        store.close()
        data_dirs[size] = data_dir
    return data_dirs, ids, uploads, kinds


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))] * 1000 if values else float("nan")


def warm_up(port: int, uploads: list[bytes], ids: list[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)  # the first request loads the model
    for path in ("/api/search?q=warm+up&k=24", f"/api/similar/{ids[0]}?k=24"):
        conn.request("GET", path)
        response = conn.getresponse()
        if response.status != 200 or response.read() is None:
            raise RuntimeError(f"warm-up {path} answered {response.status}")
    body, content_type = multipart(uploads[0], "jpeg")
    conn.request("POST", "/api/search?k=24", body=body, headers={"Content-Type": content_type})
    response = conn.getresponse()
    if response.status != 200 or response.read() is None:
        raise RuntimeError(f"warm-up upload answered {response.status}")
    conn.close()
    OfflineMixClient(port, uploads, 98, lambda: True, time.monotonic() + 5, ids, SEEN_QUERIES, VOCABULARY).run()


def run_offline(
    sizes: list[int],
    seconds: float,
    rounds: int,
    clients: int,
    threads: int,
    workdir: Path,
    models: Path,
    server_env: dict[str, str],
) -> dict:
    started_prep = time.monotonic()
    data_dirs, ids, uploads, kinds = offline_collections(workdir, sizes, models, server_env)
    prep_s = time.monotonic() - started_prep
    env = {"IMAGE_SEARCH_MODEL": "offline", "IMAGE_SEARCH_EMBEDDER_FACTORY": "", "IMAGE_SEARCH_WEB_THREADS": "1"}
    env.update(server_env)
    servers = {size: start_server(data_dirs[size], threads, **env) for size in sizes}
    results: dict[int, dict] = {size: {"latencies": [], "errors": [], "kinds": [], "seconds": 0.0} for size in sizes}
    try:
        for size, (_, port) in servers.items():  # load the model, the index, the caches: each kind once, then 5 s
            warm_up(port, uploads, ids[size])
        rss_start = {size: rss_mb(server.pid) for size, (server, _) in servers.items()}
        for round_ in range(rounds):
            for size, (_, port) in servers.items():
                stop_at = time.monotonic() + seconds
                workers = [
                    OfflineMixClient(
                        port, uploads, 1000 * round_ + i, lambda: True, stop_at, ids[size], SEEN_QUERIES, VOCABULARY
                    )
                    for i in range(clients)
                ]
                began = time.monotonic()
                for worker in workers:
                    worker.start()
                for worker in workers:
                    worker.join()
                out = results[size]
                out["seconds"] += time.monotonic() - began
                for worker in workers:
                    out["latencies"] += worker.latencies
                    out["errors"] += worker.errors
                    out["kinds"] += worker.kinds
        rss_end = {size: rss_mb(server.pid) for size, (server, _) in servers.items()}
    finally:
        for server, _ in servers.values():
            server.terminate()
            server.wait(timeout=10)
    figures: dict = {
        "model": "offline (EfficientNet-Lite0 int8 + e5-small + MiniLM), IMAGE_SEARCH_MODEL=offline",
        "server": f"waitress, {threads} threads, WEB_THREADS=1; {clients} clients; {rounds} rounds of {seconds:g} s",
        "collections built in (s)": round(prep_s, 1),
        "server settings": " ".join(f"{k}={v}" for k, v in server_env.items()) or "defaults",
    }
    for size in sizes:
        out = results[size]
        latencies = out["latencies"]
        by_kind = {
            kind: [lat for lat, k in zip(latencies, out["kinds"], strict=False) if k == kind]
            for kind in ("text", "upload", "similar")
        }
        figures[f"{size} images"] = (
            f"{kinds[size]}; {len(latencies) + len(out['errors'])} requests, "
            f"{len(latencies) / out['seconds']:.1f} req/s, "
            f"p50 {percentile(latencies, 50):.1f} ms, p95 {percentile(latencies, 95):.1f} ms, "
            f"{len(out['errors'])} errors {sorted(set(out['errors']))}; "
            + ", ".join(f"{kind} p95 {percentile(v, 95):.1f} ms" for kind, v in by_kind.items())
            + f"; RSS {rss_start[size]:.0f} -> {rss_end[size]:.0f} MB"
        )
    p95 = [percentile(results[size]["latencies"], 95) for size in sizes]
    figures["p95 ratio (largest / smallest)"] = round(p95[-1] / p95[0], 2)
    figures["errors"] = sum(len(results[size]["errors"]) for size in sizes)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--index-during", type=int, default=0, metavar="N")
    parser.add_argument("--offline", action="store_true", help="the real offline model on synthetic collections")
    parser.add_argument("--sizes", default="1000,100000", help="with --offline: collection sizes, smallest first")
    parser.add_argument("--rounds", type=int, default=2, help="with --offline: turns each size takes")
    parser.add_argument(
        "--workdir",
        type=Path,
        help="with --offline: where the collections go (a temp dir inside) and the model files stay",
    )
    parser.add_argument(
        "--server-env", action="append", default=[], metavar="NAME=VALUE", help="with --offline: a server setting"
    )
    args = parser.parse_args()
    if args.offline:
        with tempfile.TemporaryDirectory(prefix="load-test-", dir=args.workdir) as tmp:
            sizes = sorted(int(s) for s in args.sizes.split(","))
            models = (args.workdir or Path(tmp)) / "models"  # exported once, kept when --workdir is given
            server_env = dict(item.split("=", 1) for item in args.server_env)
            figures = run_offline(
                sizes, args.seconds, args.rounds, args.clients, args.threads, Path(tmp), models, server_env
            )
    else:
        figures = run(args.requests, args.seconds, args.clients, args.threads, args.images, args.index_during)
    for key, value in figures.items():
        print(f"{key:>24}: {value}")
    return 1 if figures["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
