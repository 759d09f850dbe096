"""`flask stats` and `flask duplicates`: facts about the indexed collection."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

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
    if "runtime" in health:
        facts["runtime"] = health["runtime"]
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
@click.option(
    "--move-to",
    type=click.Path(file_okay=False, path_type=Path),
    help="Move all but one image of each group into this folder (outside the collection), after a confirmation. "
    "The suggested keeper (marked 'keep') stays, unless --paths lists what to move. Nothing is ever deleted.",
)
@click.option(
    "--paths",
    "paths_file",
    type=click.File("r", encoding="utf-8"),
    help="With --move-to: move the files listed here, one path per line (the /duplicates page's export).",
)
@click.option("--yes", is_flag=True, help="With --move-to: move without asking.")
@with_appcontext
def duplicates_command(threshold, move_to, paths_file, yes):
    """Compute the groups of near-duplicate images from the stored vectors (in bulk), store them for the
    /duplicates page and the API, and list them with sizes and dimensions; --move-to moves the extra copies."""
    if paths_file is not None and move_to is None:
        fail("--paths lists files for --move-to DIR: give the folder to move them to.")
    try:
        answer = service().compute_duplicates(threshold)
    except UserError as exc:
        fail(str(exc))
    for n, group in enumerate(answer.groups, 1):
        click.echo(f"group {n}: {len(group.records)} images, similarity >= {group.similarity:.3f}")
        keeper = group.suggested_keeper
        for r in group.records:
            mark = "keep" if r is keeper else "    "
            click.echo(f"  {mark} {r.path}  {r.size} bytes  {r.width}x{r.height}  {r.format}")
    click.echo(f"{len(answer.groups)} groups among {answer.images} images", err=True)
    if answer.notice:  # they could not be saved
        fail(answer.notice)
    if move_to is not None:
        move_copies(threshold, move_to, paths_file, yes)


def move_copies(threshold, dest: Path, paths_file, yes: bool) -> None:
    try:
        paths = paths_file.read().splitlines() if paths_file is not None else None
        records = service().duplicates_to_move(threshold, paths=paths)
    except (UserError, UnicodeDecodeError) as exc:
        fail(str(exc) if isinstance(exc, UserError) else f"{paths_file.name} is not UTF-8 text.")
    if not records:
        click.echo("Nothing to move.")
        return
    size = sum(r.size for r in records) / 1e6
    if not yes:
        click.confirm(f"Move {len(records)} files ({size:.1f} MB) to {dest}? Each group keeps one image.", abort=True)
    try:
        report = service().move_duplicates(records, dest)
    except UserError as exc:
        fail(str(exc))
    for record, target in report.moved:
        click.echo(f"moved {record.path} -> {target}")
    for path, reason in report.skipped:
        click.echo(f"skipped {path}: {reason}", err=True)
    click.echo(f"{len(report.moved)} moved, {len(report.skipped)} skipped; the moved files left the index.")
