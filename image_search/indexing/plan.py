"""What an indexing run has to do: the folders compared with the store (to embed, unchanged, gone).

The walk is streamed and compared with the store a chunk of paths at a time (`VectorStore.known_files`),
so planning holds only what changed: a run over a million known, unchanged files keeps no record of them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from image_search.indexing.walk import in_shard, walk_images
from image_search.paths import is_within_root
from image_search.stores import VectorStore
from image_search.stores.base import image_id_for
from image_search.user_files import kind_of

PLAN_CHUNK = 2000  # walked paths compared with the store per query


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


def distinct_roots(roots: Iterable[Path | str]) -> list[Path]:
    """Absolute roots, each once, without those inside another: its files are walked there (each file is
    planned once, without a set of every path seen)."""
    absolute = list(dict.fromkeys(os.path.abspath(r) for r in roots))
    given = set(absolute)  # a watch's batch may name thousands of files: no pairwise comparison
    return [Path(r) for r in absolute if not any(folder in given for folder in _folders_above(r))]


def _folders_above(path: str) -> Iterator[str]:
    while (parent := os.path.dirname(path)) != path:
        yield parent
        path = parent


def plan_run(
    store: VectorStore,
    roots: Iterable[Path | str],
    prune: bool = False,
    shard: tuple[int, int] | None = None,
    within: Sequence[str] = (),
) -> Plan:
    """Compare the folders with the store: what to embed, what is unchanged, what is gone.

    A root that no longer exists (a file or folder deleted while `flask index --watch` ran) walks nothing;
    with `prune` its records are gone. `within`: indexed folders the roots may lie in (a watch's changed
    paths): a record's root is the one it lies in, else its root's folder."""
    plan = Plan()
    for root in distinct_roots(roots):
        folder = indexed_folder(root, within)
        if os.path.lexists(root):
            for chunk in _chunks(_stat_files(root, folder, plan.skipped, shard), PLAN_CHUNK):
                known = store.known_files([path for path, _ in chunk])
                for path, st in chunk:
                    state = known.get(path)
                    if state == (st.st_size, st.st_mtime_ns):
                        plan.unchanged += 1
                    else:
                        plan.todo.append(Candidate(path, folder, st.st_size, st.st_mtime_ns, state is not None))
        if prune:
            plan.gone_ids += _gone(store, root, shard)
    return plan


def indexed_folder(root: Path, within: Sequence[str]) -> str:
    """The folder records found under root are indexed from: the innermost of `within` holding it, else
    root itself (a folder) or its folder (a file)."""
    for folder in (str(root), *_folders_above(str(root))):  # the innermost first
        if folder in within:
            return folder
    return str(root if root.is_dir() else root.parent)


def _stat_files(
    root: Path, folder: str, skipped: list[tuple[str, str]], shard: tuple[int, int] | None
) -> Iterator[tuple[str, os.stat_result]]:
    """(path, stat) of each regular image file under root, in this shard; the others skipped with why."""
    for path in walk_images(root, skipped):
        if not in_shard(path, shard):
            continue
        try:
            st = os.stat(path)
        except OSError as exc:
            skipped.append((path, f"cannot read file: {exc.strerror}"))
            continue
        if not stat.S_ISREG(st.st_mode):  # a named pipe would block the reader (and the lock) forever
            skipped.append((path, f"{kind_of(st.st_mode)}, not a regular file: not read"))
            continue
        if os.path.islink(path) and not is_within_root(path, folder):
            skipped.append((path, "a link to a file outside the indexed folder"))
            continue
        yield path, st


def _gone(store: VectorStore, root: Path, shard: tuple[int, int] | None) -> list[str]:
    """Ids of the records at or under root whose files no longer exist."""
    records = store.records_under(str(root).rstrip("/") + "/")
    exact = store.known_files([str(root)])
    ids = [r.id for r in records if in_shard(r.path, shard) and not os.path.exists(r.path)]
    if exact and in_shard(str(root), shard) and not os.path.exists(root):
        ids.append(image_id_for(str(root)))
    return ids


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
