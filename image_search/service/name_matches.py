"""The low-confidence fallback: images whose file or folder names match the query's words come first."""

from __future__ import annotations

import re

import numpy as np

from image_search.stores import Filters, Hit, VectorStore

# Words of a query as the stores' name indexes split paths: letters and digits; "_" separates.
WORD = re.compile(r"[^\W_]+")


def query_words(text: str) -> list[str]:
    """Words under 3 letters ("a", "un", "of") would match nearly every path."""
    return [w for w in WORD.findall(text.lower()) if len(w) > 2]


def blend_name_matches(
    store: VectorStore, text: str, vector: np.ndarray, hits: list[Hit], k: int, filters: Filters
) -> list[Hit]:
    """Images whose relative path has words starting with the query's words come first, best
    match first (the store's names index ranks them), scored against the query vector."""
    words = query_words(text)
    if not words:
        return hits
    named_hits = [
        Hit(record, float(np.dot(stored, vector)), by_name=True)
        for record, stored in store.name_matches(words, k, filters)
    ]
    named_ids = {h.id for h in named_hits}
    return (named_hits + [h for h in hits if h.id not in named_ids])[:k]
