"""Elasticsearch-specific behaviour, on tests/doubles/fake_elasticsearch.py (a fake server, not Elasticsearch):
the mapping sent, configuration, connection/auth errors, 429 retries, per-document failures, inference."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

from image_search.embedders.base import Embedder
from image_search.errors import ModelUnavailable, StoreError, WriteFailures
from image_search.settings import load_settings
from image_search.stores.base import ImageRecord
from image_search.stores.elasticsearch.inference import ElasticsearchTextEmbedder, with_es_inference
from image_search.stores.elasticsearch.store import ElasticsearchStore, inner_product_from_score
from tests.doubles.fake_elasticsearch import FakeElasticsearch, FakeIndex


@pytest.fixture
def fake():
    with FakeElasticsearch() as fake:
        yield fake


def es_store_from(config: dict) -> ElasticsearchStore:
    return ElasticsearchStore.from_options(load_settings(config).elasticsearch)


def make_store(fake, **config) -> ElasticsearchStore:
    store = es_store_from({"ES_URL": fake.url, **config})
    store.initial_backoff = 0.01  # keep retry tests fast
    return store


def records(n: int, folder: str = "/photos") -> list[ImageRecord]:
    return [
        ImageRecord(
            path=f"{folder}/{i}.jpg",
            root=folder,
            size=i,
            mtime_ns=i,
            width=10,
            height=10,
            taken_at=1_600_000_000.0 + i,
            format="JPEG",
        )
        for i in range(n)
    ]


def unit(n: int, dim: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def created_mapping(fake) -> dict:
    return next(body for method, path, body in fake.requests if method == "PUT")["mappings"]


def test_mapping_sent_is_valid_for_unit_vectors(fake):
    store = make_store(fake, ES_INDEX="photos")
    store.claim("clip", 8)
    mapping = created_mapping(fake)
    vector = mapping["properties"]["image_embedding"]
    assert vector == {
        "type": "dense_vector",
        "dims": 8,
        "index": True,
        "similarity": "dot_product",
        "index_options": {"type": "int8_hnsw", "m": 16, "ef_construction": 100},
    }
    assert mapping["_meta"]["model_id"] == "clip" and mapping["_meta"]["dims"] == 8
    assert mapping["properties"]["folder"] == {"type": "keyword"}
    assert mapping["properties"]["taken_at"]["type"] == "date"
    assert "photos" in fake.indices
    assert make_store(fake, ES_INDEX="photos").model_id == "clip"  # read back from the mapping's _meta


def test_non_unit_vectors_use_max_inner_product_and_raw_scores(fake):
    store = make_store(fake)
    store.claim("raw", 4, unit_vectors=False)
    assert created_mapping(fake)["properties"]["image_embedding"]["similarity"] == "max_inner_product"
    vectors = np.random.default_rng(1).normal(size=(30, 4)).astype(np.float32) * 3
    recs = records(30)
    store.upsert(recs, vectors)
    store.flush()
    query = np.array([0.5, -2.0, 1.0, 0.25], dtype=np.float32)
    scores = vectors @ query
    order = np.argsort(-scores)[:30]
    hits = store.knn(query, 30)
    assert [h.id for h in hits] == [recs[i].id for i in order]
    assert min(h.score for h in hits) < 0  # negative inner products survive the conversion
    np.testing.assert_allclose([h.score for h in hits], scores[order], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "score,similarity,expected",
    [
        (0.75, "dot_product", 0.5),
        (0.0, "dot_product", -1.0),
        (3.5, "max_inner_product", 2.5),
        (0.25, "max_inner_product", -3.0),
        (1.0, "max_inner_product", 0.0),
    ],
)
def test_score_conversion(score, similarity, expected):
    assert inner_product_from_score(score, similarity) == pytest.approx(expected)


@pytest.mark.parametrize("options", [{"type": "int8_hnsw", "m": 32, "ef_construction": 200}, {"type": "bbq_hnsw"}])
def test_quantized_index_options_are_accepted(fake, options):
    store = make_store(fake, ES_INDEX_OPTIONS=options)
    store.claim("clip", 64)
    assert created_mapping(fake)["properties"]["image_embedding"]["index_options"] == options


def test_index_options_type_outside_the_supported_ones_is_refused():
    with pytest.raises(StoreError, match="hnsw, int8_hnsw, bbq_hnsw"):
        ElasticsearchStore(client=None, index_options={"type": "flat"})


def test_server_rejection_of_the_mapping_becomes_a_store_error(fake):
    store = make_store(fake, ES_INDEX_OPTIONS={"type": "hnsw", "m": 0, "ef_construction": 100})
    with pytest.raises(StoreError, match=r"failed creating index .*\(400\).*\[m\] must be in range"):
        store.claim("clip", 8)


@pytest.mark.parametrize(
    "version,options,unit_vectors,needs",
    [
        ("8.15.3", {"type": "bbq_hnsw"}, True, "index_options type 'bbq_hnsw': needs 8.16"),
        ("8.11.4", {"type": "int8_hnsw"}, True, "index_options type 'int8_hnsw': needs 8.12"),
        ("8.11.4", None, True, "index_options type 'int8_hnsw': needs 8.12 .*ES_INDEX_OPTIONS"),  # the default
        ("8.10.2", {"type": "hnsw"}, False, "max_inner_product .*: needs 8.11"),
        ("8.3.3", {"type": "hnsw"}, True, "kNN search: needs 8.4"),
    ],
)
def test_features_an_older_server_lacks_are_refused_before_creating(fake, version, options, unit_vectors, needs):
    fake.version = version
    store = make_store(fake, ES_INDEX_OPTIONS=options)
    with pytest.raises(StoreError, match=f"{version} is too old for {needs}"):
        store.claim("clip", 64, unit_vectors=unit_vectors)
    assert not fake.indices


def test_settings_given_as_text_are_parsed(fake):
    store = make_store(fake, ES_INDEX_OPTIONS='{"type": "int8_hnsw"}', ES_NUM_CANDIDATES="300", ES_BULK_CHUNK="50")
    assert (store.index_options, store.num_candidates, store.bulk_chunk) == ({"type": "int8_hnsw"}, 300, 50)


def test_missing_url_is_a_clear_error():
    with pytest.raises(StoreError, match="IMAGE_SEARCH_ES_URL"):
        es_store_from({})


def test_unreachable_server_is_a_one_line_store_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    with pytest.raises(StoreError) as error:
        es_store_from({"ES_URL": f"http://127.0.0.1:{port}"})
    message = str(error.value)
    assert message.startswith(f"Cannot reach Elasticsearch at http://127.0.0.1:{port}") and "\n" not in message


def test_bad_credentials_are_a_one_line_store_error():
    with FakeElasticsearch(api_key="s3cret") as fake:
        with pytest.raises(StoreError, match="refused the credentials .*IMAGE_SEARCH_ES_API_KEY"):
            es_store_from({"ES_URL": fake.url, "ES_API_KEY": "wrong"})
        store = es_store_from({"ES_URL": fake.url, "ES_API_KEY": "s3cret"})
        store.claim("clip", 4)
        assert store.model_id == "clip"


def test_password_in_the_url_stays_out_of_messages():
    store = ElasticsearchStore(client=None, url="https://elastic:s3cret@es.example:9200")
    assert store.url == "https://es.example:9200"
    store = ElasticsearchStore(client=None, url="https://elastic:s3cret@es1:9200, https://elastic:s3cret@es2:9200")
    assert store.url == "https://es1:9200,https://es2:9200"


def test_several_node_urls_and_one_unreachable_still_answer(fake):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed: a lost node
    store = es_store_from({"ES_URL": f"http://127.0.0.1:{port}, {fake.url}"})
    assert len(store.client.transport.node_pool.all()) == 2
    store.claim("clip", 4)
    for _ in range(6):  # the client picks nodes in turn: a request meeting the lost one goes again to the other
        store.upsert(records(2), np.eye(4, dtype=np.float32)[:2])
        store.flush()
        assert store.count() == 2


def test_claim_racing_another_process_that_creates_the_index(fake):
    store, other = make_store(fake), make_store(fake)
    other.claim("clip", 4)
    looks, real_read = [], store._read_meta
    store._read_meta = lambda: looks.append(1) or (real_read() if len(looks) > 1 else None)  # 1st: no index yet
    store.claim("clip", 4)  # the "already exists" answer is fine: same model
    assert store.model_id == "clip"
    assert sum(method == "PUT" for method, _, _ in fake.requests) == 2


def test_an_index_not_made_by_image_search_is_refused(fake):
    fake.indices["logs"] = FakeIndex("logs", {"properties": {"message": {"type": "text"}}})
    with pytest.raises(StoreError, match="not made by image_search: set IMAGE_SEARCH_ES_INDEX"):
        make_store(fake, ES_INDEX="logs").claim("clip", 4)


def test_upsert_before_claim_is_refused(fake):
    with pytest.raises(StoreError, match="claim"):
        make_store(fake).upsert(records(1), unit(1, 4))
    assert not fake.indices  # no index auto-created with a guessed mapping


def test_429_is_retried_with_backoff(fake):
    store = make_store(fake)
    store.claim("clip", 4)
    recs = records(5)
    fake.reject_429[recs[2].id] = 2
    store.upsert(recs, unit(5, 4))
    bulk_calls = [body for method, path, body in fake.requests if path.endswith("_bulk")]
    assert len(bulk_calls) == 3  # the first try, then two retries of the rejected document only
    store.flush()
    assert store.count() == 5


def test_per_document_failures_are_reported_by_path(fake):
    store = make_store(fake, ES_BULK_CHUNK=2)
    store.claim("clip", 4)
    recs, vectors = records(5), unit(5, 4)
    vectors[1] *= 3  # dot_product refuses non-unit vectors
    fake.reject_429[recs[3].id] = 99  # overloaded beyond max_retries
    store.max_retries = 1
    with pytest.raises(WriteFailures) as error:
        store.upsert(recs, vectors)
    assert set(error.value.failures) == {recs[1].path, recs[3].path}
    assert "unit-length" in error.value.failures[recs[1].path]
    assert error.value.written == 3 and isinstance(error.value, StoreError)
    store.flush()
    assert {r.path for r in store.iter_records()} == {recs[i].path for i in (0, 2, 4)}


def test_writes_are_chunked_and_flush_refreshes_once(fake):
    store = make_store(fake, ES_BULK_CHUNK=4)
    store.claim("clip", 4)
    store.upsert(records(10), unit(10, 4))
    assert sum(path.endswith("_bulk") for _, path, _ in fake.requests) == 3
    assert store.count() == 0  # not yet searchable: no refresh per document
    store.flush()
    assert sum(path.endswith("_refresh") for _, path, _ in fake.requests) == 1
    assert store.count() == 10
    assert len(list(store.iter_records())) == 10  # scan over several scroll pages of 4


@pytest.mark.parametrize(
    "index_type,oversample,fetched,vector_read",
    [("hnsw", "2", 3, False), ("int8_hnsw", "2", 6, True), ("int8_hnsw", "0", 3, False), ("int8_hnsw", None, 3, False)],
)
def test_knn_request_shape(fake, index_type, oversample, fetched, vector_read):
    store = make_store(
        fake, ES_NUM_CANDIDATES=50, ES_INDEX_OPTIONS={"type": index_type}, ES_RESCORE_OVERSAMPLE=oversample
    )  # None: the default, no rescoring
    store.claim("clip", 4)
    store.knn(unit(1, 4)[0], 3)
    body = next(body for method, path, body in fake.requests if path.endswith("_search"))
    assert body["knn"]["k"] == fetched and body["knn"]["num_candidates"] == 50 and body["size"] == fetched
    # The record's fields from doc values: `fields` would parse each hit's _source, vector and all.
    assert body["_source"] is False and {"field": "taken_at", "format": "epoch_millis"} in body["docvalue_fields"]
    assert body.get("fields", []) == (["image_embedding"] if vector_read else [])  # rescoring reads the floats


def test_stats(fake):
    store = make_store(fake, ES_INDEX="photos")
    store.claim("clip", 4)
    store.upsert(records(3), unit(3, 4))
    store.flush()
    stats = store.stats()
    assert stats["kind"] == "elasticsearch" and stats["count"] == 3 and stats["model"] == "clip"
    assert stats["size_bytes"] > 0 and stats["index"] == "photos" and stats["server_version"] == fake.version


class TinyLocalEmbedder(Embedder):
    """A stand-in local embedder (test double): fixed 4-d vectors."""

    model_id, dim = "tiny-local", 4

    def embed_images(self, images):
        return np.tile(np.array([[1, 0, 0, 0]], dtype=np.float32), (len(images), 1))

    def embed_texts(self, texts):
        raise AssertionError("texts must go to Elasticsearch")

    def image_query(self, stored):
        return stored * 2


def test_inference_embedder_embeds_texts_in_elasticsearch(fake):
    fake.models["clip-multilingual"] = lambda text: [len(text), 0.0, 3.0, 4.0]
    store = make_store(fake)
    embedder = with_es_inference(
        TinyLocalEmbedder(), load_settings({"ES_INFERENCE_MODEL_ID": "clip-multilingual"}).elasticsearch, store.client
    )
    assert isinstance(embedder, ElasticsearchTextEmbedder)
    assert (embedder.model_id, embedder.dim) == ("tiny-local", 4)
    vectors = embedder.embed_texts(["", "hund"])
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, [[0, 0, 0.6, 0.8], [4 / 6.4031242, 0, 3 / 6.4031242, 4 / 6.4031242]], atol=1e-6)
    infer = next(body for method, path, body in fake.requests if path.endswith("/_infer"))
    assert infer == {"docs": [{"text_field": ""}, {"text_field": "hund"}]}
    np.testing.assert_array_equal(embedder.embed_images([Image.new("RGB", (2, 2))]), [[1, 0, 0, 0]])
    np.testing.assert_array_equal(embedder.image_query(np.ones((1, 4), np.float32)), [[2, 2, 2, 2]])


def test_inference_embedder_missing_model_is_model_unavailable(fake):
    embedder = ElasticsearchTextEmbedder(TinyLocalEmbedder(), make_store(fake).client, "not-deployed")
    with pytest.raises(ModelUnavailable, match="not-deployed.*404"):
        embedder.embed_texts(["a cat"])


def test_inference_client_made_from_config(fake):
    fake.models["m"] = lambda text: [1.0, 0.0, 0.0, 0.0]
    embedder = with_es_inference(
        TinyLocalEmbedder(), load_settings({"ES_INFERENCE_MODEL_ID": "m", "ES_URL": fake.url}).elasticsearch
    )
    np.testing.assert_array_equal(embedder.embed_texts(["x"]), [[1, 0, 0, 0]])


def test_without_inference_model_the_local_embedder_is_used():
    local = TinyLocalEmbedder()
    assert with_es_inference(local, load_settings({}).elasticsearch, client=None) is local


@pytest.mark.parametrize(
    "vector,reason",
    [
        ({"type": "dense_vector", "dims": 0}, "number of dimensions"),
        ({"type": "dense_vector", "dims": 8, "similarity": "manhattan"}, "similarity"),
        ({"type": "dense_vector", "dims": 8, "index_options": {"type": "ivf"}}, "index options type"),
        (
            {"type": "dense_vector", "dims": 8, "index_options": {"type": "hnsw", "ef_construction": 0}},
            "ef_construction",
        ),
        ({"type": "dense_vector", "dims": 8, "index_options": {"type": "flat", "m": 16}}, "unsupported parameters"),
    ],
)
def test_the_fake_rejects_invalid_vector_mappings_like_elasticsearch(fake, vector, reason):
    body = json.dumps({"mappings": {"properties": {"v": vector}}}).encode()
    request = urllib.request.Request(
        f"{fake.url}/bad", data=body, method="PUT", headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request)
    assert answer.value.code == 400 and answer.value.headers["X-Elastic-Product"] == "Elasticsearch"
    error = json.loads(answer.value.read())
    assert error["status"] == 400 and error["error"]["type"] == "mapper_parsing_exception"
    assert reason in error["error"]["reason"] and error["error"]["root_cause"][0]["type"] == "mapper_parsing_exception"


def test_a_search_some_shards_failed_is_sent_again(fake, monkeypatch):
    store = make_store(fake)
    store.claim("clip", 4)
    store.upsert(records(3), np.eye(4, dtype=np.float32)[:3])
    store.flush()
    monkeypatch.setattr("image_search.stores.elasticsearch.store.PARTIAL_RETRY_PAUSE", 0)
    search, answers = store.client.search, []

    def partial_first(**request):  # as a shard copy on a node leaving the cluster answers: a partial result
        resp = search(**request).body
        if not answers:
            resp = {**resp, "_shards": {"total": 2, "successful": 1, "failed": 1}, "hits": {"hits": []}}
        answers.append(resp)
        return resp

    monkeypatch.setattr(store.client, "search", partial_first)
    assert len(store.knn(np.eye(4, dtype=np.float32)[0], 3)) == 3
    assert len(answers) == 2
