"""The offline model's arithmetic, free of any network: class prompts, the text->class bridge, vector layout.

Kept apart from the nets so tests can check it on hand-made numbers.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

import numpy as np

from .base import l2_normalise

__all__ = ["l2_normalise"]  # re-exported for offline.py

CLASSES_FILE = Path(__file__).resolve().parent.parent / "data" / "imagenet-1k-classes.txt"
PROMPT_TEMPLATES = ("a photo of a {}.", "a drawing of a {}.", "a cartoon {}.", "clip art of a {}.", "{}")
FEATURE_DIM = 1280  # EfficientNet-Lite0 pooled features
N_CLASSES = 1000


def load_class_names(path: Path = CLASSES_FILE) -> list[list[str]]:
    """One list of synonyms per ImageNet class, in logit order (most common name first)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    classes = [[s.strip() for s in line.split(",") if s.strip()] for line in lines if line.strip()]
    if len(classes) != N_CLASSES:
        raise ValueError(f"{path}: expected {N_CLASSES} classes, found {len(classes)}")
    return classes


def class_prompts(synonyms: list[str]) -> list[str]:
    """Every template filled with every distinct synonym (case-insensitively distinct)."""
    seen: dict[str, str] = {}
    for name in synonyms:
        seen.setdefault(name.lower(), name)
    return [t.format(name) for name in seen.values() for t in PROMPT_TEMPLATES]


def classes_fingerprint(classes: list[list[str]]) -> str:
    """Changes whenever the class names or templates change, so a stale cached matrix is not reused."""
    text = "\n".join(PROMPT_TEMPLATES) + "\n" + "\n".join(",".join(c) for c in classes)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def build_class_matrix(classes: list[list[str]], embed: Callable[[list[str]], np.ndarray],
                       batch: int = 256) -> np.ndarray:
    """1000 x d: per class the mean of its prompts' unit embeddings, L2-normalised."""
    prompts, owner = [], []
    for index, synonyms in enumerate(classes):
        for prompt in class_prompts(synonyms):
            prompts.append(prompt)
            owner.append(index)
    vectors = np.concatenate([l2_normalise(embed(prompts[i:i + batch])) for i in range(0, len(prompts), batch)])
    sums = np.zeros((len(classes), vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, np.asarray(owner), vectors)
    return l2_normalise(sums)


def centre(vectors: np.ndarray, mean: np.ndarray | None) -> np.ndarray:
    """Unit vectors after subtracting `mean` (the class matrix's mean): e5's embeddings all share a
    large common direction (any two texts have cosine ~0.8), which blurs the softmax and makes a few
    "hub" classes match everything; removing it measurably helped, most for non-English queries."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return l2_normalise(vectors if mean is None else vectors - mean)


def class_weights(query_vectors: np.ndarray, class_matrix: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax over class cosines: how much each ImageNet class stands for each query (rows sum to 1)."""
    z = (l2_normalise(query_vectors) @ class_matrix.T) / temperature
    z -= z.max(axis=1, keepdims=True)
    w = np.exp(z)
    return (w / w.sum(axis=1, keepdims=True)).astype(np.float32)


def best_class_cosine(query_vectors: np.ndarray, class_matrix: np.ndarray) -> np.ndarray:
    return (l2_normalise(query_vectors) @ class_matrix.T).max(axis=1)


def rescale(value: float, low: float, high: float) -> float:
    """`value` mapped linearly from [low, high] onto [0, 1], clipped."""
    return float(min(1.0, max(0.0, (value - low) / (high - low))))


def class_part(logits: np.ndarray) -> np.ndarray:
    """sqrt(softmax(logits)): unit length by construction, and inner products of two of them are the
    Bhattacharyya coefficient of the two class distributions."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return np.sqrt(p).astype(np.float32)


def stored_vectors(features: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """[unit features | sqrt class probabilities] / sqrt(2): a unit vector per image."""
    both = np.concatenate([l2_normalise(features), class_part(logits)], axis=1)
    return (both / np.sqrt(2.0)).astype(np.float32)


def image_query(stored: np.ndarray, class_share: float) -> np.ndarray:
    """Query vectors for 'images like these': stored vectors with the class half scaled to `class_share`
    of the score (0 = pooled-feature cosine only, 0.5 = the stored vector itself), re-normalised."""
    stored = np.asarray(stored, dtype=np.float32)
    features, classes = stored[:, :FEATURE_DIM], stored[:, FEATURE_DIM:]
    scale = np.float32(np.sqrt(class_share / max(1.0 - class_share, 1e-6)))
    return l2_normalise(np.concatenate([features, classes * scale], axis=1))


def text_query(weights: np.ndarray) -> np.ndarray:
    """[0 | w] normalised: its inner product with a stored vector ranks images by sum_c w_c sqrt(p_c)."""
    weights = l2_normalise(weights)
    return np.concatenate([np.zeros((len(weights), FEATURE_DIM), np.float32), weights], axis=1)
