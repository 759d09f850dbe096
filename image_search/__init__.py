"""image_search: find pictures in your own collections by words or by an example picture."""

from __future__ import annotations

import logging
from pathlib import Path

import click
from flask import Flask
from flask_wtf.csrf import CSRFProtect

from image_search.config import load_config
from image_search.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parent.parent
csrf = CSRFProtect()


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    try:
        settings = load_config(app, test_config)
    except SettingsError as exc:
        # A click error: Flask's CLI prints it as one line ("Error: ..."), where any other is a traceback.
        raise click.UsageError(str(exc)) from None
    configure_logging(app)
    register_services(app, settings)
    register_extensions(app)
    register_security(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_template_helpers(app)
    return app


def configure_logging(app: Flask) -> None:
    """Our own INFO lines (which model, which store); libraries only when they warn."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("image_search").setLevel(logging.INFO)


def register_services(app: Flask, settings: Settings) -> None:
    from image_search.embedders import make_embedder
    from image_search.service.search_service import SearchService
    from image_search.threads import limit_threads

    def load_embedder(threads: int):
        """threads: WEB_THREADS for the web role, INDEX_THREADS for `flask index` (see threads.py)."""
        limit_threads(threads)
        return make_embedder(settings, threads)

    app.extensions["image_search"] = SearchService(settings, load_embedder)


def register_extensions(app: Flask) -> None:
    from image_search.web import i18n

    csrf.init_app(app)
    i18n.init_app(app)


def register_security(app: Flask) -> None:
    from image_search.web import security

    security.init_app(app)


def register_blueprints(app: Flask) -> None:
    from image_search.web import api, openapi
    from image_search.web import register_blueprints as register_web

    register_web(app)
    openapi.document(app, api.bp)  # flask-smorest: the API's OpenAPI document, from its schemas
    csrf.exempt(api.bp)  # the API is for scripts: no browser session, so no CSRF token to carry


def register_errorhandlers(app: Flask) -> None:
    from image_search.web.errors import register_errorhandlers as register

    register(app)


def register_commands(app: Flask) -> None:
    from image_search.cli import init_app

    init_app(app)


def register_template_helpers(app: Flask) -> None:
    from image_search.web.formatting import register

    register(app)
