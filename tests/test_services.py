import os
from datetime import datetime

import numpy as np
import pytest

from image_search import create_app
from image_search.errors import NotFound, QueryError
from image_search.inference.query import parse
from image_search.service.options import SearchOptions
from image_search.service.params import parse_filters
from image_search.service.ranking import View
from tests.conftest import id_of
from tests.doubles.colour_embedder import ColourEmbedder, UnsureColourEmbedder
from tests.photos import image_bytes, solid


def service_of(app):
    return app.extensions["image_search"]


def names(result):
    return [h.record.name for h in result.hits]


def test_negative_pushes_an_image_down(indexed):
    service = service_of(indexed)
    plain = {h.record.name: h.score for h in service.search("red yellow", SearchOptions(7)).hits}
    negative = {h.record.name: h.score for h in service.search("red yellow -white", SearchOptions(7)).hits}
    assert negative["white.bmp"] < plain["white.bmp"] - 0.3
    assert names(service.search("red yellow -white", SearchOptions(7)))[-2:] != ["red.jpg"]


def test_weights_decide_which_part_wins(indexed):
    service = service_of(indexed)
    assert names(service.search("3:red + blue", SearchOptions(1))) == ["red.jpg"]
    assert names(service.search("red + 3:blue", SearchOptions(1))) == ["blue.webp"]


def test_weighted_sum_is_renormalised(indexed):
    service = service_of(indexed)
    vector = service._combine(parse("2:red + green"), None)
    red, green = service.embedder.embed_texts(["red", "green"])
    expected = 2 * red + green
    assert np.allclose(vector, expected / np.linalg.norm(expected), atol=1e-6)


def test_indexed_image_as_a_part(indexed, photo_dir):
    service = service_of(indexed)
    blue_id = id_of(indexed, photo_dir / "nested" / "blue.webp")
    assert names(service.search(f"id:{blue_id}", SearchOptions(1))) == ["blue.webp"]
    assert names(service.search(f"id:{blue_id} + 3:red", SearchOptions(1))) == ["red.jpg"]
    with pytest.raises(QueryError, match="No indexed image has the id"):
        service.search("id:0123456789abcdef0123 + red", SearchOptions(1))


def test_parts_that_cancel_out_are_refused(indexed):
    with pytest.raises(QueryError, match="cancel each other out"):
        service_of(indexed).search("red -red", SearchOptions(3))


def test_image_plus_words(indexed):
    service = service_of(indexed)
    vector, key = service.upload_query(image_bytes(solid((10, 20, 240))))
    assert names(service.search("3:red", SearchOptions(1), image=vector)) == ["red.jpg"]
    assert names(service.search("", SearchOptions(1), image=service.cached_query(key))) == ["blue.webp"]
    assert names(service.search("3:green", SearchOptions(1), image=service.cached_query(key))) == ["green.png"]


def test_more_like_this_with_words_leaves_the_image_out(indexed, photo_dir):
    service = service_of(indexed)
    red_id = id_of(indexed, photo_dir / "red.jpg")
    like_red = service.stored_query(red_id)
    assert names(service.search("green", SearchOptions(1), like_red, exclude=red_id)) == ["yellow.gif"]  # red + green
    result = service.search("3:green", SearchOptions(6, view=View(show_all=True)), like_red, exclude=red_id)
    assert red_id not in {h.id for h in result.hits} and names(result)[0] == "green.png" and len(result.hits) == 6


@pytest.fixture
def mixed(app, runner, tmp_path):
    """20 red JPEGs from 2023, and 6 larger blue PNGs from June 2021 in another folder."""
    near, far = tmp_path / "mixed" / "near", tmp_path / "mixed" / "far"
    near.mkdir(parents=True), far.mkdir(parents=True)
    for i in range(20):
        solid((200 + i, 10, 10)).save(near / f"red{i:02}.jpg", "JPEG")
        os.utime(near / f"red{i:02}.jpg", (datetime(2023, 5, 1).timestamp(),) * 2)
    for i in range(6):
        solid((10, 10, 200 + i), size=(100, 80)).save(far / f"blue{i}.png", "PNG")
        os.utime(far / f"blue{i}.png", (datetime(2021, 6, 1 + i).timestamp(),) * 2)
    assert runner.invoke(args=["index", str(tmp_path / "mixed")]).exit_code == 0
    return far


