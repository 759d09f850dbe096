"""The viewer: one image seen from inside a list of results, with the hits before and after it.

The results are found again by the same search the results page ran (its query, filters and sort travel in
the viewer's URL), so a viewer page needs no state on the server and works without JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from image_search.embedders.base import Concept
from image_search.stores import Hit, ImageRecord


@dataclass(frozen=True)
class ResultsContext:
    """Which results page an image was opened from: kind is text, similar (of source_id) or image (upload key)."""

    kind: str
    query: str = ""
    source_id: str = ""
    upload_key: str = ""


@dataclass(frozen=True)
class ViewerPlace:
    record: ImageRecord
    pos: int | None = None  # 1-based place among the results; None: opened alone, or no longer among them
    previous: Hit | None = None
    next: Hit | None = None
    total: int = 0  # results the neighbours were taken from
    concepts: list[Concept] = field(default_factory=list)  # what the model saw in it (SearchService.concepts)


def place_among(record: ImageRecord, hits: list[Hit], pos: int) -> ViewerPlace:
    """The image's place: at `pos` if it is still there, else wherever it now is (the collection may have
    changed since the results page was drawn), else not among them at all."""
    ids = [hit.id for hit in hits]
    if not (0 < pos <= len(ids) and ids[pos - 1] == record.id):
        if record.id not in ids:
            return ViewerPlace(record, None, total=len(ids))
        pos = ids.index(record.id) + 1
    previous = hits[pos - 2] if pos > 1 else None
    following = hits[pos] if pos < len(hits) else None
    return ViewerPlace(record, pos, previous, following, len(ids))
