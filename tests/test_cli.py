import os

import pytest

from tests.conftest import store_of
from tests.doubles.colour_embedder import ColourEmbedder, LoadRecordingColourEmbedder

# Also on the real cluster (tests/es_cluster.py), besides the embedded store and the fake.
pytestmark = pytest.mark.real_es


def test_index_reports_added_and_skipped(runner, photo_dir, app):
    result = runner.invoke(args=["index", str(photo_dir)])
    assert result.exit_code == 0, result.output
    assert "7 added, 0 updated, 0 unchanged, 0 pruned, 2 skipped" in result.output
    assert f"skipped {photo_dir / 'broken.jpg'}: " in result.output
    assert f"skipped {photo_dir / 'empty.png'}: " in result.output
    assert store_of(app).count() == 7


def test_second_run_embeds_nothing_and_changed_files_again(runner, photo_dir, app, embedder):
    runner.invoke(args=["index", str(photo_dir)])
    calls = embedder.image_calls
    assert "0 added, 0 updated, 7 unchanged" in runner.invoke(args=["index", str(photo_dir)]).output
    assert embedder.image_calls == calls
    red = photo_dir / "red.jpg"
    os.utime(red, ns=(1, 1))
    assert "0 added, 1 updated, 6 unchanged" in runner.invoke(args=["index", str(photo_dir)]).output
    assert embedder.image_calls == calls + 1


def test_prune_removes_files_gone_from_disk(runner, photo_dir, app):
    runner.invoke(args=["index", str(photo_dir)])
    (photo_dir / "green.png").unlink()
    assert "0 pruned" in runner.invoke(args=["index", str(photo_dir)]).output
    assert store_of(app).count() == 7
    assert "1 pruned" in runner.invoke(args=["index", "--prune", str(photo_dir)]).output
    assert store_of(app).count() == 6


