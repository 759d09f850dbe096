"""The documented production command: waitress on 127.0.0.1, serving pages and the API with the headers."""

import http.client
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("load_test", ROOT / "bench" / "load_test.py")
load_test = importlib.util.module_from_spec(spec)
spec.loader.exec_module(load_test)


@pytest.fixture
def server(tmp_path):
    process, port = load_test.start_server(tmp_path / "data", threads=2)
    yield port
    process.terminate()
    process.wait(timeout=10)


def get(port: int, url: str, method="GET", body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, url, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def test_waitress_serves_pages_and_api_on_loopback(server):
    status, headers, body = get(server, "/")
    assert status == 200 and headers["X-Frame-Options"] == "DENY"
    status, headers, body = get(server, "/api/search?q=red")
    assert status == 200 and headers["Content-Type"] == "application/json" and b'"hits":[]' in body
    data, content_type = load_test.multipart(b"not an image")
    status, _, body = get(server, "/api/search", "POST", data, {"Content-Type": content_type})
    assert status == 400 and b"not a usable image" in body
