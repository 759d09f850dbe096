"""Where the Elasticsearch store and its inference client connect, and how the index is built."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_INDEX_OPTIONS = {"type": "hnsw", "m": 16, "ef_construction": 100}


@dataclass(frozen=True)
class ElasticsearchOptions:
    url: str | None = None  # e.g. http://localhost:9200
    api_key: str | None = None  # or username + password
    username: str | None = None
    password: str | None = None
    ca_certs: str | None = None
    index: str = "image-search"
    index_options: dict = field(default_factory=lambda: dict(DEFAULT_INDEX_OPTIONS))  # the dense_vector's
    num_candidates: int | None = None  # None: max(100, 2k)
    bulk_chunk: int = 500
    inference_model_id: str | None = None  # embed text queries with this model deployed in Elasticsearch
