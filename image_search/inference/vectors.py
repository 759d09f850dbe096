"""Part 2, the inference endpoint: a query (text or image bytes) becomes a vector, or a clear refusal."""

from __future__ import annotations

import numpy as np
from flask_babel import gettext
from PIL import Image

from image_search.embedders import Embedder
from image_search.errors import ImageError, QueryError
from image_search.images import PixelBudget, decode
from image_search.inference.query import clean_query


def text_vectors(embedder: Embedder, texts: list[str], max_chars: int) -> np.ndarray:
    """Raw texts (the inference endpoint's) each cleaned once, then embedded together."""
    return embedder.embed_texts([clean_query(t, max_chars) for t in texts])


def query_image(data: bytes | None, input_size: int | None, max_pixels: int) -> Image.Image:
    """Every query image (upload page, API, `flask search --image`) is decoded here: as the indexer
    decodes (JPEG draft mode, reduced towards the model's input size) and within `max_pixels`."""
    if not data:
        raise QueryError(gettext("The uploaded file is empty: choose an image file."), "image")
    try:
        return decode(data, input_size or 448, PixelBudget(max_pixels, "MAX_QUERY_PIXELS")).image
    except ImageError as exc:
        raise QueryError(
            gettext("The uploaded file is not a usable image (%(reason)s).", reason=exc), "image"
        ) from None


def image_vector(embedder: Embedder, data: bytes | None, max_pixels: int) -> np.ndarray:
    """The image's vector as the store would hold it."""
    return embedder.embed_images([query_image(data, embedder.input_size, max_pixels)])[0]


def image_query_vector(embedder: Embedder, data: bytes | None, max_pixels: int) -> np.ndarray:
    """The vector that finds images like the uploaded one."""
    return embedder.image_query(image_vector(embedder, data, max_pixels)[None, :])[0]
