"""The interface's language: Korean or English, by `?lang=`, then the switch's cookie, then Accept-Language.

Flask-Babel does the translating and the locale formats; this module only chooses the locale and remembers
a `?lang=` choice (the switch on every page is a pair of `?lang=` links) in a cookie.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, has_request_context, request
from flask_babel import Babel, get_locale

from image_search.web.urls import page_url, request_args

LOCALES = ("en", "ko")  # the first is the default: what a browser that prefers neither gets
NAMES = {"en": "English", "ko": "한국어"}  # each in its own language, as a switch shows them
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
# The catalogs: translations/ko/LC_MESSAGES/messages.po in the repository, its .mo built by `make install`.
TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"


def chosen(value: str | None) -> str | None:
    """A supported locale, or None for anything else (a bad `lang` is ignored, never an error)."""
    value = (value or "").strip().lower()
    return value if value in LOCALES else None


def select_locale() -> str | None:
    if not has_request_context():  # the CLI, and app-context work outside a request: the default, English
        return None
    return (
        chosen(request.args.get("lang"))
        or chosen(request.cookies.get(COOKIE))
        or request.accept_languages.best_match(LOCALES)
    )


def remember_choice(response: Response) -> Response:
    """A valid `?lang=` sticks: the cookie keeps it for the next pages. Every answer depends on both headers."""
    given = chosen(request.args.get("lang"))
    if given and request.cookies.get(COOKIE) != given:
        response.set_cookie(COOKIE, given, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True)
    response.vary.update(("Accept-Language", "Cookie"))
    return response


def locale_code() -> str:
    return str(get_locale() or LOCALES[0])


def language_links() -> list[dict[str, str | bool]]:
    """The switch: this page's URL with `lang=` set to each locale (a GET link, so it works without script)."""
    here = locale_code()
    return [
        {
            "code": code,
            "name": NAMES[code],
            "url": page_url(request.endpoint, request.view_args, request_args(), {"lang": code}),
            "current": code == here,
        }
        for code in LOCALES
    ]


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=select_locale)
    app.after_request(remember_choice)
    app.context_processor(lambda: {"locale_code": locale_code, "language_links": language_links})
