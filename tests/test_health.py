import json

from image_search.indexing.plan import plan_run
from image_search.indexing.report import MAX_FAILURES, IndexReport, load_last_run, save_last_run
from image_search.indexing.run import run_plan
from image_search.service.health import folder_counts
from image_search.stores.embedded.store import EmbeddedStore


def test_last_run_round_trip_stays_small(tmp_path):
    report = IndexReport(added=3, skipped=[(f"/p/{i}.jpg", "cannot decode") for i in range(500)], seconds=1.234)
    save_last_run(tmp_path, report, ["photos"], "m1")
    run = load_last_run(tmp_path)
    assert run["added"] == 3 and run["failed"] == 500 and len(run["failures"]) == MAX_FAILURES
    assert run["failures"][0] == {"path": "/p/0.jpg", "reason": "cannot decode"} and run["model"] == "m1"
    assert run["paths"][0].startswith("/") and (tmp_path / "last_run.json").stat().st_size < 10_000
    assert not list(tmp_path.glob("*.tmp"))


def test_missing_or_damaged_report_is_none(tmp_path):
    assert load_last_run(tmp_path) is None
    (tmp_path / "last_run.json").write_text("{half")
    assert load_last_run(tmp_path) is None


def test_folder_counts_on_disk_vs_indexed(tmp_path, photo_dir, embedder):
    store = EmbeddedStore(tmp_path / "store")
    run_plan(store, embedder, plan_run(store, [photo_dir]))
    (photo_dir / "green.png").unlink()
    (photo_dir / "new.png").write_bytes((photo_dir / "transparent.png").read_bytes())
    assert folder_counts(store) == [
        {"folder": str(photo_dir), "on_disk": 9, "indexed": 7, "not_indexed": 3, "gone": 1}
    ]  # broken, empty and new; green
    json.dumps(folder_counts(store))
