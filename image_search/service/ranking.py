"""Shaping a hit list: the per-query cut-off after the largest score drop, and the sort order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from image_search.stores import Hit

SORTS = ("relevance", "date")
# The largest drop counts only when it stands out: at least this many times the other drops' mean.
# Scale-free, because models' score ranges differ (CLIP text-to-image scores sit around 0.2-0.35).
STANDOUT = 3.0


@dataclass(frozen=True)
class View:
    """How a result list is presented; part of the URL like every other piece of state."""

    sort: str = "relevance"  # relevance | date (newest first, within the relevant hits)
    show_all: bool = False  # False: hide the tail after the cut-off


def cutoff(scores: Sequence[float]) -> int:
    """How many leading hits come before the largest standing-out drop (all of them when none does)."""
    n = len(scores)
    if n < 3:
        return n
    gaps = [scores[i - 1] - scores[i] for i in range(1, n)]
    largest = max(range(len(gaps)), key=gaps.__getitem__)
    others = (sum(gaps) - gaps[largest]) / (len(gaps) - 1)
    if gaps[largest] <= 0 or gaps[largest] < STANDOUT * others:
        return n
    return largest + 1


def shape(hits: list[Hit], view: View, few: int | None = None) -> tuple[list[Hit], int]:
    """(the hits to show, the cut-off position in relevance order). `few`: cut there instead of at the score
    curve's largest drop (weak results have no meaningful drop)."""
    cut = min(few, len(hits)) if few is not None else cutoff([h.score for h in hits])
    shown = hits if view.show_all else hits[:cut]
    if view.sort == "date":
        shown = sorted(shown, key=lambda h: -h.record.taken_at)
    return shown, cut
