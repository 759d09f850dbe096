"""Part 4, embedding generation at scale: embed a plan's new and changed images, prune gone ones.

Decoding runs in worker threads one batch ahead of the model (Pillow releases the GIL while it
decodes and resizes), so the model rarely waits; at most two batches of images are in memory at
any time. When the embedder tells its input size, JPEGs are decoded at about that size (draft
mode) and shrunk to it in the workers, which also make each image into the model's input
(Embedder.prepare_image: CLIP's crop and normalisation), so the model's thread only runs the model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PIL import Image

from image_search.allocator import keep_large_blocks
from image_search.embedders import Embedder
from image_search.errors import ImageError
from image_search.images import Decoded, PixelBudget, decode
from image_search.indexing.plan import Candidate, Plan
from image_search.indexing.report import IndexReport
from image_search.indexing.writer import StoreWriter
from image_search.stores import ImageRecord, VectorStore


def _decode(candidate: Candidate, draft_size: int, shrink_to: int | None, budget: PixelBudget | None) -> Decoded | str:
    try:
        decoded = decode(candidate.path, draft_size, budget)
        if shrink_to:
            decoded.image = shrink(decoded.image, shrink_to)
        return decoded
    except ImageError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot read file: {exc.strerror or exc}"


def _ready(
    embedder: Embedder, candidate: Candidate, draft_size: int, shrink_to: int | None, budget: PixelBudget | None
) -> tuple[Decoded, Any] | str:
    """In a decode thread: the file decoded and made into the model's input, or why it cannot be."""
    decoded = _decode(candidate, draft_size, shrink_to, budget)
    return decoded if isinstance(decoded, str) else (decoded, embedder.prepare_image(decoded.image))


def any_decodes(plan: Plan, budget: PixelBudget | None) -> bool:
    """Whether any image to embed decodes, so the model is worth loading. Files that failed before (broken,
    empty) are tried again every run, and must not cost a model load when nothing else changed. Tried at the
    smallest draft size, which admits whatever a decode at the model's size would; stops at the first."""
    return any(not isinstance(_decode(c, 1, None, budget), str) for c in plan.todo)


def shrink(image: Image.Image, shorter_side: int) -> Image.Image:
    """Bicubic down to `shorter_side` (CLIP's own first step), so the model's resize is a no-op."""
    scale = shorter_side / min(image.size)
    if scale >= 1:
        return image
    size = (max(shorter_side, round(image.width * scale)), max(shorter_side, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BICUBIC)


def run_plan(
    store: VectorStore,
    embedder: Embedder | None,
    plan: Plan,
    batch_size: int = 32,
    on_batch: Callable[[int], None] = lambda n: None,
    workers: int = 2,
    draft_size: int | None = None,
    shrink_in_workers: bool = True,
    budget: PixelBudget | None = None,
) -> IndexReport:
    """Embed `plan.todo` in batches, write them in the store's write size (writer.py), prune, flush.

    JPEG draft mode decodes at `draft_size` or more (default: the model's input size, else 448).
    Images whose decode would hold more pixels than `budget` allows are skipped with the reason.
    `embedder` is None when no image to embed decodes (see any_decodes): the model was not loaded.
    A run that changes nothing leaves the store as it is (no flush: it would load the faiss index).
    """
    started = time.monotonic()
    report = IndexReport(unchanged=plan.unchanged, skipped=list(plan.skipped))
    if embedder is not None:
        report.claimed_model = store.model_id is None
        store.claim(embedder.model_id, embedder.dim, embedder.unit_vectors)
        _embed_all(store, embedder, plan, report, batch_size, on_batch, workers, draft_size, shrink_in_workers, budget)
    else:  # any_decodes found none: each is skipped with its reason
        for candidate in plan.todo:
            result = _decode(candidate, 1, None, budget)
            reason = result if isinstance(result, str) else "changed while this run planned it: indexed next run"
            report.skipped.append((candidate.path, reason))
        on_batch(len(plan.todo))
    if plan.gone_ids:
        store.delete(plan.gone_ids)
        report.pruned = len(plan.gone_ids)
    if embedder is not None or plan.gone_ids:  # written to (only skipped files, e.g. a broken one tried again: not)
        store.flush()
    report.seconds = time.monotonic() - started
    return report


def _embed_all(
    store: VectorStore,
    embedder: Embedder,
    plan: Plan,
    report: IndexReport,
    batch_size: int,
    on_batch: Callable[[int], None],
    workers: int,
    draft_size: int | None,
    shrink_in_workers: bool,
    budget: PixelBudget | None,
) -> None:
    keep_large_blocks()  # large progressive JPEGs' decode buffers reused, not faulted in again per file
    shrink_to = embedder.input_size if shrink_in_workers else None
    draft_size = draft_size or embedder.input_size or 448
    writer = StoreWriter(store, report)
    batches = [plan.todo[i : i + batch_size] for i in range(0, len(plan.todo), batch_size)]
    with ThreadPoolExecutor(max_workers=workers) as pool:

        def start(batch):
            return [pool.submit(_ready, embedder, c, draft_size, shrink_to, budget) for c in batch]

        pending = start(batches[0]) if batches else []
        for i, batch in enumerate(batches):
            decoded = [f.result() for f in pending]
            pending = start(batches[i + 1]) if i + 1 < len(batches) else []
            _embed_batch(writer, embedder, batch, decoded, report)
            on_batch(len(batch))
    writer.finish()


def _embed_batch(
    writer: StoreWriter,
    embedder: Embedder,
    batch: list[Candidate],
    ready: list[tuple[Decoded, Any] | str],
    report: IndexReport,
) -> None:
    records, model_inputs, updates = [], [], set()
    for candidate, outcome in zip(batch, ready, strict=True):
        if isinstance(outcome, str):
            report.skipped.append((candidate.path, outcome))
            continue
        result, model_input = outcome
        taken = result.taken_at if result.taken_at is not None else candidate.mtime_ns / 1e9
        records.append(
            ImageRecord(
                path=candidate.path,
                root=candidate.root,
                size=candidate.size,
                mtime_ns=candidate.mtime_ns,
                width=result.width,
                height=result.height,
                taken_at=taken,
                format=result.format,
            )
        )
        model_inputs.append(model_input)
        if candidate.known:
            updates.add(candidate.path)
    if not records:
        return
    writer.add(records, embedder.embed_prepared(model_inputs), updates)
