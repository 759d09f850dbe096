"""Security headers, in-memory uploads, files only from indexed roots, CSRF, no tracebacks, access token."""

import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from image_search import create_app
from tests.conftest import id_of
from tests.photos import image_bytes, solid

ROOT = Path(__file__).resolve().parent.parent


def test_every_response_carries_the_security_headers(indexed, client, photo_dir):
    urls = [
        "/",
        "/search?q=red",
        "/api/search?q=red",
        "/api/search",
        "/nowhere",
        "/static/style.css",
        f"/original/{id_of(indexed, photo_dir / 'red.jpg')}",
        "/api/openapi.json",
    ]
    for url in urls:
        headers = client.get(url).headers
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp


def test_templates_have_no_inline_script_or_style():
    for template in (ROOT / "templates").glob("*.html"):
        text = template.read_text()
        assert "<script>" not in text and " style=" not in text and " on" + "click=" not in text, template


def test_originals_are_served_with_the_type_of_their_content(indexed, client, tmp_path):
    folder = tmp_path / "mislabelled"
    folder.mkdir()
    (folder / "really-a-png.jpg").write_bytes(image_bytes(solid((1, 2, 3)), "PNG"))
    indexed.test_cli_runner().invoke(args=["index", str(folder)])
    response = client.get(f"/original/{id_of(indexed, folder / 'really-a-png.jpg')}")
    assert response.status_code == 200 and response.mimetype == "image/png"


def test_a_file_that_left_its_root_is_not_served(indexed, client, photo_dir, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(image_bytes(solid((7, 7, 7))))
    red_id = id_of(indexed, photo_dir / "red.jpg")
    (photo_dir / "red.jpg").unlink()
    (photo_dir / "red.jpg").symlink_to(secret)  # same indexed path, now pointing outside the root
    assert client.get(f"/original/{red_id}").status_code == 404
    assert client.get(f"/thumbnail/{red_id}").status_code == 404


def test_large_uploads_stay_in_memory(indexed, client, monkeypatch, tmp_path):
    # Noise does not compress: well over werkzeug's 500 KB spooling threshold.
    noise = np.random.default_rng(0).integers(0, 255, (600, 600, 3), dtype=np.uint8)
    data = image_bytes(Image.fromarray(noise), "PNG")
    assert len(data) > 800_000

    def no_temp_files(*args, **kwargs):
        raise AssertionError("an upload was about to be written to a temporary file")

    for name in ("TemporaryFile", "NamedTemporaryFile", "SpooledTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, no_temp_files)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # a private /tmp, to watch alone
    watched = [indexed.config["DATA_DIR"], tmp_path / "tmp"]
    before = [set(p.rglob("*")) for p in watched]
    for url in ("/api/search", "/api/embed", "/search/image"):
        response = client.post(url, data={"image": (io.BytesIO(data), "big.png")}, content_type="multipart/form-data")
        assert response.status_code in (200, 303), response.get_data(as_text=True)[:200]
    after = [set(p.rglob("*")) for p in watched]
    assert after == before


def test_errors_show_no_traceback_and_debug_is_off(tmp_path, embedder):
    app = create_app({"TESTING": True, "DATA_DIR": tmp_path, "EMBEDDER": embedder})

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500 and "Traceback" not in body and "secret internals" not in body
    assert not app.debug and response.headers["X-Frame-Options"] == "DENY"


def test_every_form_post_needs_a_csrf_token(tmp_path, embedder):
    app = create_app({"TESTING": True, "DATA_DIR": tmp_path, "EMBEDDER": embedder})
    client = app.test_client()
    posts = [r.rule for r in app.url_map.iter_rules() if "POST" in r.methods and not r.rule.startswith("/api/")]
    assert posts
    for rule in posts:
        response = client.post(rule, data={"token": "x"})
        assert response.status_code == 400 and "reload the page" in response.get_data(as_text=True), rule


def test_the_server_binds_loopback_by_default():
    makefile = (ROOT / "Makefile").read_text()
    assert "run --host 127.0.0.1" in makefile and "--host 0.0.0.0" not in makefile


# --- the access token ---------------------------------------------------------------------------
@pytest.fixture
def guarded(indexed, make_app):
    return make_app(ACCESS_TOKEN="s3cret-token")


def test_api_needs_the_bearer_token(guarded):
    client = guarded.test_client()
    response = client.get("/api/search?q=red")
    assert response.status_code == 401 and "Bearer" in response.get_json()["error"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/search?q=red", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/search?q=red", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200


def test_pages_need_a_login(guarded):
    client = guarded.test_client()
    response = client.get("/search?q=red")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/static/style.css").status_code == 200
    assert client.post("/login", data={"token": "wrong", "next": "/search?q=red"}).status_code == 401
    response = client.post("/login", data={"token": "s3cret-token", "next": "/search?q=red"})
    assert response.status_code == 303 and response.headers["Location"] == "/search?q=red"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/search?q=red").status_code == 200
    assert "s3cret-token" not in (client.get_cookie("session").value or "")


def test_login_never_redirects_off_site(guarded):
    response = guarded.test_client().post("/login", data={"token": "s3cret-token", "next": "//evil.example/"})
    assert response.headers["Location"] == "/"


def test_login_form_needs_csrf(tmp_path, embedder):
    app = create_app({"TESTING": True, "DATA_DIR": tmp_path, "EMBEDDER": embedder, "ACCESS_TOKEN": "t"})
    assert app.test_client().post("/login", data={"token": "t"}).status_code == 400
