"""atomic_write: whole files or none, never a temp file left by a failed write, first-wins, modes; and
the places that write files through it (the secret key, the faiss index's leftover cleanup)."""

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from image_search import config
from image_search.atomic import atomic_write, leftovers

ROOT = Path(__file__).resolve().parent.parent


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_failing_write_leaves_the_old_file_and_no_temp_file(tmp_path):
    target = tmp_path / "data.json"
    target.write_text("old")

    def half_then_fail(tmp):
        Path(tmp).write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, half_then_fail)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["data.json"]


def test_a_killed_write_leaves_the_old_file_and_a_temp_file_leftovers_finds(tmp_path):
    target = tmp_path / "vectors.faiss"
    target.write_text("old")
    script = (
        "import os, sys; from pathlib import Path; from image_search.atomic import atomic_write\n"
        "def die(tmp):\n    Path(tmp).write_text('half'); os._exit(9)\n"
        "atomic_write(Path(sys.argv[1]), die)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(target)], cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), check=False
    )
    assert done.returncode == 9 and target.read_text() == "old"
    (left,) = leftovers(target)
    assert left.name.startswith("vectors.faiss.") and left.name.endswith(".tmp.faiss")
    assert leftovers(tmp_path / "vectors") == [] and leftovers(tmp_path / "other.faiss") == []


def test_the_writer_sees_a_temp_name_with_the_target_suffix(tmp_path):
    seen = []
    assert atomic_write(tmp_path / "sub" / "model.onnx", lambda tmp: seen.append(tmp) or Path(tmp).write_text("x"))
    assert seen[0].endswith(".tmp.onnx") and Path(seen[0]).parent == tmp_path / "sub"
    assert (tmp_path / "sub" / "model.onnx").read_text() == "x" and not Path(seen[0]).exists()


def test_replace_false_keeps_the_first_file(tmp_path):
    target = tmp_path / "key"
    assert atomic_write(target, lambda tmp: Path(tmp).write_text("first"), replace=False)
    assert not atomic_write(target, lambda tmp: Path(tmp).write_text("second"), replace=False)
    assert target.read_text() == "first" and os.listdir(tmp_path) == ["key"]
    assert atomic_write(target, lambda tmp: Path(tmp).write_text("third"))  # replace=True overwrites
    assert target.read_text() == "third"


def test_of_writers_racing_with_replace_false_exactly_one_wins(tmp_path):
    target, won, start = tmp_path / "key", [], threading.Barrier(8)

    def writer(i):
        start.wait()
        if atomic_write(target, lambda tmp: Path(tmp).write_text(str(i)), replace=False):
            won.append(i)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and target.read_text() == str(won[0]) and os.listdir(tmp_path) == ["key"]


def test_mode_is_owner_only_on_request_and_else_follows_the_umask(tmp_path):
    atomic_write(tmp_path / "secret", lambda tmp: Path(tmp).write_text("s"), mode=0o600)
    assert mode_of(tmp_path / "secret") == 0o600
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "plain", lambda tmp: Path(tmp).write_text("p"))
    finally:
        os.umask(old)
    assert mode_of(tmp_path / "plain") == 0o640  # as open() would make it


def test_durable_syncs_the_file_and_its_folder(tmp_path, monkeypatch):
    synced, written = [], []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.fstat(fd).st_ino) or real_fsync(fd))

    def write(tmp):
        Path(tmp).write_text("y")
        written.append(os.stat(tmp).st_ino)

    atomic_write(tmp_path / "a", lambda tmp: Path(tmp).write_text("x"))
    assert synced == []
    atomic_write(tmp_path / "a", write, durable=True)
    assert synced == [written[0], tmp_path.stat().st_ino]  # the new file's content, then its folder


def test_secret_key_is_owner_only_and_replaces_an_empty_one(tmp_path):
    (tmp_path / "secret_key").write_text("")  # left by a kill in an older version
    key = config.persistent_secret(tmp_path)
    assert len(key) == 64 and (tmp_path / "secret_key").read_text() == key
    assert mode_of(tmp_path / "secret_key") == 0o600 and os.listdir(tmp_path) == ["secret_key"]
    assert config.persistent_secret(tmp_path) == key


def test_secret_key_of_a_process_that_wrote_first_wins(tmp_path, monkeypatch):
    real = config.atomic_write

    def another_process_first(path, write, **kw):  # it wrote its key after our check, before our link
        real(path, lambda tmp: Path(tmp).write_text("theirs" * 8), mode=0o600)
        return real(path, write, **kw)

    monkeypatch.setattr(config, "atomic_write", another_process_first)
    assert config.persistent_secret(tmp_path) == "theirs" * 8


def test_an_index_save_removes_temp_files_of_a_killed_save(tmp_path):
    from image_search.stores.embedded.store import EmbeddedStore

    store = EmbeddedStore(tmp_path)
    store.claim("m", 4)
    killed = [tmp_path / "vectors.faiss.0badf00d.tmp.faiss", tmp_path / "vectors.4242.tmp"]  # now, older
    for path in killed:
        path.write_bytes(b"half an index")
    store.upsert([], np.zeros((0, 4), np.float32))
    store.flush()
    assert (tmp_path / "vectors.faiss").exists() and not any(p.exists() for p in killed)
