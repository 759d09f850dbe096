"""The filter form's pickers (#15 item 5) and errors shown beside their input (item 6), on the server's pages."""

from __future__ import annotations

import io
import re

import pytest

from image_search import create_app
from image_search.service.params import type_names, type_of
from tests.conftest import id_of
from tests.photos import image_bytes, solid


def tile_names(page: str) -> list[str]:
    return re.findall(r'<span class="name">([^<]*)</span>', page)


def options(page: str, name: str) -> list[str]:
    """The <option> tags of the select named `name`, as written."""
    select = page.split(f'<select name="{name}"', 1)[1].split("</select>", 1)[0]
    return [" ".join(o.split()) for o in re.findall(r"<option[^>]*>[^<]*", select)]


def checkboxes(page: str) -> list[str]:
    return [" ".join(c.split()) for c in re.findall(r'<input type="checkbox" name="type"[^>]*>[^<]*', page)]


# --- pickers -----------------------------------------------------------------------------------------------
def test_folder_picker_lists_the_indexed_folders_with_counts(indexed, client, photo_dir):
    page = client.get("/search?q=red").get_data(as_text=True)
    assert options(page, "folder") == [
        '<option value="">All folders',
        f'<option value="{photo_dir}" dir="auto">{photo_dir} (7)',
    ]
    page = client.get(f"/search?q=red&folder={photo_dir}/").get_data(as_text=True)  # the same folder, as typed
    assert f'<option value="{photo_dir}" dir="auto" selected>{photo_dir} (7)' in options(page, "folder")


def test_the_counts_follow_an_indexing_run(indexed, client, runner, photo_dir):
    """The counts are kept per store generation (every results page shows them): a run that adds a file shows."""
    assert "PNG (2)" in client.get("/search?q=red").get_data(as_text=True)
    solid((1, 2, 250)).save(photo_dir / "nested" / "another.png", "PNG")
    assert runner.invoke(args=["index", str(photo_dir)]).exit_code == 0
    page = client.get("/search?q=red").get_data(as_text=True)
    assert "PNG (3)" in page and f"{photo_dir} (8)" in page


def test_a_subfolder_from_the_url_is_offered_chosen(indexed, client, photo_dir):
    nested = photo_dir / "nested"
    page = client.get(f"/search?q=red&folder={nested}&all=1").get_data(as_text=True)
    assert sorted(tile_names(page)) == ["black.tiff", "blue.webp", "yellow.gif"]
    assert options(page, "folder")[1] == f'<option value="{nested}" dir="auto" selected>{nested}'


def test_type_picker_has_a_checkbox_per_indexed_type_with_counts(indexed, client):
    page = client.get("/search?q=red").get_data(as_text=True)
    assert checkboxes(page) == [
        f'<input type="checkbox" name="type" value="{name.lower()}"> {name} ({count})'
        for name, count in [("BMP", 1), ("GIF", 1), ("JPEG", 1), ("PNG", 2), ("TIFF", 1), ("WEBP", 1)]
    ]


def test_ticked_types_filter_and_stay_ticked(indexed, client):
    page = client.get("/search?q=red&type=tiff&type=webp&all=1").get_data(as_text=True)  # as the checkboxes send
    assert sorted(tile_names(page)) == ["black.tiff", "blue.webp"]
    ticked = [c for c in checkboxes(page) if " checked" in c]
    assert ticked == [
        '<input type="checkbox" name="type" value="tiff" checked> TIFF (1)',
        '<input type="checkbox" name="type" value="webp" checked> WEBP (1)',
    ]
    page = client.get("/search?q=red&type=jpg,png&all=1").get_data(as_text=True)  # a typed URL, with an alias
    assert sorted(tile_names(page)) == ["green.png", "red.jpg", "transparent.png"]
    assert [c.split('value="')[1].split('"')[0] for c in checkboxes(page) if " checked" in c] == ["jpeg", "png"]
    # A type the collection has none of is shown, ticked, without a count
    page = client.get("/search?q=red&type=heic").get_data(as_text=True)
    assert checkboxes(page)[-1] == '<input type="checkbox" name="type" value="heif" checked> HEIF'


