import pytest

from tests.photos import image_bytes, solid

# Also on the real cluster (tests/es_cluster.py), besides the embedded store and the fake.
pytestmark = pytest.mark.real_es


def test_search_prints_scores_and_paths(indexed, runner, photo_dir):
    result = runner.invoke(args=["search", "3:red + blue -white", "-k", "2"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].endswith(str(photo_dir / "red.jpg")) and float(lines[0].split()[0]) > 0
    assert "2 hits in" in lines[-1]


def test_search_with_filters_sort_and_cut(indexed, runner, photo_dir):
    result = runner.invoke(
        args=["search", "red", "--folder", str(photo_dir / "nested"), "--type", "webp,tiff", "--sort", "date"]
    )
    assert result.exit_code == 0 and sorted(line.split()[-1] for line in result.output.splitlines()[:-1]) == [
        str(photo_dir / "nested" / "black.tiff"),
        str(photo_dir / "nested" / "blue.webp"),
    ]
    assert "hidden after the largest drop" in runner.invoke(args=["search", "blue", "--cut"]).output


def test_search_with_an_image_file(indexed, runner, tmp_path, photo_dir):
    query = tmp_path / "q.png"
    query.write_bytes(image_bytes(solid((10, 20, 240))))
    result = runner.invoke(args=["search", "--image", str(query), "-k", "1"])
    assert result.output.splitlines()[0].endswith("blue.webp")
    result = runner.invoke(args=["search", "3:green", "--image", str(query), "-k", "1"])
    assert result.output.splitlines()[0].endswith("green.png")


def test_search_errors_are_one_line(indexed, runner):
    assert runner.invoke(args=["search"]).exit_code == 2
    for args, message in [
        (["search", "dog +"], "Part 2 of the query is empty"),
        (["search", "red", "--from", "2023-13-01"], "YYYY-MM-DD"),
    ]:
        result = runner.invoke(args=args)
        assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_duplicates_lists_groups_with_sizes_and_dimensions(indexed, runner, photo_dir):
    result = runner.invoke(args=["duplicates", "--threshold", "0.99"])
    assert result.exit_code == 0
    assert "group 1: 2 images" in result.output
    assert f"  keep {photo_dir / 'white.bmp'}  " in result.output and "64x48  BMP" in result.output
    assert runner.invoke(args=["duplicates", "--threshold", "2"]).exit_code == 2
