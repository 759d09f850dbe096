"""Phone layout and accessibility without JavaScript: srcset at two sizes, justified or square tiles, a skip
link, a labelled file input, distinct link names, and clear 400s for bad layout parameters."""

from __future__ import annotations

import re

from tests.conftest import id_of


def test_tiles_offer_two_thumbnail_sizes_and_keep_their_shape(indexed, client, photo_dir):
    red_id = id_of(indexed, photo_dir / "red.jpg")
    page = client.get("/search?q=red").get_data(as_text=True)
    assert f'srcset="/thumbnail/{red_id} 256w, /thumbnail/{red_id}?size=512 512w"' in page
    assert 'data-ratio="13"' in page and 'class="grid square"' not in page
    large = client.get(f"/thumbnail/{red_id}?size=512")
    assert large.status_code == 200 and large.mimetype == "image/jpeg"


def test_square_tiles_are_a_url_parameter_kept_by_the_filters(indexed, client):
    page = client.get("/search?q=red&crop=square").get_data(as_text=True)
    assert 'class="grid square"' in page and '<input type="hidden" name="crop" value="square">' in page
    assert 'href="/search?q=red">Tiles in their own shapes' in page


def test_bad_layout_parameters_are_clear_400s(indexed, client, photo_dir):
    red_id = id_of(indexed, photo_dir / "red.jpg")
    for url, name in ((f"/thumbnail/{red_id}?size=4000", "size"), (f"/thumbnail/{red_id}?size=big", "size")):
        response = client.get(url)
        assert response.status_code == 400 and f"&#39;{name}&#39;" in response.get_data(as_text=True), url
    response = client.get("/search?q=red&crop=round")
    assert response.status_code == 400 and "&#39;crop&#39;" in response.get_data(as_text=True)


def test_every_page_has_a_skip_link_to_its_content(client):
    page = client.get("/").get_data(as_text=True)
    assert '<a class="skip-link" href="#content">' in page and '<main id="content"' in page


def test_the_file_input_has_a_label(client):
    page = client.get("/search/image").get_data(as_text=True)
    accepts = re.escape("image/*,.heic,.heif,.avif")  # phone pictures too, which some choosers hide under image/*
    assert re.search(rf'<label>Image <input accept="{accepts}" id="image" name="image" required type="file">', page)


def test_more_like_this_links_name_their_image(indexed, client):
    page = client.get("/search?q=red&all=1").get_data(as_text=True)
    names = re.findall(r'more like this<span class="visually-hidden">: ([^<]+)</span>', page)
    assert len(names) == len(set(names)) == page.count('class="tile"') >= 2
