"""Part 3, vector search: which VectorStore the app uses."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

from .base import Filters, Hit, ImageRecord, ModelMismatch, StoreError, VectorStore, WriteFailures

__all__ = ["Filters", "Hit", "ImageRecord", "ModelMismatch", "StoreError", "VectorStore", "WriteFailures", "make_store"]


def make_store(config: Mapping) -> VectorStore:
    kind = config["STORE"]
    if kind == "embedded":
        from .embedded import EmbeddedStore

        return EmbeddedStore(Path(config["DATA_DIR"]), ann_threshold=config["ANN_THRESHOLD"],
                             hnsw_m=config["HNSW_M"], hnsw_ef_search=config["HNSW_EF_SEARCH"],
                             hnsw_ef_construction=config["HNSW_EF_CONSTRUCTION"],
                             tombstone_fraction=config["TOMBSTONE_FRACTION"],
                             vector_codec=config["VECTOR_CODEC"])
    if kind == "elasticsearch":
        from .elasticsearch_store import ElasticsearchStore

        return ElasticsearchStore.from_config(config)
    raise StoreError(f"IMAGE_SEARCH_STORE must be embedded or elasticsearch, not {kind!r}")
