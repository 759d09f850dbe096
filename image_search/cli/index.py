"""`flask index`: walk folders, embed new and changed images, prune gone ones."""

from __future__ import annotations

import os
import re
import threading
import time
from contextlib import ExitStack
from typing import Any

import click
from flask.cli import with_appcontext

from image_search.cli.common import fail, service, settings
from image_search.errors import ModelUnavailable, UserError
from image_search.indexing import IndexOptions, IndexProgress
from image_search.paths import printable_path

# `flask index` exit status when the run finished but the store refused some images (a partial run):
# they are listed above the summary and kept, with the reasons, in last_run.json.
EXIT_REFUSED = 3


def parse_shard(_ctx, _param, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    match = re.fullmatch(r"(\d+)/(\d+)", value)
    if not match or not 0 <= int(match[1]) < int(match[2]):
        raise click.BadParameter("use I/N with 0 <= I < N, e.g. 0/4")
    return int(match[1]), int(match[2])


@click.command("index")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, file_okay=True))
@click.option("--prune", is_flag=True, help="Remove indexed images whose files are gone from these folders.")
@click.option("--rebuild", is_flag=True, help="Empty the store first (e.g. after changing the model).")
@click.option("--batch-size", type=click.IntRange(1, 1024), default=None, help="Images per model call.")
@click.option(
    "--shard",
    callback=parse_shard,
    metavar="I/N",
    help="Index only share I of N (by a hash of the path), for N machines working together.",
)
@click.option(
    "--watch",
    is_flag=True,
    help="After this run, keep indexing the folders' changes (new, changed, moved, deleted files) until Ctrl-C.",
)
@click.option(
    "--no-duplicates",
    is_flag=True,
    help="Don't compute the near-duplicate groups again after a run that changed the collection.",
)
@with_appcontext
def index_command(paths, prune, rebuild, batch_size, shard, watch, no_duplicates):
    """Index the images under PATHS (recursively); unchanged files are skipped."""
    options = IndexOptions(prune=prune, rebuild=rebuild, batch_size=batch_size, shard=shard)
    files = [p for p in paths if not os.path.isdir(p)]
    if watch and files:
        fail(f"--watch watches folders: {printable_path(os.path.abspath(files[0]))} is not one")
    try:
        with ExitStack() as bar_scope:  # closes the progress bar however the run ends
            report = service().index_paths(list(paths), options, ProgressBar(bar_scope))
    except UserError as exc:
        fail(str(exc))
    except OSError as exc:  # the data dir's own files: a full disk, say (batches written so far are kept)
        fail(f"cannot write {printable_path(str(exc.filename or settings().data_dir))}: {exc.strerror or exc}")
    for path, reason in report.skipped:
        click.echo(f"skipped {path}: {reason}")
    click.echo(report.summary())
    if not no_duplicates:
        refresh_duplicates(collection_changed=report.embedded + report.pruned > 0)
    if report.claimed_model:  # a new model: build its text side now, not on the first search
        try:
            service().prepare_text_side()
        except ModelUnavailable as exc:  # only postponed: searching reports it
            click.echo(f"note: the text model is not ready yet: {exc}")
    if report.refused:
        click.echo(f"Error: the store refused {report.refused} image(s), listed above as 'not stored'", err=True)
        if not watch:  # a watch goes on: its batches may store them
            raise SystemExit(EXIT_REFUSED)
    if watch:
        watch_changes(list(paths), options)


def watch_changes(paths: list[str], options: IndexOptions) -> None:
    """One line per batch; Ctrl-C stops with one line and exit status 0 (the index lock is held only
    while a batch runs, and released by it however it ends)."""
    shown = ", ".join(printable_path(os.path.abspath(p)) for p in paths)
    try:
        service().watch_paths(
            paths,
            options,
            on_report=lambda report: click.echo(f"{time.strftime('%H:%M:%S')} {report.summary()}"),
            stop=threading.Event(),
            on_note=lambda message: click.echo(f"{time.strftime('%H:%M:%S')} note: {message}"),
            on_ready=lambda: click.echo(f"Watching {shown} for changes; Ctrl-C stops."),
        )
    except KeyboardInterrupt:
        click.echo("Stopped watching.")
    except OSError as exc:  # watchdog cannot watch (the inotify watch limit, a folder unreadable)
        fail(f"cannot watch {shown}: {exc.strerror or exc}")


def refresh_duplicates(collection_changed: bool) -> None:
    """The /duplicates page serves stored groups: bring them up to date while this process owns the machine."""
    started = time.monotonic()
    try:
        if service().refresh_duplicates(collection_changed):
            click.echo(f"Near-duplicate groups computed again in {time.monotonic() - started:.1f}s")
    except UserError as exc:  # the run itself succeeded: say so, don't fail it
        click.echo(f"note: near-duplicates not updated: {exc}")


class ProgressBar(IndexProgress):
    """Names the model and store, then advances a progress bar with the embedding rate beside it."""

    def __init__(self, scope: ExitStack):
        self.scope, self.done, self.started = scope, 0, time.monotonic()
        self.bar: Any = None  # made in on_start, when the total is known

    def on_start(self, total: int, model_id: str, store_kind: str) -> None:
        click.echo(f"Model: {model_id}   Store: {store_kind}")
        self.bar = self.scope.enter_context(
            click.progressbar(
                length=total, label="Embedding", show_pos=True, show_eta=True, item_show_func=lambda rate: rate
            )
        )
        self.started = time.monotonic()

    def on_batch(self, n: int) -> None:
        self.done += n
        rate = self.done / max(time.monotonic() - self.started, 1e-6)
        self.bar.update(n, f"{rate:.1f} images/s")
