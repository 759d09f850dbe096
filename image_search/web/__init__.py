"""Part 5, the application: server-rendered pages and the JSON API, one blueprint per module."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from image_search.web import api, collection, files, openapi, search, selection, upload

    for module in (search, upload, files, selection, collection, api, openapi):
        app.register_blueprint(module.bp)
