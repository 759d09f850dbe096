"""Part 3, vector search: which VectorStore the app uses."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from image_search.errors import StoreError
from image_search.stores.base import Filters, Hit, ImageRecord, VectorStore

__all__ = ["Filters", "Hit", "ImageRecord", "VectorStore", "make_store"]


def make_store(config: Mapping) -> VectorStore:
    kind = config["STORE"]
    if kind == "embedded":
        from image_search.stores.embedded.faiss_index import AnnParams
        from image_search.stores.embedded.store import EmbeddedStore

        # Converted here, at the config boundary: a value may come from an environment variable.
        ann = AnnParams(threshold=int(config["ANN_THRESHOLD"]), m=int(config["HNSW_M"]),
                        ef_search=int(config["HNSW_EF_SEARCH"]),
                        ef_construction=int(config["HNSW_EF_CONSTRUCTION"]),
                        rebuild_fraction=float(config["TOMBSTONE_FRACTION"]), codec=str(config["VECTOR_CODEC"]))
        return EmbeddedStore(Path(config["DATA_DIR"]), ann)
    if kind == "elasticsearch":
        from image_search.stores.elasticsearch.store import ElasticsearchStore

        return ElasticsearchStore.from_config(config)
    raise StoreError(f"IMAGE_SEARCH_STORE must be embedded or elasticsearch, not {kind!r}")
