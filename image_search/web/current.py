"""The app's service, for the views."""
from __future__ import annotations

from flask import current_app

from image_search.service.search_service import SearchService


def service() -> SearchService:
    return current_app.extensions["image_search"]
