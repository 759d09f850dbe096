"""The embedded store's state on disk: a database corrupted while the app runs, an older database restored
beside a newer index file, a read-only data directory, and --rebuild swapping a new store in atomically."""

import os
import uuid

import numpy as np
import pytest

from image_search.errors import StoreError, WriteFailures
from image_search.indexing import IndexOptions, IndexProgress
from image_search.stores import ImageRecord
from image_search.stores.embedded.store import EmbeddedStore
from tests.conftest import store_of
from tests.doubles.colour_embedder import ColourEmbedder
from tests.doubles.fake_elasticsearch import FakeElasticsearch
from tests.photos import solid


def records(count: int, prefix: str = "/x") -> list[ImageRecord]:
    return [
        ImageRecord(
            path=f"{prefix}/{i:06d}.png", root=prefix, size=1, mtime_ns=1, width=1, height=1, taken_at=0, format="PNG"
        )
        for i in range(count)
    ]


def corrupt_all_but_the_header(db_path) -> None:
    """Random bytes over every page but the first, as a failing disk or a careless copy would leave it."""
    size = os.path.getsize(db_path)
    with open(db_path, "r+b") as f:
        f.seek(4096)
        f.write(np.random.default_rng(0).bytes(size - 4096))


@pytest.mark.parametrize("store_config", ["embedded"], indirect=True)
def test_a_database_corrupted_while_the_app_runs_answers_503_with_the_reason(indexed, client, embedder):
    store = store_of(indexed)
    # More rows than SQLite's page cache holds (2 MB), so requests read the damaged pages from disk.
    many = records(40_000)
    store.upsert(many, np.tile(embedder.embed_texts(["red"]), (len(many), 1)))
    store.flush()
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file, none in the WAL
    corrupt_all_but_the_header(store.db_path)

    page = client.get("/search?q=red")
    api = client.get("/api/search?q=red")
    health = client.get("/api/health")
    assert api.status_code == page.status_code == 503
    assert "database disk image is malformed" in api.get_json()["error"]
    assert "database disk image is malformed" in page.get_data(as_text=True)
    assert health.status_code in (200, 503)  # health reports the problem instead of failing


def store_with(tmp_path, embedder, colours: list[str]) -> EmbeddedStore:
    store = EmbeddedStore(tmp_path)
    store.claim(embedder.model_id, embedder.dim)
    store.upsert(records(len(colours)), embedder.embed_texts(colours))
    store.flush()
    return store


def restore(backup: bytes, tmp_path) -> None:
    for path in tmp_path.glob("images.sqlite*"):
        path.unlink()
    (tmp_path / "images.sqlite").write_bytes(backup)


def scores(store: EmbeddedStore, embedder, query: str) -> list[tuple[str, float]]:
    return [(h.record.path, round(h.score, 5)) for h in store.knn(embedder.embed_texts([query])[0], 10)]


def test_an_older_database_restored_beside_a_newer_index_file_rebuilds_the_index(tmp_path, embedder):
    store_with(tmp_path, embedder, ["red", "green", "blue"]).close()
    backup = (tmp_path / "images.sqlite").read_bytes()  # closed: the WAL is checkpointed into the file
    newer = EmbeddedStore(tmp_path)
    newer.upsert(records(3), embedder.embed_texts(["blue", "blue", "red"]))  # same images, new vectors
    newer.flush()
    newer.close()

    restore(backup, tmp_path)  # the user restores yesterday's database; today's vectors.faiss stays
    restored = EmbeddedStore(tmp_path)
    assert scores(restored, embedder, "red") == scores(
        store_with(tmp_path / "fresh", embedder, ["red", "green", "blue"]), embedder, "red"
    )


def test_a_restored_database_written_again_never_adopts_the_index_of_the_lost_history(tmp_path, embedder):
    store_with(tmp_path, embedder, ["red", "green"]).close()
    backup = (tmp_path / "images.sqlite").read_bytes()
    newer = EmbeddedStore(tmp_path)
    newer.upsert(records(2), embedder.embed_texts(["blue", "blue"]))  # generation 2 of one history
    newer.flush()
    newer.close()

    restore(backup, tmp_path)
    restored = EmbeddedStore(tmp_path)
    restored.upsert(records(1, "/y"), embedder.embed_texts(["green"]))  # generation 2 of another history
    restored.close()
    reopened = EmbeddedStore(tmp_path)
    expected = store_with(tmp_path / "fresh", embedder, ["red", "green"])
    expected.upsert(records(1, "/y"), embedder.embed_texts(["green"]))
    assert scores(reopened, embedder, "red") == scores(expected, embedder, "red")
    assert len(scores(reopened, embedder, "red")) == 3


