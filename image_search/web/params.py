"""Reading request parameters with clear messages; shared by the pages and the API."""
from __future__ import annotations

from flask import request

from image_search.errors import QueryError
from image_search.service.params import parse_filters, parse_view
from image_search.service.ranking import View
from image_search.stores import Filters
from image_search.web.current import settings


def int_param(name: str, default: int, low: int, high: int) -> int:
    raw = request.values.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(f"'{name}' must be a whole number, not {raw[:40]!r}.") from None
    if not low <= value <= high:
        raise QueryError(f"'{name}' must be between {low} and {high}.")
    return value


def k_param() -> int:
    return int_param("k", 20, 1, settings().max_k)


def page_param() -> int:
    last = max(1, settings().max_results // settings().page_size)
    return int_param("page", 1, 1, last)


def query_param() -> str:
    return request.values.get("q", "")


def filters_param() -> Filters:
    return parse_filters(request.values)


def view_param(show_all_default: bool = False) -> View:
    return parse_view(request.values, show_all_default)


def threshold_param() -> float | None:
    raw = request.values.get("threshold", "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.5 <= value <= 1.0:
        raise QueryError(f"'threshold' must be a cosine between 0.5 and 1, not {raw[:40]!r}.")
    return value


def uploaded_image() -> bytes:
    upload = request.files.get("image")
    if upload is None:
        raise QueryError("Send the image as a multipart file field named 'image'.")
    return upload.read()
