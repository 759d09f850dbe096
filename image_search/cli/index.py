"""`flask index`: walk folders, embed new and changed images, prune gone ones."""
from __future__ import annotations

import re
import time

import click
from flask.cli import with_appcontext

from image_search.cli.common import fail, service
from image_search.errors import LockHeld, ModelMismatch, ModelUnavailable, StoreError
from image_search.indexing.pipeline import plan_run, run_plan
from image_search.locking import IndexLock
from image_search.service.health import save_last_run
from image_search.threads import limit_threads


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
    settings = service().settings
    threads = settings.index_threads
    limit_threads(threads)
    try:
        with IndexLock(settings.data_dir / "index.lock"):
            from image_search.embedders import make_embedder

            embedder = make_embedder(settings, threads)
            store = service().store
            click.echo(f"Model: {embedder.model_id}   Store: {store.stats()['kind']}")
            if rebuild:
                store.clear()
            store.check_model(embedder.model_id)
            plan = plan_run(store, paths, prune=prune, shard=shard)
            with click.progressbar(length=len(plan.todo), label="Embedding", show_pos=True,
                                   show_eta=True, item_show_func=lambda rate: rate) as bar:
                report = run_plan(store, embedder, plan, batch_size or settings.batch_size,
                                  on_batch=RateReporter(bar), workers=threads)
            save_last_run(settings.data_dir, report, paths, embedder.model_id)
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
