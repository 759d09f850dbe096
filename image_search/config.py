"""Configuration: defaults here, then instance/config.py, then IMAGE_SEARCH_* environment variables."""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask

from image_search.atomic import atomic_write

DEFAULTS = {
    "DATA_DIR": None,  # everything the app writes; default: <instance>/data
    "MODEL": "auto",  # clip | offline | auto (CLIP when its weights load without waiting, else offline)
    "CLIP_IMAGE_MODEL": "clip-ViT-B-32",
    "CLIP_TEXT_MODEL": "sentence-transformers/clip-ViT-B-32-multilingual-v1",
    "RUNTIME": "onnx",  # onnx | torch, for CLIP
    "QUANTIZE": False,  # int8 ONNX image tower for CLIP: ~2.5x faster; off until checked on real weights
    "HUB_TIMEOUT": 10.0,  # seconds auto mode waits for the model hub
    "STORE": "embedded",  # embedded | elasticsearch
    "ES_URL": None,  # e.g. http://localhost:9200; auth: ES_API_KEY, or ES_USERNAME + ES_PASSWORD
    "ES_CA_CERTS": None,
    "ES_INDEX": "image-search",
    "ES_INDEX_OPTIONS": {"type": "hnsw", "m": 16, "ef_construction": 100},
    "ES_NUM_CANDIDATES": None,  # None: max(100, 2k)
    "ES_BULK_CHUNK": 500,
    "ES_INFERENCE_MODEL_ID": None,  # embed text queries with this model deployed in Elasticsearch
    "BATCH_SIZE": 32,
    "PAGE_SIZE": 24,
    "MAX_RESULTS": 480,  # the deepest a page may reach
    "MAX_K": 200,  # largest k the API accepts
    "MAX_QUERY_CHARS": 300,
    "MAX_UPLOAD_MB": 20,
    "THUMBNAIL_SIZE": 256,
    "LOW_CONFIDENCE": None,  # text confidence below which to warn and blend in file names; None: the model's own
    "QUERY_CACHE_SECONDS": 3600,  # how long an image query's vector stays reachable by its URL
    "CUTOFF_WINDOW": 96,  # hits a page's cut-off and date sort look at (all=1 pages go to MAX_RESULTS)
    "DUPLICATE_THRESHOLD": 0.95,  # cosine at or above which two images count as near-duplicates
    "WEB_THREADS": 1,  # per-request math threads in the web process (it serves requests in parallel)
    "INDEX_THREADS": 2,  # math threads for `flask index` (it owns the machine)
    "EMBEDDER_FACTORY": None,  # "module:Name" of an Embedder class, overriding MODEL (tests, benchmarks)
    "ACCESS_TOKEN": None,  # when set, pages need a login with it and the API `Authorization: Bearer` it
    # Embedded store: exact search up to ANN_THRESHOLD vectors, HNSW (approximate) above it.
    "ANN_THRESHOLD": 200_000,
    "HNSW_M": 32,  # graph links per vector: more = better recall, more memory and build time
    "HNSW_EF_SEARCH": 128,  # candidates per search: more = better recall, slower queries
    "HNSW_EF_CONSTRUCTION": 80,  # candidates per insertion: more = better graph, slower build
    "TOMBSTONE_FRACTION": 0.1,  # HNSW is rebuilt (by `flask index`) past this share of deleted vectors
    "VECTOR_CODEC": "float32",  # float32 | fp16 | int8 in the faiss index (hits rescored exactly)
}


def load_config(app: Flask, test_config: dict | None) -> None:
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("IMAGE_SEARCH")
    else:
        app.config.from_mapping(test_config)
    app.config["DATA_DIR"] = Path(app.config["DATA_DIR"] or Path(app.instance_path) / "data").resolve()
    app.config["MAX_CONTENT_LENGTH"] = int(float(app.config["MAX_UPLOAD_MB"]) * 1024 * 1024)
    app.config["DATA_DIR"].mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = persistent_secret(app.config["DATA_DIR"])


def persistent_secret(data_dir: Path) -> str:
    """A random secret kept in the data dir, so CSRF tokens survive restarts without configuration."""
    path = data_dir / "secret_key"
    secret = path.read_text().strip() if path.exists() else ""
    if secret:
        return secret
    # Written whole and owner-only, and only created, never replaced: a kill leaves no empty key, and of
    # two processes starting together the first one's key wins for both.
    key = secrets.token_hex(32)

    def write(tmp: str) -> None:
        Path(tmp).write_text(key)

    if not atomic_write(path, write, mode=0o600, replace=False) and not path.read_text().strip():
        atomic_write(path, write, mode=0o600)  # an empty key left by a kill in an older version
    return path.read_text().strip()
