"""The `flask` commands: index folders, show store facts and collection health."""
from __future__ import annotations

import re
import sys
import time
from datetime import datetime

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from .embedders import ModelUnavailable
from .evaluation import eval_command
from .health import save_last_run
from .indexing import plan_run, run_plan
from .locking import IndexLock, LockHeld
from .stores import ModelMismatch, StoreError
from .threads import limit_threads


def fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


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
@click.option("--shard", callback=parse_shard, metavar="I/N",
              help="Index only share I of N (by a hash of the path), for N machines working together.")
@with_appcontext
def index_command(paths, prune, rebuild, batch_size, shard):
    """Index the images under PATHS (recursively); unchanged files are skipped."""
    config = current_app.config
    service = current_app.extensions["image_search"]
    threads = int(config["INDEX_THREADS"])
    limit_threads(threads)
    try:
        with IndexLock(config["DATA_DIR"] / "index.lock"):
            from .embedders import make_embedder

            embedder = make_embedder(config, threads)
            store = service.store
            click.echo(f"Model: {embedder.model_id}   Store: {store.stats()['kind']}")
            if rebuild:
                store.clear()
            store.check_model(embedder.model_id)
            plan = plan_run(store, paths, prune=prune, shard=shard)
            with click.progressbar(length=len(plan.todo), label="Embedding", show_pos=True,
                                   show_eta=True, item_show_func=lambda rate: rate) as bar:
                report = run_plan(store, embedder, plan, batch_size or int(config["BATCH_SIZE"]),
                                  on_batch=RateReporter(bar), workers=threads)
            save_last_run(config["DATA_DIR"], report, paths, embedder.model_id)
    except (LockHeld, ModelMismatch, ModelUnavailable, StoreError) as exc:
        fail(str(exc))
    for path, reason in report.skipped:
        click.echo(f"skipped {path}: {reason}")
    click.echo(report.summary())
    prepare_text_side(embedder)


def prepare_text_side(embedder) -> None:
    """Embed one text now, so the files a text model builds on first use (the offline model exports two
    ONNX graphs, ~10 s) exist before the first search. A failure only postpones it: searching reports it."""
    try:
        embedder.embed_texts(["a photo"])
    except ModelUnavailable as exc:
        click.echo(f"note: the text model is not ready yet: {exc}")


class RateReporter:
    """Advances the progress bar and shows the embedding rate beside it."""

    def __init__(self, bar):
        self.bar, self.done, self.started = bar, 0, time.monotonic()

    def __call__(self, n: int) -> None:
        self.done += n
        rate = self.done / max(time.monotonic() - self.started, 1e-6)
        self.bar.update(n, f"{rate:.1f} images/s")


@click.command("stats")
@with_appcontext
def stats_command():
    """Print the store's facts, image files on disk vs indexed per folder, and the last run's failures."""
    health = current_app.extensions["image_search"].health()
    if "store_error" in health:
        fail(health["store_error"])
    facts = dict(health["store"])
    facts["active model"] = health.get("active_model") or f"unavailable: {health.get('model_error')}"
    for key, value in facts.items():
        click.echo(f"{key:>13}: {value}")
    for row in health["folders"]:
        click.echo(f"{'folder':>13}: {row['folder']}: {row['on_disk']} image files on disk, {row['indexed']} indexed, "
                   f"{row['not_indexed']} not indexed, {row['gone']} indexed but gone")
    run = health["last_run"]
    if not run:
        click.echo(f"{'last run':>13}: none recorded")
        return
    finished = datetime.fromtimestamp(run["finished_at"])
    click.echo(f"{'last run':>13}: {finished:%Y-%m-%d %H:%M:%S} ({run['seconds']} s): "
               f"{run['added']} added, {run['updated']} updated, {run['unchanged']} unchanged, "
               f"{run['pruned']} pruned, {run['failed']} failed")
    for failure in run["failures"]:
        click.echo(f"{'failed':>13}: {failure['path']}: {failure['reason']}")


def init_app(app: Flask) -> None:
    from .cli_search import duplicates_command, search_command

    app.cli.add_command(index_command)
    app.cli.add_command(stats_command)
    app.cli.add_command(search_command)
    app.cli.add_command(duplicates_command)
    app.cli.add_command(eval_command)
