"""Reading request parameters with clear messages; shared by the pages and the API."""

from __future__ import annotations

from flask import request
from flask_babel import gettext

from image_search.errors import QueryError
from image_search.service.params import FILTER_NAMES, parse_filters, parse_view
from image_search.service.ranking import View
from image_search.stores import Filters
from image_search.web.current import settings

MIN_THRESHOLD, MAX_THRESHOLD = 0.5, 1.0  # duplicates: below 0.5 a cosine says little about sameness


def int_param(name: str, default: int, low: int, high: int) -> int:
    raw = request.values.get(name, "").strip()
    return parse_int(name, raw, low, high) if raw else default


def parse_int(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(
            gettext("'%(name)s' must be a whole number, not %(given)r.", name=name, given=raw[:40]), name
        ) from None
    if not low <= value <= high:
        raise QueryError(
            gettext("'%(name)s' must be between %(low)s and %(high)s.", name=name, low=low, high=high), name
        )
    return value


def page_param() -> int:
    last = max(1, settings().max_results // settings().page_size)
    return int_param("page", 1, 1, last)


def query_param() -> str:
    return request.values.get("q", "")


def filters_param() -> Filters:
    return parse_filters({name: request.values.get(name, "") for name in FILTER_NAMES} | {"type": types_param()})


def types_param() -> str:
    """`type`: the type picker's checkboxes send it once per type (type=jpeg&type=png), a URL may list them
    (type=jpeg,png); both are read."""
    return ",".join(request.values.getlist("type"))


def view_param(show_all_default: bool = False) -> View:
    return parse_view(request.values, show_all_default)


def square_param() -> bool:
    """?crop=square: square tiles instead of justified rows that keep each image's shape."""
    raw = request.values.get("crop", "").strip()
    if raw not in ("", "square"):
        raise QueryError(gettext("'crop' must be 'square' or left out, not %(given)r.", given=raw[:40]), "crop")
    return raw == "square"


def threshold_param() -> float | None:
    raw = request.values.get("threshold", "").strip()
    return parse_threshold(raw) if raw else None


def parse_threshold(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not MIN_THRESHOLD <= value <= MAX_THRESHOLD:
        raise QueryError(
            gettext(
                "'threshold' must be a cosine between %(low)s and %(high)s, not %(given)r.",
                low=f"{MIN_THRESHOLD:g}",
                high=f"{MAX_THRESHOLD:g}",
                given=raw[:40],
            )
        )
    return value
