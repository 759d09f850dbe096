"""Part 3, vector search: which VectorStore the app uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from image_search.errors import StoreError
from image_search.stores.base import Filters, Hit, ImageRecord, VectorStore

if TYPE_CHECKING:  # settings import the stores' option classes
    from image_search.settings import Settings

__all__ = ["Filters", "Hit", "ImageRecord", "VectorStore", "make_store"]


def make_store(settings: Settings) -> VectorStore:
    if settings.store == "embedded":
        from image_search.stores.embedded.store import EmbeddedStore

        return EmbeddedStore(settings.data_dir, settings.ann)
    if settings.store == "elasticsearch":
        from image_search.stores.elasticsearch.store import ElasticsearchStore

        return ElasticsearchStore.from_options(settings.elasticsearch)
    raise StoreError(f"IMAGE_SEARCH_STORE must be embedded or elasticsearch, not {settings.store!r}")
