"""Acting on near-duplicates: the keeper, the page's export, `flask duplicates --move-to DIR` (never deleting)."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import id_of, store_of
from tests.photos import solid


@pytest.fixture
def with_copies(app, runner, photo_dir):
    """The photo folder plus a copy of red.jpg and a slightly edited red, indexed; groups at 0.99:
    the three reds, and the transparent PNG (white) with white.bmp."""
    shutil.copy(photo_dir / "red.jpg", photo_dir / "nested" / "red copy.jpg")
    solid((225, 30, 25), size=(128, 96)).save(photo_dir / "red-edited.png")  # the most pixels: the keeper
    result = runner.invoke(args=["index", str(photo_dir)])
    assert result.exit_code == 0, result.output
    return app


def move(runner, dest, *extra, input=None):
    return runner.invoke(args=["duplicates", "--threshold", "0.99", "--move-to", str(dest), *extra], input=input)


def test_move_to_keeps_the_suggested_keeper_and_moves_the_rest(with_copies, runner, photo_dir, tmp_path):
    dest = tmp_path / "extra copies"
    result = move(runner, dest, "--yes")
    assert result.exit_code == 0, result.output
    assert "keep " + str(photo_dir / "red-edited.png") in result.output
    assert (photo_dir / "red-edited.png").exists() and not (photo_dir / "red.jpg").exists()
    assert (dest / "photos" / "red.jpg").exists() and (dest / "photos" / "nested" / "red copy.jpg").exists()
    assert "3 moved, 0 skipped" in result.output  # two reds and one of the white pair
    indexed = {r.path for r in store_of(with_copies).iter_records()}
    assert str(photo_dir / "red.jpg") not in indexed and str(photo_dir / "red-edited.png") in indexed
    again = runner.invoke(args=["duplicates", "--threshold", "0.99"])
    assert "0 groups" in again.output  # computed again after the move


def test_nothing_moves_without_a_yes(with_copies, runner, photo_dir, tmp_path):
    result = move(runner, tmp_path / "dest", input="n\n")
    assert result.exit_code == 1 and "Move 3 files" in result.output and "Aborted" in result.output
    assert (photo_dir / "red.jpg").exists() and not (tmp_path / "dest").exists()


def test_the_page_export_moves_what_the_user_chose_to_leave(with_copies, client, runner, photo_dir, tmp_path):
    answer = client.get("/api/duplicates?threshold=0.99").get_json()
    reds = next(g for g in answer["groups"] if any(i["path"].endswith("red.jpg") for i in g["images"]))
    key = reds["key"]
    assert key == min(i["id"] for i in reds["images"])
    assert reds["suggested_keeper"] == id_of(with_copies, photo_dir / "red-edited.png")
    chosen = id_of(with_copies, photo_dir / "red.jpg")
    export = client.get(f"/duplicates/export?threshold=0.99&keep-{key}={chosen}")
    assert export.status_code == 200 and "attachment" in export.headers["Content-Disposition"]
    listed = export.get_data(as_text=True).splitlines()
    assert str(photo_dir / "red.jpg") not in listed and str(photo_dir / "red-edited.png") in listed
    (tmp_path / "list.txt").write_text(export.get_data(as_text=True))
    result = move(runner, tmp_path / "dest", "--paths", str(tmp_path / "list.txt"), "--yes")
    assert result.exit_code == 0, result.output
    assert (photo_dir / "red.jpg").exists() and not (photo_dir / "red-edited.png").exists()


def test_a_choice_outside_its_group_is_a_400(with_copies, client, photo_dir):
    answer = client.get("/api/duplicates?threshold=0.99").get_json()
    key = min(i["id"] for i in answer["groups"][0]["images"])
    other = id_of(with_copies, photo_dir / "green.png")
    response = client.get(f"/duplicates/export?threshold=0.99&keep-{key}={other}")
    assert response.status_code == 400 and "not in that group" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "listing, message",
    [
        (lambda d: [str(d / "green.png")], "in no near-duplicate group"),
        (lambda d: [str(d / "red.jpg"), str(d / "red-edited.png"), str(d / "nested" / "red copy.jpg")], "keep one"),
    ],
)
def test_bad_lists_are_one_line_and_move_nothing(with_copies, runner, photo_dir, tmp_path, listing, message):
    (tmp_path / "list.txt").write_text("\n".join(listing(photo_dir)) + "\n")
    result = move(runner, tmp_path / "dest", "--paths", str(tmp_path / "list.txt"), "--yes")
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert (photo_dir / "red.jpg").exists() and not (tmp_path / "dest").exists()


def test_a_destination_inside_the_collection_is_refused(with_copies, runner, photo_dir):
    result = move(runner, photo_dir / "dups", "--yes")
    assert result.exit_code == 1 and "inside the indexed folder" in result.output
    assert (photo_dir / "red.jpg").exists()


def test_a_file_changed_since_indexing_stays(with_copies, runner, photo_dir, tmp_path):
    st = os.stat(photo_dir / "red.jpg")
    os.utime(photo_dir / "red.jpg", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    result = move(runner, tmp_path / "dest", "--yes")
    assert result.exit_code == 0 and "changed since it was indexed" in result.output
    assert (photo_dir / "red.jpg").exists() and "2 moved, 1 skipped" in result.output


def test_paths_without_move_to(with_copies, runner, tmp_path):
    (tmp_path / "list.txt").write_text("x\n")
    result = runner.invoke(args=["duplicates", "--paths", str(tmp_path / "list.txt")])
    assert result.exit_code == 1 and "--move-to" in result.output


def test_the_page_offers_a_keep_choice_per_group_and_exports_the_others(with_copies, client, photo_dir):
    """No JavaScript: one radio group per duplicate group (the suggested keeper checked), a GET form."""
    import re

    page = client.get("/duplicates?threshold=0.99").get_data(as_text=True)
    assert 'action="/duplicates/export"' in page and "--move-to DIR --paths LIST" in page
    keeper = id_of(with_copies, photo_dir / "red-edited.png")
    assert re.search(rf'name="keep-[0-9a-f]+" value="{keeper}" checked', page)
    assert len(set(re.findall(r'name="(keep-[0-9a-f]+)"', page))) == 2  # the reds, the whites
    assert "이 사진 남기기" in client.get("/duplicates?threshold=0.99", headers={"Accept-Language": "ko"}).get_data(
        as_text=True
    )
