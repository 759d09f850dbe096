"""THE FORMER METHOD, kept only as a reference for tests and bench/bench_duplicates.py: one exact kNN
per image through the store's own knn (about 51 s of CPU at 7,500 images, hence replaced by the bulk
pass in image_search/service/duplicates.py). It finds the pairs that way and groups them as the app
does, so its groups are the bulk pass's groups exactly when both find the same pairs."""

from __future__ import annotations

import numpy as np

from image_search.service.duplicates import NEIGHBOURS, DuplicateGroup, Pairs, group
from image_search.stores import ImageRecord, VectorStore


def per_image_pairs(store: VectorStore, threshold: float, neighbours: int = NEIGHBOURS) -> Pairs:
    records: dict[str, ImageRecord] = {r.id: r for r in store.iter_records()}
    found: dict[frozenset, tuple[str, str, float]] = {}
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
            found.setdefault(frozenset((image_id, hit.id)), (image_id, hit.id, cosine))
    members = {i for a, b, _ in found.values() for i in (a, b)}
    return Pairs(threshold, len(records), {i: records[i] for i in members}, list(found.values()))


def per_image_duplicates(store: VectorStore, threshold: float, neighbours: int = NEIGHBOURS) -> list[DuplicateGroup]:
    return group(per_image_pairs(store, threshold, neighbours), threshold)
