"""`flask eval FOLDER`: retrieval quality of the active model on a captioned or labelled folder."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from image_search.cli.common import fail, service
from image_search.embedders.evaluation import evaluate, format_table
from image_search.errors import UserError


@click.command("eval")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--lang", default=None, help="Use the captions' 'LANG.utf8=' lines (e.g. de, fr, ko) as queries.")
@click.option(
    "--label",
    type=click.Choice(["top", "parent"]),
    default="top",
    help="Image->image label: the top-level folder under FOLDER, or the parent folder.",
)
@click.option("--k", "extra_k", type=int, default=10, show_default=True, help="An extra cutoff for recall/precision.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@with_appcontext
def eval_command(folder: Path, lang: str | None, label: str, extra_k: int, as_json: bool) -> None:
    """Measure text->image recall@1/5/10, MRR and image->image precision@5/10 on FOLDER."""
    try:
        result = evaluate(folder, service().embedder, lang=lang, label=label, k=extra_k)
    except UserError as exc:
        fail(str(exc))
    click.echo(json.dumps(result, indent=2) if as_json else format_table(result))
