"""One text model bridged to the 1000 ImageNet classes: its class matrix, remembered query vectors, class weights.

The offline embedder holds two: multilingual-e5-small for every query, and all-MiniLM-L6-v2, which is
better at English and is blended in when the query reads as English to it (see bridge.english_share).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from cachetools import LRUCache

from image_search.atomic import atomic_write
from image_search.embedders.offline import bridge
from image_search.embedders.offline.text.base import TextModel

TOP_K = 50  # classes kept in a text query's weights: a little better than all 1000 in every language
REMEMBERED = 512  # recent query vectors kept: paging through results or checking confidence repeats a query


class TextBridge:
    def __init__(
        self, model: TextModel, cache_dir: Path, classes: tuple[list, list, list], temperature: float | None = None
    ):
        self.model = model
        self.cache_dir = Path(cache_dir)
        self.class_names, self.hypernyms, self.glosses = classes
        self.temperature = float(temperature or model.temperature)
        self._classes: np.ndarray | None = None
        self._mean: np.ndarray | None = None
        self._lock = threading.Lock()
        # text -> (centred) unit vector; used under self._lock only, as cachetools caches are not thread-safe
        self._recent: LRUCache[str, np.ndarray] = LRUCache(maxsize=REMEMBERED)

    def class_matrix(self) -> np.ndarray:
        """1000 x d class-name vectors: from cache_dir, else the copy shipped in image_search/data (building
        it takes minutes on 2 cores), else computed and cached."""
        with self._lock:
            if self._classes is None:
                fingerprint = bridge.classes_fingerprint(self.class_names, self.hypernyms, self.glosses)
                name = f"classes-{self.model.key}-{fingerprint}.npy"
                path = self.cache_dir / name
                matrix = _load_matrix(path)
                if matrix is None:
                    matrix = _load_matrix(bridge.CLASSES_FILE.parent / name)
                if matrix is None:
                    built = bridge.build_class_matrix(
                        self.class_names, self.model.encode, self.hypernyms, self.glosses
                    ).astype(np.float16)
                    atomic_write(path, lambda tmp: _save(tmp, built))
                    matrix = built
                matrix = bridge.l2_normalise(matrix.astype(np.float32))
                self._mean = matrix.mean(axis=0) if self.model.centre else None
                self._classes = bridge.centre(matrix, self._mean)
            return self._classes

    def vectors(self, texts: list[str]) -> np.ndarray:
        """Unit (centred) vectors of the texts; recent ones are remembered."""
        classes = self.class_matrix()
        with self._lock:
            known = {t: self._recent[t] for t in texts if t in self._recent}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:  # encoded outside the lock: the text model has its own
            known.update(zip(missing, bridge.centre(self.model.encode(missing), self._mean), strict=True))
        with self._lock:
            for text in texts:  # each becomes the most recent; the least recent past REMEMBERED drop out
                self._recent[text] = known[text]
        if not texts:
            return np.zeros((0, classes.shape[1]), np.float32)
        return np.stack([known[t] for t in texts])

    def forget(self) -> None:
        """Drop the remembered vectors (benchmarks time first-seen queries)."""
        with self._lock:
            self._recent.clear()

    def weights(self, vectors: np.ndarray) -> np.ndarray:
        """Class weights of query vectors (from `vectors`)."""
        return bridge.class_weights(vectors, self.class_matrix(), self.temperature, TOP_K)

    def best_cosine(self, vectors: np.ndarray) -> np.ndarray:
        return bridge.best_class_cosine(vectors, self.class_matrix())

    def confidence(self, vectors: np.ndarray) -> float:
        """The first query vector's best class cosine, rescaled to 0..1 by the model's cosine range."""
        return float(bridge.rescale(self.best_cosine(vectors)[0], *self.model.cosine_range))


def _load_matrix(path: Path) -> np.ndarray | None:
    try:
        matrix = np.load(path)
    except (OSError, ValueError):
        return None  # absent or damaged: the caller looks elsewhere or rebuilds
    return matrix if matrix.ndim == 2 and matrix.shape[0] == bridge.N_CLASSES else None


def _save(path: str, matrix: np.ndarray) -> None:
    with open(path, "wb") as f:  # a file object, so np.save doesn't append ".npy" to the temp name
        np.save(f, matrix)
