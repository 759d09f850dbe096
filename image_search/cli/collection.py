"""`flask stats` and `flask duplicates`: facts about the indexed collection."""

from __future__ import annotations

import math
from datetime import datetime

import click
from flask.cli import with_appcontext

from image_search.cli.common import fail, service
from image_search.errors import UserError


@click.command("stats")
@with_appcontext
def stats_command():
    """Print the store's facts, image files on disk vs indexed per folder, and the last run's failures."""
    health = service().health()
    if "store_error" in health:
        fail(health["store_error"])
    facts = dict(health["store"])
    facts["active model"] = health.get("active_model") or f"unavailable: {health.get('model_error')}"
    for key, value in facts.items():
        click.echo(f"{key:>13}: {value}")
    for row in health["folders"]:
        click.echo(
            f"{'folder':>13}: {row['folder']}: {row['on_disk']} image files on disk, {row['indexed']} indexed, "
            f"{row['not_indexed']} not indexed, {row['gone']} indexed but gone"
        )
    run = health["last_run"]
    if not run:
        click.echo(f"{'last run':>13}: none recorded")
        return
    finished = datetime.fromtimestamp(run["finished_at"])
    click.echo(
        f"{'last run':>13}: {finished:%Y-%m-%d %H:%M:%S} ({run['seconds']} s): "
        f"{run['added']} added, {run['updated']} updated, {run['unchanged']} unchanged, "
        f"{run['pruned']} pruned, {run['failed']} failed"
    )
    for failure in run["failures"]:
        click.echo(f"{'failed':>13}: {failure['path']}: {failure['reason']}")


def not_nan(value: float | None) -> float | None:
    # FloatRange lets "nan" through: no comparison with NaN fails.
    if value is not None and math.isnan(value):
        raise click.BadParameter("must be a cosine between 0.5 and 1, not nan.")
    return value


@click.command("duplicates")
@click.option(
    "--threshold",
    type=click.FloatRange(0.5, 1.0),
    callback=lambda ctx, param, value: not_nan(value),
    default=None,
    help="Cosine at or above which images count as near-duplicates (default DUPLICATE_THRESHOLD).",
)
@with_appcontext
def duplicates_command(threshold):
    """Compute the groups of near-duplicate images from the stored vectors (in bulk), store them for the
    /duplicates page and the API, and list them with sizes and dimensions."""
    try:
        answer = service().compute_duplicates(threshold)
    except UserError as exc:
        fail(str(exc))
    for n, group in enumerate(answer.groups, 1):
        click.echo(f"group {n}: {len(group.records)} images, similarity >= {group.similarity:.3f}")
        for r in group.records:
            click.echo(f"  {r.path}  {r.size} bytes  {r.width}x{r.height}  {r.format}")
    click.echo(f"{len(answer.groups)} groups among {answer.images} images", err=True)
    if answer.notice:  # they could not be saved
        fail(answer.notice)
