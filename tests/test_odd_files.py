"""Files that aren't what they seem: named pipes and devices where photos were, names that are not UTF-8.

A blocking open() of a FIFO waits for a writer forever, so each test runs its step in a thread with a
deadline; if the step hangs, the test opens the pipe for writing to release it and fails."""

import os
import threading

import pytest

from tests.conftest import id_of, store_of
from tests.photos import image_bytes, solid

DEADLINE_S = 30


def finishes(step, *pipes):
    """step()'s value, failing the test (and releasing the reader) if it blocks past the deadline."""
    done: dict = {}
    thread = threading.Thread(target=lambda: done.setdefault("value", step()), daemon=True)
    thread.start()
    thread.join(DEADLINE_S)
    if thread.is_alive():
        for pipe in pipes:  # a reader blocked in open() returns once a writer opens the pipe
            os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(DEADLINE_S)
        pytest.fail(f"blocked on a named pipe for over {DEADLINE_S} s")
    return done["value"]


def test_indexer_skips_a_named_pipe_with_a_reason_and_indexes_the_rest(app, runner, photo_dir):
    pipe = photo_dir / "pipe.jpg"
    os.mkfifo(pipe)
    result = finishes(lambda: runner.invoke(args=["index", str(photo_dir)]), pipe)
    assert result.exit_code == 0, result.output
    assert f"skipped {pipe}: a named pipe (FIFO), not a regular file" in result.output
    assert store_of(app).count() == 7
    # Named alone on the command line, it is skipped the same way.
    result = finishes(lambda: runner.invoke(args=["index", str(pipe)]), pipe)
    assert result.exit_code == 0 and "a named pipe (FIFO)" in result.output


def test_an_indexed_file_replaced_by_a_pipe_is_a_404_not_a_hung_thread(indexed, client, photo_dir):
    green = photo_dir / "green.png"
    green_id = id_of(indexed, green)
    green.unlink()
    os.mkfifo(green)
    for url in (f"/original/{green_id}", f"/thumbnail/{green_id}"):
        response = finishes(lambda url=url: client.get(url), green)
        assert response.status_code == 404, url
        assert "named pipe" in response.get_data(as_text=True)


def test_the_original_route_still_answers_ranges_and_revalidation(indexed, client, photo_dir):
    url = f"/original/{id_of(indexed, photo_dir / 'green.png')}"
    data = (photo_dir / "green.png").read_bytes()
    full = client.get(url)
    assert full.content_length == len(data) and full.headers["ETag"]
    assert client.get(url, headers={"Range": "bytes=0-9"}).data == data[:10]
    assert client.get(url, headers={"If-None-Match": full.headers["ETag"]}).status_code == 304


@pytest.mark.parametrize("make", ["fifo", "device"])
def test_search_with_a_pipe_or_device_as_image_is_one_line(indexed, runner, tmp_path, make):
    path = tmp_path / "q.png"
    if make == "fifo":
        os.mkfifo(path)
    else:
        path = "/dev/zero"  # endless: a plain read would never finish
    result = finishes(lambda: runner.invoke(args=["search", "--image", str(path)]), path)
    assert result.exit_code == 1 and "not a regular file" in result.output
    assert "Traceback" not in result.output and len(result.output.splitlines()) == 1


def bytes_path(folder, name: bytes) -> bytes:
    return os.fsencode(folder) + b"/" + name


def test_names_that_are_not_utf8_are_skipped_with_a_reason_and_nothing_else_is_lost(app, runner, client, photo_dir):
    with open(bytes_path(photo_dir, b"caf\xe9.png"), "wb") as f:
        f.write(image_bytes(solid((1, 2, 3))))
    os.mkdir(bytes_path(photo_dir, b"d\xff"))
    with open(bytes_path(photo_dir, b"d\xff/inside.png"), "wb") as f:
        f.write(image_bytes(solid((4, 5, 6))))
    for _run in range(2):  # a re-run neither crashes nor loses anything either
        result = runner.invoke(args=["index", str(photo_dir), "--batch-size", "2"])
        assert result.exit_code == 0, result.output
        assert f"skipped {photo_dir}/caf\\xe9.png: its name is not valid UTF-8" in result.output
        assert f"skipped {photo_dir}/d\\xff: its name is not valid UTF-8" in result.output
        assert store_of(app).count() == 7
    health = client.get("/health")
    assert health.status_code == 200 and "caf\\xe9.png" in health.get_data(as_text=True)
    assert client.get("/api/health").status_code == 200


def test_a_folder_named_in_other_bytes_is_one_reason(app, runner, tmp_path):
    folder = bytes_path(tmp_path, b"fotos-\xe9t\xe9")
    os.mkdir(folder)
    with open(folder + b"/a.png", "wb") as f:
        f.write(image_bytes(solid((1, 2, 3))))
    result = runner.invoke(args=["index", os.fsdecode(folder)])
    assert result.exit_code == 0, result.output
    assert "fotos-\\xe9t\\xe9: its name is not valid UTF-8" in result.output
    assert "0 added" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "caf\udce9"], "which is not a character"),
        (["search", "red", "--folder", "/ph\udcf6tos"], "--folder is not valid UTF-8 text"),
    ],
)
def test_search_arguments_that_are_not_utf8_are_one_line(indexed, runner, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code == 1 and message in result.output, result.output
    assert "Traceback" not in result.output and len(result.output.splitlines()) == 1


def test_a_cached_thumbnail_is_not_served_once_its_original_is_a_pipe(indexed, client, photo_dir):
    red = photo_dir / "red.jpg"
    red_id = id_of(indexed, red)
    assert client.get(f"/thumbnail/{red_id}").status_code == 200
    red.unlink()
    os.mkfifo(red)
    response = finishes(lambda: client.get(f"/thumbnail/{red_id}"), red)
    assert response.status_code == 404 and "named pipe" in response.get_data(as_text=True)


def test_a_link_to_a_pipe_inside_the_folder_is_skipped(app, runner, photo_dir):
    os.mkfifo(photo_dir / "pipe")
    (photo_dir / "link.png").symlink_to(photo_dir / "pipe")
    result = finishes(lambda: runner.invoke(args=["index", str(photo_dir)]), photo_dir / "pipe")
    assert result.exit_code == 0 and f"skipped {photo_dir}/link.png: a named pipe (FIFO)" in result.output


def test_search_image_over_the_upload_limit_is_one_line(make_app, tmp_path, photo_dir):
    big = tmp_path / "big.png"
    big.write_bytes(image_bytes(solid((1, 2, 3))) + b"\0" * 2_000_000)
    result = make_app(MAX_UPLOAD_MB=1).test_cli_runner().invoke(args=["search", "--image", str(big)])
    assert result.exit_code == 1 and "at most 1 MB" in result.output and len(result.output.splitlines()) == 1
