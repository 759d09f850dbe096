import pytest

from tests.conftest import first_tile_name, id_of

# Also on the real cluster (tests/es_cluster.py), besides the embedded store and the fake.
pytestmark = pytest.mark.real_es


def test_index_page_has_search_box_and_upload_link(client):
    page = client.get("/").get_data(as_text=True)
    assert 'name="q"' in page and 'href="/search/image"' in page


def test_text_search_renders_thumbnail_grid_best_first(indexed, client, photo_dir):
    page = client.get("/search?q=red").get_data(as_text=True)
    assert first_tile_name(page) == "red.jpg"
    red_id = id_of(indexed, photo_dir / "red.jpg")
    assert f'src="/thumbnail/{red_id}"' in page
    assert f'href="/similar/{red_id}"' in page and f'href="/image/{red_id}?q=red&amp;pos=1"' in page
    assert "Model: test-colour-v1" in page and 'value="red"' in page


def test_pagination(indexed, client):
    first = client.get("/search?q=blue&all=1").get_data(as_text=True)
    assert first.count('class="tile"') == 3 and 'rel="next"' in first
    third = client.get("/search?q=blue&all=1&page=3").get_data(as_text=True)
    assert third.count('class="tile"') == 1 and 'rel="prev"' in third and 'rel="next"' not in third


def test_empty_index_says_how_to_index(client):
    assert "flask --app image_search index" in client.get("/search?q=red").get_data(as_text=True)


def test_more_like_this_leaves_the_image_out(indexed, client, photo_dir):
    red_id = id_of(indexed, photo_dir / "red.jpg")
    page = client.get(f"/similar/{red_id}").get_data(as_text=True)
    assert "More like red.jpg" in page and f'href="/similar/{red_id}"' not in page


def test_detail_view(indexed, client, photo_dir):
    page = client.get(f"/image/{id_of(indexed, photo_dir / 'red.jpg')}").get_data(as_text=True)
    assert str(photo_dir / "red.jpg") in page and "64 × 48" in page and "JPEG" in page


def test_bad_queries_get_clear_400s(indexed, client):
    for url, message in [
        ("/search?q=", "Type a few words"),
        ("/search?q=" + "x" * 400, "too long"),
        ("/search?q=red&page=0", "between 1 and"),
        ("/search?q=red&page=abc", "whole number"),
        ("/search?q=red&page=99999", "between 1 and"),
    ]:
        response = client.get(url)
        assert response.status_code == 400 and message in response.get_data(as_text=True), url


def test_unknown_ids_are_404(client):
    for url in ["/image/nope", "/similar/nope", "/search/image/nope"]:
        response = client.get(url)
        assert response.status_code == 404 and "Traceback" not in response.get_data(as_text=True)


def tile_names(page: str) -> list[str]:
    return [part.split('<span class="name">', 1)[1].split("<", 1)[0] for part in page.split('class="tile"')[1:]]


def test_cut_off_hides_the_tail_with_a_show_all_link(indexed, client):
    page = client.get("/search?q=blue").get_data(as_text=True)
    assert tile_names(page) == ["blue.webp"]
    assert "6 less similar hidden" in page and 'href="/search?q=blue&amp;all=1"' in page
    page = client.get("/search?q=blue&all=1").get_data(as_text=True)
    assert page.count('class="tile"') == 3 and "show only the closest 1" in page
    assert 'name="all" value="1"' in page  # the filter form keeps show-all


def test_filters_in_the_url_and_the_form(indexed, client, photo_dir):
    nested = photo_dir / "nested"
    page = client.get(f"/search?q=red&folder={nested}&type=tiff,webp&all=1").get_data(as_text=True)
    assert sorted(tile_names(page)) == ["black.tiff", "blue.webp"]
    assert f'<option value="{nested}" dir="auto" selected>' in page  # the pickers show it (tests/test_web_filters.py)
    assert 'name="type" value="tiff" checked' in page and 'name="type" value="webp" checked' in page
    assert "Filters (on)" in page and "<details open>" in page and 'name="q" value="red"' in page
    page = client.get("/search?q=red&min_width=65").get_data(as_text=True)
    assert "No indexed image matches these filters" in page and 'href="/search?q=red">clear the filters' in page


def test_pager_keeps_every_parameter(indexed, client):
    page = client.get("/search?q=blue&all=1&sort=date&type=png,jpeg,gif").get_data(as_text=True)
    assert 'rel="next" href="/search?q=blue&amp;all=1&amp;sort=date&amp;type=png,jpeg,gif&amp;page=2"' in page
    assert '<option value="date" selected>' in page


