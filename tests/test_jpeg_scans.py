"""Large progressive JPEGs are decoded at 1/8 scale from only the scans that scale reads (image_search/jpeg_scans.py):
the pixels must equal Pillow's decode of the whole file, and any other file must be decoded as before."""

import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from image_search import images, jpeg_scans
from image_search.errors import ImageError
from image_search.images import decode
from image_search.jpeg_scans import reduced_for_eighth_scale

SIDE = 1800  # at least 8 x 224 on both sides, so draft mode picks 1/8 scale


def photo_like(size=(SIDE + 200, SIDE)) -> Image.Image:
    """Smooth colour ramps with noise: AC coefficients of every frequency, as in a photo."""
    rng = np.random.default_rng(7)
    walk = np.cumsum(rng.normal(0, 6, (size[1], size[0], 3)), axis=1)
    return Image.fromarray((np.abs(walk) % 256).astype(np.uint8))


def save_jpeg(path: Path, img: Image.Image, **options) -> bytes:
    previous, ImageFile.MAXBLOCK = ImageFile.MAXBLOCK, 1 << 26  # Pillow's progressive encoder needs the room
    try:
        img.save(path, "JPEG", quality=90, **options)
    finally:
        ImageFile.MAXBLOCK = previous
    return path.read_bytes()


def whole_file_decode(path: Path) -> np.ndarray:
    """What decode() gave before: Pillow's draft decode of every scan."""
    with Image.open(path) as img:
        img.draft("RGB", (224, 224))
        return np.asarray(img.convert("RGB"))


