"""Text queries embedded by a model deployed in Elasticsearch (e.g. a multilingual CLIP text encoder
imported with eland), images still by the local embedder whose vector space that model shares."""

from __future__ import annotations

from typing import Any

import numpy as np
from elasticsearch import ApiError
from elasticsearch import ConnectionError as EsConnectionError
from PIL import Image

from image_search.embedders.base import Concept, Embedder, l2_normalise
from image_search.errors import ModelUnavailable
from image_search.stores.elasticsearch.client import error_reason, make_client
from image_search.stores.elasticsearch.options import ElasticsearchOptions


class ElasticsearchTextEmbedder(Embedder):
    """Wraps a local embedder: `embed_images` is the local one's, `embed_texts` asks the deployed model.

    `model_id`/`dim` are the local embedder's: the deployed text model must be trained into its space
    (like `sentence-transformers__clip-vit-b-32-multilingual-v1` for CLIP ViT-B/32).
    """

    def __init__(self, local: Embedder, client, model_id: str):
        self.local, self.client, self.inference_model_id = local, client, model_id
        self.model_id, self.dim, self.unit_vectors = local.model_id, local.dim, local.unit_vectors
        self.runtime_description, self.sees_concepts = local.runtime_description, local.sees_concepts
        self.input_size = local.input_size

    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        return self.local.embed_images(images)

    def prepare_image(self, image: Image.Image) -> Any:
        return self.local.prepare_image(image)

    def embed_prepared(self, prepared: list[Any]) -> np.ndarray:
        return self.local.embed_prepared(prepared)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        try:
            resp = self.client.ml.infer_trained_model(
                model_id=self.inference_model_id, docs=[{"text_field": t} for t in texts]
            )
        except EsConnectionError as e:
            raise ModelUnavailable(f"Cannot reach Elasticsearch for text inference: {error_reason(e)}") from None
        except ApiError as e:
            raise ModelUnavailable(
                f"Elasticsearch inference with model '{self.inference_model_id}' failed "
                f"({e.status_code}): {error_reason(e)}. "
                "Is it imported (eland) and deployed?"
            ) from None
        vectors = np.asarray([r["predicted_value"] for r in resp["inference_results"]], dtype=np.float32)
        if vectors.shape != (len(texts), self.dim):
            raise ModelUnavailable(
                f"Model '{self.inference_model_id}' returned vectors of shape {vectors.shape}, "
                f"expected {self.dim} dimensions like '{self.model_id}'"
            )
        return l2_normalise(vectors)

    def image_query(self, stored: np.ndarray) -> np.ndarray:
        return self.local.image_query(stored)

    def concepts(self, stored: np.ndarray, lang: str) -> list[list[Concept]]:
        return self.local.concepts(stored, lang)  # the images' vectors are the local model's

    def text_confidence(self, text: str) -> float | None:
        return None  # the local model's confidence says nothing about the deployed (e.g. multilingual) model


def with_es_inference(local: Embedder, options: ElasticsearchOptions, client=None) -> Embedder:
    """`local`, or local wrapped when options.inference_model_id names a model deployed in Elasticsearch
    (client: an Elasticsearch client; default: one made from the options)."""
    model_id = options.inference_model_id
    if not model_id:
        return local
    if client is None:
        client, _ = make_client(options)
    return ElasticsearchTextEmbedder(local, client, model_id)
