"""What an indexing run did, and its last_run.json (read by `flask stats`, /health and the duplicates cache)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from image_search.atomic import atomic_write
from image_search.paths import printable_path

LAST_RUN = "last_run.json"
MAX_FAILURES = 50  # the report stays small; the count is always exact


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    pruned: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    claimed_model: bool = False  # this run claimed an unclaimed store for its model (a first run, --rebuild)
    refused: int = 0  # of the skipped, images the store refused to write (e.g. a cluster's per-document errors)

    @property
    def embedded(self) -> int:
        return self.added + self.updated

    def summary(self) -> str:
        rate = self.embedded / self.seconds if self.seconds else 0.0
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.pruned} pruned, {len(self.skipped)} skipped in {self.seconds:.1f}s ({rate:.1f} images/s)"
        )


def save_last_run(data_dir: Path, report: IndexReport, paths: list[str], model: str | None) -> None:
    """Written atomically, so the health page never reads half a file."""
    body = {
        "finished_at": time.time(),
        "seconds": round(report.seconds, 2),
        "model": model,
        "paths": [printable_path(os.path.abspath(p)) for p in paths],
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "pruned": report.pruned,
        "failed": len(report.skipped),
        "refused": report.refused,
        "failures": [{"path": p, "reason": r} for p, r in report.skipped[:MAX_FAILURES]],
    }
    atomic_write(Path(data_dir) / LAST_RUN, lambda tmp: Path(tmp).write_text(json.dumps(body, indent=1)))


def load_last_run(data_dir: Path) -> dict | None:
    try:
        return json.loads((Path(data_dir) / LAST_RUN).read_text())
    except (OSError, ValueError):
        return None
