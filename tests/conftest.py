"""Shared fixtures: app, client and runner over a generated photo folder, each store kind, and the
tiny random CLIP pair (tests/doubles/tiny_clip.py). Test doubles live in tests/ and say what they are."""

import os
import subprocess
import uuid
from pathlib import Path

import pytest

# Tests never reach the Hugging Face hub (read when Hugging Face is imported, so set first).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from image_search import create_app
from tests.catalogs import compile_catalogs
from tests.doubles.colour_embedder import ColourEmbedder
from tests.doubles.fake_elasticsearch import FakeElasticsearch
from tests.es_cluster import STORES_WITH_REAL_ES, ClusterUnavailable, open_cluster, stop_cluster
from tests.photos import write_photo_folder

# `make install` compiles the catalogs; a test run straight from a checkout (pytest in a fresh worktree) gets
# the same compilation of its own .po files, so the Korean tests never read a stale or missing .mo.
compile_catalogs()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "real_es: the module's tests using store_config also run on the real cluster (tests/es_cluster.py)"
    )


@pytest.hookimpl(tryfirst=True)  # before pytest reads the parametrize marks and store_config's own params
def pytest_generate_tests(metafunc):
    """Tests marked real_es that use store_config run on each of STORES_WITH_REAL_ES, unless they pick their
    stores themselves."""
    if metafunc.definition.get_closest_marker("real_es") is None or "store_config" not in metafunc.fixturenames:
        return
    chosen = set()
    for mark in metafunc.definition.iter_markers("parametrize"):
        argnames = mark.args[0] if mark.args else mark.kwargs["argnames"]
        chosen |= {name.strip() for name in argnames.split(",")} if isinstance(argnames, str) else set(argnames)
    if "store_config" not in chosen:
        metafunc.definition.add_marker(pytest.mark.parametrize("store_config", STORES_WITH_REAL_ES, indirect=True))


@pytest.fixture
def photo_dir(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    write_photo_folder(root)
    return root


@pytest.fixture
def embedder():
    return ColourEmbedder()


@pytest.fixture(scope="session")
def tiny_clip_models(tmp_path_factory) -> tuple[Path, Path]:
    """(image_model_dir, text_model_dir): tiny random CLIP models, built once per session."""
    from tests.doubles.tiny_clip import build_tiny_clip

    return build_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture(scope="session")
def fake_es():
    """tests/doubles/fake_elasticsearch.py: a fake Elasticsearch server for the elasticsearch store."""
    with FakeElasticsearch() as fake:
        yield fake


@pytest.fixture(scope="session")
def es_cluster(tmp_path_factory):
    """tests/es_cluster.py: a real Elasticsearch cluster (ES_URL's, or one started for this session), started
    on first use; the tests using it are skipped, saying why, where none can be had."""
    try:
        cluster = open_cluster(tmp_path_factory.mktemp("es-cluster"))
    except ClusterUnavailable as e:
        pytest.skip(f"no real Elasticsearch cluster: {e}")
    try:
        yield cluster
    finally:
        try:
            cluster.delete_indices()
        finally:
            if cluster.started_dir:
                stop_cluster(cluster.started_dir)


@pytest.fixture(params=["embedded", "elasticsearch"])
def store_config(request) -> dict:
    """Route and indexer tests run once per store: the embedded one and Elasticsearch (on the fake); those
    parametrized with tests.es_cluster.STORES_WITH_REAL_ES also on the real cluster ("elasticsearch-real")."""
    if request.param == "embedded":
        yield {"STORE": "embedded"}
        return
    if request.param == "elasticsearch-real":
        cluster = request.getfixturevalue("es_cluster")
        # rescored: int8 quantisation of the colour embedder's few dimensions reorders near hits on 8.14
        config = cluster.config() | {"ES_RESCORE_OVERSAMPLE": "2"}
        yield config
        cluster.delete_indices(f"{config['ES_INDEX']}*")  # with the versioned indices of a --rebuild
        return
    fake = request.getfixturevalue("fake_es")
    index = f"test-{uuid.uuid4().hex[:12]}"
    yield {"STORE": "elasticsearch", "ES_URL": fake.url, "ES_INDEX": index}
    fake.indices.pop(index, None)


@pytest.fixture
def make_app(tmp_path, embedder, store_config):
    """Apps over the same data dir and store, with some settings changed (settings are fixed per app)."""

    def make(**overrides):
        return create_app(
            {
                "TESTING": True,
                "DATA_DIR": tmp_path / "data",
                "EMBEDDER": embedder,
                "WTF_CSRF_ENABLED": False,
                "PAGE_SIZE": 3,
                **store_config,
                **overrides,
            }
        )

    return make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def indexed(app, runner, photo_dir):
    """The app with the photo folder indexed."""
    result = runner.invoke(args=["index", str(photo_dir)])
    assert result.exit_code == 0, result.output
    return app


def store_of(app):
    return app.extensions["image_search"].store


def id_of(app, path) -> str:
    return next(r.id for r in store_of(app).iter_records() if r.path == str(path))


def first_tile_name(page: str) -> str:
    """The file name shown on the first result tile of a results page."""
    return page.split('class="tile"', 1)[1].split('<span class="name">', 1)[1].split("<", 1)[0]


@pytest.fixture
def read_only(tmp_path):
    """make(folder): the folder becomes read-only, as a backup or a shared disk is: mode 555 for a user,
    a read-only bind mount for root (whom modes do not stop); skipped where neither can be made."""
    mounted = []

    def make(folder):
        if os.geteuid() != 0:
            for path in [folder, *folder.rglob("*")]:
                path.chmod(0o555 if path.is_dir() else 0o444)
            return
        done = subprocess.run(["mount", "--bind", "-o", "ro", folder, folder], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot make a read-only folder as root here: {done.stderr.strip()}")
        mounted.append(folder)

    yield make
    for folder in mounted:
        subprocess.run(["umount", "--lazy", folder], check=True)  # the app may still hold a file open
    for path in tmp_path.rglob("*"):
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
