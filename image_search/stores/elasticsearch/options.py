"""Where the Elasticsearch store and its inference client connect, and how the index is built."""

from __future__ import annotations

from dataclasses import dataclass, field

# Elasticsearch's own default since 8.14: vectors quantised to bytes in the HNSW graph, about 4x less
# memory than `hnsw` (the float vectors stay on disk for rescoring). Recall: README Performance.
DEFAULT_INDEX_OPTIONS = {"type": "int8_hnsw", "m": 16, "ef_construction": 100}


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
    bulk_chunk: int = 500  # documents per bulk request
    shards: int = 1  # primary shards of a new index (fixed once it exists; --rebuild makes a new one)
    replicas: int = 1  # copies of each shard on other nodes (changeable on a live index)
    refresh_interval: str = "1s"  # how soon writes become searchable; off (-1) during a bulk load
    # int8_hnsw / bbq_hnsw: kNN fetches k x this many hits with their float vectors and keeps the k best by
    # exact inner product. 0 (default): no rescoring, the scores of the quantised vectors. Off because
    # at 200,000 vectors x2 lifted recall@10 at 512-d (0.937 -> 0.982) for up to 1.8x the latency, and at
    # 2280-d not at all (README Performance): worth it for CLIP collections that need the recall.
    rescore_oversample: float = 0.0
    inference_model_id: str | None = None  # embed text queries with this model deployed in Elasticsearch
