"""Searches during `flask index --rebuild`: do they keep answering, with the old hits, until the swap?

    python bench/bench_rebuild.py [--images 400] [--batch-size 4] [--store embedded|elasticsearch --es-url URL]

Indexes --images small PNGs, then runs a real `flask index --rebuild` process over them while this process
searches in a loop (its own app over the same data dir or index, as the web app would), and prints, for
each search made during the rebuild, how many hits it had. Side by side in the same run, the old way
(empty the store, then index) over the same images. Model: the test embedder, slowed per batch
(tests/doubles/colour_embedder.py: SlowColourEmbedder), so a rebuild lasts seconds; no network.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from image_search import create_app  # noqa: E402
from tests.doubles.colour_embedder import ColourEmbedder  # noqa: E402
from tests.photos import solid  # noqa: E402


def write_images(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    for i in range(count):
        solid(((i * 37) % 256, (i * 91) % 256, (i * 13) % 256), (32, 24)).save(folder / f"p{i:05d}.png")


def flask(config: dict, *args: str, embedder: str = "SlowColourEmbedder") -> subprocess.Popen:
    env = dict(
        os.environ, PYTHONPATH=str(ROOT), IMAGE_SEARCH_EMBEDDER_FACTORY=f"tests.doubles.colour_embedder:{embedder}"
    )
    env.update({f"IMAGE_SEARCH_{key}": str(value) for key, value in config.items()})
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "image_search", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def search_while(process: subprocess.Popen, client) -> tuple[list[int], list[float]]:
    hits, millis = [], []
    while process.poll() is None:
        started = time.perf_counter()
        answer = client.get("/api/search?q=red&k=24")
        millis.append((time.perf_counter() - started) * 1000)
        hits.append(len(answer.get_json().get("hits", [])) if answer.status_code == 200 else -answer.status_code)
    output = process.communicate()[0]
    if process.returncode != 0:
        raise SystemExit(f"indexer failed:\n{output}")
    return hits, millis


def clear_store(config: dict) -> None:
    """The old --rebuild's first step (indexing.index_paths called store.clear())."""
    code = "from image_search import create_app; create_app().extensions['image_search'].store.clear()"
    env = dict(os.environ, PYTHONPATH=str(ROOT), **{f"IMAGE_SEARCH_{k}": str(v) for k, v in config.items()})
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)


def report(label: str, hits: list[int], millis: list[float], expected: int) -> None:
    zero = sum(h == 0 for h in hits)
    errors = sum(h < 0 for h in hits)
    full = sum(h == expected for h in hits)
    p95 = statistics.quantiles(millis, n=20)[-1] if len(millis) >= 20 else max(millis, default=0)
    print(
        f"{label:<34} {len(hits):>8} {full:>10} {zero:>9} {errors:>7} {min(hits, default=0):>8} "
        f"{statistics.median(millis) if millis else 0:>8.1f} {p95:>8.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--store", choices=["embedded", "elasticsearch"], default="embedded")
    parser.add_argument("--es-url", default=os.environ.get("ES_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-rebuild-") as tmp:
        folder = Path(tmp) / "photos"
        write_images(folder, args.images)
        config: dict = {"DATA_DIR": Path(tmp) / "data", "STORE": args.store}
        if args.store == "elasticsearch":
            config |= {"ES_URL": args.es_url, "ES_INDEX": f"bench-rebuild-{uuid.uuid4().hex[:8]}"}
        first = flask(config, "index", str(folder), embedder="ColourEmbedder")
        if first.wait() != 0:
            raise SystemExit(first.communicate()[0])
        app = create_app({**config, "TESTING": True, "EMBEDDER": ColourEmbedder()})
        client = app.test_client()
        expected = len(client.get("/api/search?q=red&k=24").get_json()["hits"])
        print(f"{args.images} images, {args.store} store, rebuild batches of {args.batch_size}; k=24 (all {expected})")
        heads = ("searches", "all hits", "0 hits", "errors", "min hits", "p50 ms", "p95 ms")
        print(f"{'':<34} " + " ".join(f"{h:>{w}}" for h, w in zip(heads, (8, 10, 9, 7, 8, 8, 8), strict=True)))
        started = time.monotonic()
        rebuild = flask(config, "index", "--rebuild", "--batch-size", str(args.batch_size), str(folder))
        hits, millis = search_while(rebuild, client)
        seconds = time.monotonic() - started
        report(f"--rebuild (new store, swap) {seconds:.0f}s", hits, millis, expected)
        started = time.monotonic()
        clear_store(config)
        old = flask(config, "index", "--batch-size", str(args.batch_size), str(folder))
        hits, millis = search_while(old, client)
        report(f"old way (empty, then index) {time.monotonic() - started:.0f}s", hits, millis, expected)
        if args.store == "elasticsearch":
            app.extensions["image_search"].store.clear()


if __name__ == "__main__":
    main()
