"""What the offline embedder asks of a text model: unit vectors, and the numbers its bridge is tuned with."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class TextModel:
    """Texts -> unit vectors. `key` names the model in cache files and model ids."""

    key: str
    temperature: float  # of the softmax over class cosines, tuned per model (cosine ranges differ)
    # text_confidence = best class cosine mapped linearly from this range onto 0..1 (e5's cosines all
    # crowd into 0.8-1, so its raw values would read as "confident" even for gibberish)
    cosine_range: tuple[float, float] = (0.0, 1.0)
    multilingual = False  # reads other languages than English: its bridge also gets the classes' foreign names
    centre = False  # subtract the class matrix's mean from class and query vectors (see bridge.centre)

    def __init__(self, threads: int, cache_dir: Path | None = None) -> None:
        """How the offline embedder makes one (TEXT_MODELS): `threads` for ONNX Runtime, `cache_dir` for what
        the model exports or derives once (a temporary folder when None)."""

    def encode(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError
