"""Test double, not a model: embeds an image as its mean colour and a text by the colour words in it.

Deterministic and instant, so route and indexer tests can assert which image ranks first.
"""

from __future__ import annotations

import hashlib

import numpy as np

from image_search.embedders import Embedder, l2_normalise
from image_search.embedders.base import Concept

COLOURS = {
    "red": (1, 0, 0),
    "green": (0, 1, 0),
    "blue": (0, 0, 1),
    "white": (1, 1, 1),
    "black": (0, 0, 0),
    "yellow": (1, 1, 0),
}


class ColourEmbedder(Embedder):
    dim = 4

    def __init__(self, model_id: str = "test-colour-v1"):
        self.model_id = model_id
        self.image_calls = 0

    def embed_images(self, images):
        self.image_calls += len(images)
        means = [np.asarray(img.convert("RGB"), dtype=np.float32).reshape(-1, 3).mean(0) / 255 for img in images]
        return l2_normalise(np.array([[*m, 0.2] for m in means]))

    def embed_texts(self, texts):
        rows = []
        for text in texts:
            found = [COLOURS[w] for w in text.lower().split() if w in COLOURS]
            if found:
                rows.append([*np.mean(found, axis=0), 0.2])
            else:  # an unknown text still gets a stable vector
                seed = int.from_bytes(hashlib.sha1(text.encode()).digest()[:4], "big")
                rows.append(np.random.default_rng(seed).random(4))
        return l2_normalise(np.array(rows))


class SlowColourEmbedder(ColourEmbedder):
    """Test double: the colour embedder, slowed (20 ms per image by default), so an indexer stays busy
    long enough for another process or thread to act while it writes (same model id and vectors)."""

    def __init__(self, model_id: str = "test-colour-v1", delay: float = 0.02):
        super().__init__(model_id)
        self.delay = delay

    def embed_images(self, images):
        import time

        time.sleep(self.delay * len(images))
        return super().embed_images(images)


class UnsureColourEmbedder(ColourEmbedder):
    """Test double: a ColourEmbedder that knows only colour words and is unsure about other texts."""

    confidence_threshold = 0.5

    def text_confidence(self, text):
        return 0.9 if any(w in COLOURS for w in text.lower().split()) else 0.1


class SeeingColourEmbedder(UnsureColourEmbedder):
    """Test double for "why it matched": says it saw the colours red, green and blue in the shares of its stored
    vector's first three numbers (as the offline model reads its classes back from a stored vector), named in
    Korean for a Korean page except blue, which has no Korean name here (a class without one keeps English)."""

    sees_concepts = True
    NAMES = {"en": ("red", "green", "blue"), "ko": ("빨강", "초록", None)}

    def concepts(self, stored, lang):
        names = self.NAMES.get(lang, self.NAMES["en"])
        seen = []
        for vector in np.asarray(stored):
            shares = np.clip(vector[:3], 0, None) / max(float(np.clip(vector[:3], 0, None).sum()), 1e-9)
            order = np.argsort(-shares, kind="stable")
            seen.append(
                [
                    Concept(names[i] or self.NAMES["en"][i], lang if names[i] else "en", float(shares[i]))
                    for i in order
                    if shares[i] >= 0.05
                ]
            )
        return seen


class VerySlowColourEmbedder(SlowColourEmbedder):
    """Test double: 100 ms per image, for tests where a whole second process must start (seconds on a busy
    machine) while this indexer still holds the lock."""

    def __init__(self, model_id: str = "test-colour-v1"):
        super().__init__(model_id, delay=0.1)


class LoadRecordingColourEmbedder(ColourEmbedder):
    """Test double: the colour embedder, counting in the class how often it is made (each make is a model
    load when the app's EMBEDDER_FACTORY names it) and how many texts it embedded (the text side)."""

    loads = 0
    texts = 0

    def __init__(self, model_id: str = "test-colour-v1"):
        super().__init__(model_id)
        type(self).loads += 1

    def embed_texts(self, texts):
        type(self).texts += len(texts)
        return super().embed_texts(texts)

    @classmethod
    def reset(cls) -> None:
        cls.loads = cls.texts = 0
