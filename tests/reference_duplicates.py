"""THE FORMER METHOD, kept only as a reference for tests and bench/bench_duplicates.py: one exact kNN
per image through the store's own knn (about 51 s of CPU at 7,500 images, hence replaced by the bulk
pass in image_search/service/duplicates.py). Returns the same groups as image_search's find_duplicates."""

from __future__ import annotations

import numpy as np

from image_search.service.duplicates import NEIGHBOURS, DuplicateGroup
from image_search.stores import ImageRecord, VectorStore


def per_image_duplicates(store: VectorStore, threshold: float, neighbours: int = NEIGHBOURS) -> list[DuplicateGroup]:
    parent: dict[str, str] = {}
    weakest: dict[str, float] = {}

    def root(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    records: dict[str, ImageRecord] = {r.id: r for r in store.iter_records()}
    for image_id in records:
        vector = store.get_vector(image_id)
        if vector is None:
            continue
        unit = vector / max(float(np.linalg.norm(vector)), 1e-12)
        for hit in store.knn(unit, neighbours + 1):
            if hit.id == image_id or hit.id not in records:
                continue
            other = store.get_vector(hit.id)
            if other is None:
                continue
            cosine = float(unit @ other / max(float(np.linalg.norm(other)), 1e-12))
            if cosine < threshold:
                break
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
