"""Near-duplicate groups from the stored vectors, in bulk: one chunked pass over the store into a faiss
exact index, a batched kNN of every image against it, then complete-linkage grouping of the pairs found.

No image is embedded again, and any VectorStore works (its iter_vectors). This is O(n) work and more,
so only `flask duplicates` and the indexer run it; requests read what it stored (stored_duplicates.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from image_search.stores import ImageRecord, VectorStore

if TYPE_CHECKING:  # imported by the pass itself: an indexer that computes nothing never loads faiss
    import faiss

NEIGHBOURS = 8  # each image links to at most its 8 nearest: at most 8 pairs per image are kept
QUERY_BATCH = 1024  # images searched per faiss call: a batch x n score matrix at a time


@dataclass
class DuplicateGroup:
    records: list[ImageRecord]  # sorted by path
    similarity: float  # the weakest link's cosine in this group

    @property
    def total_size(self) -> int:
        return sum(r.size for r in self.records)

    @property
    def key(self) -> str:
        """Names the group in a keep choice: its smallest id, whatever order its records come in."""
        return min(r.id for r in self.records)

    @property
    def suggested_keeper(self) -> ImageRecord:
        """The one to keep unless the user chooses: most pixels, then the largest file (least compressed),
        then the earliest taken (the original before its copies), then the shortest path."""
        return min(self.records, key=lambda r: (-r.width * r.height, -r.size, r.taken_at, len(r.path), r.path))


@dataclass
class Pairs:
    """Image pairs with cosine >= threshold (each image with its NEIGHBOURS nearest), and their records."""

    threshold: float
    images: int  # how many images the pass looked at
    records: dict[str, ImageRecord]  # those in at least one pair, by id
    pairs: list[tuple[str, str, float]]  # (id, id, cosine)


def find_pairs(store: VectorStore, threshold: float, neighbours: int = NEIGHBOURS) -> Pairs:
    """Exact: the same pairs as one kNN per image (the former method), as a few large matrix products."""
    import faiss

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
    """Groups in which every two images have cosine >= threshold (complete linkage), largest first.

    Linking transitively (single linkage) chained unrelated images through steps that were each similar:
    at 0.6, eight unrelated images formed one group. Links are taken strongest first, and two groups merge
    only when every pair across them is a known pair at or above the threshold. Only each image's
    NEIGHBOURS nearest are known, so a group holds at most NEIGHBOURS + 1 images. A group's similarity is
    its weakest pair's cosine."""
    strong = sorted((p for p in pairs.pairs if p[2] >= threshold), key=lambda p: (-p[2], p[0], p[1]))
    cosine_of = {frozenset((a, b)): cosine for a, b, cosine in strong}
    group_of: dict[str, str] = {}  # image id -> its group's key (the id that started it)
    members: dict[str, list[str]] = {}
    weakest: dict[str, float] = {}
    for a, b, _ in strong:
        ga, gb = group_of.get(a, a), group_of.get(b, b)
        if ga == gb:
            continue
        left, right = members.get(ga, [a]), members.get(gb, [b])
        cross = [cosine_of.get(frozenset((x, y))) for x in left for y in right]
        if None in cross:
            continue  # some image of one is not close to some image of the other
        members[ga] = left + right
        members.pop(gb, None)
        weakest[ga] = min([weakest.get(ga, 1.0), weakest.pop(gb, 1.0), *(c for c in cross if c is not None)])
        for x in members[ga]:
            group_of[x] = ga
    groups = [
        DuplicateGroup(sorted((pairs.records[i] for i in ids), key=lambda r: r.path), weakest[key])
        for key, ids in members.items()
    ]
    return sorted(groups, key=lambda g: (-len(g.records), -g.total_size, g.records[0].path))


def find_duplicates(store: VectorStore, threshold: float, neighbours: int = NEIGHBOURS) -> list[DuplicateGroup]:
    """Groups of images whose vectors all have cosine >= threshold with each other, largest first."""
    return group(find_pairs(store, threshold, neighbours), threshold)
