"""Indexing in one call: lock the store, plan the run, embed, prune, and save the run's report.

walk (which files), plan (what to do), run (embedding), report (what was done, last_run.json).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from image_search.atomic import leftovers
from image_search.embedders import Embedder
from image_search.errors import QueryError
from image_search.images import PixelBudget
from image_search.indexing.plan import plan_run
from image_search.indexing.report import IndexReport, save_last_run
from image_search.indexing.run import any_decodes, run_plan
from image_search.locking import IndexLock
from image_search.stores import VectorStore
from image_search.stores.base import image_id_for
from image_search.thumbnails import ThumbnailCache

__all__ = ["NO_PROGRESS", "IndexOptions", "IndexProgress", "IndexReport", "index_paths"]


@dataclass(frozen=True)
class IndexOptions:
    prune: bool = False  # remove indexed images whose files are gone from these folders
    rebuild: bool = False  # build a new store from these folders and swap it in (e.g. after changing the model)
    batch_size: int | None = None  # images per model call; None: the app's BATCH_SIZE
    shard: tuple[int, int] | None = None  # (I, N): only share I of N, for N machines working together
    within: tuple[str, ...] = ()  # indexed folders the paths lie in (a watch's changes): the records' root


class IndexProgress:
    """What a run tells as it goes (the CLI draws a progress bar); this one tells nobody."""

    def on_start(self, total: int, model_id: str, store_kind: str) -> None:
        """Planned: `total` images to embed with this model into this kind of store."""

    def on_batch(self, n: int) -> None:
        """`n` more images embedded (or skipped)."""


NO_PROGRESS = IndexProgress()


def remove_leftovers(data_dir: Path) -> None:
    """Temporary files of the run reports that a killed indexer left (held under the index lock; a
    `flask duplicates` running meanwhile would then fail to save, saying so)."""
    for name in ("last_run.json", "duplicates.json"):
        for leftover in leftovers(data_dir / name):
            leftover.unlink(missing_ok=True)


def index_paths(
    store: VectorStore,
    load_embedder: Callable[[], Embedder],
    paths: Sequence[str | Path],
    options: IndexOptions,
    data_dir: Path,
    *,
    batch_size: int,
    workers: int,
    budget: PixelBudget | None = None,
    progress: IndexProgress = NO_PROGRESS,
) -> IndexReport:
    """Index the images under `paths`; unchanged files are skipped. The report is saved as last_run.json."""
    if options.rebuild and options.shard:
        # Each machine's rebuild would swap in a new store holding only its share.
        raise QueryError(
            "--rebuild builds the whole new index on one machine: run it without --shard "
            "(sharded runs then keep that index up to date)."
        )
    with IndexLock(Path(data_dir) / "index.lock"):
        started = time.monotonic()
        remove_leftovers(Path(data_dir))
        # Loaded under the lock (a second indexer is refused before it spends seconds loading a model), and
        # only when an image to embed decodes: a run with nothing to do never loads it. Until then the
        # store's own record of its model stands; --rebuild claims a new store, so it always needs the model.
        embedder = load_embedder() if options.rebuild else None
        with ExitStack() as scope:
            # --rebuild fills a new store beside this one, swapped in at the end: searches never see it empty
            target = scope.enter_context(store.rebuilding()) if options.rebuild else store
            scope.enter_context(target.bulk_load())  # e.g. Elasticsearch's refresh off until the writes end
            plan = plan_run(target, paths, prune=options.prune, shard=options.shard, within=options.within)
            if embedder is None and any_decodes(plan, budget):
                embedder = load_embedder()
            if embedder is not None:
                target.check_model(embedder.model_id)
            model_id = embedder.model_id if embedder is not None else target.model_id
            shown = f"{model_id or 'none'}" + ("" if embedder is not None else " (not loaded: nothing to embed)")
            progress.on_start(len(plan.todo), shown, target.kind)
            report = run_plan(
                target, embedder, plan, batch_size, on_batch=progress.on_batch, workers=workers, budget=budget
            )
            thumbnails = ThumbnailCache(data_dir)  # those of images no longer indexed, or indexed anew
            if options.rebuild:
                thumbnails.keep_only(target.iter_records())
            else:
                thumbnails.forget(plan.gone_ids + [image_id_for(c.path) for c in plan.todo if c.known])
        report.seconds = time.monotonic() - started  # planning included: all of a run with nothing to embed
        save_last_run(data_dir, report, [str(p) for p in paths], model_id)
    return report
