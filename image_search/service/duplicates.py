"""Near-duplicate groups from the stored vectors: a small kNN per image, then union-find.

No image is embedded again; any VectorStore works, since only knn/get_vector are used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from image_search.stores import ImageRecord, VectorStore


@dataclass
class DuplicateGroup:
    records: list[ImageRecord]  # sorted by path
    similarity: float  # the weakest link's cosine in this group

    @property
    def total_size(self) -> int:
        return sum(r.size for r in self.records)


def find_duplicates(store: VectorStore, threshold: float, neighbours: int = 8) -> list[DuplicateGroup]:
    """Groups of images whose vectors have cosine >= threshold (linked transitively), largest first."""
    parent: dict[str, str] = {}
    weakest: dict[str, float] = {}

    def root(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])  # path halving
            x = parent[x]
        return x

    records = {r.id: r for r in store.iter_records()}
    for image_id in records:
        vector = store.get_vector(image_id)
        if vector is None:
            continue
        unit = vector / max(float(np.linalg.norm(vector)), 1e-12)
        for hit in store.knn(unit, neighbours + 1):
            if hit.id == image_id or hit.id not in records:
                continue
            other = store.get_vector(hit.id)
            if other is None:  # pruned by a running indexer since iter_records
                continue
            cosine = float(unit @ other / max(float(np.linalg.norm(other)), 1e-12))
            if cosine < threshold:
                break  # hits come best first
            a, b = root(image_id), root(hit.id)
            if a != b:
                weakest[a] = min(cosine, weakest.get(a, 1.0), weakest.get(b, 1.0))
                parent.setdefault(a, a)
                parent[b] = a
    members: dict[str, list[ImageRecord]] = {}
    for image_id in parent:
        members.setdefault(root(image_id), []).append(records[image_id])
    groups = [
        DuplicateGroup(sorted(m, key=lambda r: r.path), weakest.get(key, 1.0))
        for key, m in members.items()
        if len(m) > 1
    ]
    return sorted(groups, key=lambda g: (-len(g.records), -g.total_size, g.records[0].path))