def test_bad_filters_and_queries_are_400_with_the_reason(indexed, client):
    for url, message in [
        ("/search?q=red&from=2023-02-30", "YYYY-MM-DD"),
        ("/search?q=red&type=doc", "Unknown file type"),
        ("/search?q=red&folder=relative", "absolute folder path"),
        ("/search?q=red&sort=size", "sort"),
        ("/search?q=red+%2B", "Part 2 of the query is empty"),
        ("/search?q=-red", "only negatives"),
        ("/search?q=red&min_width=big", "whole number of pixels"),
        ("/search?q=red&min_height=%C2%B2", "whole number of pixels"),
    ]:
        response = client.get(url)
        assert response.status_code == 400 and message in response.get_data(as_text=True), url


def test_combined_query_is_kept_in_the_box(indexed, client):
    page = client.get("/search", query_string={"q": '3:red + blue -"white"'}).get_data(as_text=True)
    assert first_tile_name(page) == "red.jpg"
    assert 'value="3:red + blue -&#34;white&#34;"' in page


def test_more_like_this_with_words_and_filters(indexed, client, photo_dir):
    red_id = id_of(indexed, photo_dir / "red.jpg")
    page = client.get(f"/similar/{red_id}?q=3:green&all=1").get_data(as_text=True)
    assert first_tile_name(page) == "green.png" and "More like red.jpg + “3:green”" in page
    assert 'name="q" value="3:green"' in page  # the "add words" box


def test_result_count_time_and_help(indexed, client):
    page = client.get("/search?q=red&all=1").get_data(as_text=True)
    assert "7 images · page 1 ·" in page and " ms" in page
    assert '<details class="help">' in page and '-"red car"' in page


def test_pages_have_no_inline_scripts_or_handlers(indexed, client, photo_dir):
    import re

    red_id = id_of(indexed, photo_dir / "red.jpg")
    for url in [
        "/",
        "/search?q=red",
        f"/similar/{red_id}",
        f"/image/{red_id}",
        "/search/image",
        "/duplicates",
        "/health",
        "/search?q=red+%2B",
    ]:
        page = client.get(url).get_data(as_text=True)
        assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", page)), url
        assert not re.search(r"\son[a-z]+=", page), url
    for name in ("keyboard.js", "drop.js"):
        assert client.get(f"/static/{name}").status_code == 200


def test_an_index_of_another_model_is_refused_with_the_rebuild_command(indexed, client):
    from tests.doubles.colour_embedder import ColourEmbedder

    indexed.extensions["image_search"]._embedder = ColourEmbedder("another-model")
    for url in ["/search?q=red", "/api/search?q=red"]:
        response = client.get(url)
        assert response.status_code == 409
        assert "flask --app image_search index --rebuild" in response.get_data(as_text=True)


def test_a_dash_between_words_is_text_and_negatives_beside_an_image_work(indexed, client, photo_dir):
    """Query grammar: "Tux and spider - two friends." is a sentence; "-yellow" alone works with an image."""
    assert client.get("/search", query_string={"q": "red - a warm colour."}).status_code == 200
    red_id = id_of(indexed, photo_dir / "red.jpg")
    page = client.get(f"/similar/{red_id}?q=-yellow&all=1")
    assert page.status_code == 200 and first_tile_name(page.get_data(as_text=True)) != "yellow.gif"
    hits = client.get(f"/api/similar/{red_id}?q=-yellow&k=3").get_json()["hits"]
    assert hits and not any(h["path"].endswith("yellow.gif") for h in hits)
    assert client.get("/search?q=-yellow").status_code == 400  # without an image, still only negatives


def test_the_home_page_shows_recent_photos_folders_and_example_queries(indexed, client, photo_dir):
    import os
    import re

    os.utime(photo_dir / "green.png", (2_000_000_000, 2_000_000_000))  # the newest file time...
    assert indexed.test_cli_runner().invoke(args=["index", str(photo_dir)]).exit_code == 0
    page = client.get("/").get_data(as_text=True)
    assert "Recent photos" in page and "Indexed folders" in page
    names = re.findall(r'<span class="name" dir="auto">([^<]+)</span>', page)
    assert names[0] == "green.png" and len(names) == 7  # ...first, taken_at being the file time without EXIF
    assert f"{photo_dir}</span> — 7 images" in page
    assert (
        'href="/search?q=%EB%88%88+%EB%8D%AE%EC%9D%B8+%EC%82%B0"' in page
        and '<span lang="ko">눈 덮인 산</span>' in page
    )
    assert "최근 사진" in client.get("/", headers={"Accept-Language": "ko"}).get_data(as_text=True)


def test_an_empty_home_page_says_how_to_index(client):
    page = client.get("/").get_data(as_text=True)
    assert "Nothing is indexed yet" in page and "Recent photos" not in page