@pytest.mark.parametrize(
    "values",
    [
        {"folder": "FAR"},
        {"type": "png"},
        {"min_width": "100"},
        {"min_height": "80"},
        {"from": "2021-06-01", "to": "2021-06-30"},
    ],
)
def test_a_filtered_query_returns_k_hits_when_k_match(app, mixed, values):
    values = {k: v.replace("FAR", str(mixed)) for k, v in values.items()}
    service = service_of(app)
    result = service.search("red", SearchOptions(5, parse_filters(values)))  # every red image outranks every blue one
    assert len(result.hits) == 5 and all(n.startswith("blue") for n in names(result))
    assert len(service.search("red", SearchOptions(50, parse_filters(values), View(show_all=True))).hits) == 6


def test_date_range_is_inclusive_of_both_days(app, mixed):
    filters = parse_filters({"from": "2021-06-02", "to": "2021-06-03"})
    result = service_of(app).search("red", SearchOptions(50, filters, View(show_all=True)))
    assert sorted(names(result)) == ["blue1.png", "blue2.png"]


def test_sort_by_date_keeps_only_the_relevant_then_orders_newest_first(app, mixed):
    result = service_of(app).search("blue", SearchOptions(26, view=View(sort="date")))
    assert result.hidden == 20 and names(result) == [f"blue{i}.png" for i in range(5, -1, -1)]


def test_duplicates_are_computed_by_the_indexer_and_only_read_by_requests(indexed, runner, photo_dir, monkeypatch):
    """The former cache computed them in the first request after a change (one kNN per image): now
    `flask index` computes them when the collection changed, and requests only read what it stored."""
    import shutil

    import image_search.service.search_service as services

    service = service_of(indexed)
    calls = []
    real = services.find_pairs
    monkeypatch.setattr(services, "find_pairs", lambda *a: calls.append(1) or real(*a))
    assert len(service.duplicates(0.99).groups) == len(service.duplicates(0.99).groups) == 1 and calls == []
    shutil.copy(photo_dir / "red.jpg", photo_dir / "red2.jpg")
    assert "Near-duplicate groups computed again" in runner.invoke(args=["index", str(photo_dir)]).output
    assert calls == [1] and len(service.duplicates(0.99).groups) == 2
    assert "Near-duplicate" not in runner.invoke(args=["index", str(photo_dir)]).output  # nothing changed
    assert calls == [1]


@pytest.fixture
def unsure_app(tmp_path, photo_dir):
    app = create_app({"TESTING": True, "DATA_DIR": tmp_path / "data", "EMBEDDER": UnsureColourEmbedder()})
    assert app.test_cli_runner().invoke(args=["index", str(photo_dir)]).exit_code == 0
    return app


def test_low_confidence_warns_and_puts_file_name_matches_first(unsure_app, photo_dir, monkeypatch):
    service = unsure_app.extensions["image_search"]
    monkeypatch.setattr(service.store, "iter_records", lambda: pytest.fail("the fallback scanned every record"))
    result = service.search("deeper yellow thing", SearchOptions(k=3))
    assert result.hits[0].record.path == str(photo_dir / "nested" / "deeper" / "yellow.gif")
    body = unsure_app.test_client().get("/api/search?q=nested things&k=7").get_json()
    assert "unsure" in body["notice"]
    assert {h["path"] for h in body["hits"][:3]} == {
        str(photo_dir / "nested" / n) for n in ("blue.webp", "black.tiff", "deeper/yellow.gif")
    }


