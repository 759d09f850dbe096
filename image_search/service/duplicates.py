"""Near-duplicate groups from the stored vectors, in bulk: one chunked pass over the store into a faiss
exact index, a batched kNN of every image against it, then union-find over the pairs found.

No image is embedded again, and any VectorStore works (its iter_vectors). This is O(n) work and more,
so only `flask duplicates` and the indexer run it; requests read what it stored (stored_duplicates.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np

from image_search.stores import ImageRecord, VectorStore

NEIGHBOURS = 8  # each image links to at most its 8 nearest: at most 8 pairs per image are kept
QUERY_BATCH = 1024  # images searched per faiss call: a batch x n score matrix at a time


@dataclass
class DuplicateGroup:
    records: list[ImageRecord]  # sorted by path
    similarity: float  # the weakest link's cosine in this group

    @property
    def total_size(self) -> int:
        return sum(r.size for r in self.records)


@dataclass
class Pairs:
    """Image pairs with cosine >= threshold (each image with its NEIGHBOURS nearest), and their records."""

    threshold: float
    images: int  # how many images the pass looked at
    records: dict[str, ImageRecord]  # those in at least one pair, by id
    pairs: list[tuple[str, str, float]]  # (id, id, cosine)


def find_pairs(store: VectorStore, threshold: float, neighbours: int = NEIGHBOURS) -> Pairs:
    """Exact: the same pairs as one kNN per image (the former method), as a few large matrix products."""
    index: faiss.IndexFlatIP | None = None
    records: list[ImageRecord] = []
    for chunk, vectors in store.iter_vectors():
        units = np.ascontiguousarray(vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12))
        if index is None:
            index = faiss.IndexFlatIP(units.shape[1])
        index.add(units)  # type: ignore[call-arg]  # the SWIG wrapper takes the array alone
        records.extend(chunk)
    n = len(records)
    if index is None or n < 2:
        return Pairs(threshold, n, {}, [])
    k = min(neighbours + 1, n)  # +1: an image finds itself
    found: list[np.ndarray] = []
    for start in range(0, n, QUERY_BATCH):
        queries = index.reconstruct_n(start, min(QUERY_BATCH, n - start))
        scores, ids = index.search(queries, k)  # type: ignore[call-arg]
        own = np.arange(start, start + len(queries))[:, None]
        keep = (ids >= 0) & (ids != own) & (scores >= threshold)
        rows, cols = np.nonzero(keep)
        a, b = own[rows, 0], ids[rows, cols]
        found.append(np.stack([np.minimum(a, b), np.maximum(a, b), scores[rows, cols]], axis=1))
    table = np.concatenate(found)
    # Each pair may be found from both ends: keep one, with the larger (equal up to rounding) cosine.
    table = table[np.lexsort((-table[:, 2], table[:, 1], table[:, 0]))]
    first = np.ones(len(table), dtype=bool)
    first[1:] = (table[1:, 0] != table[:-1, 0]) | (table[1:, 1] != table[:-1, 1])
    pairs = [(records[int(a)].id, records[int(b)].id, float(c)) for a, b, c in table[first]]
    members = {i for a, b, _ in pairs for i in (a, b)}
    return Pairs(threshold, n, {r.id: r for r in records if r.id in members}, pairs)


def group(pairs: Pairs, threshold: float) -> list[DuplicateGroup]:
    """Groups of images linked (transitively) by pairs with cosine >= threshold, largest first.

    Links are joined strongest first, so a group's similarity is the highest cosine at which it holds
    together (the weakest link of its strongest chain)."""
    parent: dict[str, str] = {}
    weakest: dict[str, float] = {}

    def root(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])  # path halving
            x = parent[x]
        return x

    for a, b, cosine in sorted((p for p in pairs.pairs if p[2] >= threshold), key=lambda p: -p[2]):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent.setdefault(ra, ra)
            parent[rb] = ra
            weakest[ra] = cosine  # the strongest links came first
    members: dict[str, list[ImageRecord]] = {}
    for image_id in parent:
        members.setdefault(root(image_id), []).append(pairs.records[image_id])
    groups = [
        DuplicateGroup(sorted(m, key=lambda r: r.path), weakest.get(key, 1.0))
        for key, m in members.items()
        if len(m) > 1
    ]
    return sorted(groups, key=lambda g: (-len(g.records), -g.total_size, g.records[0].path))


def find_duplicates(store: VectorStore, threshold: float, neighbours: int = NEIGHBOURS) -> list[DuplicateGroup]:
    """Groups of images whose vectors have cosine >= threshold (linked transitively), largest first."""
    return group(find_pairs(store, threshold, neighbours), threshold)
