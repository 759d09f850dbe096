"""The web layer against an attacker (issue 13): redirects only on this site, host names only our own,
file names that are no header value, JSON and text no parser takes, the token on files, what a 413 says."""

import io
import json

import pytest

from tests.conftest import id_of
from tests.photos import image_bytes, solid

TOKEN = "s3cret-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def guarded(indexed, make_app):
    return make_app(ACCESS_TOKEN=TOKEN)


def sign_in(client, next_value: str):
    client.get("/login", query_string={"next": next_value})
    return client.post("/login", data={"token": TOKEN, "next": next_value})


# --- 5: the sign-in only ever redirects to a path of this site -------------------------------------
OFF_SITE = [
    "/\t/evil.example",  # the issue's /%09/evil.example: a browser drops the tab and reads //evil.example
    "/\n/evil.example",
    "/\r\n/evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "data:text/html,hi",
    " //evil.example",
    "\t//evil.example",
    "evil.example",
    "/\x00/evil.example",
    "\x7f//evil.example",
    "",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_never_redirects_off_site(guarded, target):
    response = sign_in(guarded.test_client(), target)
    assert response.status_code == 303 and response.headers["Location"] == "/", target


@pytest.mark.parametrize(
    "target", ["/search?q=red", "/search?q=red+car&page=2", "/similar/abc?q=%2F%2Fx", "/%2F%2Fevil.example", "/"]
)
def test_sign_in_redirects_to_paths_of_this_site(guarded, target):
    response = sign_in(guarded.test_client(), target)
    assert response.status_code == 303 and response.headers["Location"] == target


def test_the_issues_url_lands_home(guarded):
    client = guarded.test_client()
    page = client.get("/login?next=/%09/evil.example").get_data(as_text=True)
    assert "evil.example" in page  # the form carries it ...
    response = client.post("/login", data={"token": TOKEN, "next": "/\t/evil.example"})
    assert response.headers["Location"] == "/"  # ... the redirect does not


# --- 8: only our own host names (DNS rebinding) --------------------------------------------------
@pytest.mark.parametrize("host", ["localhost", "localhost:5000", "127.0.0.1:8080", "[::1]:5000", "[::1]", "LOCALHOST"])
def test_loopback_names_are_answered(client, host):
    assert client.get("/api/health", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:5000", "127.0.0.1.evil.example", "localhost.evil.example", "[::2]", "", "a b"],
)
def test_other_host_names_are_refused(client, host):
    response = client.get("/api/health", headers={"Host": host})
    assert response.status_code == 400 and "IMAGE_SEARCH_ALLOWED_HOSTS" in response.get_json()["error"]
    page = client.get("/", headers={"Host": host})
    assert page.status_code == 400 and "IMAGE_SEARCH_ALLOWED_HOSTS" in page.get_data(as_text=True)


def test_more_host_names_by_setting(make_app):
    client = make_app(ALLOWED_HOSTS="photos.example.org, .lan").test_client()
    for host in ("photos.example.org", "PHOTOS.example.org:443", "nas.lan", "a.b.lan"):
        assert client.get("/api/health", headers={"Host": host}).status_code == 200, host
    for host in ("localhost", "evil.example", "lan.evil.example", "xlan"):
        assert client.get("/api/health", headers={"Host": host}).status_code == 400, host
    anyone = make_app(ALLOWED_HOSTS=["*"]).test_client()
    assert anyone.get("/api/health", headers={"Host": "evil.example"}).status_code == 200


def test_a_rebound_name_is_refused_even_behind_the_token(guarded):
    response = guarded.test_client().get("/api/health", headers={"Host": "evil.example", **BEARER})
    assert response.status_code == 400


# --- 11: the Bearer token opens the files an API answer links to; they are cached privately ------
def test_the_api_answers_thumbnail_url_opens_with_the_same_bearer(guarded):
    client = guarded.test_client()
    hit = client.get("/api/search?q=red", headers=BEARER).get_json()["hits"][0]
    response = client.get(hit["thumbnail_url"], headers=BEARER)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert client.get(f"/original/{hit['id']}", headers=BEARER).status_code == 200
    wrong = client.get(hit["thumbnail_url"], headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get(hit["thumbnail_url"]).status_code == 302  # a browser without a session: the sign-in


def test_files_behind_the_token_are_never_public_in_caches(guarded, photo_dir):
    client = guarded.test_client()
    image_id = id_of(guarded, photo_dir / "red.jpg")
    for url in (f"/thumbnail/{image_id}", f"/original/{image_id}"):
        cache_control = client.get(url, headers=BEARER).headers["Cache-Control"]
        assert "private" in cache_control and "public" not in cache_control, url


def test_files_without_a_token_may_be_cached_anywhere(indexed, client, photo_dir):
    image_id = id_of(indexed, photo_dir / "red.jpg")
    assert "public" in client.get(f"/thumbnail/{image_id}").headers["Cache-Control"]


# --- 7a: a file name that can't be a header value ------------------------------------------------
@pytest.mark.parametrize("name", ["new\nline.png", "carriage\rreturn.png", "tab\there.png", "bell\x07.png", "ü ñ.png"])
def test_originals_with_any_file_name_are_served(indexed, client, tmp_path, name):
    folder = tmp_path / "odd names"
    folder.mkdir()
    data = image_bytes(solid((4, 5, 6)), "PNG")
    (folder / name).write_bytes(data)
    assert indexed.test_cli_runner().invoke(args=["index", str(folder)]).exit_code == 0
    response = client.get(f"/original/{id_of(indexed, folder / name)}")
    assert response.status_code == 200 and response.data == data
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("inline;") and not any(ord(c) < 32 for c in disposition)


# --- 7b: JSON and text no parser takes -----------------------------------------------------------
@pytest.mark.parametrize("depth", [2_000, 100_000])
def test_deeply_nested_json_is_400(client, depth):
    for body in ('{"texts": ' + "[" * depth + "]" * depth + "}", "[" * depth, "{" + '"a":{' * depth):
        response = client.post("/api/embed", data=body, content_type="application/json")
        assert response.status_code == 400 and "nested too deeply" in response.get_json()["error"]


@pytest.mark.parametrize("text", ["\ud800", "a dog \udfff", "\udcff"])
def test_a_lone_surrogate_is_400_wherever_text_goes(indexed, client, text):
    body = json.dumps({"texts": ["red", text]})  # json.dumps writes the lone surrogate as a \\u escape
    response = client.post("/api/embed", data=body, content_type="application/json")
    assert response.status_code == 400 and "not a character" in response.get_json()["error"]
    # Query strings and forms are decoded by werkzeug, which never yields a surrogate: they stay usable.
    assert client.get("/api/search", query_string={"q": "red %ED%A0%80"}).status_code == 200


def test_the_cli_refuses_a_lone_surrogate_in_one_line(indexed):
    result = indexed.test_cli_runner().invoke(args=["search", "a \udcff dog"])
    assert result.exit_code != 0 and "not a character" in result.output and "Traceback" not in result.output


# --- 14b: a 413 says what was too big ------------------------------------------------------------
def test_a_huge_text_field_is_413_saying_so(indexed, client):
    response = client.post(
        "/api/search",
        data={"q": "x" * 5_000_000, "image": (io.BytesIO(b"x"), "q.png")},
        content_type="multipart/form-data",
    )
    message = response.get_json()["error"]
    assert response.status_code == 413 and "text field" in message and "20 MB" not in message


def test_a_thousand_form_fields_is_413_saying_so(indexed, client):
    fields = {f"f{i}": "x" for i in range(1_000)}
    response = client.post("/search/image", data={**fields, "image": (io.BytesIO(b"x"), "q.png")})
    message = response.get_data(as_text=True)
    assert response.status_code == 413 and "1000 fields" in message and "20 MB" not in message


def test_an_upload_over_the_limit_still_names_the_limit(make_app):
    client = make_app(MAX_UPLOAD_MB=0.01).test_client()
    big = image_bytes(solid((1, 1, 1)), "PNG") + b"\0" * 20_000
    response = client.post(
        "/api/search", data={"image": (io.BytesIO(big), "q.png")}, content_type="multipart/form-data"
    )
    assert response.status_code == 413 and "at most 0.01 MB" in response.get_json()["error"]
