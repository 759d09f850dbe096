"""The eval command's arithmetic and plumbing, with a fake embedder (no nets)."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
from flask import Flask
from PIL import Image

from image_search.cli.eval import eval_command
from image_search.embedders.evaluation import evaluate, image_metrics, text_metrics

COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}


class ColourEmbedder:
    """Vectors = mean colour; a text names a colour."""

    model_id = "fake-colour"

    def embed_images(self, images):
        v = np.array([np.asarray(im, dtype=np.float32).mean(axis=(0, 1)) for im in images])
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def embed_texts(self, texts):
        return np.array([np.array(COLOURS[t.split()[-1].rstrip(".")], np.float32) / 255 for t in texts])


def make_folder(root):
    for label, rgb in COLOURS.items():
        (root / label).mkdir()
        for i in range(2):
            Image.new("RGBA", (8, 8), rgb + (255,)).save(root / label / f"{i}.png")
            (root / label / f"{i}.txt").write_text(f"a {label}.\nde.utf8=ein {label}.\n")


def test_metrics_on_hand_made_scores():
    scores = np.array([[0.9, 0.1, 0.5], [0.9, 0.1, 0.5]])
    m = text_metrics(scores, [{0}, {1}])
    assert m["recall@1"] == 0.5 and m["mrr"] == (1 + 1 / 3) / 2
    p = image_metrics(np.eye(3) + np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]]), ["a", "a", "b"], ks=(1,))
    assert p["precision@1"] == 1.0 and p["image_queries"] == 2


def test_evaluate_and_cli(tmp_path):
    make_folder(tmp_path)
    result = evaluate(tmp_path, ColourEmbedder(), k=1)
    assert result["images"] == 6 and result["text_queries"] == 3
    assert result["recall@1"] == 1.0 and result["precision@1"] == 1.0
    assert result["precision@5"] == pytest.approx(0.2)  # only 1 of the other 5 shares the label
    assert evaluate(tmp_path, ColourEmbedder(), lang="de")["mrr"] == 1.0

    app = Flask(__name__)
    app.extensions["image_search"] = SimpleNamespace(embedder=ColourEmbedder())
    out = app.test_cli_runner().invoke(eval_command, [str(tmp_path), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["mrr"] == 1.0
