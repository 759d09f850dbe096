"""Small image files of every kind the indexer must handle, written by the tests."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image


def solid(colour, size=(64, 48), mode="RGB") -> Image.Image:
    return Image.new(mode, size, colour)


def image_bytes(img: Image.Image, fmt: str = "PNG", **save_args) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **save_args)
    return buffer.getvalue()


def write_photo_folder(root: Path) -> dict[str, Path]:
    """A folder tree with good images in several formats, plus files that must be skipped."""
    (root / "nested" / "deeper").mkdir(parents=True)
    files = {
        "red": root / "red.jpg",
        "green": root / "green.png",
        "blue": root / "nested" / "blue.webp",
        "yellow": root / "nested" / "deeper" / "yellow.gif",
        "transparent": root / "transparent.png",
        "tiff": root / "nested" / "black.tiff",
        "bmp": root / "white.bmp",
    }
    solid((230, 20, 20)).save(files["red"], "JPEG")
    solid((20, 200, 30)).save(files["green"], "PNG")
    solid((10, 20, 240)).save(files["blue"], "WEBP")
    frames = [solid((240, 240, 0)).convert("P"), solid((0, 0, 0)).convert("P")]
    frames[0].save(files["yellow"], "GIF", save_all=True, append_images=frames[1:])
    solid((0, 0, 0, 0), mode="RGBA").save(files["transparent"], "PNG")  # composites to white
    solid((5, 5, 5)).save(files["tiff"], "TIFF")
    solid((250, 250, 250)).save(files["bmp"], "BMP")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "empty.png").write_bytes(b"")
    (root / "notes.txt").write_text("not an image, and not even looked at")
    return files