def test_another_model_is_refused_until_rebuild(runner, photo_dir, make_app):
    runner.invoke(args=["index", str(photo_dir)])
    app = make_app(EMBEDDER=ColourEmbedder("another-model"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["index", str(photo_dir)])  # nothing to embed: the model is not even loaded
    assert result.exit_code == 0 and "test-colour-v1 (not loaded: nothing to embed)" in result.output
    os.utime(photo_dir / "red.jpg", ns=(1, 1))
    result = runner.invoke(args=["index", str(photo_dir)])
    assert result.exit_code == 1
    assert "built with model 'test-colour-v1'" in result.output and "--rebuild" in result.output
    result = runner.invoke(args=["index", "--rebuild", str(photo_dir)])
    assert result.exit_code == 0 and "7 added" in result.output
    assert store_of(app).model_id == "another-model"


def test_a_run_that_only_skips_files_again_does_not_flush_the_store(runner, photo_dir, make_app, monkeypatch):
    """broken.jpg and empty.png are tried again by every run; skipping them again writes nothing, so the store is
    not flushed (the embedded store's flush reads its whole faiss index: 91 MB at 10,000 offline-model vectors)."""
    runner.invoke(args=["index", str(photo_dir)])
    app = make_app()  # a new process: nothing of the store in memory
    flushed: list[int] = []
    monkeypatch.setattr(store_of(app), "flush", lambda: flushed.append(1))
    result = app.test_cli_runner().invoke(args=["index", str(photo_dir)])
    assert result.exit_code == 0 and "2 skipped" in result.output and "not loaded: nothing to embed" in result.output
    assert flushed == []
    os.utime(photo_dir / "red.jpg", ns=(1, 1))
    assert "1 updated" in app.test_cli_runner().invoke(args=["index", str(photo_dir)]).output
    assert flushed == [1]
    (photo_dir / "green.png").unlink()
    assert "1 pruned" in app.test_cli_runner().invoke(args=["index", "--prune", str(photo_dir)]).output
    assert flushed == [1, 1]


def test_missing_path_is_a_one_line_error(runner, tmp_path):
    result = runner.invoke(args=["index", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_bad_shard_is_refused(runner, photo_dir):
    result = runner.invoke(args=["index", "--shard", "3/2", str(photo_dir)])
    assert result.exit_code == 2 and "I/N" in result.output


def test_shards_together_index_every_file_once(runner, photo_dir, app):
    outputs = [runner.invoke(args=["index", "--shard", f"{i}/3", str(photo_dir)]).output for i in range(3)]
    assert sum(int(o.split(" added")[0].split()[-1]) for o in outputs) == 7
    assert store_of(app).count() == 7


def test_second_indexer_is_refused_while_one_runs(runner, photo_dir, app):
    from image_search.locking import IndexLock

    with IndexLock(app.config["DATA_DIR"] / "index.lock"):
        result = runner.invoke(args=["index", str(photo_dir)])
    assert result.exit_code == 1 and "Another `flask index`" in result.output


def test_stats(runner, photo_dir):
    runner.invoke(args=["index", str(photo_dir)])
    output = runner.invoke(args=["stats"]).output
    assert "count: 7" in output and "model: test-colour-v1" in output and "size_bytes:" in output


def test_index_saves_a_last_run_report_and_stats_shows_health(runner, photo_dir, app):
    runner.invoke(args=["index", str(photo_dir)])
    from image_search.indexing.report import load_last_run

    run = load_last_run(app.config["DATA_DIR"])
    assert run["added"] == 7 and run["failed"] == 2 and run["paths"] == [str(photo_dir)]
    output = runner.invoke(args=["stats"]).output
    assert f"{photo_dir}: 9 image files on disk, 7 indexed, 2 not indexed, 0 indexed but gone" in output
    assert "7 added, 0 updated, 0 unchanged, 0 pruned, 2 failed" in output
    assert f"failed: {photo_dir / 'broken.jpg'}: cannot decode" in output


def test_stats_before_any_run(runner):
    assert "last run: none recorded" in runner.invoke(args=["stats"]).output


def test_index_prepares_the_text_model_and_only_notes_when_it_is_not_ready(photo_dir, make_app, monkeypatch):
    from image_search.errors import ModelUnavailable

    embedder = ColourEmbedder()
    texts = []
    monkeypatch.setattr(
        embedder, "embed_texts", lambda t: texts.append(list(t)) or ColourEmbedder.embed_texts(embedder, t)
    )
    runner = make_app(EMBEDDER=embedder).test_cli_runner()
    assert runner.invoke(args=["index", str(photo_dir)]).exit_code == 0
    assert texts == [["a photo"]]  # embedded once after indexing, so the first search finds its files built

    def not_ready(_):
        raise ModelUnavailable("the text model's package is missing")

    monkeypatch.setattr(embedder, "embed_texts", not_ready)
    assert "not ready" not in runner.invoke(args=["index", str(photo_dir)]).output  # the same model: not again
    result = runner.invoke(args=["index", "--rebuild", str(photo_dir)])  # a new store: its model is new
    assert (
        result.exit_code == 0
        and "note: the text model is not ready yet: the text model's package is missing" in result.output
    )


def test_a_run_with_nothing_to_do_loads_no_model(photo_dir, make_app):
    """EMBEDDER_FACTORY makes the model as the app would load it: the double counts loads and texts."""
    LoadRecordingColourEmbedder.reset()
    factory = {"EMBEDDER": None, "EMBEDDER_FACTORY": "tests.doubles.colour_embedder:LoadRecordingColourEmbedder"}
    first = make_app(**factory).test_cli_runner().invoke(args=["index", str(photo_dir)])
    assert "7 added" in first.output and LoadRecordingColourEmbedder.loads == 1
    assert LoadRecordingColourEmbedder.texts == 1  # a new model: its text side prepared after the run
    again = make_app(**factory).test_cli_runner().invoke(args=["index", "--prune", str(photo_dir)])
    assert again.exit_code == 0 and "0 added, 0 updated, 7 unchanged, 0 pruned" in again.output
    assert (LoadRecordingColourEmbedder.loads, LoadRecordingColourEmbedder.texts) == (1, 1)
    (photo_dir / "green.png").unlink()  # pruning needs no model either
    pruned = make_app(**factory).test_cli_runner().invoke(args=["index", "--prune", str(photo_dir)])
    assert "1 pruned" in pruned.output and LoadRecordingColourEmbedder.loads == 1
    os.utime(photo_dir / "red.jpg", ns=(1, 1))  # a changed file: loaded, but the text side is not new
    changed = make_app(**factory).test_cli_runner().invoke(args=["index", str(photo_dir)])
    assert "1 updated" in changed.output
    assert (LoadRecordingColourEmbedder.loads, LoadRecordingColourEmbedder.texts) == (2, 1)


def test_stats_says_which_runtime_runs_the_model(make_app):
    embedder = ColourEmbedder()
    embedder.runtime_description = "openvino-bf16 (RUNTIME=auto, measured fastest on this CPU)"
    output = make_app(EMBEDDER=embedder).test_cli_runner().invoke(args=["stats"]).output
    assert "runtime: openvino-bf16 (RUNTIME=auto, measured fastest on this CPU)" in output
