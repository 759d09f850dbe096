"""Node loss on a real 3-node cluster (tests/es_cluster.py): with 1 replica, one node stops while `flask index`
writes and the web app searches. Searches keep answering, the indexer finishes (the write that met the lost
primary waits for its replica's promotion, or is sent again) and the index holds every file.

Its own cluster, never the session's (a node of that one must not go away under other tests): 3 shards, so
that a primary lives on the node that stops; skipped, saying why, where no cluster can be had.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from image_search import create_app
from tests.doubles.colour_embedder import ColourEmbedder, SlowColourEmbedder
from tests.es_cluster import NODES, ClusterUnavailable, RealCluster, start_cluster, stop_cluster
from tests.photos import solid

FILES_PER_RUN = 150


class NodeStoppingEmbedder(SlowColourEmbedder):
    """Test double: the slowed colour embedder that calls stop() once, from the indexer's thread, when it has
    embedded `after` images: the node goes away in the middle of a run, between two bulk writes."""

    def __init__(self, after: int, stop):
        super().__init__(delay=0.01)
        self.after, self.stop, self.stopped_at = after, stop, None

    def embed_images(self, images):
        vectors = super().embed_images(images)
        if self.stopped_at is None and self.image_calls >= self.after:
            self.stop()
            self.stopped_at = time.monotonic()
        return vectors


@pytest.fixture
def cluster(tmp_path):
    if os.environ.get("ES_UNAVAILABLE"):
        pytest.skip(f"no real Elasticsearch cluster: {os.environ['ES_UNAVAILABLE']}")
    try:
        started = start_cluster(tmp_path / "es")
    except ClusterUnavailable as e:
        pytest.skip(f"no real Elasticsearch cluster: {e}")
    assert started.started_dir is not None
    try:
        yield started
    finally:
        stop_cluster(started.started_dir)


def write_files(folder: Path, shade: int) -> None:
    folder.mkdir(parents=True)
    for i in range(FILES_PER_RUN):
        solid((200, i, shade), size=(8, 8)).save(folder / f"{i:03}.png")


def node_with_a_primary(cluster: RealCluster, index: str) -> int:
    """Node 2 or 1 holding a primary shard of the index (Elasticsearch puts a new index's primaries on the
    nodes in turn, so with 3 shards each node has one); node 0, the elected master, stays."""
    with cluster.client() as client:
        shards = client.cat.shards(index=index, format="json", h="prirep,node").body
    primaries = {row["node"] for row in shards if row["prirep"] == "p"}
    victim = next((i for i in (2, 1) if f"node-{i}" in primaries), None)
    assert victim is not None, f"no primary on node-1 or node-2: {shards}"
    return victim


def stop_node(cluster: RealCluster, node: int) -> None:
    """Stop one node (the launcher closes it when DIR/stop-node-I appears) and wait until the cluster has
    removed it: the writes after this meet the loss, not a node that is still closing."""
    assert cluster.started_dir is not None
    (cluster.started_dir / f"stop-node-{node}").touch()
    with cluster.client() as client:
        deadline = time.monotonic() + 60
        while client.cluster.health()["number_of_nodes"] != NODES - 1:
            assert time.monotonic() < deadline, f"node-{node} did not leave the cluster within 60 s"
            time.sleep(0.1)


def test_searches_and_indexing_survive_a_lost_node(tmp_path, cluster):
    ports = range(int(cluster.url.rsplit(":", 1)[1]), int(cluster.url.rsplit(":", 1)[1]) + NODES)
    config = cluster.config("node-loss") | {
        "ES_URL": ",".join(f"http://127.0.0.1:{port}" for port in ports),  # every node, so any one may go
        "ES_SHARDS": "3",
        "ES_REPLICAS": "1",
        "ES_BULK_CHUNK": "10",  # many small bulk requests: some before, some across, some after the loss
        "ES_RESCORE_OVERSAMPLE": "2",
    }
    base = {"TESTING": True, "DATA_DIR": tmp_path / "data", "BATCH_SIZE": 10, **config}
    photos = tmp_path / "photos"
    write_files(photos / "before", shade=0)
    web = create_app(base | {"EMBEDDER": ColourEmbedder()})
    assert web.test_cli_runner().invoke(args=["index", str(photos)]).exit_code == 0
    with cluster.client() as client:  # both copies of every shard, so each primary has a replica to promote
        assert client.cluster.health(index=config["ES_INDEX"], wait_for_status="green", timeout="60s")["status"] == (
            "green"
        )
    victim = node_with_a_primary(cluster, config["ES_INDEX"])

    write_files(photos / "after", shade=250)
    embedder = NodeStoppingEmbedder(after=FILES_PER_RUN // 3, stop=lambda: stop_node(cluster, victim))
    indexer = create_app(base | {"EMBEDDER": embedder})
    result = {}
    thread = threading.Thread(
        target=lambda: result.update(out=indexer.test_cli_runner().invoke(args=["index", str(photos)]))
    )
    client = web.test_client()
    answers: list[tuple[float, int, int]] = []  # (when, status, hits)
    thread.start()
    while thread.is_alive():
        response = client.get("/api/search", query_string={"q": "red", "k": 10})
        hits = len(response.get_json().get("hits", [])) if response.is_json else 0
        answers.append((time.monotonic(), response.status_code, hits))
    thread.join()

    out = result["out"]
    assert out.exit_code == 0, out.output
    assert embedder.stopped_at is not None
    during = [a for a in answers if a[0] >= embedder.stopped_at]
    assert len(during) >= 5, f"only {len(during)} searches after the node stopped"
    assert [a for a in answers if a[1] != 200 or a[2] != 10] == []
    with cluster.client() as es:
        assert es.cluster.health()["number_of_nodes"] == NODES - 1
    assert indexer.extensions["image_search"].store.count() == 2 * FILES_PER_RUN
