"""Elasticsearch errors at the edges: reasons of errors whose body is not Elasticsearch's JSON, and an index
deleted by another process right after this one created it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError
from elasticsearch import ConnectionError as EsConnectionError

from image_search.errors import StoreError
from image_search.stores.elasticsearch.client import error_reason
from image_search.stores.elasticsearch.options import ElasticsearchOptions
from image_search.stores.elasticsearch.store import ElasticsearchStore
from tests.doubles.fake_elasticsearch import FakeElasticsearch


def meta(status: int) -> ApiResponseMeta:
    return ApiResponseMeta(status, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "127.0.0.1", 9200))


def test_reason_from_an_elasticsearch_error_body():
    body = {"error": {"type": "index_not_found_exception", "reason": "no such index [photos]"}, "status": 404}
    assert error_reason(ApiError("not found", meta(404), body)) == "no such index [photos]"
    assert error_reason(ApiError("x", meta(400), {"error": {"type": "parse_exception"}})) == "parse_exception"


def test_reason_without_a_json_error_body_is_the_message_on_one_line():
    # a proxy in front of the cluster answers with HTML; a connection error has no body at all
    assert error_reason(ApiError("Bad  Gateway\nfrom proxy", meta(502), "<html>502</html>")) == "Bad Gateway from proxy"
    assert error_reason(EsConnectionError("connection\n refused")) == "connection refused"


class ProxyError(BaseHTTPRequestHandler):
    """What a reverse proxy says when the cluster behind it is down: 502 with an HTML page."""

    def do_GET(self):
        page = b"<html><body>502 Bad Gateway</body></html>"
        self.send_response(502)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args):  # quiet
        pass


def test_a_proxy_error_page_is_a_one_line_store_error():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ProxyError)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(StoreError) as raised:
            ElasticsearchStore.from_options(ElasticsearchOptions(url=f"http://127.0.0.1:{server.server_port}"))
    finally:
        server.shutdown()
        server.server_close()
    assert "(502)" in str(raised.value) and "\n" not in str(raised.value)


def test_an_index_deleted_right_after_its_creation_is_a_store_error(monkeypatch):
    with FakeElasticsearch() as fake:
        store = ElasticsearchStore.from_options(ElasticsearchOptions(url=fake.url))
        create = store._create_index

        def create_then_lose_it(*args):
            create(*args)
            ElasticsearchStore.from_options(ElasticsearchOptions(url=fake.url)).clear()  # another process's --rebuild

        monkeypatch.setattr(store, "_create_index", create_then_lose_it)
        with pytest.raises(StoreError, match="deleted right after it was created"):
            store.claim("model-a", 4)
        monkeypatch.undo()
        store.claim("model-a", 4)  # trying again works
        assert store.model_id == "model-a"
