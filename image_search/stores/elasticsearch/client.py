"""The Elasticsearch client from settings, and the one-line reasons of its errors (store and inference share them)."""
from __future__ import annotations

from collections.abc import Mapping

from elasticsearch import Elasticsearch

from image_search.errors import StoreError


def make_client(config: Mapping) -> tuple[Elasticsearch, str]:
    """An Elasticsearch client from config keys ES_URL, ES_API_KEY or ES_USERNAME/ES_PASSWORD, ES_CA_CERTS."""
    url = config.get("ES_URL")
    if not url:
        raise StoreError("The Elasticsearch store needs a server: set IMAGE_SEARCH_ES_URL, "
                         "e.g. http://localhost:9200")
    kwargs: dict = {"request_timeout": 30, "max_retries": 2, "retry_on_timeout": True}
    if config.get("ES_API_KEY"):
        kwargs["api_key"] = config["ES_API_KEY"]
    elif config.get("ES_USERNAME"):
        kwargs["basic_auth"] = (config["ES_USERNAME"], config.get("ES_PASSWORD") or "")
    if config.get("ES_CA_CERTS"):
        kwargs["ca_certs"] = config["ES_CA_CERTS"]
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

