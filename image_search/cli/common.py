"""What every command shares: the app's service, and failing with one line instead of a traceback."""

from __future__ import annotations

import sys
from typing import NoReturn

import click
from flask import current_app

from image_search.service.search_service import SearchService
from image_search.settings import Settings


def service() -> SearchService:
    return current_app.extensions["image_search"]


def settings() -> Settings:
    return service().settings


def fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)
