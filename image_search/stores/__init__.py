"""Part 3, vector search: which VectorStore the app uses."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

from image_search.stores.base import Filters, Hit, ImageRecord, VectorStore
from image_search.errors import StoreError

__all__ = ["Filters", "Hit", "ImageRecord", "VectorStore", "make_store"]


def make_store(config: Mapping) -> VectorStore:
    kind = config["STORE"]
    if kind == "embedded":
        from image_search.stores.embedded.store import EmbeddedStore

        return EmbeddedStore(Path(config["DATA_DIR"]), ann_threshold=config["ANN_THRESHOLD"],
                             hnsw_m=config["HNSW_M"], hnsw_ef_search=config["HNSW_EF_SEARCH"],
                             hnsw_ef_construction=config["HNSW_EF_CONSTRUCTION"],
                             tombstone_fraction=config["TOMBSTONE_FRACTION"],
                             vector_codec=config["VECTOR_CODEC"])
    if kind == "elasticsearch":
        from image_search.stores.elasticsearch.store import ElasticsearchStore

        return ElasticsearchStore.from_config(config)
    raise StoreError(f"IMAGE_SEARCH_STORE must be embedded or elasticsearch, not {kind!r}")