def test_every_link_keeps_repeated_types(indexed, client):
    page = client.get("/search?q=blue&all=1&type=png&type=jpeg&type=gif&type=bmp").get_data(as_text=True)
    assert (
        'rel="next" href="/search?q=blue&amp;all=1&amp;type=png&amp;type=jpeg&amp;type=gif&amp;type=bmp&amp;page=2"'
        in page
    )


def test_type_names_and_the_type_a_format_is_filtered_as():
    assert type_names("jpg, Heic,png,,jpeg") == ["JPEG", "HEIF", "PNG"]
    assert type_of("MPO") == "JPEG" and type_of("PNG") == "PNG"


def test_the_header_keeps_the_filters_and_sort_but_not_the_page(indexed, client, photo_dir):
    page = client.get("/search?q=blue&all=1&page=2&sort=date&type=png&type=gif&from=2000-01-01&crop=square")
    header = page.get_data(as_text=True).split('role="search"', 1)[1].split("</form>", 1)[0]
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', header)
    assert hidden == [("sort", "date"), ("type", "png"), ("type", "gif"), ("from", "2000-01-01"), ("crop", "square")]
    red = id_of(indexed, photo_dir / "red.jpg")
    viewer = client.get(f"/image/{red}?q=red&folder={photo_dir}&pos=1").get_data(as_text=True)
    assert f'<input type="hidden" name="folder" value="{photo_dir}">' in viewer.split("</header>")[0]
    home = client.get("/").get_data(as_text=True)
    assert 'type="hidden"' not in home.split("</header>")[0]


def test_empty_parameters_are_taken_and_never_written_into_links(indexed, client):
    response = client.get("/search?q=blue&folder=&from=&to=&type=&min_width=&min_height=&sort=&all=1&crop=")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and len(tile_names(page)) == 3
    links = re.findall(r'href="(/search\?[^"]*)"', page)
    assert links and all("=&" not in link and not link.endswith("=") for link in links), links
    assert 'href="/search?q=blue&amp;all=1&amp;page=2"' in page and "?q=blue&amp;all=1&amp;lang=ko" in page


def test_sorted_by_date_the_tiles_show_their_dates(indexed, client):
    by_date = client.get("/search?q=red&sort=date&all=1").get_data(as_text=True)
    dates = re.findall(r'<span class="date">([^<]+)</span>', by_date)
    assert len(dates) == len(tile_names(by_date)) >= 3 and all(re.search(r"\d", d) for d in dates)
    assert '<span class="date">' not in client.get("/search?q=red&all=1").get_data(as_text=True)
    korean = client.get("/search?q=red&sort=date&all=1&lang=ko").get_data(as_text=True)
    assert re.findall(r'<span class="date">([^<]+)</span>', korean)[0] != dates[0]  # the locale's format


# --- errors beside the input --------------------------------------------------------------------------------
def marked(page: str, name: str) -> bool:
    """Whether the input `name` is marked invalid and names its message, which is on the page."""
    tags = [t for t in re.findall(r"<(?:input|select)[^>]*>", page) if f'name="{name}"' in t]
    return (
        any('aria-invalid="true"' in t and f'aria-describedby="error-{name}"' in t and "autofocus" in t for t in tags)
        and f'id="error-{name}"' in page
    )


@pytest.mark.parametrize(
    "query, field, message",
    [
        ("from=2023-02-30", "from", "YYYY-MM-DD"),
        ("to=2020-01-01&from=2021-01-01", "to", "on or before"),
        ("min_width=big", "min_width", "whole number of pixels"),
        ("folder=relative", "folder", "absolute folder path"),
        ("sort=size", "sort", "&#39;sort&#39; must be one of"),
    ],
)
def test_a_bad_filter_shows_beside_its_input_with_everything_kept(indexed, client, query, field, message):
    response = client.get(f"/search?q=red+car&{query}")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and marked(page, field), page
    error = page.split(f'id="error-{field}">', 1)[1].split("<", 1)[0]
    assert message in error
    assert 'value="red car"' in page and "<details open>" in page  # the words and the filters are kept
    assert "Back to the search" not in page and "<title>Error: " in page
    if field in ("from", "min_width"):
        assert f'name="{field}" value="{query.split("=")[-1]}"' in page


