"""Collection health: image files on disk vs indexed, per indexed folder.

Web requests ask for it, so the store is only counted (an aggregation per folder, id lookups of the
files on disk), never read record by record; the walk of the folders on disk stays.
"""

from __future__ import annotations

import os
from pathlib import Path

from image_search.indexing.walk import walk_images
from image_search.stores import VectorStore
from image_search.stores.base import image_id_for


def folder_counts(store: VectorStore) -> list[dict]:
    """Per indexed folder: image files on disk now, indexed, not yet indexed, indexed but gone."""
    rows = []
    for root, indexed in sorted(store.root_counts().items()):
        on_disk = set(walk_images(Path(root), [])) if os.path.isdir(root) else set()
        present = store.count_ids([image_id_for(path) for path in on_disk]) if on_disk else 0
        rows.append(
            {
                "folder": root,
                "on_disk": len(on_disk),
                "indexed": indexed,
                "not_indexed": len(on_disk) - present,
                "gone": indexed - present,
            }
        )
    return rows
