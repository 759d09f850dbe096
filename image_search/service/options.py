"""What one search asks for and what it returns: the service's search() takes and gives these."""

from __future__ import annotations

from dataclasses import dataclass, field

from image_search.service.ranking import View
from image_search.stores import Filters, Hit, ImageRecord


@dataclass(frozen=True)
class SearchOptions:
    k: int = 20
    filters: Filters = field(default_factory=Filters)  # Filters is mutable: each options gets its own
    view: View = field(default_factory=View)
    filter_choices: bool = False  # also what the filter form offers (a results page asks; the API does not)


@dataclass
class SearchResult:
    hits: list[Hit]
    model: str
    took_ms: float
    notice: str | None = None
    extra: dict = field(default_factory=dict)
    cutoff: int = 0  # hits before the largest score drop, in relevance order
    hidden: int = 0  # hits left out after the cut-off (0 with show all)
    weak: bool = False  # nothing scored well (the model's own threshold): the hits are only the nearest
    filter_choices: FilterChoices | None = None  # when the options asked for them


@dataclass
class FilterChoices:
    """What the filter form offers, with how many images each has, by name: the indexed folders, and the file
    types as the filter takes them (JPEG counts its MPOs)."""

    folders: list[tuple[str, int]] = field(default_factory=list)
    types: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class HomePage:
    """What the home page shows besides the search box: never a scan over the collection."""

    recent: list[ImageRecord] = field(default_factory=list)  # newest taken first
    folders: list[tuple[str, int]] = field(default_factory=list)  # (indexed folder, images), by name
    error: str | None = None  # the store could not answer (the search box still works once it can)