@pytest.mark.parametrize("store_config", ["embedded"], indirect=True)
def test_searching_works_from_a_read_only_data_dir_and_indexing_there_says_why_not(
    indexed, make_app, photo_dir, read_only, tmp_path
):
    expected = indexed.test_client().get("/api/search?q=red&k=3").get_json()["hits"]
    store_of(indexed).close()
    read_only(tmp_path / "data")

    app = make_app()
    client = app.test_client()
    answer = client.get("/api/search?q=red&k=3")
    assert answer.status_code == 200 and answer.get_json()["hits"] == expected
    assert client.get("/search?q=red").status_code == 200
    assert client.get(f"/similar/{expected[0]['id']}").status_code == 200
    assert client.get("/api/health").status_code == 200

    result = app.test_cli_runner().invoke(args=["index", str(photo_dir)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot index into ") and "Searching works from it" in result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output


class SearchEachBatch(IndexProgress):
    """Runs a search after each batch of a rebuild and keeps its hit count."""

    def __init__(self, client):
        self.client, self.counts = client, []

    def on_batch(self, n: int) -> None:
        self.counts.append(len(self.client.get("/api/search?q=red&k=50").get_json()["hits"]))


def some_photos(folder, count):
    folder.mkdir()
    for i in range(count):
        solid((200 + i, 10 * i, 0), (32, 24)).save(folder / f"new{i}.png")
    return folder


def test_searches_answer_from_the_old_store_until_a_rebuild_swaps_the_new_one_in(indexed, client, tmp_path):
    service = indexed.extensions["image_search"]
    before = len(client.get("/api/search?q=red&k=50").get_json()["hits"])
    probe = SearchEachBatch(client)
    report = service.index_paths([some_photos(tmp_path / "new", 4)], IndexOptions(rebuild=True, batch_size=1), probe)
    assert report.added == 4
    assert before == 7 and probe.counts == [7, 7, 7, 7]  # never empty, never half-built
    after = client.get("/api/search?q=red&k=50").get_json()["hits"]
    assert sorted(h["path"].rsplit("/", 1)[-1] for h in after) == ["new0.png", "new1.png", "new2.png", "new3.png"]
    assert service.store.count() == 4


class FailingEmbedder(ColourEmbedder):
    def embed_images(self, images):
        raise StoreError("the disk filled up")  # any failure midway


def test_a_failed_rebuild_leaves_the_old_store_and_nothing_else(indexed, client, make_app, tmp_path, request):
    app = make_app(EMBEDDER=FailingEmbedder())
    result = app.test_cli_runner().invoke(args=["index", "--rebuild", str(some_photos(tmp_path / "new", 2))])
    assert result.exit_code == 1 and "the disk filled up" in result.output
    assert len(client.get("/api/search?q=red&k=50").get_json()["hits"]) == 7
    assert not (tmp_path / "data" / "rebuild").exists()
    if "fake_es" in request.fixturenames:
        assert f"{app.config['ES_INDEX']}-v2" not in request.getfixturevalue("fake_es").indices


def test_rebuild_with_shard_is_refused_in_one_line(runner, photo_dir):
    result = runner.invoke(args=["index", "--rebuild", "--shard", "0/2", str(photo_dir)])
    assert result.exit_code == 1 and result.output.startswith("Error: --rebuild builds the whole new index")
    assert result.output.count("\n") == 1


@pytest.fixture(params=["fake", "real"])
def es(request):
    """(make_store, indices) on the fake and on the real cluster (tests/es_cluster.py); ES_INDEX is a fresh name.
    indices() -> {index: its aliases} of every index whose name starts with ES_INDEX."""
    from image_search.settings import load_settings
    from image_search.stores.elasticsearch.store import ElasticsearchStore

    if request.param == "real":
        fake, config = None, request.getfixturevalue("es_cluster").config("photos")
    else:
        fake = FakeElasticsearch().start()
        config = {"ES_URL": fake.url, "ES_INDEX": f"photos-{uuid.uuid4().hex[:8]}"}
    name = config["ES_INDEX"]

    def make_store():
        return ElasticsearchStore.from_options(load_settings(config).elasticsearch)

    client = make_store().client

    def indices() -> dict[str, set[str]]:
        found = client.indices.get(index=f"{name}*", allow_no_indices=True, ignore_unavailable=True).body
        return {index: set(body.get("aliases", {})) for index, body in found.items()}

    yield make_store, indices, name
    for index in indices():
        client.options(ignore_status=404).indices.delete(index=index)
    if fake:
        fake.stop()


def rebuild_es(store, colours, embedder):
    with store.rebuilding() as new:
        new.claim(embedder.model_id, embedder.dim)
        new.upsert(records(len(colours)), embedder.embed_texts(colours))


def test_elasticsearch_rebuilds_swap_an_alias_and_delete_the_old_index(es, embedder):
    make_store, indices, name = es
    store = make_store()
    store.claim(embedder.model_id, embedder.dim)  # an index named like ES_INDEX, as before aliases
    store.upsert(records(2), embedder.embed_texts(["red", "red"]))
    store.flush()
    rebuild_es(store, ["red", "green", "blue"], embedder)
    assert indices() == {f"{name}-v2": {name}}
    rebuild_es(store, ["blue"], embedder)  # ES_INDEX now names an alias: a rebuild works there too
    assert indices() == {f"{name}-v3": {name}}
    assert store.count() == 1 and store.model_id == embedder.model_id
    assert [h.record.path for h in store.knn(embedder.embed_texts(["blue"])[0], 5)] == ["/x/000000.png"]
    store.clear()  # through the alias: the index behind it goes
    assert indices() == {}


def test_elasticsearch_searches_answer_from_the_old_index_until_the_swap(es, embedder):
    make_store, _, _ = es
    store = make_store()
    store.claim(embedder.model_id, embedder.dim)
    store.upsert(records(3), embedder.embed_texts(["red"] * 3))
    store.flush()
    query = embedder.embed_texts(["red"])[0]
    with store.rebuilding() as new:
        new.claim(embedder.model_id, embedder.dim)
        new.upsert(records(1), embedder.embed_texts(["red"]))
        new.flush()
        assert len(store.knn(query, 10)) == 3 and store.count() == 3
    assert len(store.knn(query, 10)) == 1


def test_writes_through_the_alias_never_create_an_index_with_guessed_mappings(es, embedder):
    make_store, indices, name = es
    store = make_store()
    rebuild_es(store, ["red"], embedder)
    other_machine = make_store()
    other_machine.claim(embedder.model_id, embedder.dim)  # a --shard indexer, running
    store.client.indices.delete(index=f"{name}-v2")  # the index goes (by hand, or an old version's --rebuild)
    with pytest.raises(WriteFailures) as refused:
        other_machine.upsert(records(1), embedder.embed_texts(["red"]))
    assert "is not an alias" in refused.value.failures["/x/000000.png"]
    assert indices() == {}  # nothing auto-created with dynamic mappings


def test_a_second_rebuild_while_one_fills_its_index_is_refused(es, embedder):
    make_store, indices, name = es
    store = make_store()
    store.claim(embedder.model_id, embedder.dim)
    with store.rebuilding() as new:
        new.claim(embedder.model_id, embedder.dim)
        with pytest.raises(StoreError, match=f"'{name}-v2' exists already: another --rebuild"):
            with make_store().rebuilding():
                pass
    assert indices() == {f"{name}-v2": {name}}  # the first one finished all the same


def test_per_folder_and_per_type_counts_come_from_indexes(tmp_path):
    """The home page and /health count per folder: from images_root, not a pass over every row."""
    import sqlite3

    from image_search.stores.embedded.store import EmbeddedStore

    EmbeddedStore(tmp_path).close()
    db = sqlite3.connect(tmp_path / "images.sqlite")
    for column in ("root", "format"):  # and the type picker's per-type counts, from images_format
        plan = db.execute(f"EXPLAIN QUERY PLAN SELECT {column}, COUNT(*) FROM images GROUP BY {column}")
        assert f"USING COVERING INDEX images_{column}" in " ".join(row[-1] for row in plan)


def test_filters_read_covering_indexes_not_the_rows(tmp_path):
    """A filter's rowids come from an index holding every filtered column: the table's rows carry the vectors
    (2 KB and more each), so a scan of the table cost 78 ms at 100,000 rows, the folder's range 0.2 ms."""
    import sqlite3

    from image_search.stores.base import Filters
    from image_search.stores.embedded.store import EmbeddedStore

    store = EmbeddedStore(tmp_path)
    db = sqlite3.connect(tmp_path / "images.sqlite")
    for filters, index in (
        (Filters(folder="/photos/trips"), "images_filters (path>? AND path<?)"),
        (Filters(date_from=1.0, date_to=2.0, min_width=100), "images_by_date (taken_at>? AND taken_at<?)"),
        (Filters(formats=("PNG",), min_height=10), "images_"),
    ):
        where, args = store._filter_sql(filters)
        rows = db.execute(f"EXPLAIN QUERY PLAN SELECT rowid FROM images WHERE {where}", args)
        plan = " ".join(row[-1] for row in rows)
        assert f"USING COVERING INDEX {index}" in plan, (filters, plan)
    store.close()


def test_the_narrow_date_index_of_older_stores_is_replaced(tmp_path):
    import sqlite3

    from image_search.stores.embedded.store import EmbeddedStore

    EmbeddedStore(tmp_path).close()
    db = sqlite3.connect(tmp_path / "images.sqlite")
    db.executescript(
        "DROP INDEX images_by_date; DROP INDEX images_filters; CREATE INDEX images_taken_at ON images (taken_at)"
    )
    db.close()
    EmbeddedStore(tmp_path).close()
    names = {n for (n,) in sqlite3.connect(tmp_path / "images.sqlite").execute("SELECT name FROM sqlite_master")}
    assert {"images_by_date", "images_filters"} <= names and "images_taken_at" not in names
