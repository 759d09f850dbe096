from tests.conftest import first_tile_name, id_of


def test_index_page_has_search_box_and_upload_link(client):
    page = client.get("/").get_data(as_text=True)
    assert 'name="q"' in page and 'href="/search/image"' in page


def test_text_search_renders_thumbnail_grid_best_first(indexed, client, photo_dir):
    page = client.get("/search?q=red").get_data(as_text=True)
    assert first_tile_name(page) == "red.jpg"
    red_id = id_of(indexed, photo_dir / "red.jpg")
    assert f'src="/thumbnail/{red_id}"' in page
    assert f'href="/similar/{red_id}"' in page and f'href="/image/{red_id}"' in page
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
    for url, message in [("/search?q=", "Type a few words"), ("/search?q=" + "x" * 400, "too long"),
                         ("/search?q=red&page=0", "between 1 and"), ("/search?q=red&page=abc", "whole number"),
                         ("/search?q=red&page=99999", "between 1 and")]:
        response = client.get(url)
        assert response.status_code == 400 and message in response.get_data(as_text=True), url


def test_unknown_ids_are_404(client):
    for url in ["/image/nope", "/similar/nope", "/search/image/nope"]:
        response = client.get(url)
        assert response.status_code == 404 and "Traceback" not in response.get_data(as_text=True)
