"""web/urls.py: a page's URL with parameters changed never fails on a query key url_for would take for its own."""

from __future__ import annotations

import pytest

from image_search import create_app
from image_search.web.urls import page_url


@pytest.fixture
def app(tmp_path, embedder):
    return create_app({"TESTING": True, "DATA_DIR": tmp_path / "data", "EMBEDDER": embedder})


def test_changes_apply_and_none_removes(app):
    with app.test_request_context("/"):
        args = {"q": "red car", "page": "2", "sort": "date"}
        assert page_url("search.search_text", {}, args, {"page": None, "lang": "ko"}) == (
            "/search?q=red+car&sort=date&lang=ko"
        )


def test_keys_that_name_path_parts_or_url_for_options_are_dropped(app):
    with app.test_request_context("/"):
        args = {"image_id": "evil", "_external": "1", "_scheme": "javascript", "endpoint": "x", "values": "y", "q": "a"}
        assert page_url("search.similar", {"image_id": "abc123"}, args, {}) == "/similar/abc123?q=a"


@pytest.mark.parametrize("url", ["/image/abc?image_id=x", "/similar/abc?image_id=x&q=red", "/?_external=1&endpoint=x"])
def test_pages_with_such_keys_answer_without_a_500(app, url):
    assert app.test_client().get(url).status_code in (200, 404)
