"""Part 5 from a terminal: the `flask` commands, one module per concern."""

from __future__ import annotations

from flask import Flask

from image_search.cli.collection import duplicates_command, stats_command
from image_search.cli.eval import eval_command
from image_search.cli.index import index_command
from image_search.cli.search import search_command


def init_app(app: Flask) -> None:
    for command in (index_command, stats_command, search_command, duplicates_command, eval_command):
        app.cli.add_command(command)