@pytest.mark.parametrize(
    "options", [{"subsampling": 0}, {"subsampling": 1}, {"subsampling": 2}, {"restart_marker_rows": 1}]
)
def test_a_large_progressive_jpeg_decodes_to_the_whole_files_pixels_from_fewer_bytes(tmp_path, options):
    path = tmp_path / "wallpaper.jpg"
    data = save_jpeg(path, photo_like(), progressive=True, **options)
    reduced = reduced_for_eighth_scale(data)
    assert reduced is not None and len(reduced) < 0.5 * len(data)
    decoded = decode(str(path), 224)
    assert decoded.image.size == (-(-(SIDE + 200) // 8), SIDE // 8)
    assert np.array_equal(np.asarray(decoded.image), whole_file_decode(path))
    assert (decoded.width, decoded.height, decoded.format) == (SIDE + 200, SIDE, "JPEG")


def test_exif_orientation_and_date_come_from_the_original_file(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees
    exif.get_ifd(0x8769)[36867] = "2024:05:06 07:08:09"
    path = tmp_path / "portrait.jpg"
    save_jpeg(path, photo_like(), progressive=True, exif=exif.tobytes())
    decoded = decode(str(path), 224)
    assert (decoded.width, decoded.height) == (SIDE, SIDE + 200)
    assert decoded.image.size == (SIDE // 8, -(-(SIDE + 200) // 8))
    assert np.array_equal(np.asarray(decoded.image), np.rot90(whole_file_decode(path), -1))
    assert decoded.taken_at is not None


def test_other_jpegs_are_decoded_whole(tmp_path, monkeypatch):
    """Baseline JPEGs, smaller progressive ones (1/4 scale reads AC coefficients) and full-size decodes never
    go through the reduced stream."""
    used = []
    monkeypatch.setattr(images, "reduced_for_eighth_scale", lambda data: used.append(data) or None)
    baseline, small = tmp_path / "baseline.jpg", tmp_path / "small.jpg"
    save_jpeg(baseline, photo_like())
    save_jpeg(small, photo_like((1200, 900)), progressive=True)
    decode(str(baseline), 224)
    decode(str(small), 224)
    decode(str(small))
    assert used == []
    assert reduced_for_eighth_scale(baseline.read_bytes()) is None


def test_damaged_progressive_files_fail_as_before(tmp_path):
    path = tmp_path / "cut.jpg"
    data = save_jpeg(path, photo_like(), progressive=True)
    path.write_bytes(data[: len(data) // 3])  # cut in the middle of a scan: no end of image
    assert reduced_for_eighth_scale(path.read_bytes()) is None
    with pytest.raises(ImageError):
        decode(str(path), 224)


def test_mutated_bytes_never_raise_from_the_scan_reader(tmp_path):
    """Hostile input: flipped bytes give a reduced stream or None, never an exception; decode() says ImageError."""
    data = bytearray(save_jpeg(tmp_path / "p.jpg", photo_like(), progressive=True))
    rng = random.Random(16)
    header_end = data.index(b"\xff\xda") + 40  # mostly the headers and the first scan's start
    for _ in range(300):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(2, header_end)] = rng.randrange(256)
        reduced = reduced_for_eighth_scale(bytes(mutated))
        assert reduced is None or reduced.startswith(b"\xff\xd8")
    for _ in range(20):
        mutated = bytearray(data)
        mutated[rng.randrange(2, header_end)] = rng.randrange(256)
        try:
            decode(bytes(mutated), 224)
        except ImageError:
            pass


def test_a_complete_progression_is_decoded_from_its_dc_scans_and_empty_ac_scans(tmp_path):
    """Every coefficient sent to its last bit (as encoders do): the AC scans of the components decoded one pixel per
    block give way to empty ones, so the decoder neither reads them nor smooths blocks, and the pixels are the same."""
    path = tmp_path / "wallpaper.jpg"
    data = save_jpeg(path, photo_like(), progressive=True, subsampling=0)
    reduced = reduced_for_eighth_scale(data)
    assert reduced is not None and jpeg_scans.EMPTY_AC_TABLE in reduced
    ac_scans = [s for _, _, s in jpeg_scans._segments(reduced) or [] if s is not None and s.spectral_start > 0]
    assert [(s.spectral_start, s.spectral_end, s.low_bit) for s in ac_scans] == [(1, 63, 0)] * 3
    assert np.array_equal(np.asarray(decode(str(path), 224).image), whole_file_decode(path))


def test_an_unfinished_progression_keeps_the_scans_that_stop_dc_smoothing(tmp_path):
    """AC refinement scans left out (the low bits of AC never arrive): decoding the whole file smooths blocks, so the
    reduced stream keeps each component's first low AC scan instead of an empty one, and the pixels still match."""
    data = save_jpeg(tmp_path / "full.jpg", photo_like(), progressive=True, subsampling=0)
    parts = jpeg_scans._segments(data)
    assert parts is not None
    unfinished = (
        data[:2]
        + b"".join(
            segment for _, segment, scan in parts if scan is None or scan.spectral_start == 0 or not scan.refinement
        )
        + b"\xff\xd9"
    )
    path = tmp_path / "unfinished.jpg"
    path.write_bytes(unfinished)
    reduced = reduced_for_eighth_scale(unfinished)
    assert reduced is not None and jpeg_scans.EMPTY_AC_TABLE not in reduced
    assert np.array_equal(np.asarray(decode(str(path), 224).image), whole_file_decode(path))


@pytest.mark.parametrize("blocks", [1, 2, 255, 32767, 32768, 100000])
def test_an_empty_ac_scan_ends_every_block(tmp_path, blocks):
    """The end-of-band runs add up to the component's blocks, in whole bytes with stuffed 0xFF."""
    scan = jpeg_scans._empty_ac_scan(1, blocks)
    coded = scan[10:].replace(b"\xff\x00", b"\xff")
    bits = "".join(f"{byte:08b}" for byte in coded)
    total, position = 0, 0
    while position + 4 <= len(bits) and total < blocks:
        extra = int(bits[position : position + 4], 2)
        run = (1 << extra) + (int(bits[position + 4 : position + 4 + extra], 2) if extra else 0)
        total, position = total + run, position + 4 + extra
    assert total == blocks and set(bits[position:]) <= {"1"} and len(bits) - position < 8
