"""The viewer without JavaScript: plain pages whose rel=prev/next links carry the query, a way back to the same
page of results, the image's id, download and more like this (image_search/service/viewer.py, web/search.py)."""

from __future__ import annotations

import re
from html import unescape

from tests.conftest import id_of


def links(page: str, rel: str) -> list[str]:
    return [unescape(href) for href in re.findall(rf'<a class="button" rel="{rel}" href="([^"]+)"', page)]


def tile_links(page: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'<a class="thumb" href="([^"]+)"', page)]


def test_tiles_open_the_viewer_with_their_place_in_the_results(indexed, client):
    page = client.get("/search?q=blue&all=1&page=2&sort=relevance").get_data(as_text=True)
    hrefs = tile_links(page)
    assert [re.search(r"pos=(\d+)", h).group(1) for h in hrefs] == ["4", "5", "6"]
    assert all("q=blue" in h and "all=1" in h and "sort=relevance" in h and "page=" not in h for h in hrefs)
    assert 'id="hit-4"' in page


def test_previous_and_next_walk_the_results_in_order(indexed, client):
    results = client.get("/search?q=blue&all=1").get_data(as_text=True)
    first, second = tile_links(results)[:2]
    page = client.get(first).get_data(as_text=True)
    assert "<h1" in page and not links(page, "prev")
    assert links(page, "next") == [second] and f'<link rel="next" href="{second.replace("&", "&amp;")}">' in page
    page = client.get(second).get_data(as_text=True)
    assert links(page, "prev") == [first]
    back = unescape(re.search(r'<a class="button back" href="([^"]+)"', page).group(1))
    assert back == "/search?q=blue&all=1#hit-2"


def test_the_way_back_leads_to_the_page_the_image_is_on(indexed, client):
    results = client.get("/search?q=blue&all=1&page=2").get_data(as_text=True)
    page = client.get(tile_links(results)[0]).get_data(as_text=True)
    back = unescape(re.search(r'<a class="button back" href="([^"]+)"', page).group(1))
    assert back == "/search?q=blue&all=1&page=2#hit-4"
    assert links(page, "prev")[0].endswith("pos=3")


def test_the_last_result_has_no_next(indexed, client):
    results = client.get("/search?q=blue&all=1&page=3").get_data(as_text=True)
    last = tile_links(results)[-1]
    page = client.get(last).get_data(as_text=True)
    assert links(page, "prev") and not links(page, "next") and 'rel="next"' not in page


def test_more_like_this_results_keep_their_source(indexed, client, photo_dir):
    red_id = id_of(indexed, photo_dir / "red.jpg")
    results = client.get(f"/similar/{red_id}?all=1").get_data(as_text=True)
    first, second = tile_links(results)[:2]
    assert f"similar={red_id}" in first
    page = client.get(first).get_data(as_text=True)
    assert links(page, "next") == [second]
    assert f'href="/similar/{red_id}?all=1#hit-1"' in page


def test_opened_alone_the_viewer_offers_download_id_and_more_like_this(indexed, client, photo_dir):
    red_id = id_of(indexed, photo_dir / "red.jpg")
    page = client.get(f"/image/{red_id}").get_data(as_text=True)
    assert "<h1" in page and "red.jpg</h1>" in page and 'rel="prev"' not in page and "Back to the results" not in page
    assert f'href="/original/{red_id}" download="red.jpg"' in page
    assert f"<code>id:{red_id}</code>" in page and f'href="/similar/{red_id}"' in page
    assert f'data-copy="{photo_dir / "red.jpg"}"' in page


def test_an_image_no_longer_among_the_results_says_so(indexed, client, photo_dir):
    red_id = id_of(indexed, photo_dir / "red.jpg")
    page = client.get(f"/image/{red_id}?q=blue&pos=1&folder={photo_dir}/nowhere").get_data(as_text=True)
    assert "no longer among these results" in page and 'rel="next"' not in page


def test_a_bad_position_is_a_clear_400(indexed, client, photo_dir):
    red_id = id_of(indexed, photo_dir / "red.jpg")
    for pos in ("x", "0", "100000"):
        response = client.get(f"/image/{red_id}?q=red&pos={pos}")
        assert response.status_code == 400 and "&#39;pos&#39;" in response.get_data(as_text=True), pos


def test_query_keys_that_name_url_parts_are_not_a_500(indexed, client, photo_dir):
    red_id = id_of(indexed, photo_dir / "red.jpg")
    assert client.get("/search?q=red&image_id=x&key=y&_external=1&endpoint=z").status_code == 200
    assert client.get(f"/image/{red_id}?q=red&pos=1&image_id=x&key=y&_anchor=z&values=1").status_code == 200


def test_an_expired_image_search_still_shows_the_image(indexed, client, photo_dir):
    red_id = id_of(indexed, photo_dir / "red.jpg")
    response = client.get(f"/image/{red_id}?upload=0123456789abcdef01234567&pos=1")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "red.jpg</h1>" in page and "no longer among these results" in page
    assert 'href="/search/image/0123456789abcdef01234567#"' not in page and 'rel="next"' not in page
