"""The offline Embedder: pretrained models shipped inside PyPI packages, nothing downloaded at run time.

Images go through the EfficientNet-Lite0 ImageNet classifier (ONNX Runtime), which gives pooled features
f (1280) and class logits (1000). Texts go through a sentence-embedding model (multilingual-e5-small by
default) and are bridged to images through the 1000 ImageNet class names: each class has a text vector
(mean over prompt templates and WordNet synonyms, plus its WordNet parents' and grandparents' names and
its WordNet definition at lower weight), a query q gets class weights w = softmax(q.C^T / T)
(for e5, q and C are first centred by the class matrix's mean; T = 0.05).

Vector layout (dim 2280, every vector L2-normalised, so inner product = cosine):

    stored image vector   s = [ f/|f|            | sqrt(p) ] / sqrt(2)     p = softmax(logits)
    text query            t = [ 0 ... 0          | w/|w|   ]
    image query           image_query(s) = [ f/|f| | a*sqrt(p) ], re-normalised; a = 0 by default

    t.s  = sum_c w_c sqrt(p_c) / (sqrt(2)|w|): the images most likely to show the query's classes first
    s'.s = (cos(f', f) + BC(p', p)) / 2 where BC = sum sqrt(p'_c p_c), the Bhattacharyya coefficient of the
           two class distributions; image_query() sets the share of that class term (IMAGE_CLASS_SHARE,
           0 = plain cosine of the pooled features, which measured best: P@5 .75 vs .72 for the identity).

sqrt(p) is a unit vector by construction, so stored vectors are unit vectors with no per-image
rescaling, and a stored vector used as it is (the identity image_query) is already a sensible query.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PIL import Image

from . import offline_bridge as bridge
from .base import Embedder, ModelUnavailable
from .offline_models import TEXT_MODELS, ImageNet, atomic_write

LAYOUT_VERSION = 2  # bump when the vector layout, the image preprocessing or the net changes (2: int8 net)
IMAGE_CLASS_SHARE = 0.0  # share of the class term in image->image scores: 0 measured best (P@5 .75 vs .72 at .5)
TOP_K = 50  # classes kept in a text query's weights: a little better than all 1000 in every language
CONFIDENCE_THRESHOLD = 0.5  # text_confidence below this: the query is probably not about an ImageNet thing


class OfflineEmbedder(Embedder):
    unit_vectors = True
    dim = bridge.FEATURE_DIM + bridge.N_CLASSES
    input_size = 224  # the classifier's input: photos are shrunk to about this while decoding

    def __init__(self, cache_dir: Path, threads: int = 1, text_model: str = "e5",
                 temperature: float | None = None, image_class_share: float = IMAGE_CLASS_SHARE, int8: bool = True):
        if text_model not in TEXT_MODELS:
            raise ModelUnavailable(f"Unknown offline text model {text_model!r}; choose one of {', '.join(TEXT_MODELS)}")
        self.cache_dir = Path(cache_dir)
        self.images = ImageNet(self.cache_dir, threads, int8)  # raises ModelUnavailable when a package is missing
        self.text = TEXT_MODELS[text_model](threads)
        self.temperature = float(temperature or self.text.temperature)
        self.confidence_threshold = CONFIDENCE_THRESHOLD
        self.image_class_share = float(image_class_share)
        self.model_id = f"offline-effnetlite0{'' if int8 else '-f32'}+{self.text.key}-v{LAYOUT_VERSION}"
        try:
            self.class_names = bridge.load_class_names()
            self.hypernyms = bridge.load_hypernyms()
            self.glosses = bridge.load_glosses()
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"The ImageNet class names shipped with image_search are unreadable ({exc}); "
                                   f"reinstall image_search") from None
        self._classes: np.ndarray | None = None
        self._mean: np.ndarray | None = None
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()  # text -> centred unit vector

    # -- images -----------------------------------------------------------------------------------
    def image_outputs(self, images: list[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """Raw (pooled features, logits) of the classifier, for evaluation and diagnostics."""
        return self.images.run(images)

    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        features, logits = self.images.run(images)
        return bridge.stored_vectors(features, logits)

    def image_query(self, stored: np.ndarray) -> np.ndarray:
        """Query vectors that find images like those with these stored vectors."""
        return bridge.image_query(stored, self.image_class_share)


    # -- texts ------------------------------------------------------------------------------------
    def class_matrix(self) -> np.ndarray:
        """1000 x d class-name vectors of the text model: from cache_dir, else the copy shipped in
        image_search/data (building it takes minutes on 2 cores), else computed and cached."""
        with self._lock:
            if self._classes is None:
                fingerprint = bridge.classes_fingerprint(self.class_names, self.hypernyms, self.glosses)
                name = f"classes-{self.text.key}-{fingerprint}.npy"
                path = self.cache_dir / name
                matrix = _load_matrix(path)
                if matrix is None:
                    matrix = _load_matrix(bridge.CLASSES_FILE.parent / name)
                if matrix is None:
                    matrix = bridge.build_class_matrix(self.class_names, self.text.encode, self.hypernyms, self.glosses)
                    matrix = matrix.astype(np.float16)
                    atomic_write(path, lambda tmp: _save(tmp, matrix))
                matrix = bridge.l2_normalise(matrix.astype(np.float32))
                self._mean = matrix.mean(axis=0) if self.text.centre else None
                self._classes = bridge.centre(matrix, self._mean)
            return self._classes

    def text_vectors(self, texts: list[str]) -> np.ndarray:
        """Unit (centred) text-model vectors; recent ones are remembered, since paging through results or
        checking confidence repeats a query and e5 takes ~20 ms a text on a small CPU."""
        classes = self.class_matrix()
        with self._lock:
            known = {t: self._recent[t] for t in texts if t in self._recent}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:  # encoded outside the lock: the text model has its own
            known.update(zip(missing, bridge.centre(self.text.encode(missing), self._mean)))
        with self._lock:
            for text in texts:
                self._recent[text] = known[text]
                self._recent.move_to_end(text)
            while len(self._recent) > 512:
                self._recent.popitem(last=False)
        if not texts:
            return np.zeros((0, classes.shape[1]), np.float32)
        return np.stack([known[t] for t in texts])

    def class_weights(self, texts: list[str]) -> np.ndarray:
        return bridge.class_weights(self.text_vectors(texts), self.class_matrix(), self.temperature, TOP_K)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return bridge.text_query(self.class_weights(texts))

    def text_confidence(self, text: str) -> float:
        """Best cosine between the query and an ImageNet class name, rescaled to 0..1 per text model; below
        `confidence_threshold` (0.5) the model probably does not know what the query shows."""
        cosine = float(bridge.best_class_cosine(self.text_vectors([text]), self.class_matrix())[0])
        return bridge.rescale(cosine, *self.text.cosine_range)


def _load_matrix(path: Path) -> np.ndarray | None:
    try:
        matrix = np.load(path)
    except (OSError, ValueError):
        return None  # absent or damaged: the caller looks elsewhere or rebuilds
    return matrix if matrix.ndim == 2 and matrix.shape[0] == bridge.N_CLASSES else None


def _save(path: str, matrix: np.ndarray) -> None:
    with open(path, "wb") as f:  # a file object, so np.save doesn't append ".npy" to the temp name
        np.save(f, matrix)
