"""The embedded batches written in the store's own write size, not the model's batch size.

Elasticsearch takes ES_BULK_CHUNK documents per bulk request: writing each 32-image model batch as it
came made every request hold 32. Documents wait here until a whole write is ready (at most
write_size - 1 of them: a killed run embeds those again next time).
"""

from __future__ import annotations

import numpy as np

from image_search.errors import WriteFailures
from image_search.indexing.report import IndexReport
from image_search.stores import ImageRecord, VectorStore


class StoreWriter:
    def __init__(self, store: VectorStore, report: IndexReport):
        self.store, self.report = store, report
        self.size = max(1, store.write_size)
        self.records: list[ImageRecord] = []
        self.vectors: list[np.ndarray] = []
        self.updates: set[str] = set()  # paths that were indexed before (an update, not an addition)

    def add(self, records: list[ImageRecord], vectors: np.ndarray, updates: set[str]) -> None:
        self.records += records
        self.vectors.append(np.asarray(vectors, dtype=np.float32))
        self.updates |= updates
        if len(self.records) >= self.size:
            self._write(len(self.records) // self.size * self.size)

    def finish(self) -> None:
        if self.records:
            self._write(len(self.records))

    def _write(self, count: int) -> None:
        vectors = np.concatenate(self.vectors)
        records, self.records = self.records[:count], self.records[count:]
        self.vectors = [vectors[count:]] if count < len(vectors) else []
        stored = {r.path for r in records}
        try:
            self.store.upsert(records, vectors[:count])
        except WriteFailures as exc:  # the store kept the rest
            self.report.skipped += [(path, f"not stored: {reason}") for path, reason in exc.failures.items()]
            self.report.refused += len(exc.failures)
            stored -= set(exc.failures)
        self.report.updated += len(stored & self.updates)
        self.report.added += len(stored - self.updates)
        self.updates -= {r.path for r in records}
