"""Near-duplicate groups as computed in bulk, kept in DATA_DIR/duplicates.json: requests only read it.

The file holds the pairs the pass found (at its threshold) with the images in them, when it ran and the
store's generation then, so a request can group at any threshold at or above that one, and say whether
the collection has changed since. Written atomically: a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from image_search.atomic import atomic_write
from image_search.service.duplicates import DuplicateGroup, Pairs
from image_search.stores import ImageRecord

FILE = "duplicates.json"
FORMAT = 1
RECOMPUTE = "flask --app image_search duplicates"


@dataclass
class StoredDuplicates:
    pairs: Pairs
    computed_at: float  # epoch seconds
    seconds: float  # how long the pass took
    generation: str  # the store's generation() when the pass began
    model_id: str | None


@dataclass
class DuplicatesAnswer:
    """What the page, the API and the CLI show."""

    threshold: float  # the one asked for
    groups: list[DuplicateGroup] = field(default_factory=list)
    computed_at: float | None = None  # None: never computed
    computed_threshold: float | None = None
    images: int = 0  # images the pass looked at
    changed_since: bool = False
    notice: str | None = None


def save(data_dir: Path, stored: StoredDuplicates) -> None:
    body = {
        "format": FORMAT,
        "computed_at": stored.computed_at,
        "seconds": round(stored.seconds, 3),
        "generation": stored.generation,
        "model_id": stored.model_id,
        "threshold": stored.pairs.threshold,
        "images": stored.pairs.images,
        "records": [r.to_dict() for r in stored.pairs.records.values()],
        "pairs": stored.pairs.pairs,
    }
    atomic_write(Path(data_dir) / FILE, lambda tmp: Path(tmp).write_text(json.dumps(body)))


def file_key(data_dir: Path) -> tuple[int, int] | None:
    """Changes when the file is replaced (a cheap stat): what a reader caches the parsed file under."""
    try:
        st = os.stat(Path(data_dir) / FILE)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_ino


def load(data_dir: Path) -> StoredDuplicates | None:
    """None when there is no file, or one this version cannot read (it is then computed again)."""
    try:
        body = json.loads((Path(data_dir) / FILE).read_text())
        if body.get("format") != FORMAT:
            return None
        records = {r["id"]: ImageRecord(**r) for r in body["records"]}
        pairs = [(str(a), str(b), float(c)) for a, b, c in body["pairs"]]
        return StoredDuplicates(
            Pairs(float(body["threshold"]), int(body["images"]), records, pairs),
            float(body["computed_at"]),
            float(body["seconds"]),
            str(body["generation"]),
            body.get("model_id"),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def changed_since(stored: StoredDuplicates, generation: str, model_id: str | None) -> bool:
    return stored.generation != generation or stored.model_id != model_id
