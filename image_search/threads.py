"""Math thread counts, set deliberately per process role.

faiss, ONNX Runtime and torch each default to one thread per core. The web server already runs
requests in parallel, so there each request's math gets one thread (WEB_THREADS); `flask index`
owns the machine and uses INDEX_THREADS. Oversubscribing 2 cores made a trial 5x slower.
"""
from __future__ import annotations

import sys


def limit_threads(threads: int) -> None:
    import faiss

    faiss.omp_set_num_threads(threads)
    if "torch" in sys.modules:  # don't import torch just to configure it
        sys.modules["torch"].set_num_threads(threads)
