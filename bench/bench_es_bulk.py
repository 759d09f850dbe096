"""Where Elasticsearch bulk loading spends its time: documents per bulk request (ES_BULK_CHUNK) and primary
shards (ES_SHARDS), side by side in one run, through the product's own store as `flask index` writes.

Each setting loads the same clustered synthetic vectors into a fresh index (0 replicas, refresh off during
the load), in interleaved rounds so that the other jobs on a shared machine weigh on all alike. Figures:
docs/s, the client's CPU share of the wall time (the rest is the cluster's), and the ratio to the first
setting of the same round.

    make es   # or any 8.12+ cluster
    python bench/bench_es_bulk.py --es-url http://127.0.0.1:9200 [--n 6000] [--dim 512] [--rounds 2]
                                  [--settings 500:1,100:1,2000:1,500:3]   # CHUNK:SHARDS
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.bench_ann import clustered  # noqa: E402
from bench.bench_es import bench_index, load, make_records  # noqa: E402


def load_rate(args, vectors, records, chunk: int, shards: int) -> tuple[float, float]:
    """(docs/s, client CPU seconds / wall seconds) of one load into a new index, deleted after."""
    with bench_index(args.es_url, "bulk", shards, ES_BULK_CHUNK=str(chunk)) as store:
        cpu = time.process_time()
        wall = load(store, records, vectors, f"chunk {chunk}, {shards} shards")
        return len(records) / wall, (time.process_time() - cpu) / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--n", type=int, default=6000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--settings", default="500:1,100:1,2000:1,500:3", help="CHUNK:SHARDS, the first the baseline")
    args = parser.parse_args()
    settings = [tuple(int(part) for part in spec.split(":")) for spec in args.settings.split(",")]
    vectors, records = clustered(args.n, args.dim, seed=0), make_records(args.n)
    print(f"{args.n:,} vectors, {args.dim}-d, {args.rounds} rounds", flush=True)
    for round_number in range(1, args.rounds + 1):
        baseline = None
        for chunk, shards in settings:
            rate, client_share = load_rate(args, vectors, records, chunk, shards)
            baseline = baseline or rate
            print(
                f"  round {round_number}: ES_BULK_CHUNK={chunk} ES_SHARDS={shards}: {rate:,.0f} docs/s "
                f"({rate / baseline:.2f}x), client CPU {client_share:.0%} of the wall time; "
                f"load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
