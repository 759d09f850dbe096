"""Filter and view parameters from strings (URL query or CLI options), with clear messages."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from flask_babel import gettext
from PIL import Image

from image_search import images  # noqa: F401  (registers the HEIF opener before Image.OPEN is read)
from image_search.errors import QueryError
from image_search.service.ranking import SORTS, View
from image_search.stores import Filters

FILTER_NAMES = ("folder", "from", "to", "type", "min_width", "min_height")
TYPE_ALIASES = {"JPG": "JPEG", "TIF": "TIFF", "HEIC": "HEIF"}
# Phones save JPEGs with a multi-picture extension that Pillow names MPO: to people they are JPEGs.
SAME_TYPE = {"JPEG": ("JPEG", "MPO")}
MAX_SIDE = 1_000_000


def known_formats() -> set[str]:
    Image.init()
    return set(Image.OPEN)


def parse_filters(values: Mapping[str, str]) -> Filters:
    """Filters from `folder`, `from`, `to` (YYYY-MM-DD, both inclusive), `type`, `min_width`, `min_height`."""
    get = lambda name: (values.get(name) or "").strip()  # noqa: E731
    folder = get("folder")
    if folder and not os.path.isabs(folder):
        raise QueryError(
            gettext(
                "'folder' must be an absolute folder path, like /home/me/Pictures, not %(given)r.", given=folder[:80]
            ),
            "folder",
        )
    date_from, date_to = _date(get("from"), "from"), _date(get("to"), "to")
    if date_from and date_to and date_from > date_to:
        raise QueryError(gettext("'from' must be on or before 'to'."), "to")
    return Filters(
        folder=os.path.normpath(folder) if folder else None,
        date_from=date_from.timestamp() if date_from else None,
        # `to` is inclusive: the filter's end is exclusive, so it is the next midnight.
        date_to=(date_to + timedelta(days=1)).timestamp() if date_to else None,
        formats=_formats(get("type")),
        min_width=_side(get("min_width"), "min_width"),
        min_height=_side(get("min_height"), "min_height"),
    )


def _date(raw: str, name: str) -> datetime | None:
    if not raw:
        return None
    try:
        day = datetime.strptime(raw, "%Y-%m-%d")  # local midnight, like EXIF times in taken_at
    except ValueError:
        raise QueryError(
            gettext("'%(name)s' must be a date as YYYY-MM-DD, not %(given)r.", name=name, given=raw[:40]), name
        ) from None
    # Epoch conversion fails at datetime's edges (year 1, year 9999 + a day): no photo is that old.
    if not 1800 <= day.year <= 9000:
        raise QueryError(
            gettext("'%(name)s' must be a year between 1800 and 9000, not %(year)s.", name=name, year=day.year),
            name,
        )
    return day


def type_names(raw: str) -> list[str]:
    """The file types a `type=` value names, in upper case with aliases resolved (jpg: JPEG), known or not."""
    return list(dict.fromkeys(TYPE_ALIASES.get(t.upper(), t.upper()) for t in raw.replace(" ", ",").split(",") if t))


def type_of(pillow_format: str) -> str:
    """The type a file of this Pillow format is filtered as: an MPO is a JPEG to people."""
    return next((name for name, same in SAME_TYPE.items() if pillow_format in same), pillow_format)


def _formats(raw: str) -> tuple[str, ...]:
    names = type_names(raw)
    unknown = [n for n in names if n not in known_formats()]
    if unknown:
        raise QueryError(
            gettext(
                "Unknown file type %(given)r: use e.g. jpeg, png, webp, gif, tiff, bmp (several separated by commas).",
                given=unknown[0].lower(),
            ),
            "type",
        )
    return tuple(dict.fromkeys(f for n in names for f in SAME_TYPE.get(n, (n,))))


def _side(raw: str, name: str) -> int:
    if not raw:
        return 0
    # ASCII digits only: str.isdigit() also takes '²', which int() then refuses (a 500 before)
    if not re.fullmatch(r"[0-9]+", raw) or int(raw) > MAX_SIDE:
        raise QueryError(
            gettext(
                "'%(name)s' must be a whole number of pixels from 0 to %(most)s, not %(given)r.",
                name=name,
                most=MAX_SIDE,
                given=raw[:40],
            ),
            name,
        )
    return int(raw)


def parse_view(values: Mapping[str, str], show_all_default: bool = False) -> View:
    sort = (values.get("sort") or "relevance").strip()
    if sort not in SORTS:
        raise QueryError(
            gettext("'sort' must be one of %(choices)s, not %(given)r.", choices=", ".join(SORTS), given=sort[:40]),
            "sort",
        )
    raw = (values.get("all") or "").strip().lower()
    if raw not in ("", "0", "1", "true", "false"):
        raise QueryError(gettext("'all' must be 1 or 0, not %(given)r.", given=raw[:40]), "all")
    return View(sort=sort, show_all=show_all_default if not raw else raw in ("1", "true"))