def test_an_unknown_type_stays_ticked_beside_its_message(indexed, client):
    page = client.get("/search?q=red&type=doc").get_data(as_text=True)
    assert 'value="doc" checked aria-invalid="true" aria-describedby="error-type"> DOC' in page
    assert "Unknown file type" in page.split('id="error-type">', 1)[1]


@pytest.mark.parametrize(
    "query, message",
    [("x" * 400, "too long"), ("red +", "Part 2 of the query is empty"), ("-red", "only negatives")],
)
def test_a_bad_query_shows_beside_the_search_box_and_stays_in_it(indexed, client, query, message):
    response = client.get("/search", query_string={"q": query, "type": "png"})
    page = response.get_data(as_text=True)
    header = page.split("</header>", 1)[0]
    assert response.status_code == 400
    box = re.search(r'<input type="search"[^>]*>', header)[0]
    assert f'value="{query}"' in box and 'aria-invalid="true"' in box and 'aria-describedby="error-query"' in box
    assert message in header.split('id="error-query">', 1)[1]
    assert 'maxlength="300"' in box and "checked" in checkboxes(page)[3]  # the png filter kept


def test_a_parameter_without_an_input_gets_its_message_above_the_form(indexed, client):
    response = client.get("/search?q=red&page=abc")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'class="error form-error" role="alert"' in page and "whole number" in page


def test_bad_words_beside_an_image_show_beside_the_add_words_box(indexed, client, photo_dir):
    red = id_of(indexed, photo_dir / "red.jpg")
    response = client.get(f"/similar/{red}?q=green+%2B")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and marked(page, "q") and 'value="green +"' in page
    assert "More like red.jpg" in page


def upload(client, data: bytes | None, words: str = ""):
    form = {"q": words} | ({"image": (io.BytesIO(data), "query.png")} if data is not None else {})
    return client.post("/search/image", data=form, content_type="multipart/form-data")


@pytest.mark.parametrize(
    "data, words, field, message",
    [
        (None, "at night", "image", "Choose an image file"),
        (b"not an image", "at night", "image", "not a usable image"),
        (image_bytes(solid((200, 0, 0))), "night +", "q", "Part 2 of the query is empty"),
    ],
)
def test_a_bad_upload_shows_beside_its_input_with_the_words_kept(indexed, client, data, words, field, message):
    response = upload(client, data, words)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and marked(page, field), page
    assert message in page.split(f'id="error-{field}">', 1)[1] and f'value="{words}"' in page
    assert 'id="upload-form"' in page and 'maxlength="300"' in page


def test_an_upload_over_the_limit_is_the_upload_page_with_a_413(tmp_path, embedder):
    app = create_app(
        {"TESTING": True, "DATA_DIR": tmp_path, "EMBEDDER": embedder, "WTF_CSRF_ENABLED": False, "MAX_UPLOAD_MB": 0.01}
    )
    response = upload(app.test_client(), b"x" * 20000, "at night")
    page = response.get_data(as_text=True)
    assert response.status_code == 413 and marked(page, "image") and "at most 0.01 MB" in page
    assert 'id="upload-form"' in page


def test_an_expired_upload_form_is_the_upload_page_with_the_words_kept(tmp_path, embedder):
    app = create_app({"TESTING": True, "DATA_DIR": tmp_path, "EMBEDDER": embedder})
    response = upload(app.test_client(), image_bytes(solid((1, 2, 3))), "at night")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'class="error form-error"' in page and "The form expired" in page
    assert 'value="at night"' in page


def test_the_api_still_answers_errors_as_json(indexed, client):
    response = client.get("/api/search?q=red&from=2023-02-30")
    assert response.status_code == 400 and "YYYY-MM-DD" in response.get_json()["error"]
