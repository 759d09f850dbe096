"""`flask search` and `flask duplicates`: the search experience from a terminal."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from .cli import fail
from .embedders import ModelUnavailable
from .inference import QueryError
from .search_params import parse_filters, parse_view
from .services import NotFound
from .stores import StoreError


def _service():
    return current_app.extensions["image_search"]


@click.command("search")
@click.argument("query", required=False, default="")
@click.option("--image", "image", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An image file as (one more part of) the query.")
@click.option("-k", type=click.IntRange(1, 10_000), default=20, show_default=True, help="How many hits.")
@click.option("--folder", help="Only images under this absolute folder path.")
@click.option("--from", "date_from", metavar="YYYY-MM-DD", help="Taken on or after this day.")
@click.option("--to", "date_to", metavar="YYYY-MM-DD", help="Taken on or before this day.")
@click.option("--type", "types", metavar="TYPES", help="File types, e.g. jpeg,png.")
@click.option("--min-width", help="Minimum width in pixels.")
@click.option("--min-height", help="Minimum height in pixels.")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True)
@click.option("--cut", is_flag=True, help="Hide the tail after the largest score drop, as the pages do.")
@with_appcontext
def search_command(query, image, k, folder, date_from, date_to, types, min_width, min_height, sort, cut):
    """Search the index: QUERY uses the combined grammar, e.g. 'beach sunset -people' or '2:dog + cat'."""
    if not query and image is None:
        raise click.UsageError("Give a QUERY, an --image, or both.")
    try:
        filters = parse_filters({"folder": folder, "from": date_from, "to": date_to, "type": types,
                                 "min_width": min_width, "min_height": min_height})
        args = {"k": k, "filters": filters, "view": parse_view({"sort": sort, "all": "0" if cut else "1"})}
        if image is not None:
            result, _ = _service().search_image(image.read_bytes(), text=query, **args)
        else:
            result = _service().search(query, **args)
    except (QueryError, NotFound, ModelUnavailable, StoreError) as exc:
        fail(str(exc))
    for hit in result.hits:
        click.echo(f"{hit.score:.4f}  {hit.record.path}")
    hidden = f", {result.hidden} hidden after the largest drop" if result.hidden else ""
    click.echo(f"{len(result.hits)} hits in {result.took_ms} ms{hidden}", err=True)


@click.command("duplicates")
@click.option("--threshold", type=click.FloatRange(0.5, 1.0), default=None,
              help="Cosine at or above which images count as near-duplicates (default DUPLICATE_THRESHOLD).")
@with_appcontext
def duplicates_command(threshold):
    """List groups of near-duplicate images (from the stored vectors), with sizes and dimensions."""
    try:
        groups = _service().duplicates(threshold)
    except (ModelUnavailable, StoreError) as exc:
        fail(str(exc))
    for n, group in enumerate(groups, 1):
        click.echo(f"group {n}: {len(group.records)} images, similarity >= {group.similarity:.3f}")
        for r in group.records:
            click.echo(f"  {r.path}  {r.size} bytes  {r.width}x{r.height}  {r.format}")
    click.echo(f"{len(groups)} groups", err=True)
