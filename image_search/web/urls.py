"""This page's URL with some query parameters changed: the pager, the show-all links, the language switch."""

from __future__ import annotations

from typing import Any

from flask import request, url_for

URL_FOR_OPTIONS = ("endpoint", "values")  # url_for's own parameters (besides those starting with "_")


def page_url(endpoint: str | None, view_args: dict[str, Any] | None, args: dict[str, Any], changes: dict) -> str:
    """url_for of a page with its query `args` changed. A query key that names a path part (`?image_id=`) or
    one of url_for's own options (`?_external=`) is not passed on: url_for would fail on it (a 500)."""
    path_args = view_args or {}
    query = {
        k: v
        for k, v in {**args, **changes}.items()
        if v is not None and k not in path_args and not k.startswith("_") and k not in URL_FOR_OPTIONS
    }
    return url_for(endpoint or "search.index", **path_args, **query)


def request_args(leave_out: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """This request's query parameters for links built from them: every value of a repeated one
    (type=jpeg&type=png), empty ones dropped (a GET form without JavaScript sends folder=&from=: the
    links the server builds never carry them on)."""
    return {
        name: kept
        for name, values in request.args.lists()
        if name not in leave_out and (kept := [v for v in values if v != ""])
    }
