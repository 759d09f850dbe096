"""Collection health: image files on disk vs indexed, per indexed folder."""

from __future__ import annotations

import os
from pathlib import Path

from image_search.indexing.walk import walk_images
from image_search.stores import VectorStore


def folder_counts(store: VectorStore) -> list[dict]:
    """Per indexed folder: image files on disk now, indexed, not yet indexed, indexed but gone."""
    indexed: dict[str, set[str]] = {}
    for record in store.iter_records():
        indexed.setdefault(record.root, set()).add(record.path)
    rows = []
    for root, paths in sorted(indexed.items()):
        on_disk = set(walk_images(Path(root), [])) if os.path.isdir(root) else set()
        rows.append(
            {
                "folder": root,
                "on_disk": len(on_disk),
                "indexed": len(paths),
                "not_indexed": len(on_disk - paths),
                "gone": len(paths - on_disk),
            }
        )
    return rows
