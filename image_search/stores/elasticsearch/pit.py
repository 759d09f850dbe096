"""Full passes over an index: a point in time (PIT) walked with `search_after`.

A PIT is one consistent view of the index for the whole pass, cheaper on the cluster than a scroll
and not limited in depth like `from`; Elastic recommends it over scroll for deep pagination.
"""

from __future__ import annotations

from collections.abc import Iterator

KEEP_ALIVE = "2m"  # how long the cluster keeps the view between two pages


def pit_pages(client, index: str, size: int, **search) -> Iterator[list[dict]]:
    """Every hit of `index` (matching `query=...` if given), `size` per page, in the index's own order
    (`_shard_doc`, the cheapest sort). Extra keyword arguments go to each search (`source=...`). The
    PIT is closed at the end, or when the caller stops early."""
    pit_id = client.open_point_in_time(index=index, keep_alive=KEEP_ALIVE)["id"]
    try:
        after = None
        while True:
            resp = client.search(
                pit={"id": pit_id, "keep_alive": KEEP_ALIVE},
                size=size,
                sort=[{"_shard_doc": "asc"}],
                search_after=after,
                track_total_hits=False,
                **search,
            )
            pit_id = resp.get("pit_id", pit_id)  # the cluster may hand back a new id
            hits = resp["hits"]["hits"]
            if hits:
                yield hits
            if len(hits) < size:
                return
            after = hits[-1]["sort"]
    finally:
        client.options(ignore_status=404).close_point_in_time(id=pit_id)
