"""The interface in Korean and English (image_search/web/i18n.py): the locale comes from `?lang=` (which sticks
in a cookie), then the cookie, then Accept-Language, else English; pages, error pages and JSON errors follow it."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import pytest

from image_search import create_app
from tests.catalogs import extracted_messages
from tests.conftest import id_of

KOREAN = {"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"}
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}
HANGUL = re.compile(r"[\uac00-\ud7a3]")


class VisibleText(HTMLParser):
    """What a reader sees or hears of a page: its text and the attributes a browser shows or reads out,
    without code samples (a query is typed the same in every language)."""

    SHOWN_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt"}

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("code", "script", "style"):
            self.skipping += 1
        for name, value in attrs:
            if value and (name in self.SHOWN_ATTRIBUTES or name.startswith("data-") and name != "data-csrf-token"):
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("code", "script", "style"):
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def visible_text(page: str) -> str:
    """Text marked as English on a Korean page (the indexer's recorded reasons, in its log's language) is
    declared, not left in: it is left out here."""
    parser = VisibleText()
    parser.feed(re.sub(r'<span lang="en">.*?</span>', " ", page, flags=re.S) if '<html lang="ko">' in page else page)
    return " ".join(" ".join(parser.parts).split())


def english_phrases() -> set[str]:
    """Runs of two or more English words from the interface's messages (placeholders, markup and code samples
    removed): none of them may show on a Korean page."""
    phrases = set()
    for msgid in extracted_messages():
        for text in [msgid] if isinstance(msgid, str) else msgid:
            text = re.sub(r"<code>.*?</code>|<[^>]+>|%\(\w+\)[sdr]|\{\w+\}|`[^`]*`", "\n", text)
            for phrase in re.split(r"[\n():;,.—“”…+≥?←→]", text):
                if len(re.findall(r"[A-Za-z]{2,}", phrase)) >= 2:
                    phrases.add(" ".join(phrase.split()))
    return phrases


@pytest.fixture
def site(tmp_path, photo_dir, embedder):
    app = create_app({"TESTING": True, "DATA_DIR": tmp_path / "data", "EMBEDDER": embedder, "WTF_CSRF_ENABLED": False})
    assert app.test_cli_runner().invoke(args=["index", str(photo_dir)]).exit_code == 0
    return app


def main_pages(app, photo_dir) -> list[str]:
    red = id_of(app, photo_dir / "red.jpg")
    return [
        "/",
        "/search?q=red",
        "/search?q=red&folder=/nowhere",  # the empty answer with filters
        "/search/image",
        f"/similar/{red}",
        f"/image/{red}",
        "/duplicates",
        "/health",
        "/image/no-such-id",  # the 404 page
        "/search?q=red&min_width=wide",  # a 400 page with a parameter's message
    ]


def test_a_browser_that_prefers_korean_sees_korean_on_every_main_page(site, photo_dir):
    client = site.test_client()
    phrases = english_phrases()
    for url in main_pages(site, photo_dir):
        response = client.get(url, headers=KOREAN)
        page = response.get_data(as_text=True)
        assert response.status_code in (200, 400, 404), url
        assert '<html lang="ko">' in page, url
        text = visible_text(page)
        assert HANGUL.search(text), url
        left = sorted(phrase for phrase in phrases if phrase in text)
        assert not left, f"{url} shows English on a Korean page: {left}"


def test_a_browser_that_prefers_english_sees_english(site, photo_dir):
    client = site.test_client()
    for url in main_pages(site, photo_dir):
        page = client.get(url, headers=ENGLISH).get_data(as_text=True)
        assert '<html lang="en">' in page, url
        # the only Hangul on an English page: the switch's own name for Korean, and words marked as Korean
        # (the home page's example query "눈 덮인 산")
        own = re.sub(r'<span lang="ko">[^<]*</span>', "", page)
        assert HANGUL.findall(visible_text(own).replace("한국어", "")) == [], url


def test_korean_texts_of_the_pages(site, photo_dir):
    client = site.test_client()
    assert "이미지로 검색" in client.get("/search/image", headers=KOREAN).get_data(as_text=True)
    page = client.get("/search?q=red", headers=KOREAN).get_data(as_text=True)
    assert "이미지 7개" in page and "필터" in page and "관련도순" in page
    page = client.get("/image/no-such-id", headers=KOREAN).get_data(as_text=True)
    assert "찾을 수 없습니다" in page and "검색으로 돌아가기" in page
    page = client.get("/search?q=red&min_width=wide", headers=KOREAN).get_data(as_text=True)
    beside = page.split('id="error-min_width">', 1)[1]
    assert "<title>오류: " in page and "픽셀 수(정수)여야 합니다" in beside
    page = client.get("/duplicates", headers=KOREAN).get_data(as_text=True)
    assert "거의 같은 이미지" in page and "최소 유사도" in page
    assert "이미지 검색" in client.get("/", headers=KOREAN).get_data(as_text=True)


def test_json_errors_follow_accept_language_with_the_same_keys(site):
    client = site.test_client()
    foreign_host = {"Host": "rebound.example"}
    korean = client.get("/api/search?q=red", headers={**KOREAN, **foreign_host})
    english = client.get("/api/search?q=red", headers={**ENGLISH, **foreign_host})
    assert korean.status_code == english.status_code == 400
    assert list(korean.get_json()) == list(english.get_json()) == ["error"]
    assert HANGUL.search(korean.get_json()["error"]) and not HANGUL.search(english.get_json()["error"])
    for url in ("/api/similar/no-such-id", "/api/search?q=red&min_width=wide", "/api/search?q=0:red", "/api/search"):
        korean, english = client.get(url, headers=KOREAN), client.get(url, headers=ENGLISH)
        assert korean.status_code == english.status_code and korean.status_code in (400, 404), url
        assert list(korean.get_json()) == list(english.get_json()) == ["error"], url
        assert HANGUL.search(korean.get_json()["error"]) and not HANGUL.search(english.get_json()["error"]), url
    for body in ({"texts": []}, {"texts": ["x"] * 100}, "not json"):
        korean = (
            client.post("/api/embed", json=body, headers=KOREAN)
            if body != "not json"
            else client.post("/api/embed", data="{", content_type="application/json", headers=KOREAN)
        )
        assert korean.status_code == 400 and HANGUL.search(korean.get_json()["error"]), body
    korean = client.post("/api/search", data={}, headers=KOREAN)
    assert korean.status_code == 400 and HANGUL.search(korean.get_json()["error"])


def test_no_preference_gets_english_and_a_bad_lang_is_ignored(site):
    client = site.test_client()
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in client.get("/", headers={"Accept-Language": "fr-FR,de;q=0.8"}).get_data(as_text=True)
    for bad in ("xx", "ko'><script>", "", "../../etc", "k" * 5000, "ko_KR\x00"):
        response = client.get("/", query_string={"lang": bad}, headers=KOREAN)
        assert response.status_code == 200 and '<html lang="ko">' in response.get_data(as_text=True), bad
        assert "lang=" not in response.headers.get("Set-Cookie", ""), bad
    response = client.get("/", headers={"Accept-Language": "ko;q=nonsense,,;;"})
    assert response.status_code == 200


def test_lang_overrides_accept_language_and_sticks_in_a_cookie(site):
    client = site.test_client()
    response = client.get("/?lang=ko", headers=ENGLISH)
    assert '<html lang="ko">' in response.get_data(as_text=True)
    assert "lang=ko" in response.headers["Set-Cookie"]
    # no ?lang now: the cookie wins over the browser's English
    assert '<html lang="ko">' in client.get("/health", headers=ENGLISH).get_data(as_text=True)
    assert HANGUL.search(client.get("/api/similar/nope", headers=ENGLISH).get_json()["error"])
    response = client.get("/health?lang=en", headers=KOREAN)
    assert '<html lang="en">' in response.get_data(as_text=True) and "lang=en" in response.headers["Set-Cookie"]
    assert '<html lang="en">' in client.get("/", headers=KOREAN).get_data(as_text=True)
    client.set_cookie("lang", "tlh")  # a cookie of no supported language: ignored
    assert '<html lang="ko">' in client.get("/", headers=KOREAN).get_data(as_text=True)


def test_every_page_has_the_switch_and_it_keeps_the_page(site, photo_dir):
    client = site.test_client()
    for url in main_pages(site, photo_dir):
        page = client.get(url, headers=KOREAN).get_data(as_text=True)
        switch = page.split('<nav class="languages"', 1)[1].split("</nav>", 1)[0]
        assert '<strong lang="ko" aria-current="true">한국어</strong>' in switch, url
        assert 'lang="en" hreflang="en"' in switch and "lang=en" in switch and ">English</a>" in switch, url
    page = client.get("/search?q=red&sort=date", headers=KOREAN).get_data(as_text=True)
    assert "/search?q=red&amp;sort=date&amp;lang=en" in page


def test_answers_vary_on_language_and_cookie(site):
    response = site.test_client().get("/", headers=KOREAN)
    assert {"Accept-Language", "Cookie"} <= set(response.vary)


def test_the_users_words_are_not_marked_as_the_pages_language(site):
    client = site.test_client()
    page = client.get("/search", query_string={"q": "눈 덮인 산"}, headers=ENGLISH).get_data(as_text=True)
    box = re.search(r'<input type="search"[^>]*>', page).group(0)
    assert 'value="눈 덮인 산"' in box and 'dir="auto"' in box and "lang=" not in box
    heading = re.search(r"<h1>.*?</h1>", page, re.S).group(0)
    assert '<span class="user-text" dir="auto">눈 덮인 산</span>' in heading and "lang=" not in heading


def test_the_cli_stays_english(site, photo_dir):
    result = site.test_cli_runner().invoke(args=["search", "red", "--folder", "relative/path"])
    assert result.exit_code != 0 and "absolute" in result.output and not HANGUL.search(result.output)


def test_werkzeugs_own_errors_and_the_upload_form_speak_korean(site):
    client = site.test_client()
    for response in (
        client.get("/no/such/page", headers=KOREAN),
        client.delete("/search/image", headers=KOREAN),
        client.post("/search/image", data={}, headers=KOREAN),  # no file: the form's validation message
        client.get("/duplicates/export?keep-nogroup=abc", headers=KOREAN),  # a service message
        client.post("/search/image", data={"image": (io.BytesIO(b"not a picture"), "x.png")}, headers=KOREAN),
    ):
        page = response.get_data(as_text=True)
        assert response.status_code in (400, 404, 405) and '<html lang="ko">' in page
        # an error page's message, or the upload page's beside its field
        message = re.search(r'class="error[^"]*"[^>]*>(.*?)</(?:p|span)>', page, re.S).group(1)
        assert HANGUL.search(message) and not re.search(r"\b(the|a|an|is|not)\b", message), message
    english = client.get("/no/such/page", headers=ENGLISH).get_data(as_text=True)
    assert "There is no page at this address" in english


def test_the_sign_in_page_in_korean(tmp_path, embedder):
    app = create_app(
        {"TESTING": True, "DATA_DIR": tmp_path / "data", "EMBEDDER": embedder, "ACCESS_TOKEN": "s3cret-token"}
    )
    client = app.test_client()
    page = client.get("/login", headers=KOREAN).get_data(as_text=True)
    assert '<html lang="ko">' in page and "로그인" in page and 'aria-label="액세스 토큰"' in page
    assert not [phrase for phrase in english_phrases() if phrase in visible_text(page)]
    body = client.get("/api/health", headers=KOREAN).get_json()
    assert "Authorization: Bearer" in body["error"] and HANGUL.search(body["error"])
