"""Part 4, embedding generation at scale: walk folders, embed new and changed images, prune gone ones.

Decoding runs in worker threads one batch ahead of the model (Pillow releases the GIL while it
decodes and resizes), so the model rarely waits; at most two batches of images are in memory at
any time. When the embedder tells its input size, JPEGs are decoded at about that size (draft
mode) and shrunk to it in the workers, so the model's thread does no resizing.
"""
from __future__ import annotations

import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from PIL import Image

from image_search.embedders import Embedder
from image_search.images import Decoded, decode, image_extensions
from image_search.errors import ImageError
from image_search.paths import is_within_root
from image_search.stores import ImageRecord, VectorStore
from image_search.errors import WriteFailures

# Pillow opens these, but they are documents or data formats, not photos.
NOT_PHOTOS = {".eps", ".ps", ".pdf", ".h5", ".hdf", ".grib", ".bufr", ".mpeg", ".mpg", ".emf", ".wmf",
              ".fit", ".fits", ".fli", ".flc"}


@dataclass
class Candidate:
    path: str
    root: str
    size: int
    mtime_ns: int
    known: bool  # already in the store (so this is an update)


@dataclass
class Plan:
    todo: list[Candidate] = field(default_factory=list)
    unchanged: int = 0
    gone_ids: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    pruned: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def embedded(self) -> int:
        return self.added + self.updated

    def summary(self) -> str:
        rate = self.embedded / self.seconds if self.seconds else 0.0
        return (f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.pruned} pruned, {len(self.skipped)} skipped in {self.seconds:.1f}s ({rate:.1f} images/s)")


def in_shard(path: str, shard: tuple[int, int] | None) -> bool:
    """A deterministic share of the files, so N machines can index one collection together."""
    if shard is None:
        return True
    index, count = shard
    digest = hashlib.sha1(path.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % count == index


def walk_images(root: Path, skipped: list[tuple[str, str]]) -> Iterator[str]:
    """Absolute paths of image files under root; links to folders are not followed (no loops)."""
    extensions = image_extensions() - NOT_PHOTOS

    def unreadable(error: OSError) -> None:
        skipped.append((error.filename or str(root), f"cannot read folder: {error.strerror}"))

    if root.is_file():
        yield str(root)
        return
    for folder, dirs, files in os.walk(root, onerror=unreadable):
        dirs.sort()
        for name in sorted(files):
            if os.path.splitext(name)[1].lower() in extensions:
                yield os.path.join(folder, name)


def plan_run(store: VectorStore, roots: Iterable[Path], prune: bool = False,
             shard: tuple[int, int] | None = None) -> Plan:
    """Compare the folders with the store: what to embed, what is unchanged, what is gone."""
    known = {r.path: r for r in store.iter_records()}
    plan, seen = Plan(), set()
    for root in roots:
        root = Path(os.path.abspath(root))
        for path in walk_images(root, plan.skipped):
            if path in seen or not in_shard(path, shard):
                continue
            seen.add(path)
            try:
                st = os.stat(path)
            except OSError as exc:
                plan.skipped.append((path, f"cannot read file: {exc.strerror}"))
                continue
            if os.path.islink(path) and not is_within_root(path, str(root if root.is_dir() else root.parent)):
                plan.skipped.append((path, "a link to a file outside the indexed folder"))
                continue
            record = known.get(path)
            if record and (record.size, record.mtime_ns) == (st.st_size, st.st_mtime_ns):
                plan.unchanged += 1
            else:
                folder = str(root if root.is_dir() else root.parent)
                plan.todo.append(Candidate(path, folder, st.st_size, st.st_mtime_ns, record is not None))
        if prune:
            prefix = str(root).rstrip("/") + "/"
            plan.gone_ids += [r.id for p, r in known.items()
                              if (p.startswith(prefix) or p == str(root)) and p not in seen
                              and in_shard(p, shard) and not os.path.exists(p)]
    return plan


def _decode(candidate: Candidate, draft_size: int, shrink_to: int | None) -> Decoded | str:
    try:
        decoded = decode(candidate.path, draft_size)
        if shrink_to:
            decoded.image = shrink(decoded.image, shrink_to)
        return decoded
    except ImageError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot read file: {exc.strerror or exc}"


def shrink(image: Image.Image, shorter_side: int) -> Image.Image:
    """Bicubic down to `shorter_side` (CLIP's own first step), so the model's resize is a no-op."""
    scale = shorter_side / min(image.size)
    if scale >= 1:
        return image
    size = (max(shorter_side, round(image.width * scale)), max(shorter_side, round(image.height * scale)))
    return image.resize(size, Image.BICUBIC)


def run_plan(store: VectorStore, embedder: Embedder, plan: Plan, batch_size: int = 32,
             on_batch: Callable[[int], None] = lambda n: None, workers: int = 2,
             draft_size: int | None = None, shrink_in_workers: bool = True) -> IndexReport:
    """Embed `plan.todo` in batches, write each batch in one store transaction, prune, flush.

    JPEG draft mode decodes at `draft_size` or more (default: the model's input size, else 448).
    """
    started = time.monotonic()
    shrink_to = embedder.input_size if shrink_in_workers else None
    draft_size = draft_size or embedder.input_size or 448
    report = IndexReport(unchanged=plan.unchanged, skipped=list(plan.skipped))
    store.claim(embedder.model_id, embedder.dim, embedder.unit_vectors)
    batches = [plan.todo[i:i + batch_size] for i in range(0, len(plan.todo), batch_size)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        def start(batch):
            return [pool.submit(_decode, c, draft_size, shrink_to) for c in batch]

        pending = start(batches[0]) if batches else []
        for i, batch in enumerate(batches):
            decoded = [f.result() for f in pending]
            pending = start(batches[i + 1]) if i + 1 < len(batches) else []
            _embed_batch(store, embedder, batch, decoded, report)
            on_batch(len(batch))
    if plan.gone_ids:
        store.delete(plan.gone_ids)
        report.pruned = len(plan.gone_ids)
    store.flush()
    report.seconds = time.monotonic() - started
    return report


def _embed_batch(store: VectorStore, embedder: Embedder, batch: list[Candidate],
                 decoded: list[Decoded | str], report: IndexReport) -> None:
    records, images, updates = [], [], set()
    for candidate, result in zip(batch, decoded):
        if isinstance(result, str):
            report.skipped.append((candidate.path, result))
            continue
        taken = result.taken_at if result.taken_at is not None else candidate.mtime_ns / 1e9
        records.append(ImageRecord(path=candidate.path, root=candidate.root, size=candidate.size,
                                   mtime_ns=candidate.mtime_ns, width=result.width, height=result.height,
                                   taken_at=taken, format=result.format))
        images.append(result.image)
        if candidate.known:
            updates.add(candidate.path)
    if not records:
        return
    stored = {r.path for r in records}
    try:
        store.upsert(records, embedder.embed_images(images))
    except WriteFailures as exc:  # the store kept the rest of the batch
        report.skipped += [(path, f"not stored: {reason}") for path, reason in exc.failures.items()]
        stored -= set(exc.failures)
    report.updated += len(stored & updates)
    report.added += len(stored - updates)
