"""The Elasticsearch store at scale (issue 12, "Fix for scale"): index settings, refresh off during a bulk
load, vectors read only where needed, int8_hnsw rescored exactly, health by counts, the mapping read once,
no cluster-monitor calls from `flask index`. Each runs on tests/doubles/fake_elasticsearch.py (a fake server,
whose request log shows what is sent) and on the real cluster of tests/es_cluster.py (what the server does)."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from elasticsearch import Elasticsearch

from image_search import create_app
from image_search.cli.index import EXIT_REFUSED
from image_search.errors import ModelMismatch, StoreError
from image_search.indexing import IndexOptions, index_paths
from image_search.indexing.report import load_last_run
from image_search.service.health import folder_counts
from image_search.settings import load_settings
from image_search.stores.base import ImageRecord
from image_search.stores.elasticsearch.store import ElasticsearchStore
from tests.doubles.colour_embedder import ColourEmbedder
from tests.doubles.fake_elasticsearch import FakeElasticsearch, needs_cluster_privilege


@pytest.fixture(params=["fake", "real"])
def cluster(request):
    """(url, fake or None, a client) on the fake or the real cluster (tests/es_cluster.py); the indices a test
    makes are named es-scale-test-* and deleted after."""
    fake = FakeElasticsearch().start() if request.param == "fake" else None
    url = fake.url if fake else request.getfixturevalue("es_cluster").url
    client = Elasticsearch(url)
    made: list[str] = []
    yield url, fake, client, made
    for name in made:
        for index in client.options(ignore_status=404).indices.get(index=f"{name}*").body:
            client.options(ignore_status=404).indices.delete(index=index)
    client.close()
    if fake:
        fake.stop()


def make_store(cluster, **config) -> ElasticsearchStore:
    url, _, _, made = cluster
    name = f"es-scale-test-{uuid.uuid4().hex[:8]}"
    made.append(name)
    return ElasticsearchStore.from_options(load_settings({"ES_URL": url, "ES_INDEX": name, **config}).elasticsearch)


def records(n: int, root: str = "/photos") -> list[ImageRecord]:
    return [
        ImageRecord(
            path=f"{root}/{i}.jpg", root=root, size=i, mtime_ns=i, width=10, height=10, taken_at=0, format="JPEG"
        )
        for i in range(n)
    ]


def unit(n: int, dim: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def data_dir(tmp_path):
    (tmp_path / "data").mkdir(exist_ok=True)
    return tmp_path / "data"


def index_settings(client, store) -> dict:
    (body,) = client.indices.get_settings(index=store.index).body.values()
    return body["settings"]["index"]


def test_shards_replicas_and_refresh_interval_come_from_the_settings(cluster):
    client = cluster[2]
    store = make_store(cluster, ES_SHARDS="2", ES_REPLICAS="0", ES_REFRESH_INTERVAL="5s")
    store.claim("m", 8)
    settings = index_settings(client, store)
    assert (settings["number_of_shards"], settings["number_of_replicas"], settings["refresh_interval"]) == (
        "2",
        "0",
        "5s",
    )


@pytest.mark.parametrize(
    "config,says",
    [
        ({"ES_SHARDS": "0"}, "ES_SHARDS must be 1 or more"),
        ({"ES_REPLICAS": "-1"}, "ES_REPLICAS 0 or more"),
        ({"ES_REFRESH_INTERVAL": "soon"}, "ES_REFRESH_INTERVAL must be a time such as 1s"),
        ({"ES_BULK_CHUNK": "0"}, "ES_BULK_CHUNK must be 1 or more"),
        ({"ES_RESCORE_OVERSAMPLE": "0.5"}, "ES_RESCORE_OVERSAMPLE must be 0"),
    ],
)
def test_bad_index_settings_are_one_line_errors(cluster, config, says):
    with pytest.raises(StoreError, match=says):
        make_store(cluster, **config)


def test_a_bulk_load_runs_with_refresh_off_and_restores_it_also_on_failure(cluster):
    client = cluster[2]
    store = make_store(cluster, ES_REFRESH_INTERVAL="2s")
    with store.bulk_load():  # no index yet: the one claim() makes starts with refresh off
        store.claim("m", 8)
        assert index_settings(client, store)["refresh_interval"] == "-1"
        store.upsert(records(5), unit(5, 8))
    assert index_settings(client, store)["refresh_interval"] == "2s"
    with pytest.raises(RuntimeError), store.bulk_load():
        assert index_settings(client, store)["refresh_interval"] == "-1"
        raise RuntimeError("the run failed")
    assert index_settings(client, store)["refresh_interval"] == "2s"


def test_an_indexing_run_and_a_rebuild_load_with_refresh_off(cluster, tmp_path, photo_dir):
    url, fake, client, _ = cluster
    store = make_store(cluster)
    embedder = ColourEmbedder()
    for rebuild in (False, True, False):  # a new index, a rebuild's new one, then the live one
        index_paths(
            store,
            lambda: embedder,
            [photo_dir],
            IndexOptions(rebuild=rebuild),
            data_dir(tmp_path),
            batch_size=4,
            workers=1,
        )
        assert index_settings(client, store)["refresh_interval"] == "1s"
        assert store.count() == 7
    if fake:  # the new indices were made with refresh off; the live one had it turned off, then on again
        made = [
            b["settings"]["refresh_interval"] for m, path, b in fake.requests if m == "PUT" and b and "mappings" in b
        ]
        sent = [
            b["index"]["refresh_interval"] for m, path, b in fake.requests if m == "PUT" and path.endswith("/_settings")
        ]
        assert made == ["-1", "-1"] and sent == ["1s", "1s", "-1", "1s"]


@pytest.mark.parametrize("oversample", [None, "2"])
def test_the_default_index_is_int8_hnsw_and_rescoring_makes_its_scores_exact(cluster, oversample):
    client = cluster[2]
    store = make_store(cluster, **({"ES_RESCORE_OVERSAMPLE": oversample} if oversample else {}))
    store.claim("m", 32)
    vectors = unit(300, 32)
    store.upsert(records(300), vectors)
    store.flush()
    (mapping,) = client.indices.get_mapping(index=store.index).body.values()
    assert mapping["mappings"]["properties"]["image_embedding"]["index_options"]["type"] == "int8_hnsw"
    query = unit(1, 32, seed=5)[0]
    exact = vectors @ query
    hits = store.knn(query, 10)
    # Rescored: the float vectors' inner products. By default: the quantised vectors' (the fake's are exact).
    tolerance = 1e-5 if oversample else 0.05
    for hit in hits:
        assert hit.score == pytest.approx(float(exact[int(hit.record.path.split("/")[-1][:-4])]), abs=tolerance)
    if oversample:
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len({h.id for h in hits} & {records(300)[i].id for i in np.argsort(-exact)[:10]}) >= 8


def test_vectors_are_read_through_fields_and_only_where_needed(cluster):
    _, fake, _, _ = cluster
    store = make_store(cluster)
    store.claim("m", 8)
    vectors = unit(20, 8)
    store.upsert(records(20), vectors)
    store.flush()
    np.testing.assert_allclose(store.get_vector(records(20)[3].id), vectors[3], atol=1e-6)
    assert store.get_vector("no-such-id") is None
    ((record, vector),) = store.name_matches(["7"], 5)
    np.testing.assert_allclose(vector, vectors[7], atol=1e-6)
    assert len(list(store.iter_records())) == 20 and store.get(records(20)[0].id) is not None
    if fake:  # `_source` (where 9.2+ no longer keeps vectors) is never asked for the vector
        for _, path, body in fake.requests:
            if path.endswith("_search") and body:
                assert body.get("_source") is False, body
                assert body.get("fields", []) in ([], ["image_embedding"]), body  # the rest from doc values
                wanted = "image_embedding" in body.get("fields", [])
                assert wanted == ("ids" in body.get("query", {}) or "bool" in body.get("query", {})), body


def test_health_counts_without_a_pass_over_the_index(cluster, tmp_path, photo_dir):
    _, fake, _, _ = cluster
    store = make_store(cluster)
    index_paths(store, ColourEmbedder, [photo_dir], IndexOptions(), data_dir(tmp_path), batch_size=4, workers=1)
    (photo_dir / "green.png").unlink()
    (photo_dir / "new.png").write_bytes((photo_dir / "transparent.png").read_bytes())
    if fake:
        fake.requests.clear()
    assert folder_counts(store) == [
        {"folder": str(photo_dir), "on_disk": 9, "indexed": 7, "not_indexed": 3, "gone": 1}
    ]  # broken, empty and new; green
    if fake:  # one aggregation, one _count of the ids on disk: no point in time, no scroll, no page of hits
        assert [path.rsplit("/", 1)[-1] for _, path, _ in fake.requests] == ["_search", "_count"]
        assert fake.requests[0][2]["size"] == 0


def test_health_pages_through_many_folders(cluster):
    store = make_store(cluster)
    store.claim("m", 4)
    many = [r for i in range(25) for r in records(i % 3 + 1, root=f"/roots/{i:02d}")]
    store.upsert(many, unit(len(many), 4))
    store.flush()
    assert store.root_counts() == {f"/roots/{i:02d}": i % 3 + 1 for i in range(25)}
    assert store.count_ids([r.id for r in many[:10]] + ["nope"]) == 10


def test_the_mapping_is_read_once_per_process_and_again_on_a_mismatch(cluster):
    url, fake, _, made = cluster
    store = make_store(cluster)
    store.claim("model-a", 8)
    store.upsert(records(3), unit(3, 8))
    store.flush()
    if fake:
        fake.requests.clear()
    for _ in range(5):  # what a search does: check the model, then kNN
        store.check_model("model-a")
        store.knn(unit(1, 8)[0], 2)
    if fake:
        assert not [path for _, path, _ in fake.requests if path.endswith("_mapping")]
    # Another process rebuilds the index for another model of another size: this one sees it on the mismatch.
    other = ElasticsearchStore.from_options(load_settings({"ES_URL": url, "ES_INDEX": store.index}).elasticsearch)
    with other.rebuilding() as staging:
        staging.claim("model-b", 4)
        staging.upsert(records(2), unit(2, 4))
    store.check_model("model-b")
    assert len(store.knn(unit(1, 4)[0], 5)) == 2
    with pytest.raises(ModelMismatch):
        store.check_model("model-a")
    other.close()


def test_flask_index_and_searches_need_only_index_privileges(tmp_path, photo_dir):
    """Least privilege (README: the API-key role): read, write and manage on its own indices are enough for
    `flask index` (also --prune and --rebuild), searches and the health counts; no cluster API, no _stats."""
    with FakeElasticsearch(index_privileges_only=True) as fake:
        store = ElasticsearchStore.from_options(load_settings({"ES_URL": fake.url}).elasticsearch)
        for options in (IndexOptions(), IndexOptions(prune=True), IndexOptions(rebuild=True)):
            index_paths(store, ColourEmbedder, [photo_dir], options, data_dir(tmp_path), batch_size=4, workers=1)
        assert store.count() == 7 and len(store.knn(ColourEmbedder().embed_texts(["red"])[0], 3)) == 3
        assert folder_counts(store)[0]["indexed"] == 7
        refused = [path for _, path, _ in fake.requests if needs_cluster_privilege(path)]
        assert refused == ["/"]  # the version, asked once at connecting: unknown then, and the run goes on
        stats = store.stats()  # what `flask stats` shows without the privileges
        assert stats["size_bytes"] is None and stats["server_version"].startswith("unknown")


def test_the_version_checks_still_run_when_the_version_can_be_read(cluster):
    store = make_store(cluster, ES_INDEX_OPTIONS={"type": "bbq_hnsw"})
    if cluster[1]:
        cluster[1].version = "8.14.3"
    version = store.server_version()
    assert version
    if tuple(int(x) for x in version.split(".")[:2]) < (8, 16):  # the real 8.14 cluster, and the fake set so
        with pytest.raises(StoreError, match=f"{version} is too old for index_options type 'bbq_hnsw': needs 8.16"):
            store.claim("m", 64)


class OneTooLongEmbedder(ColourEmbedder):
    """Test double: a ColourEmbedder whose vector of mostly green images is twice unit length, which an index
    with `dot_product` similarity refuses (as a cluster refuses documents it cannot take)."""

    def embed_images(self, images):
        vectors = super().embed_images(images)
        vectors[vectors[:, 1] > 0.8] *= 2
        return vectors


def test_a_partial_run_exits_3_and_last_run_json_keeps_the_reasons(cluster, tmp_path, photo_dir):
    url, _, _, made = cluster
    made.append(name := f"es-scale-test-{uuid.uuid4().hex[:8]}")
    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": data_dir(tmp_path),
            "EMBEDDER": OneTooLongEmbedder(),
            "STORE": "elasticsearch",
            "ES_URL": url,
            "ES_INDEX": name,
        }
    )
    result = app.test_cli_runner().invoke(args=["index", "--no-duplicates", str(photo_dir)])
    assert result.exit_code == EXIT_REFUSED == 3, result.output
    assert f"skipped {photo_dir / 'green.png'}: not stored:" in result.output
    assert "the store refused 1 image(s)" in result.output
    run = load_last_run(data_dir(tmp_path))
    assert run["refused"] == 1 and run["added"] == 6
    (refused,) = [f for f in run["failures"] if f["path"].endswith("green.png")]
    assert "unit-length" in refused["reason"] or "dot_product" in refused["reason"], refused


def test_es_bulk_chunk_sets_the_documents_per_bulk_request_across_model_batches(cluster, tmp_path, photo_dir):
    store = make_store(cluster, ES_BULK_CHUNK="5")
    sizes: list[int] = []
    transport = store.client.transport
    send = transport.perform_request

    def counting(method, target, **kwargs):  # a spy on the transport: the documents each bulk request carries
        if target.split("?")[0].endswith("/_bulk"):
            lines = [line.decode() if isinstance(line, bytes) else str(line) for line in kwargs["body"]]
            sizes.append(sum(line.startswith('{"index"') for line in lines))
        return send(method, target, **kwargs)

    transport.perform_request = counting  # type: ignore[method-assign]
    index_paths(store, ColourEmbedder, [photo_dir], IndexOptions(), data_dir(tmp_path), batch_size=2, workers=1)
    assert sizes == [5, 2] and store.count() == 7  # 7 images in model batches of 2


def test_pruning_reads_only_the_records_under_the_folder(cluster):
    _, fake, _, _ = cluster
    store = make_store(cluster)
    store.claim("m", 4)
    inside, outside = records(5, root="/photos/a"), records(4, root="/photos/ab")
    store.upsert(inside + outside, unit(9, 4))
    store.flush()
    assert sorted(r.path for r in store.records_under("/photos/a/")) == sorted(r.path for r in inside)
    if fake:  # one point in time with the prefix query: the other folder's documents are never read
        (search,) = [b for m, path, b in fake.requests if path == "/_search" and b and b.get("pit")]
        assert search["query"] == {"prefix": {"path": "/photos/a/"}} and search["_source"] is False
