"""Configuration: defaults here, then instance/config.py, then IMAGE_SEARCH_* environment variables."""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask

DEFAULTS = {
    "DATA_DIR": None,  # everything the app writes; default: <instance>/data
    "MODEL": "auto",  # clip | offline | auto (CLIP when its weights load without waiting, else offline)
    "CLIP_IMAGE_MODEL": "clip-ViT-B-32",
    "CLIP_TEXT_MODEL": "sentence-transformers/clip-ViT-B-32-multilingual-v1",
    "RUNTIME": "onnx",  # onnx | torch, for CLIP
    "HUB_TIMEOUT": 10.0,  # seconds auto mode waits for the model hub
    "STORE": "embedded",  # embedded | elasticsearch
    "BATCH_SIZE": 32,
    "PAGE_SIZE": 24,
    "MAX_RESULTS": 480,  # the deepest a page may reach
    "MAX_K": 200,  # largest k the API accepts
    "MAX_QUERY_CHARS": 300,
    "MAX_UPLOAD_MB": 20,
    "THUMBNAIL_SIZE": 256,
    "LOW_CONFIDENCE": 0.55,  # below: warn and blend in file-name matches
    "QUERY_CACHE_SECONDS": 3600,  # how long an image query's vector stays reachable by its URL
    "WEB_THREADS": 1,  # per-request math threads in the web process (it serves requests in parallel)
    "INDEX_THREADS": 2,  # math threads for `flask index` (it owns the machine)
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
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