def test_confident_queries_get_no_notice(unsure_app):
    assert unsure_app.test_client().get("/api/search?q=red&k=2").get_json()["notice"] is None


def test_configured_threshold_wins_over_the_models(tmp_path, photo_dir):
    app = create_app(
        {"TESTING": True, "DATA_DIR": tmp_path, "EMBEDDER": UnsureColourEmbedder(), "LOW_CONFIDENCE": 0.05}
    )
    assert app.test_client().get("/api/search?q=nested&k=2").get_json()["notice"] is None


def test_file_name_matching_takes_whole_words_not_fragments(unsure_app, photo_dir):
    service = unsure_app.extensions["image_search"]
    scores = [h.score for h in service.search("un ed", SearchOptions(k=7)).hits]  # "ed" is in red and nested
    assert scores == sorted(scores, reverse=True)  # nothing promoted: plain vector order
    assert service.search("transp thing", SearchOptions(k=1)).hits[0].record.path == str(photo_dir / "transparent.png")


def test_a_name_match_pruned_from_the_store_is_left_out(unsure_app, photo_dir):
    """The names index follows the store's deletions (the fallback reads records and vectors in one query,
    so a prune can no longer fall between reading a name and its vector)."""
    service = unsure_app.extensions["image_search"]
    service.store.delete([id_of(unsure_app, photo_dir / "nested" / "deeper" / "yellow.gif")])
    result = service.search("nested things", SearchOptions(k=7))
    assert "unsure" in result.notice
    assert {h.record.name for h in result.hits[:2]} == {"blue.webp", "black.tiff"}  # the other name matches
    assert "yellow.gif" not in names(result)


def test_an_uploaded_query_expires(tmp_path):
    import time

    app = create_app({"TESTING": True, "DATA_DIR": tmp_path, "EMBEDDER": ColourEmbedder(), "QUERY_CACHE_SECONDS": 0.2})
    service = service_of(app)
    vector, key = service.upload_query(image_bytes(solid((10, 20, 240))))
    assert np.array_equal(service.cached_query(key), vector)
    time.sleep(0.3)
    with pytest.raises(NotFound, match="expired"):
        service.cached_query(key)
    with pytest.raises(NotFound, match="expired"):
        service.cached_query("0" * 24)


def test_name_matches_are_marked_and_the_notice_counts_them(unsure_app, photo_dir):
    body = unsure_app.test_client().get("/api/search?q=nested things&k=7").get_json()
    assert "3 images whose file or folder names match" in body["notice"] and not body["weak"]
    assert [h["by_name"] for h in body["hits"]] == [True] * 3 + [False] * (len(body["hits"]) - 3)
    page = unsure_app.test_client().get("/search?q=nested things").get_data(as_text=True)
    assert page.count('class="badge">name match<') == min(3, page.count('class="tile'))


def test_weak_results_say_so_and_show_the_nearest_few(unsure_app):
    """`qwxz`: the model is unsure and no name matches: not one confident-looking tile, but the nearest few."""
    client = unsure_app.test_client()
    body = client.get("/api/search?q=qwxz&k=24").get_json()
    assert body["weak"] and "Nothing matches this query well" in body["notice"] and "name" in body["notice"]
    assert body["cutoff"] == 6 and not any(h["by_name"] for h in body["hits"])  # the API returns all k
    page = client.get("/search?q=qwxz").get_data(as_text=True)
    assert 'class="grid weak"' in page and "These are only the nearest images" in page
    assert page.count('<li class="tile') == 6  # the nearest 6 of the 7, not the score curve's cut-off
    korean = client.get("/search?q=qwxz", headers={"Accept-Language": "ko"}).get_data(as_text=True)
    assert "가장 가까운 사진일 뿐입니다" in korean
    assert not client.get("/api/search?q=red&k=2").get_json()["weak"]
