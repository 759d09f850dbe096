"""TextBridge remembers the most recently used query vectors (a cachetools LRU under its lock)."""

import hashlib

import numpy as np
import pytest

from image_search.embedders.offline import bridge as offline_bridge
from image_search.embedders.offline.text import class_bridge
from image_search.embedders.offline.text.base import TextModel
from image_search.embedders.offline.text.class_bridge import TextBridge

CLASSES = ([[f"class {i}"] for i in range(1000)], [], [])


class CountingModel(TextModel):
    """Stable pseudo-random unit vectors per text; records what it was asked to encode."""

    key, temperature = "counting-test", 1.0

    def __init__(self):
        self.encoded = []

    def encode(self, texts):
        self.encoded += texts
        seeds = [int(hashlib.sha1(t.encode()).hexdigest()[:8], 16) for t in texts]
        v = np.stack([np.random.default_rng(s).normal(size=8) for s in seeds]).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def bridge_of(tmp_path):
    model = CountingModel()
    bridge = TextBridge(model, tmp_path, CLASSES)
    bridge.class_matrix()  # built from the model (and cached in tmp_path) before counting queries
    model.encoded.clear()
    return bridge, model


def test_recent_queries_are_not_encoded_again_and_the_least_recent_drop_out(tmp_path, monkeypatch):
    monkeypatch.setattr(class_bridge, "REMEMBERED", 3)
    bridge, model = bridge_of(tmp_path)
    first = bridge.vectors(["a", "b", "c", "a"])
    assert model.encoded == ["a", "b", "c"] and np.array_equal(first[0], first[3])
    assert np.array_equal(bridge.vectors(["a"])[0], first[0]) and model.encoded == ["a", "b", "c"]
    bridge.vectors(["d"])  # 4 > 3: b, now the least recently used, drops out
    bridge.vectors(["a", "c", "d"])
    assert model.encoded == ["a", "b", "c", "d"]
    bridge.vectors(["b"])
    assert model.encoded == ["a", "b", "c", "d", "b"]
    bridge.forget()
    bridge.vectors(["a"])
    assert model.encoded[-1] == "a" and bridge.vectors([]).shape == (0, 8)


def test_foreign_names_are_built_once_and_count_as_the_classes_best_cosine(tmp_path):
    model = CountingModel()
    foreign = {"ko": [[["호랑이"], [], []]] + [[[], [], []]] * 999}
    bridge = TextBridge(model, tmp_path, CLASSES, foreign=foreign)
    query = bridge.vectors(["호랑이"])
    english, korean = bridge.matrices()
    assert not korean[1:].any() and np.linalg.norm(korean[0]) == pytest.approx(1)  # unnamed classes stay zero
    expected = query[0] @ english.T
    expected[0] = max(expected[0], query[0] @ korean[0] - offline_bridge.FOREIGN_PENALTY)
    np.testing.assert_allclose(bridge.cosines(query)[0], expected, atol=1e-6)
    assert list((tmp_path).glob("classes-counting-test-names-*.npy"))
    model.encoded.clear()
    again = TextBridge(model, tmp_path, CLASSES, foreign=foreign)
    np.testing.assert_array_equal(again.matrices()[1], bridge.matrices()[1])
    assert model.encoded == []  # both matrices come from the cache
