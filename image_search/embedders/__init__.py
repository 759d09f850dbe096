"""Part 1, the embedding model: which Embedder the app uses."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from werkzeug.utils import import_string

from image_search.embedders.base import Embedder, l2_normalise
from image_search.errors import ModelUnavailable

if TYPE_CHECKING:  # settings import the parts' option classes, which import this package
    from image_search.settings import Settings

__all__ = ["Embedder", "l2_normalise", "make_embedder"]
log = logging.getLogger(__name__)


def make_embedder(settings: Settings, threads: int) -> Embedder:
    """The embedder the settings ask for, text queries optionally embedded by Elasticsearch."""
    if settings.embedder is not None:  # an Embedder instance, handed in by tests
        return settings.embedder
    if settings.embedder_factory:  # "module:Name", for tests and benchmarks in other processes
        return import_string(settings.embedder_factory.replace(":", "."))()
    from image_search.stores.elasticsearch.inference import with_es_inference

    embedder = select_local(settings, threads)
    log.info("model: %s", embedder.model_id)
    return with_es_inference(embedder, settings.elasticsearch)


def select_local(settings: Settings, threads: int) -> Embedder:
    """`clip`, `offline`, or `auto`: CLIP when its weights load without waiting, else offline."""
    choice = settings.model
    if choice == "clip":
        return _clip(settings, threads, local_only=False)
    if choice == "offline":
        return _offline(settings, threads)
    if choice != "auto":
        raise ModelUnavailable(f"IMAGE_SEARCH_MODEL must be clip, offline or auto, not {choice!r}")
    try:
        return _clip(settings, threads, local_only=True)
    except ModelUnavailable:
        try:
            return _clip(settings, threads, local_only=False)
        except ModelUnavailable as miss:
            log.warning("CLIP unavailable (%s); using the offline model", miss)
            return _offline(settings, threads)


def _clip(settings: Settings, threads: int, local_only: bool) -> Embedder:
    from image_search.embedders.clip.embedder import ClipEmbedder

    clip = settings.clip
    return ClipEmbedder(
        clip.image_model,
        clip.text_model,
        runtime=clip.runtime,
        cache_dir=settings.data_dir / "models",
        threads=threads,
        local_files_only=local_only,
        hub_timeout=clip.hub_timeout,
        quantize=clip.quantize,
    )


def _offline(settings: Settings, threads: int) -> Embedder:
    from image_search.embedders.offline.embedder import OfflineEmbedder

    clip = settings.clip  # RUNTIME and QUANTIZE name the offline image net's runtime too (openvino or not)
    return OfflineEmbedder(settings.data_dir / "models", threads=threads, runtime=clip.runtime, quantize=clip.quantize)
