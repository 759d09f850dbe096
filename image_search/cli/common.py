"""What every command shares: the app's service, and failing with one line instead of a traceback."""
from __future__ import annotations

import sys
from typing import NoReturn

import click
from flask import current_app

from image_search.service.search_service import SearchService


def service() -> SearchService:
    return current_app.extensions["image_search"]


def fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)
