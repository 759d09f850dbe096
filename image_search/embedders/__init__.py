"""Part 1, the embedding model: which Embedder the app uses."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from image_search.embedders.base import Embedder, l2_normalise
from image_search.errors import ModelUnavailable

__all__ = ["Embedder", "l2_normalise", "make_embedder"]
log = logging.getLogger(__name__)


def make_embedder(config: Mapping, threads: int) -> Embedder:
    """The embedder that config asks for, text queries optionally embedded by Elasticsearch."""
    if config.get("EMBEDDER") is not None:  # an Embedder instance, handed in by tests
        return config["EMBEDDER"]
    if config.get("EMBEDDER_FACTORY"):  # "module:Name", for tests and benchmarks in other processes
        from werkzeug.utils import import_string

        return import_string(config["EMBEDDER_FACTORY"].replace(":", "."))()
    from image_search.stores.elasticsearch.inference import with_es_inference

    embedder = select_local(config, threads)
    log.info("model: %s", embedder.model_id)
    return with_es_inference(embedder, config)


def select_local(config: Mapping, threads: int) -> Embedder:
    """`clip`, `offline`, or `auto`: CLIP when its weights load without waiting, else offline."""
    choice = config["MODEL"]
    if choice == "clip":
        return _clip(config, threads, local_only=False)
    if choice == "offline":
        return _offline(config, threads)
    if choice != "auto":
        raise ModelUnavailable(f"IMAGE_SEARCH_MODEL must be clip, offline or auto, not {choice!r}")
    try:
        return _clip(config, threads, local_only=True)
    except ModelUnavailable:
        try:
            return _clip(config, threads, local_only=False)
        except ModelUnavailable as miss:
            log.warning("CLIP unavailable (%s); using the offline model", miss)
            return _offline(config, threads)


def _clip(config: Mapping, threads: int, local_only: bool) -> Embedder:
    from image_search.embedders.clip.embedder import ClipEmbedder

    return ClipEmbedder(config["CLIP_IMAGE_MODEL"], config["CLIP_TEXT_MODEL"], runtime=config["RUNTIME"],
                        cache_dir=Path(config["DATA_DIR"]) / "models", threads=threads,
                        local_files_only=local_only, hub_timeout=float(config["HUB_TIMEOUT"]),
                        quantize=bool(config["QUANTIZE"]))


def _offline(config: Mapping, threads: int) -> Embedder:
    from image_search.embedders.offline.embedder import OfflineEmbedder

    return OfflineEmbedder(Path(config["DATA_DIR"]) / "models", threads=threads)
