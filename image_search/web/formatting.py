"""Jinja filters and helpers: sizes, dates and numbers in the page's locale (Flask-Babel), and the bits of
markup that translated sentences hold (code samples, links), built here so that they are escaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask import Flask
from flask_babel import format_datetime, format_decimal, format_number, format_percent, get_locale, gettext
from markupsafe import Markup

from image_search.embedders.base import Concept

SIZE_UNITS = ("KB", "MB", "GB")


def filesize(n: float) -> str:
    if n < 1024:
        return gettext("%(count)s bytes", count=format_number(int(n)))
    for unit in SIZE_UNITS:
        n /= 1024
        if n < 1024 or unit == SIZE_UNITS[-1]:
            break
    return f"{format_decimal(n, '#,##0.0')} {unit}"


def date(epoch: float) -> str:
    # Local wall-clock time, as taken_at holds it (EXIF times have no zone): naive, so Babel does not shift it.
    return format_datetime(datetime.fromtimestamp(epoch), "short")


def number(value: float) -> str:
    return format_number(value) if isinstance(value, int) else format_decimal(value)


def score(value: float) -> str:
    return format_decimal(value, "0.000")


def seen(concepts: Sequence[Concept]) -> Markup:
    """What the model saw, "tabby 62%, tiger cat 21%" (say): a name in another language than the page's (a class
    with no name in it) is marked as such."""
    page = get_locale()
    page_lang = page.language if page else "en"
    return Markup(", ").join(
        Markup("{} {}").format(foreign(c.name, c.lang) if c.lang != page_lang else c.name, format_percent(c.share))
        for c in concepts
    )


def example(text: str) -> Markup:
    return Markup("<code>{}</code>").format(text)


def strong(text: str) -> Markup:
    return Markup("<strong>{}</strong>").format(text)


def link(url: str, text: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(url, text)


def foreign(text: str, lang: str) -> Markup:
    """Words in another language than the page's, marked as such."""
    return Markup('<span lang="{}">{}</span>').format(lang, text)


def user_text(text: str) -> Markup:
    """The user's own words (a query, a file name): their language is unknown, so the direction comes from
    the text and no lang is claimed for them."""
    return Markup('<span class="user-text" dir="auto">{}</span>').format(text)


def register(app: Flask) -> None:
    for jinja_filter in (filesize, date, number, score, seen):
        app.add_template_filter(jinja_filter)
    for helper in (example, strong, link, foreign, user_text):
        app.add_template_global(helper)
