"""A real Elasticsearch cluster for the tests (not a double): the one ES_URL names, or one this session starts
through es/local-cluster (Elastic's own 8.14 jars, three nodes in one JVM) on free ports, stopped at the end.

Every index a session makes starts with its own prefix (RealCluster.index_name), so sessions sharing a cluster
never collide, and whatever is left under the prefix is deleted at the end. Where the cluster cannot be had
(no Java or Maven, the jars unreachable: the launcher's exit status 3), the tests that need it are skipped with
the launcher's reason; ES_UNAVAILABLE (set by .ci/run when its own start failed so) skips them the same way.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from elasticsearch import Elasticsearch

from image_search.settings import load_settings
from image_search.stores.elasticsearch.client import make_client

LAUNCHER = Path(__file__).resolve().parent.parent / "es" / "local-cluster"
UNAVAILABLE = 3  # the launcher's exit status when Java, Maven or the jars are missing
NODES = 3
EPHEMERAL_START = 32768  # Linux's default first port for bind(0) (ip_local_port_range)
CREDENTIALS = ("ES_API_KEY", "ES_USERNAME", "ES_PASSWORD", "ES_CA_CERTS")
# App-level tests parametrized over these run on the embedded store, the fake and the real cluster.
STORES_WITH_REAL_ES = ["embedded", "elasticsearch", "elasticsearch-real"]


class ClusterUnavailable(Exception):
    """The cluster cannot be had here; the message says why (the tests needing it skip with it)."""


@dataclass
class RealCluster:
    url: str
    prefix: str = field(default_factory=lambda: f"pytest-{uuid.uuid4().hex[:8]}-")
    started_dir: Path | None = None  # set when this session started the cluster (and so stops it)

    def index_name(self, purpose: str = "test") -> str:
        """A fresh index name under this session's prefix."""
        return f"{self.prefix}{purpose}-{uuid.uuid4().hex[:8]}"

    def config(self, purpose: str = "test") -> dict:
        """App settings for the store on this cluster, on a fresh index (credentials from the environment's
        ES_API_KEY, ES_USERNAME, ES_PASSWORD and ES_CA_CERTS, for a secured ES_URL)."""
        credentials = {key: os.environ[key] for key in CREDENTIALS if os.environ.get(key)}
        return {"STORE": "elasticsearch", "ES_URL": self.url, "ES_INDEX": self.index_name(purpose), **credentials}

    def client(self) -> Elasticsearch:
        return make_client(load_settings(self.config()).elasticsearch)[0]

    def delete_indices(self, pattern: str | None = None) -> None:
        """Delete the indices matching pattern (default: every index of this session), by their names: a
        shared cluster may refuse wildcard deletes (action.destructive_requires_name)."""
        with self.client() as client:
            pattern = pattern or f"{self.prefix}*"
            for name in client.indices.get(index=pattern, allow_no_indices=True, expand_wildcards="all").body:
                client.options(ignore_status=404).indices.delete(index=name)


def free_port_run(count: int, offset: int) -> int:
    """A port P with P..P+count-1 and P+offset..P+offset+count-1 all free on 127.0.0.1 (the launcher's HTTP
    and transport ports), below the kernel's ephemeral range: servers other tests bind to port 0 (the fake
    Elasticsearch, the test servers) could otherwise take one between this check and the nodes' start."""
    chooser = random.Random()
    for _ in range(200):
        base = chooser.randrange(20_000, EPHEMERAL_START - offset - count)
        ports = [*range(base, base + count), *range(base + offset, base + offset + count)]
        if all(port_is_free(port) for port in ports):
            return base
    raise ClusterUnavailable(f"found no {count} free ports in a row on 127.0.0.1")


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start_cluster(directory: Path, attempts: int = 3) -> RealCluster:
    """Start a cluster with data and log under directory; ClusterUnavailable(reason) when it can't be had.
    A start that fails otherwise is tried again on other ports (another program may have taken one)."""
    env = {**os.environ, "ES_HEAP": os.environ.get("ES_HEAP", "1g")}  # small test data: half make es's heap
    failures = []
    for attempt in range(attempts):
        http_port, home = free_port_run(NODES, 100), directory / f"start-{attempt}"
        done = subprocess.run(
            [str(LAUNCHER), "start", str(home), str(http_port), str(http_port + 100), str(NODES)],
            capture_output=True,
            text=True,
            env=env,
            timeout=900,  # a first Maven fetch of the jars, then the nodes' start (the launcher waits at most 300 s)
        )
        if done.returncode == 0:
            return RealCluster(url=f"http://127.0.0.1:{http_port}", started_dir=home)
        if done.returncode == UNAVAILABLE:
            raise ClusterUnavailable(done.stderr.strip() or done.stdout.strip())
        failures.append(f"on port {http_port} ({done.returncode}): {done.stderr.strip()}")
    raise RuntimeError("es/local-cluster start failed " + "; then ".join(failures))


def stop_cluster(directory: Path) -> None:
    subprocess.run([str(LAUNCHER), "stop", str(directory)], capture_output=True, check=True, timeout=120)


def open_cluster(directory: Path) -> RealCluster:
    """ES_URL's cluster, else a new one under directory; ClusterUnavailable when neither can be had."""
    if os.environ.get("ES_URL"):
        return RealCluster(url=os.environ["ES_URL"])
    if os.environ.get("ES_UNAVAILABLE"):
        raise ClusterUnavailable(os.environ["ES_UNAVAILABLE"])
    return start_cluster(directory)
