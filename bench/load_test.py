"""Load test on loopback: waitress serving the app, 4 clients sending mixed text, image and page
queries. Prints throughput, p50/p95 latency, errors and the server's RSS at start and end.

    python bench/load_test.py [--requests 10000] [--seconds 60] [--clients 4] [--threads 4] [--images 300]
                              [--index-during N]   # also run `flask index` on N new images meanwhile

Model: the test embedder (tests/doubles/colour_embedder.py, via IMAGE_SEARCH_EMBEDDER_FACTORY), so the
figures measure the web stack, the store and the server, not a neural network. Only 127.0.0.1.
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
    return dict(
        os.environ,
        IMAGE_SEARCH_DATA_DIR=str(data_dir),
        PYTHONPATH=str(ROOT),
        IMAGE_SEARCH_EMBEDDER_FACTORY="tests.doubles.colour_embedder:ColourEmbedder",
        **extra,
    )


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


def multipart(data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="q.png"\r\n'
            f"Content-Type: image/png\r\n\r\n"
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

    def request(self, conn):
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--index-during", type=int, default=0, metavar="N")
    args = parser.parse_args()
    figures = run(args.requests, args.seconds, args.clients, args.threads, args.images, args.index_during)
    for key, value in figures.items():
        print(f"{key:>24}: {value}")
    return 1 if figures["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
