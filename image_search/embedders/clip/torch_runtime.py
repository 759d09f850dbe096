"""CLIP on torch: the two sentence-transformers models as they are (the reference the ONNX runtime matches)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from image_search.errors import ModelUnavailable


class TorchClip:
    """The two sentence-transformers models as they are."""

    def __init__(self, image_dir: Path, text_dir: Path, *, threads: int) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)  # one process-wide setting; the app picks it per role
        self._image = SentenceTransformer(str(image_dir), device="cpu", local_files_only=True)
        self._text = SentenceTransformer(str(text_dir), device="cpu", local_files_only=True)
        dims = {_dimension(self._image), _dimension(self._text)}
        if len(dims) != 1:
            raise ModelUnavailable(f"{image_dir} and {text_dir} make vectors of different sizes {sorted(dims)}")
        self.dim = dims.pop()

    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        return self._image.encode(images, batch_size=len(images), convert_to_numpy=True, show_progress_bar=False)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        return self._text.encode(texts, batch_size=len(texts), convert_to_numpy=True, show_progress_bar=False)


def _dimension(model) -> int:
    method = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(method())
