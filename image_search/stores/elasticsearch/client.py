"""The Elasticsearch client from settings, and the one-line reasons of its errors (store and inference share them)."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

from image_search.errors import StoreError
from image_search.stores.elasticsearch.options import ElasticsearchOptions


def make_client(options: ElasticsearchOptions) -> tuple[Elasticsearch, str]:
    """A client for options.url, with an API key or a user and password, and a CA bundle when given."""
    url = options.url
    if not url:
        raise StoreError("The Elasticsearch store needs a server: set IMAGE_SEARCH_ES_URL, e.g. http://localhost:9200")
    kwargs: dict[str, Any] = {"request_timeout": 30, "max_retries": 2, "retry_on_timeout": True}
    if options.api_key:
        kwargs["api_key"] = options.api_key
    elif options.username:
        kwargs["basic_auth"] = (options.username, options.password or "")
    if options.ca_certs:
        kwargs["ca_certs"] = options.ca_certs
    try:
        return Elasticsearch(url, **kwargs), url
    except ValueError as e:  # malformed URL
        raise StoreError(f"Invalid IMAGE_SEARCH_ES_URL {url!r}: {e}") from None


def error_reason(error) -> str:
    """The one-line reason of a client exception (the server's error reason when it sent one)."""
    body = getattr(error, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"].get("reason") or body["error"].get("type", "")
    return one_line(getattr(error, "message", error))


def one_line(text: str) -> str:
    return " ".join(str(text).split())
