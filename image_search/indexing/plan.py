"""What an indexing run has to do: the folders compared with the store (to embed, unchanged, gone)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from image_search.indexing.walk import in_shard, walk_images
from image_search.paths import is_within_root
from image_search.stores import VectorStore
from image_search.user_files import kind_of


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


def plan_run(
    store: VectorStore, roots: Iterable[Path | str], prune: bool = False, shard: tuple[int, int] | None = None
) -> Plan:
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
            if not stat.S_ISREG(st.st_mode):  # a named pipe would block the reader (and the lock) forever
                plan.skipped.append((path, f"{kind_of(st.st_mode)}, not a regular file: not read"))
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
            plan.gone_ids += [
                r.id
                for p, r in known.items()
                if (p.startswith(prefix) or p == str(root))
                and p not in seen
                and in_shard(p, shard)
                and not os.path.exists(p)
            ]
    return plan
