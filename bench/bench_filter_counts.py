"""The filter form's counts, asked by every results page (SearchService.filter_choices: per folder and per file
type), on the embedded store at N records, beside the table scans they replace, in one run.

  kept     -- filter_choices() as a results page calls it, the store unchanged since: one generation read
  indexes  -- root_counts + format_counts, each on its index (filter_choices after a write)
  scan     -- the same two GROUP BYs forced past the indexes (NOT INDEXED): a read of every row, vectors too
Each is repeated (`--rounds`), taking turns, and its median printed with the ratio and the load average.

    python bench/bench_filter_counts.py [--records 100000] [--dim 512] [--rounds 5] [--workdir /tmp/bench_counts]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
from pathlib import Path

import numpy as np

from image_search.service.search_service import SearchService
from image_search.settings import load_settings
from image_search.stores.base import ImageRecord
from image_search.stores.embedded.store import EmbeddedStore

FORMATS = ("JPEG", "JPEG", "JPEG", "PNG", "MPO", "HEIF", "WEBP", "GIF")
CHUNK = 2000


def fill(data_dir: Path, records: int, dim: int) -> None:
    marker = data_dir / f".filled-{records}-{dim}"
    if marker.exists():
        return
    shutil.rmtree(data_dir, ignore_errors=True)
    store, rng = EmbeddedStore(data_dir), np.random.default_rng(0)
    store.claim("bench-model", dim)
    with store.bulk_load():
        for start in range(0, records, CHUNK):
            batch = [
                ImageRecord(
                    path=f"/photos/root{i % 5}/album{i // 500:04}/img{i:07}.jpg",
                    root=f"/photos/root{i % 5}",
                    size=100_000 + i,
                    mtime_ns=1_700_000_000_000_000_000 + i,
                    width=4000,
                    height=3000,
                    taken_at=1_600_000_000.0 + i * 60,
                    format=FORMATS[i % len(FORMATS)],
                )
                for i in range(start, min(start + CHUNK, records))
            ]
            vectors = rng.normal(size=(len(batch), dim)).astype(np.float32)
            store.upsert(batch, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    store.flush()
    store.close()
    marker.touch()


def median_ms(call, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_counts"))
    args = parser.parse_args()
    data_dir = args.workdir / "data"
    fill(data_dir, args.records, args.dim)
    service = SearchService(load_settings({"DATA_DIR": str(data_dir)}), lambda threads: None)  # no model needed
    db = service.store._reader()  # noqa: SLF001 (the scan the indexes replaced, on the store's own connection)

    def scan():
        for column in ("root", "format"):
            db.execute(f"SELECT {column}, COUNT(*) FROM images NOT INDEXED GROUP BY {column}").fetchall()

    def indexes():
        service.store.root_counts()
        service.store.format_counts()

    choices = service.filter_choices()
    assert sum(n for _, n in choices.types) == args.records, choices
    calls = {"kept": service.filter_choices, "indexes": indexes, "scan": scan}
    timings: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(args.rounds):  # taking turns, so load changes hit each alike
        for name, call in calls.items():
            timings[name].append(median_ms(call, 1))
    kept, indexed, scanned = (statistics.median(timings[name]) for name in calls)
    print(f"{args.records:,} records of {args.dim}-d vectors; types {dict(choices.types)}")
    print(f"filter_choices, kept:     {kept:8.2f} ms median of {args.rounds}")
    print(f"the counts on indexes:    {indexed:8.2f} ms")
    print(f"the counts by scan:       {scanned:8.2f} ms")
    print(f"ratios: scan / indexes {scanned / indexed:.0f}x, indexes / kept {indexed / kept:.0f}x")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
