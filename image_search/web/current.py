"""The app's service and settings, for the views."""

from __future__ import annotations

from flask import current_app

from image_search.service.search_service import SearchService
from image_search.settings import Settings


def service() -> SearchService:
    return current_app.extensions["image_search"]


def settings() -> Settings:
    return service().settings
