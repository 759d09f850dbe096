"""Reliability with real processes: SIGKILLed indexers resume, a second indexer refuses, searches
keep answering while an indexer process writes; and the faiss file is never older than its marker."""

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from image_search.stores.embedded.store import EmbeddedStore
from tests.photos import solid

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("crash_harness", ROOT / "bench" / "crash_harness.py")
crash_harness = importlib.util.module_from_spec(spec)
spec.loader.exec_module(crash_harness)


def start_indexer(folder, data_dir, embedder="SlowColourEmbedder", batch_size=2):
    env = dict(
        os.environ,
        IMAGE_SEARCH_DATA_DIR=str(data_dir),
        PYTHONPATH=str(ROOT),
        IMAGE_SEARCH_EMBEDDER_FACTORY=f"tests.doubles.colour_embedder:{embedder}",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "image_search", "index", "--batch-size", str(batch_size), str(folder)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def many_photos(folder: Path, count: int) -> Path:
    folder.mkdir()
    for i in range(count):
        solid(((i * 37) % 256, (i * 91) % 256, (i * 13) % 256), (64, 48)).save(folder / f"p{i:03d}.png")
    return folder


def wait_until_writing(data_dir: Path, process, timeout=30.0) -> None:
    deadline = time.monotonic() + timeout
    while crash_harness.generation(data_dir) <= 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, process.communicate()[0]


def test_indexer_resumes_after_random_sigkills(tmp_path):
    figures, problems = crash_harness.run_harness(
        images=60, kills=5, seed=7, workdir=tmp_path, batch_size=2, max_delay=1.5
    )
    assert not problems, problems
    assert figures["kills (SIGKILL)"] == 5 and figures["sqlite integrity_check"] == "ok"
    assert figures["rows in SQLite"] == figures["rows in faiss (after load)"] == figures["images on disk"]


def test_a_second_indexer_process_refuses_and_a_killed_one_leaves_no_stale_lock(tmp_path):
    folder, data_dir = many_photos(tmp_path / "photos", 120), tmp_path / "data"
    first = start_indexer(folder, data_dir, embedder="VerySlowColourEmbedder")  # 12 s: outlives the second's start
    wait_until_writing(data_dir, first)
    second = start_indexer(folder, data_dir)
    output = second.communicate(timeout=60)[0]
    assert first.poll() is None, "the first indexer finished before the second tried: nothing was tested"
    assert second.returncode == 1 and f"Another `flask index` (pid {first.pid})" in output
    first.send_signal(signal.SIGKILL)
    first.wait()
    third = start_indexer(folder, data_dir, embedder="ColourEmbedder", batch_size=32)
    output = third.communicate(timeout=60)[0]
    assert third.returncode == 0 and "0 skipped" in output, output
    assert EmbeddedStore(data_dir).count() == 120


def test_searches_keep_answering_while_an_indexer_process_writes(tmp_path, embedder):
    from image_search import create_app

    folder, data_dir = many_photos(tmp_path / "photos", 150), tmp_path / "data"
    client = create_app({"TESTING": True, "DATA_DIR": data_dir, "EMBEDDER": embedder}).test_client()
    indexer = start_indexer(folder, data_dir)
    wait_until_writing(data_dir, indexer)
    statuses, counts = [], []
    while indexer.poll() is None:
        for url in ("/api/search?q=red&k=200", "/search?q=blue", "/api/search?q=green+white&k=5"):
            response = client.get(url)
            statuses.append(response.status_code)
            if url.startswith("/api/search?q=red"):
                counts.append(len(response.get_json()["hits"]))
    assert indexer.returncode == 0, indexer.communicate()[0]
    assert len(statuses) > 10 and set(statuses) == {200}
    assert counts[0] < 150 and len(client.get("/api/search?q=red&k=200").get_json()["hits"]) == 150


def test_an_older_index_never_replaces_a_newer_one(tmp_path, embedder):
    from image_search.stores.embedded import faiss_index

    slow, fast = EmbeddedStore(tmp_path), EmbeddedStore(tmp_path)  # e.g. the web app and the indexer
    slow.claim(embedder.model_id, embedder.dim)
    slow.flush()  # generation 0 in slow's memory
    for _ in range(2):
        fast.upsert([], np.zeros((0, 4), np.float32))  # each write bumps the generation
    fast.flush()
    assert faiss_index.read_state(tmp_path / "vectors.faiss").generation == 2
    slow._saved_generation = -1
    slow._save()  # a slower process finishing an older save
    assert faiss_index.read_state(tmp_path / "vectors.faiss").generation == 2


def test_a_new_database_never_loads_an_old_index_file(tmp_path, embedder):
    from image_search.stores import ImageRecord

    record = ImageRecord(path="/x/a.png", root="/x", size=1, mtime_ns=1, width=1, height=1, taken_at=0, format="PNG")
    store = EmbeddedStore(tmp_path)
    store.claim(embedder.model_id, embedder.dim)
    store.upsert([record], embedder.embed_texts(["red"]))
    store.flush()
    store.close()
    for path in tmp_path.glob("images.sqlite*"):
        path.unlink()  # the user deletes the database but not the index beside it
    fresh = EmbeddedStore(tmp_path)
    fresh.claim(embedder.model_id, embedder.dim)
    fresh.upsert([], np.zeros((0, 4), np.float32))  # the same generation number as the old file
    assert fresh._current_index().ntotal == 0
