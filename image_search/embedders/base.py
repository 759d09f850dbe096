"""The Embedder interface: images and texts into one vector space."""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from image_search.errors import ModelUnavailable


@dataclass(frozen=True)
class Concept:
    """A thing the model saw in an image: why it matched (the offline model's ImageNet classes)."""

    name: str
    lang: str  # the language of `name`: a class without a name in the reader's language keeps its English one
    share: float  # the model's probability for it, 0..1


class Embedder(ABC):
    """Turns images and texts into float32 vectors of one space, ranked by inner product.

    `model_id` names the model that made a vector: a store refuses vectors of another model.
    """

    model_id: str
    dim: int
    # True when every vector is L2-normalised (inner product = cosine); a store may rely on it
    # (Elasticsearch `dot_product` needs unit vectors, `max_inner_product` does not).
    unit_vectors: bool = True
    # Below this text_confidence the app warns that the model is unsure and blends in file names.
    confidence_threshold: float = 0.0
    # The shorter side the model's own preprocessing resizes images to, when known (224 for CLIP
    # ViT-B/32): the indexer then decodes JPEGs at about that size and shrinks images to it in its
    # decode threads, off the model's critical path. None: images arrive as decoded.
    input_size: int | None = None
    # What runs the model and why (RUNTIME, a measured choice, a failed self-check): the log and `flask stats`.
    runtime_description: str = ""
    # Whether concepts() can say what the model saw in an image from its stored vector alone (no model run).
    sees_concepts: bool = False

    @abstractmethod
    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        """n RGB images -> float32 array n x dim."""

    @abstractmethod
    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """n query texts -> float32 array n x dim."""

    def prepare_texts(self) -> None:
        """Make the files this model's text side builds on first use, before the first search. Default: embed a text."""
        self.embed_texts(["a photo"])

    def prepare_image(self, image: Image.Image) -> Any:
        """One RGB image made into what embed_prepared takes (CLIP: its normalised pixel array). The indexer calls
        this in its decode threads, so the model's thread only runs the model. Default: the image itself."""
        return image

    def embed_prepared(self, prepared: list[Any]) -> np.ndarray:
        """Vectors of images made ready by prepare_image, as embed_images would give for the images."""
        return self.embed_images(prepared)

    def image_query(self, stored: np.ndarray) -> np.ndarray:
        """Query vectors that find images like those with these stored vectors (identity for CLIP)."""
        return stored

    def text_confidence(self, text: str) -> float | None:
        """How well this model understands a text query (0..1), or None when it cannot tell."""
        return None

    def concepts(self, stored: np.ndarray, lang: str) -> list[list[Concept]]:
        """Per stored vector, the things the model saw in its image, likeliest first, named in `lang` where
        it has names in it. Only where sees_concepts (CLIP's vectors hold no named classes): else empty lists."""
        return [[] for _ in range(len(stored))]


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def require(*modules: str, hint: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ModelUnavailable(
            f"This model needs the Python package(s) {', '.join(missing)}, "
            f"which are not installed. Install them with: {hint}"
        )
