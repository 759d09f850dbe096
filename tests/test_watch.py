"""`flask index --watch`: a real watchdog observer on a temporary folder. Every wait is bounded (WAIT_S),
so a change that is never picked up fails the test instead of hanging it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from image_search.indexing import IndexOptions
from image_search.indexing.watch import ChangedPaths
from image_search.locking import IndexLock
from image_search.service.options import SearchOptions
from tests.conftest import store_of

WAIT_S = 15.0
ROOT = Path(__file__).resolve().parent.parent


def until(condition, what: str, timeout: float = WAIT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


def paths_of(app) -> set[str]:
    return {r.path for r in store_of(app).iter_records()}


def solid(path: Path, colour: tuple[int, int, int]) -> None:
    Image.new("RGB", (24, 16), colour).save(path)


@pytest.fixture
def watching(make_app, photo_dir):
    """(app, reports, notes): the folder indexed, then watched from a thread until the test ends."""
    app = make_app(WATCH_QUIET_SECONDS=0.2, WATCH_MAX_WAIT_SECONDS=2.0)
    service = app.extensions["image_search"]
    service.index_paths([photo_dir], IndexOptions())
    reports, notes, ready, stop = [], [], threading.Event(), threading.Event()
    thread = threading.Thread(
        target=service.watch_paths,
        args=([photo_dir], IndexOptions(), reports.append, stop),
        kwargs={"on_note": notes.append, "on_ready": ready.set},
        daemon=True,
    )
    thread.start()
    assert ready.wait(WAIT_S), "the watch did not start"
    yield app, reports, notes
    stop.set()
    thread.join(WAIT_S)
    assert not thread.is_alive(), "the watch did not stop"


def test_new_changed_moved_and_deleted_files_are_picked_up(watching, photo_dir, make_app):
    app, reports, _ = watching
    web = make_app().extensions["image_search"]  # another service on the same store, as the web app is

    def top(query: str, n: int = 1) -> set[str]:
        return {h.record.name for h in web.search(query, SearchOptions(5)).hits[:n]}

    assert top("blue") == {"blue.webp"}  # it has searched (and loaded its index) before the changes
    solid(photo_dir / "sky.png", (0, 0, 255))
    (photo_dir / "notes.txt").write_text("still not a photo")  # no event for it reaches a run
    until(lambda: str(photo_dir / "sky.png") in paths_of(app), "a new file indexed")
    until(lambda: top("blue", 2) == {"blue.webp", "sky.png"}, "the new file found by a running search")

    red = photo_dir / "red.jpg"
    solid(red, (0, 250, 0))  # changed: now green
    until(lambda: top("green") == {"red.jpg"}, "a changed file embedded again")

    sub = photo_dir / "sub"
    sub.mkdir()
    os.rename(photo_dir / "sky.png", sub / "sky.png")
    until(lambda: str(sub / "sky.png") in paths_of(app) and str(photo_dir / "sky.png") not in paths_of(app), "moved")
    record = next(r for r in store_of(app).iter_records() if r.path == str(sub / "sky.png"))
    assert record.root == str(photo_dir)  # still indexed from the watched folder, not from sub/

    shutil.move(str(sub), str(photo_dir.parent / "away"))  # a folder moved out: its images pruned
    (photo_dir / "green.png").unlink()
    until(lambda: not {str(sub / "sky.png"), str(photo_dir / "green.png")} & paths_of(app), "deleted and moved away")
    assert all(r.embedded + r.pruned for r in reports)  # each batch did something: no empty runs
    assert not any(path.endswith("notes.txt") for r in reports for path, _ in r.skipped)


def test_a_watched_folder_removed_and_re_added(watching, photo_dir, tmp_path):
    app, _, notes = watching
    before = paths_of(app)
    away = tmp_path / "away"
    os.rename(photo_dir, away)
    until(lambda: any("is gone" in n for n in notes), "the removal noticed")
    assert paths_of(app) == before  # an unmounted disk's images stay indexed
    (away / "green.png").unlink()  # changed while it was away: no events for these
    solid(away / "late.png", (0, 0, 0))
    os.rename(away, photo_dir)
    until(lambda: str(photo_dir / "late.png") in paths_of(app), "re-added and checked whole")
    until(lambda: str(photo_dir / "green.png") not in paths_of(app), "a file gone meanwhile pruned")
    solid(photo_dir / "later.png", (9, 9, 9))  # and watched again
    until(lambda: str(photo_dir / "later.png") in paths_of(app), "watched again")


def test_batches_wait_for_quiet_but_not_past_max_wait():
    changes = ChangedPaths()
    assert changes.take(quiet=0.1, max_wait=1.0, timeout=0.05) == []  # nothing: returns at the timeout
    changes.add(["/a.jpg", "/b.jpg", "/a.jpg"])
    started = time.monotonic()
    assert changes.take(quiet=0.2, max_wait=5.0, timeout=WAIT_S) == ["/a.jpg", "/b.jpg"]
    assert 0.15 < time.monotonic() - started < 2.0
    stop = threading.Event()

    def keep_changing():
        while not stop.wait(0.05):
            changes.add([f"/{time.monotonic()}.jpg"])

    writer = threading.Thread(target=keep_changing, daemon=True)
    writer.start()
    started = time.monotonic()
    batch = changes.take(quiet=0.5, max_wait=0.6, timeout=WAIT_S)  # never quiet: due at max_wait
    stop.set()
    writer.join()
    assert batch and time.monotonic() - started < 3.0


def test_a_failed_batch_is_told_and_tried_again(watching, photo_dir, tmp_path):
    app, _, notes = watching
    with IndexLock(Path(app.config["DATA_DIR"]) / "index.lock"):  # another indexer holds the store
        solid(photo_dir / "held.png", (1, 2, 3))
        until(lambda: any("Another `flask index`" in n for n in notes), "the refusal told")
    until(lambda: str(photo_dir / "held.png") in paths_of(app), "indexed once the lock is free")


def test_watch_takes_folders_only(runner, photo_dir):
    result = runner.invoke(args=["index", "--watch", str(photo_dir / "red.jpg")])
    assert result.exit_code == 1 and "--watch watches folders" in result.output and "Traceback" not in result.output


@contextlib.contextmanager
def sigint_not_ignored():
    """A child inherits an ignored SIGINT, and Python then gives it no KeyboardInterrupt: a shell starts
    background jobs so (`make test &`, a CI step run in the background). While a child starts, SIGINT is
    not ignored here, so it gets Ctrl-C as from a terminal."""
    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # exec resets a handler to SIG_DFL
    try:
        yield
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_ctrl_c_stops_with_one_line_exit_0_and_the_lock_released(tmp_path, photo_dir):
    data = tmp_path / "cli-data"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "IMAGE_SEARCH_DATA_DIR": str(data),
        "IMAGE_SEARCH_EMBEDDER_FACTORY": "tests.doubles.colour_embedder:SlowColourEmbedder",
        "IMAGE_SEARCH_WATCH_QUIET_SECONDS": "0.2",
        "PYTHONFAULTHANDLER": "1",
    }
    command = [sys.executable, "-m", "flask", "--app", "image_search", "index", "--watch", str(photo_dir)]
    with sigint_not_ignored():
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        assert process.stdout is not None
        reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
        reader.start()
        until(lambda: any(line.startswith("Watching ") for line in lines), "the watch started")
        for i in range(40):  # a batch long enough (20 ms an image) to be interrupted while it holds the lock
            solid(photo_dir / f"new{i}.png", (i, 0, 0))
        until(lambda: (data / "index.lock").exists() and (data / "index.lock").read_text().strip(), "a batch ran")
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(WAIT_S)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER: every thread's stack into the output
            reader.join(WAIT_S)
            pytest.fail(f"no exit within {WAIT_S:g} s of Ctrl-C; its output:\n" + "".join(lines)[-6000:])
        assert code == 0
        reader.join(WAIT_S)
    finally:
        process.kill()
    output = "".join(lines)
    assert lines[-1] == "Stopped watching.\n" and "Traceback" not in output and "Aborted" not in output
    with IndexLock(data / "index.lock"):  # released: taking it does not raise LockHeld
        pass
