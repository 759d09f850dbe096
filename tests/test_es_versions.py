"""The store's feature checks (INDEX_TYPES, max_inner_product) against a real server (tests/es_cluster.py;
8.14.3 from `make es` and .ci/run): each check's verdict is the server's own. Where the store refuses a
feature for the server's version, the server refuses the same mapping sent past the check, and the store's
message names the version the feature needs; where the store allows it, the index is made and searchable."""

from __future__ import annotations

import numpy as np
import pytest
from elasticsearch import BadRequestError

from image_search.errors import StoreError
from image_search.settings import load_settings
from image_search.stores.base import ImageRecord
from image_search.stores.elasticsearch.store import INDEX_TYPES, MAX_INNER_PRODUCT_SINCE, ElasticsearchStore

DIM = 64  # bbq_hnsw needs at least 64 dimensions


def version_tuple(number: str) -> tuple[int, int]:
    major, minor = number.split("-")[0].split(".")[:2]
    return int(major), int(minor)


def real_store(es_cluster, **config) -> ElasticsearchStore:
    # quantised types rescored from the float vectors: the searches below check exact scores
    config = es_cluster.config("versions") | {"ES_RESCORE_OVERSAMPLE": "2"} | config
    return ElasticsearchStore.from_options(load_settings(config).elasticsearch)


def server_takes(store: ElasticsearchStore, unit_vectors: bool) -> bool:
    """Whether the server accepts the store's mapping when it is sent without the store's checks."""
    name = f"{store.index}-direct"
    try:
        store.client.indices.create(index=name, mappings=store.mapping("m", DIM, unit_vectors))
    except BadRequestError as refused:
        print(f"the server refused {name}: {refused}")
        return False
    store.client.indices.delete(index=name)
    return True


def unit(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def records(n: int) -> list[ImageRecord]:
    return [ImageRecord(f"/v/{i}.jpg", "/v", i, i, 10, 10, 0.0, "JPEG") for i in range(n)]


@pytest.mark.parametrize("kind", sorted(INDEX_TYPES))
def test_each_index_type_is_allowed_exactly_where_the_server_takes_it(es_cluster, kind):
    store = real_store(es_cluster, ES_INDEX_OPTIONS=f'{{"type": "{kind}"}}')
    version = store.server_version()
    needs = INDEX_TYPES[kind]
    assert server_takes(store, unit_vectors=True) == (version_tuple(version) >= needs)
    if version_tuple(version) < needs:
        with pytest.raises(StoreError) as refused:
            store.claim("m", DIM)
        assert str(refused.value) == (
            f"Elasticsearch {version} is too old for index_options type '{kind}': needs {needs[0]}.{needs[1]} "
            'or newer (or set IMAGE_SEARCH_ES_INDEX_OPTIONS={"type": "hnsw"})'
        )
        assert not store.client.indices.exists(index=store.index)  # refused before anything was made
        return
    try:
        store.claim("m", DIM)
        vectors = unit(20)
        store.upsert(records(20), vectors)
        store.flush()
        (mapping,) = store.client.indices.get_mapping(index=store.index).body.values()
        assert mapping["mappings"]["properties"]["image_embedding"]["index_options"]["type"] == kind
        hits = store.knn(vectors[7], 3)
        assert hits[0].record.path == "/v/7.jpg" and hits[0].score == pytest.approx(1.0, abs=1e-2)
    finally:
        store.clear()


def test_vectors_that_are_not_unit_length_use_max_inner_product_where_the_server_has_it(es_cluster):
    store = real_store(es_cluster, ES_INDEX_OPTIONS='{"type": "hnsw"}')
    version = version_tuple(store.server_version())
    assert server_takes(store, unit_vectors=False) == (version >= MAX_INNER_PRODUCT_SINCE)
    if version < MAX_INNER_PRODUCT_SINCE:
        with pytest.raises(StoreError, match=r"too old for max_inner_product .*: needs 8\.11 or newer"):
            store.claim("m", DIM, unit_vectors=False)
        return
    try:
        store.claim("m", DIM, unit_vectors=False)
        vectors = unit(20) * np.linspace(0.5, 3.0, 20, dtype=np.float32)[:, None]  # lengths 0.5 .. 3
        store.upsert(records(20), vectors)
        store.flush()
        query = unit(1, seed=4)[0] * 2.0
        exact = vectors @ query
        hits = store.knn(query, 5)
        assert [h.record.path for h in hits] == [f"/v/{i}.jpg" for i in np.argsort(-exact)[:5]]
        np.testing.assert_allclose([h.score for h in hits], np.sort(exact)[::-1][:5], atol=1e-3)
    finally:
        store.clear()
