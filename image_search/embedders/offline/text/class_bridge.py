"""One text model bridged to the 1000 ImageNet classes: its class matrix, remembered query vectors, class weights.

The offline embedder holds two: multilingual-e5-small for every query, and all-MiniLM-L6-v2, which is
better at English and is blended in when the query reads as English to it (see bridge.english_share).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from cachetools import LRUCache

from image_search.atomic import atomic_write
from image_search.embedders.offline import bridge
from image_search.embedders.offline.text.base import TextModel

TOP_K = 50  # classes kept in a text query's weights: a little better than all 1000 in every language
ForeignNames = dict[str, list[list[list[str]]]]  # per name set, per class, its names
REMEMBERED = 512  # recent query vectors kept: paging through results or checking confidence repeats a query


class TextBridge:
    def __init__(
        self,
        model: TextModel,
        cache_dir: Path,
        classes: tuple[list, list, list],
        temperature: float | None = None,
        foreign: ForeignNames | Callable[[], ForeignNames] | None = None,
    ):
        """`foreign`: per language the classes' names in it (bridge.load_foreign_names), for a multilingual
        model: a query's cosine to a class is its best over the class's names in every language. A callable
        is called at the first text (an indexer, embedding images, never reads them)."""
        self.model = model
        self.cache_dir = Path(cache_dir)
        self.class_names, self.hypernyms, self.glosses = classes
        self._foreign_names = foreign if callable(foreign) else (lambda: dict(foreign or {}))
        self._foreign: ForeignNames | None = None
        self.temperature = float(temperature or model.temperature)
        self._classes: np.ndarray | None = None
        self._languages: list[np.ndarray] = []  # per foreign language, centred; unnamed classes' rows stay 0
        self._mean: np.ndarray | None = None
        self._lock = threading.Lock()
        # text -> (centred) unit vector; used under self._lock only, as cachetools caches are not thread-safe
        self._recent: LRUCache[str, np.ndarray] = LRUCache(maxsize=REMEMBERED)

    @property
    def foreign(self) -> ForeignNames:
        if self._foreign is None:  # read twice at worst, by two first queries at once: the same names
            self._foreign = dict(self._foreign_names())
        return self._foreign

    def class_matrix(self) -> np.ndarray:
        """1000 x d class-name vectors (English names): from cache_dir, else the copy shipped in
        image_search/data (building it takes minutes on 2 cores), else computed and cached."""
        with self._lock:
            if self._classes is None:
                fingerprint = bridge.classes_fingerprint(self.class_names, self.hypernyms, self.glosses)
                matrix = self._cached(
                    f"classes-{self.model.key}-{fingerprint}.npy",
                    lambda: bridge.build_class_matrix(
                        self.class_names, self.model.encode, self.hypernyms, self.glosses
                    )[None],
                )[0]
                self._mean = matrix.mean(axis=0) if self.model.centre else None
                self._classes = bridge.centre(matrix, self._mean)
                if self.foreign:
                    self._languages = [self._centre_named(m) for m in self._language_matrices()]
            return self._classes

    def _language_matrices(self) -> np.ndarray:
        """languages x 1000 x d: each foreign language's class-name vectors (zero rows: unnamed classes)."""
        fingerprint = bridge.names_fingerprint(self.foreign)
        return self._cached(
            f"classes-{self.model.key}-names-{fingerprint}.npy",
            lambda: np.stack(
                [bridge.build_language_matrix(names, self.model.encode) for names in self.foreign.values()]
            ),
        )

    def _cached(self, name: str, build) -> np.ndarray:
        """A stack of class matrices from cache_dir, else shipped in image_search/data, else built and cached."""
        path = self.cache_dir / name
        stack = _load_matrices(path)
        if stack is None:
            stack = _load_matrices(bridge.CLASSES_FILE.parent / name)
        if stack is None:
            built = np.asarray(build()).astype(np.float16)
            atomic_write(path, lambda tmp: _save(tmp, built if len(built) > 1 else built[0]))
            stack = built
        return np.stack([_unit_rows(m.astype(np.float32)) for m in stack])

    def _centre_named(self, matrix: np.ndarray) -> np.ndarray:
        named = np.any(matrix != 0, axis=1)
        out = np.zeros_like(matrix)
        out[named] = bridge.centre(matrix[named], self._mean)
        return out

    def matrices(self) -> list[np.ndarray]:
        """[English class matrix, each foreign language's], centred as the queries are."""
        classes = self.class_matrix()
        return [classes, *self._languages]

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

    def weights(self, vectors: np.ndarray, cjk: Sequence[bool] | None = None) -> np.ndarray:
        """Class weights of query vectors (from `vectors`); cjk: per query, whether it is written in a CJK
        script (bridge.CJK_ONLY_NAME_SETS are matched against those only; default: none is)."""
        return bridge.softmax_weights(self.cosines(vectors, cjk), self.temperature, TOP_K)

    def cosines(self, vectors: np.ndarray, cjk: Sequence[bool] | None = None) -> np.ndarray:
        """queries x classes: each class's best cosine over its names in every language the bridge has."""
        return bridge.language_cosines(vectors, self.matrices(), self._usable(len(vectors), cjk))

    def _usable(self, queries: int, cjk: Sequence[bool] | None) -> np.ndarray:
        """queries x foreign name sets: which sets each query is matched against."""
        script = np.zeros(queries, bool) if cjk is None else np.asarray(cjk, bool)
        cjk_only = np.array([name in bridge.CJK_ONLY_NAME_SETS for name in self.foreign], bool)
        return ~cjk_only[None, :] | script[:, None]

    def best_cosine(self, vectors: np.ndarray) -> np.ndarray:
        return self.cosines(vectors).max(axis=1)

    def confidence(self, vectors: np.ndarray, cjk: bool = False) -> float:
        """The first query vector's best class cosine, rescaled to 0..1 by the model's cosine range (through
        English names) or by bridge.FOREIGN_COSINE_RANGE (through foreign names), the higher."""
        english, *languages = self.matrices()
        confidence = bridge.rescale(bridge.best_class_cosine(vectors[:1], english)[0], *self.model.cosine_range)
        if languages:
            usable = self._usable(1, [cjk])
            foreign = bridge.language_cosines(vectors[:1], [np.zeros_like(english), *languages], usable)
            confidence = max(confidence, bridge.rescale(foreign.max(), *bridge.FOREIGN_COSINE_RANGE))
        return float(confidence)


def _load_matrices(path: Path) -> np.ndarray | None:
    """A saved 1000 x d matrix (as a stack of one) or stack of them, None when absent or damaged."""
    try:
        matrix = np.load(path)
    except (OSError, ValueError):
        return None  # absent or damaged: the caller looks elsewhere or rebuilds
    matrix = matrix[None] if matrix.ndim == 2 else matrix
    return matrix if matrix.ndim == 3 and matrix.shape[1] == bridge.N_CLASSES else None


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; zero rows (classes a language doesn't name) stay zero."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def _save(path: str, matrix: np.ndarray) -> None:
    with open(path, "wb") as f:  # a file object, so np.save doesn't append ".npy" to the temp name
        np.save(f, matrix)
