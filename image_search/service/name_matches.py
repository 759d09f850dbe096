"""The low-confidence fallback: images whose file or folder names match the query's words come first."""

from __future__ import annotations

import re

import numpy as np

from image_search.stores import Filters, Hit, VectorStore


def blend_name_matches(
    store: VectorStore, text: str, vector: np.ndarray, hits: list[Hit], k: int, filters: Filters
) -> list[Hit]:
    """Images whose relative path has words starting with the query's words come first, best
    match first. Words under 3 letters ("a", "un", "of") would match nearly every path."""
    words = [w for w in re.findall(r"\w+", text.lower()) if len(w) > 2]
    if not words:
        return hits
    named = []
    for record in store.iter_records():
        if filters and not filters.matches(record):
            continue
        tokens = re.findall(r"[^\W_]+", record.relative_path.lower())
        share = sum(any(t.startswith(w) for t in tokens) for w in words) / len(words)
        if share > 0:
            named.append((share, record))
    named.sort(key=lambda item: -item[0])
    named_hits = []
    for _, record in named[:k]:
        stored = store.get_vector(record.id)
        if stored is None:  # pruned by a running indexer since iter_records
            continue
        named_hits.append(Hit(record, float(np.dot(stored, vector))))
    named_ids = {h.id for h in named_hits}
    return (named_hits + [h for h in hits if h.id not in named_ids])[:k]
