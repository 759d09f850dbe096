"""web/formatting.py: sizes, dates and numbers in the request's locale; the markup helpers escape their text."""

from __future__ import annotations

from datetime import datetime

import pytest

from image_search import create_app
from image_search.web import formatting


@pytest.fixture
def app(tmp_path, embedder):
    return create_app({"TESTING": True, "DATA_DIR": tmp_path / "data", "EMBEDDER": embedder})


def in_locale(app, lang: str):
    return app.test_request_context("/", headers={"Accept-Language": lang})


def test_sizes_and_numbers_follow_the_locale(app):
    with in_locale(app, "en"):
        assert formatting.filesize(512) == "512 bytes"
        assert formatting.filesize(9318) == "9.1 KB" and formatting.filesize(5 * 1024**4) == "5,120.0 GB"
        assert formatting.number(1234567) == "1,234,567" and formatting.score(0.98765) == "0.988"
    with in_locale(app, "ko"):
        assert formatting.filesize(512) == "512바이트" and formatting.filesize(3 * 1024**2) == "3.0 MB"
        assert formatting.number(1234567) == "1,234,567"


def test_dates_follow_the_locale_without_shifting_the_clock(app):
    epoch = datetime(2024, 5, 17, 14, 30).timestamp()  # local wall-clock time, as taken_at holds it
    with in_locale(app, "en"):
        assert formatting.date(epoch).replace("\u202f", " ") == "5/17/24, 2:30 PM"
    with in_locale(app, "ko"):
        assert formatting.date(epoch) == "24. 5. 17. 오후 2:30"


def test_markup_helpers_escape_what_they_wrap():
    assert formatting.example("<b>") == "<code>&lt;b&gt;</code>"
    assert formatting.link("/a?b=1&c=2", "<x>") == '<a href="/a?b=1&amp;c=2">&lt;x&gt;</a>'
    assert formatting.user_text("눈 <i>") == '<span class="user-text" dir="auto">눈 &lt;i&gt;</span>'
    assert formatting.foreign("Hund", "de") == '<span lang="de">Hund</span>'
