"""`flask search`: the search experience from a terminal."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from image_search.cli.common import fail, service, settings
from image_search.errors import UserError
from image_search.paths import is_text, printable_path
from image_search.service.options import SearchOptions
from image_search.service.params import parse_filters, parse_view
from image_search.user_files import read_regular


@click.command("search")
@click.argument("query", required=False, default="")
@click.option(
    "--image",
    "image",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An image file as (one more part of) the query.",
)
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
    # (the query's own check, clean_query, says it for QUERY)
    texts = {"--folder": folder, "--from": date_from, "--to": date_to, "--type": types}
    texts |= {"--min-width": min_width, "--min-height": min_height}
    for name, value in texts.items():
        if value and not is_text(value):  # bytes the terminal's encoding could not decode
            fail(f"{name} is not valid UTF-8 text: {printable_path(value)}")
    try:
        filters = parse_filters(
            {
                "folder": folder,
                "from": date_from,
                "to": date_to,
                "type": types,
                "min_width": min_width,
                "min_height": min_height,
            }
        )
        options = SearchOptions(k, filters, parse_view({"sort": sort, "all": "0" if cut else "1"}))
        vector = service().image_query(read_regular(image, settings().max_upload_bytes)) if image is not None else None
        result = service().search(query, options, image=vector)
    except UserError as exc:
        fail(str(exc))
    except OSError as exc:  # the --image file vanished or is unreadable
        fail(f"cannot read {printable_path(str(image))}: {exc.strerror or exc}")
    for hit in result.hits:
        click.echo(f"{hit.score:.4f}  {hit.record.path}")
    hidden = f", {result.hidden} hidden after the largest drop" if result.hidden else ""
    click.echo(f"{len(result.hits)} hits in {result.took_ms} ms{hidden}", err=True)
