"""Part 5, the application: server-rendered pages and the JSON API, one blueprint per module."""
from flask import Flask, current_app

from ..services import SearchService


def service() -> SearchService:
    return current_app.extensions["image_search"]


def register_blueprints(app: Flask) -> None:
    from . import api, collection, files, openapi, search, upload

    for module in (search, upload, files, collection, api, openapi):
        app.register_blueprint(module.bp)
