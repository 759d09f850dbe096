"""The embedded store's index settings, apart from faiss_index.py so settings load without importing faiss."""

from __future__ import annotations

from dataclasses import dataclass

# 400 MB of float32 per exact query: the 200,000 512-d vectors exact search was first sized for. At the
# offline model's 2280-d, 100,000 vectors took 64 ms per query exactly (bench/load_test.py --offline).
EXACT_SCAN_FLOATS = 100_000_000


@dataclass(frozen=True)
class AnnParams:
    """The embedded store's index settings; the defaults here are the app's defaults."""

    # Above this many vectors, HNSW; at or below, exact search. None: while an exact scan reads at most
    # EXACT_SCAN_FLOATS (about 30 ms on one core), so the model's dimension sets it.
    threshold: int | None = None
    m: int = 32  # graph links per vector: more = better recall, more memory and build time
    ef_search: int = 128  # candidates per search: more = better recall, slower queries
    ef_construction: int = 80  # candidates per insertion: more = better graph, slower build
    rebuild_fraction: float = 0.1  # HNSW is rebuilt when tombstones exceed this share of its vectors
    # float32 | fp16 | int8: how the index stores vectors (SQLite always keeps float32). The
    # smaller codes are scanned faster and take 1/2 or 1/4 of the memory; hits are rescored exactly.
    codec: str = "float32"

    def exact_limit(self, dim: int) -> int:
        """The most vectors of `dim` floats searched exactly: 195,312 at 512-d, 43,859 at 2280-d."""
        return self.threshold if self.threshold is not None else EXACT_SCAN_FLOATS // max(dim, 1)
