"""Math thread counts, set deliberately per process role.

faiss, ONNX Runtime and torch each default to one thread per core. The web server already runs
requests in parallel, so there each request's math gets one thread (WEB_THREADS=1); `flask index`
owns the machine and uses INDEX_THREADS=2 (torch/ONNX Runtime intra-op threads via the embedders'
`threads` argument, faiss OpenMP threads here).

Why 1 in the web process (bench/bench_query.py, 2 cores shared with other work): a single query
gains nothing from a second faiss thread (exact search of one query runs on one thread; OpenMP
only adds a fork/join that, on busy cores, waits for a descheduled thread: 2 threads gave half the
QPS), and a 2-thread text encoder was ~10x slower than 1 thread when other processes were busy.
Oversubscribing 2 cores made a trial 5x slower.
"""

from __future__ import annotations

import sys


def limit_threads(threads: int) -> None:
    import faiss

    faiss.omp_set_num_threads(threads)
    if "torch" in sys.modules:  # don't import torch just to configure it
        sys.modules["torch"].set_num_threads(threads)
