"""Why it matched (#15 item 9): what the offline model saw in an image, read back from its stored vector."""

from __future__ import annotations

import re

import numpy as np
import pytest

from image_search import create_app
from image_search.embedders.offline import bridge
from tests.conftest import id_of
from tests.doubles.colour_embedder import ColourEmbedder, SeeingColourEmbedder

FEAT, NCLS = bridge.FEATURE_DIM, bridge.N_CLASSES


def test_class_probabilities_come_back_from_the_stored_vector():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(4, NCLS)).astype(np.float32) * 4
    stored = bridge.stored_vectors(rng.normal(size=(4, FEAT)).astype(np.float32), logits)
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(bridge.class_probabilities(stored), softmax, atol=1e-6)


def test_top_concepts_are_the_likeliest_few_above_the_floor():
    logits = np.full((2, NCLS), -10.0, np.float32)
    logits[0, [7, 3, 500, 9]] = [5.0, 4.0, 3.0, 0.5]  # ~0.66, 0.24, 0.09, 0.007 (the rest ~0)
    logits[1] = 0.0  # nothing stands out: 0.1% each
    stored = bridge.stored_vectors(np.ones((2, FEAT), np.float32), logits)
    names = tuple((f"class {i}", "en") for i in range(NCLS))
    first, second = bridge.top_concepts(stored, names)
    assert [name for name, _, _ in first] == ["class 7", "class 3", "class 500"]
    assert first[0][2] == pytest.approx(np.exp(5) / (np.exp([5, 4, 3, 0.5]).sum() + 996 * np.exp(-10)), rel=1e-4)
    assert second == []  # no class reaches CONCEPT_MIN_SHARE
    assert len(bridge.top_concepts(stored, names, k=1)[0]) == 1


def test_concept_names_in_korean_where_a_class_has_one_else_english():
    english = bridge.load_class_names()
    tiger = next(i for i, synonyms in enumerate(english) if synonyms[0] == "tiger")
    korean = bridge.concept_names("ko")
    assert korean[tiger] == ("호랑이", "ko") and bridge.concept_names("en")[tiger] == ("tiger", "en")
    unnamed = next(i for i, levels in enumerate(bridge.load_foreign_names("ko")) if not levels[0])
    assert korean[unnamed] == (english[unnamed][0], "en")
    assert bridge.concept_names("xx") == bridge.concept_names("en")


# --- on the pages ---------------------------------------------------------------------------------
@pytest.fixture
def seeing_app(tmp_path, photo_dir):
    app = create_app({"TESTING": True, "DATA_DIR": tmp_path / "data", "EMBEDDER": SeeingColourEmbedder()})
    assert app.test_cli_runner().invoke(args=["index", str(photo_dir)]).exit_code == 0
    return app


def test_tiles_and_the_viewer_say_what_the_model_saw(seeing_app, photo_dir):
    client = seeing_app.test_client()
    page = client.get("/search?q=red").get_data(as_text=True)
    # red.jpg is (230, 20, 20) before JPEG: red about 85%, the rest below
    assert re.search(r'<span class="concepts">Seen: red 8\d%, (blue|green) [78]%, (blue|green) [78]%</span>', page)
    viewer = client.get(f"/image/{id_of(seeing_app, photo_dir / 'red.jpg')}").get_data(as_text=True)
    assert re.search(r"The model saw: red 8\d%, ", viewer)
    korean = client.get("/search?q=red&lang=ko").get_data(as_text=True)
    assert re.search(r'class="concepts">본 것: 빨강 8\d%, [^<]*<span lang="en">blue</span> [78]%', korean)


def test_concepts_cost_one_store_read_and_no_model_run(seeing_app, monkeypatch):
    service = seeing_app.extensions["image_search"]
    reads = []
    get_vectors = service.store.get_vectors
    monkeypatch.setattr(service.store, "get_vectors", lambda ids: reads.append(list(ids)) or get_vectors(ids))
    runs = service.embedder.image_calls
    page = seeing_app.test_client().get("/search?q=red&all=1").get_data(as_text=True)
    assert page.count('class="concepts"') == page.count('class="tile') > 1
    assert len(reads) == 1 and len(reads[0]) == page.count('class="tile')
    assert service.embedder.image_calls == runs


def test_a_model_whose_vectors_name_nothing_shows_no_concepts_and_reads_no_vectors(tmp_path, photo_dir, monkeypatch):
    app = create_app({"TESTING": True, "DATA_DIR": tmp_path / "data", "EMBEDDER": ColourEmbedder()})
    assert app.test_cli_runner().invoke(args=["index", str(photo_dir)]).exit_code == 0
    store = app.extensions["image_search"].store
    monkeypatch.setattr(store, "get_vectors", lambda ids: pytest.fail("read vectors for a model without concepts"))
    page = app.test_client().get("/search?q=red").get_data(as_text=True)
    assert 'class="tile' in page and "concepts" not in page
