"""The service layer: what the views and the CLI ask for, over the embedder and the vector store.

Views stay thin: they parse a request, call one method here, and render what comes back.
"""
from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from . import inference
from .embedders import Embedder
from .images import make_thumbnail
from .stores import Filters, Hit, ImageRecord, VectorStore, make_store


class NotFound(LookupError):
    """No indexed image or cached query has that id."""


@dataclass
class SearchResult:
    hits: list[Hit]
    model: str
    took_ms: float
    notice: str | None = None
    extra: dict = field(default_factory=dict)


class QueryVectorCache:
    """Image-query vectors by content hash, for a limited time: results get a stable GET URL
    while the uploaded image itself is never stored."""

    def __init__(self, seconds: float, capacity: int = 512):
        self.seconds, self.capacity = seconds, capacity
        self._items: OrderedDict[str, tuple[float, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, vector: np.ndarray, content: bytes) -> str:
        key = hashlib.sha256(content).hexdigest()[:24]
        with self._lock:
            self._items[key] = (time.monotonic() + self.seconds, vector)
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return key

    def get(self, key: str) -> np.ndarray:
        with self._lock:
            expires, vector = self._items.get(key, (0.0, None))
        if vector is None or expires < time.monotonic():
            raise NotFound("This image search has expired: upload the image again.")
        return vector


class SearchService:
    def __init__(self, config: Mapping, embedder_factory: Callable[[], Embedder]):
        self.config = config
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self._store: VectorStore | None = None
        self._lock = threading.Lock()
        self.query_cache = QueryVectorCache(float(config["QUERY_CACHE_SECONDS"]))

    # Both are loaded on first use: the app starts fast and still answers pages when a model or a
    # server is missing, and says so on the page that needs it.
    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = self._embedder_factory()
            return self._embedder

    @property
    def store(self) -> VectorStore:
        with self._lock:
            if self._store is None:
                self._store = make_store(self.config)
            return self._store

    @property
    def model_id(self) -> str:
        return self.embedder.model_id

    # --- searches -----------------------------------------------------------------------
    def search_text(self, text: str, k: int, filters: Filters | None = None) -> SearchResult:
        started = time.perf_counter()
        text = inference.clean_text(text, int(self.config["MAX_QUERY_CHARS"]))  # before loading a model
        vector = self.embedder.embed_texts([text])[0]
        hits = self._knn(vector, k, filters)
        notice = None
        confidence = self.embedder.text_confidence(text)
        if confidence is not None and confidence < float(self.config["LOW_CONFIDENCE"]):
            notice = ("The model is unsure what this query shows; file and folder names that match "
                      "the words are listed first.")
            hits = self._blend_name_matches(text, vector, hits, k, filters)
        return self._result(hits, started, notice, confidence=confidence)

    def search_image(self, data: bytes, k: int, filters: Filters | None = None) -> SearchResult:
        started = time.perf_counter()
        vector = inference.image_query_vector(self.embedder, data)
        return self._result(self._knn(vector, k, filters), started)

    def remember_image_query(self, data: bytes) -> str:
        """Embed an uploaded image and keep only its vector, under a key for a stable results URL."""
        return self.query_cache.put(inference.image_query_vector(self.embedder, data), data)

    def search_cached_image(self, key: str, k: int, filters: Filters | None = None) -> SearchResult:
        started = time.perf_counter()
        return self._result(self._knn(self.query_cache.get(key), k, filters), started)

    def similar(self, image_id: str, k: int, filters: Filters | None = None) -> SearchResult:
        """More like this: the image's own stored vector is the query, and the image itself is left out."""
        started = time.perf_counter()
        stored = self.store.get_vector(image_id)
        if stored is None:
            raise NotFound(f"No indexed image has the id {image_id!r}.")
        vector = self.embedder.image_query(stored[None, :])[0]
        hits = [h for h in self._knn(vector, k + 1, filters) if h.id != image_id][:k]
        return self._result(hits, started)

    def _knn(self, vector: np.ndarray, k: int, filters: Filters | None) -> list[Hit]:
        self.store.check_model(self.embedder.model_id)
        return self.store.knn(vector, k, filters)

    def _result(self, hits: list[Hit], started: float, notice: str | None = None, **extra) -> SearchResult:
        took = (time.perf_counter() - started) * 1000
        return SearchResult(hits, self.embedder.model_id, round(took, 1), notice, extra)

    def _blend_name_matches(self, text: str, vector: np.ndarray, hits: list[Hit], k: int,
                            filters: Filters | None) -> list[Hit]:
        """Images whose relative path holds the query's words come first, best match first."""
        words = [w for w in re.findall(r"\w+", text.lower()) if len(w) > 1]
        if not words:
            return hits
        named = []
        for record in self.store.iter_records():
            if filters and not filters.matches(record):
                continue
            name = record.relative_path.lower()
            share = sum(w in name for w in words) / len(words)
            if share > 0:
                named.append((share, record))
        named.sort(key=lambda item: -item[0])
        named_hits = [Hit(r, float(np.dot(self.store.get_vector(r.id), vector))) for _, r in named[:k]]
        named_ids = {h.id for h in named_hits}
        return (named_hits + [h for h in hits if h.id not in named_ids])[:k]

    # --- inference endpoint ---------------------------------------------------------------
    def embed_texts(self, texts: list[str]) -> np.ndarray:
        return inference.text_vectors(self.embedder, texts, int(self.config["MAX_QUERY_CHARS"]))

    def embed_image(self, data: bytes) -> np.ndarray:
        return inference.image_vector(self.embedder, data)

    # --- files ----------------------------------------------------------------------------
    def record(self, image_id: str) -> ImageRecord:
        record = self.store.get(image_id)
        if record is None:
            raise NotFound(f"No indexed image has the id {image_id!r}.")
        return record

    def thumbnail(self, image_id: str) -> Path:
        """The cached thumbnail, made on first request and again when the original changes."""
        record = self.record(image_id)
        target = Path(self.config["DATA_DIR"]) / "thumbnails" / image_id[:2] / f"{image_id}-{record.mtime_ns}.jpg"
        if not target.exists():
            make_thumbnail(Path(record.path), target, int(self.config["THUMBNAIL_SIZE"]))
        return target
