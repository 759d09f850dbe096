"""CLIP on torch: the two sentence-transformers models as they are (the reference the ONNX runtime matches)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from image_search.embedders.clip.location import HOW_TO_FIX, mismatched_text_model
from image_search.errors import ModelUnavailable


class TorchClip:
    """The two sentence-transformers models as they are; the text model loads at the first text (an indexer
    embedding images never loads it)."""

    def __init__(self, image_dir: Path, text_dir: Path, *, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)  # one process-wide setting; the app picks it per role
        self._image = _load(image_dir)
        self.dim = _dimension(self._image)
        self._text_dir = text_dir
        self._text: Any = None
        self._text_lock = threading.Lock()

    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        return self._image.encode(images, batch_size=len(images), convert_to_numpy=True, show_progress_bar=False)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        return self._text_model().encode(texts, batch_size=len(texts), convert_to_numpy=True, show_progress_bar=False)

    def _text_model(self):
        with self._text_lock:  # the web app's first searches may come together
            if self._text is None:
                try:
                    model = _load(self._text_dir)
                except Exception as error:  # damaged or foreign files, found at the first text: say which
                    raise ModelUnavailable(
                        f"Could not load the CLIP text model from {self._text_dir} "
                        f"({type(error).__name__}: {error}). {HOW_TO_FIX}"
                    ) from error
                if _dimension(model) != self.dim:
                    raise mismatched_text_model(self._text_dir, _dimension(model), self.dim)
                self._text = model
            return self._text


def _load(model_dir: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


def _dimension(model) -> int:
    method = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(method())
