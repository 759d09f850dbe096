"""Images are decoded within a pixel budget: query images (upload page, API, `flask search --image`)
within MAX_QUERY_PIXELS, indexing and thumbnails within MAX_INDEX_PIXELS (issue 13, item 3)."""

import io
import threading
import time

import pytest
from PIL import Image

from image_search import images
from image_search.errors import ImageError
from image_search.images import PixelBudget, decode, reduced_rgb, to_rgb
from tests.conftest import id_of, store_of
from tests.hostile_files import png_bomb
from tests.photos import image_bytes, solid


def noise(size, mode="RGB") -> Image.Image:
    return Image.frombytes(mode, size, bytes(range(256)) * (size[0] * size[1] * len(mode) // 256 + 1))


def upload_page(client, data):
    return client.post("/search/image", data={"image": (io.BytesIO(data), "q.png")}, content_type="multipart/form-data")


def test_an_88_megapixel_png_upload_is_refused_before_it_is_decoded(indexed, client):
    # A few hundred KB that decode to 88 million pixels: under Pillow's own limit, so it was decoded.
    response = upload_page(client, png_bomb(9_400))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "too large: 9400x9400 pixels, over the limit of 40,000,000 (MAX_QUERY_PIXELS)" in page


def ask(surface, app, data, tmp_path):
    """(status or exit code, text) of a query with image bytes `data` on one of the four surfaces."""
    client, files = app.test_client(), {"image": (io.BytesIO(data), "q.png")}
    if surface == "page":
        response = upload_page(client, data)
    elif surface in ("/api/search", "/api/embed"):
        response = client.post(surface, data=files, content_type="multipart/form-data")
    else:
        query = tmp_path / "query.png"
        query.write_bytes(data)
        result = app.test_cli_runner().invoke(args=["search", "--image", str(query)])
        return result.exit_code, result.output
    return response.status_code, response.get_data(as_text=True)


@pytest.mark.parametrize("surface", ["page", "/api/search", "/api/embed", "cli"])
def test_every_query_image_is_decoded_within_max_query_pixels(make_app, runner, photo_dir, tmp_path, surface):
    assert runner.invoke(args=["index", str(photo_dir)]).exit_code == 0
    small = image_bytes(solid((10, 20, 240), size=(40, 25)))  # 1,000 pixels
    large = image_bytes(solid((10, 20, 240), size=(41, 25)))  # 1,025
    app = make_app(MAX_QUERY_PIXELS=1000)
    assert ask(surface, app, small, tmp_path)[0] in (0, 200, 303)
    code, text = ask(surface, app, large, tmp_path)
    assert code in (1, 2, 400), text
    assert "too large: 41x25 pixels, over the limit of 1,000" in text and "(MAX_QUERY_PIXELS)" in text
    if surface == "cli":
        assert "Traceback" not in text and len(text.strip().splitlines()) == 1


def jpeg(size, **save_args) -> bytes:
    return image_bytes(noise(size), "JPEG", quality=80, **save_args)


def test_a_baseline_jpeg_counts_at_the_size_it_decodes_at_a_progressive_one_at_full_size(monkeypatch):
    # 1600x1200 at draft size 448 decodes at half scale, 800x600 = 480,000 pixels; Pillow's own limit
    # (here 1x to 2x of it, where Pillow only warns) no longer refuses what the budget admits.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    budget = PixelBudget(500_000, "MAX_QUERY_PIXELS")
    decoded = decode(jpeg((1600, 1200)), 448, budget)
    assert (decoded.width, decoded.height) == (1600, 1200) and min(decoded.image.size) >= 448
    with pytest.raises(ImageError, match="1600x1200 pixels, over the limit of 500,000"):
        decode(jpeg((1600, 1200), progressive=True), 448, budget)  # libjpeg keeps every coefficient
    with pytest.raises(ImageError, match=r"1600x1200 pixels \(480,000 as decoded\), over the limit of 400,000"):
        decode(jpeg((1600, 1200)), 448, PixelBudget(400_000, "MAX_QUERY_PIXELS"))


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "LA", "L", "P"])
def test_band_by_band_reduction_equals_converting_the_whole_image(monkeypatch, mode):
    img = noise((301, 203), "RGBA").convert(mode)
    if mode == "P":
        img.info["transparency"] = 7
    monkeypatch.setattr(images, "BAND_PIXELS", 301 * 10)  # many bands, the last one short
    assert reduced_rgb(img, 40).tobytes() == to_rgb(img).reduce(5).tobytes()


def test_a_reduced_image_is_still_turned_upright():
    exif = Image.Exif()
    exif[images.ORIENTATION] = 6  # stored sideways: shown rotated 90 degrees clockwise
    data = image_bytes(noise((1200, 600)), "PNG", exif=exif)
    decoded = decode(data, 100)
    assert (decoded.width, decoded.height) == (600, 1200)
    assert decoded.image.size == (100, 200)  # reduced 6x, then turned


def test_indexing_skips_images_over_max_index_pixels_with_the_reason(make_app, photo_dir):
    Image.new("RGB", (120, 100), (1, 2, 3)).save(photo_dir / "wide.png")  # 12,000 pixels; the others 3,072
    app = make_app(MAX_INDEX_PIXELS=10_000)
    result = app.test_cli_runner().invoke(args=["index", str(photo_dir)])
    assert result.exit_code == 0, result.output
    assert f"skipped {photo_dir / 'wide.png'}: image too large: 120x100 pixels" in result.output
    assert "(MAX_INDEX_PIXELS)" in result.output
    assert store_of(app).count() == 7


def test_thumbnails_of_images_over_the_query_limit_are_still_made(make_app, photo_dir):
    app = make_app(MAX_QUERY_PIXELS=1000)  # every photo (3,072 pixels) is over it
    assert app.test_cli_runner().invoke(args=["index", str(photo_dir)]).exit_code == 0
    response = app.test_client().get(f"/thumbnail/{id_of(app, photo_dir / 'red.jpg')}")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"


@pytest.mark.parametrize("alone_over, most_at_once", [(None, 3), (1000, 1)])
def test_decodes_over_alone_over_take_turns(monkeypatch, alone_over, most_at_once):
    running, most, lock = [0], [0], threading.Lock()
    # Without alone_over all three decodes must be inside at once: they meet at a barrier (no timing).
    # With it they take turns: a barrier of 3 would never fill, so each just lingers to invite overlap.
    all_inside = threading.Barrier(3, timeout=30)

    def slow_reduce(img, target):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        if alone_over is None:
            all_inside.wait()
        else:
            time.sleep(0.05)
        with lock:
            running[0] -= 1
        return to_rgb(img)

    monkeypatch.setattr(images, "reduced_rgb", slow_reduce)
    data, budget = image_bytes(solid((1, 2, 3))), PixelBudget(10_000, "MAX_INDEX_PIXELS", alone_over)
    workers = [threading.Thread(target=decode, args=(data, None, budget)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert most[0] == most_at_once
