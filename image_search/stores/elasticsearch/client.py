"""The Elasticsearch client from settings, and the one-line reasons of its errors (store and inference share them)."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

from image_search.errors import StoreError
from image_search.stores.elasticsearch.options import ElasticsearchOptions


def node_urls(url: str) -> list[str]:
    """ES_URL's node URLs: one, or several separated by commas (nodes of one cluster)."""
    return [part.strip() for part in url.split(",") if part.strip()]


def make_client(options: ElasticsearchOptions) -> tuple[Elasticsearch, str]:
    """A client for options.url (one node, or several separated by commas: the client spreads requests over
    them and sends one again to another node when its node cannot be reached or answers 502/503/504), with
    an API key or a user and password, and a CA bundle when given."""
    url = options.url or ""
    urls = node_urls(url)
    if not urls:
        raise StoreError("The Elasticsearch store needs a server: set IMAGE_SEARCH_ES_URL, e.g. http://localhost:9200")
    # A retry goes to another node when there are several: with 3 nodes, one lost still leaves 2 tries.
    kwargs: dict[str, Any] = {"request_timeout": 30, "max_retries": max(2, len(urls)), "retry_on_timeout": True}
    if options.api_key:
        kwargs["api_key"] = options.api_key
    elif options.username:
        kwargs["basic_auth"] = (options.username, options.password or "")
    if options.ca_certs:
        kwargs["ca_certs"] = options.ca_certs
    try:
        return Elasticsearch(urls, **kwargs), url
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
