"""Collection health: files on disk vs indexed, and the last indexing run's report."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from image_search.indexing.pipeline import IndexReport, walk_images
from image_search.stores import VectorStore

LAST_RUN = "last_run.json"
MAX_FAILURES = 50  # the report stays small; the count is always exact


def save_last_run(data_dir: Path, report: IndexReport, paths: list[str], model: str) -> None:
    """Written atomically, so the health page never reads half a file."""
    body = {"finished_at": time.time(), "seconds": round(report.seconds, 2), "model": model,
            "paths": [os.path.abspath(p) for p in paths], "added": report.added, "updated": report.updated,
            "unchanged": report.unchanged, "pruned": report.pruned, "failed": len(report.skipped),
            "failures": [{"path": p, "reason": r} for p, r in report.skipped[:MAX_FAILURES]]}
    target = Path(data_dir) / LAST_RUN
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(body, indent=1))
    os.replace(tmp, target)


def load_last_run(data_dir: Path) -> dict | None:
    try:
        return json.loads((Path(data_dir) / LAST_RUN).read_text())
    except (OSError, ValueError):
        return None


def folder_counts(store: VectorStore) -> list[dict]:
    """Per indexed folder: image files on disk now, indexed, not yet indexed, indexed but gone."""
    indexed: dict[str, set[str]] = {}
    for record in store.iter_records():
        indexed.setdefault(record.root, set()).add(record.path)
    rows = []
    for root, paths in sorted(indexed.items()):
        on_disk = set(walk_images(Path(root), [])) if os.path.isdir(root) else set()
        rows.append({"folder": root, "on_disk": len(on_disk), "indexed": len(paths),
                     "not_indexed": len(on_disk - paths), "gone": len(paths - on_disk)})
    return rows
