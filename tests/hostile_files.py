"""Hostile and broken files for the upload fuzz and the indexer: name -> bytes. Built by hand, so the
headers can lie (a PNG claiming 100000x100000 pixels) in ways no image library would write."""

from __future__ import annotations

import functools
import struct
import zlib

from PIL import Image

from tests.photos import image_bytes, solid


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, idat: bytes = b"", bit_depth: int = 8, colour: int = 2) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + (png_chunk(b"IDAT", idat) if idat else b"")
        + png_chunk(b"IEND", b"")
    )


def png_bomb(side: int) -> bytes:
    """A real 1-bit PNG of side x side pixels: a few KB on disk, side*side pixels decoded."""
    rows = b"".join([b"\x00" + b"\x00" * ((side + 7) // 8)] * side)
    return png(side, side, zlib.compress(rows, 9), bit_depth=1, colour=0)


def gif_huge_screen() -> bytes:
    gif = bytearray(image_bytes(solid((1, 2, 3), (4, 4)), "GIF"))
    gif[6:10] = struct.pack("<HH", 65535, 65535)  # the logical screen claims 4 billion pixels
    return bytes(gif)


def corrupt(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0x5A for b in data[middle : middle + 64]) + data[middle + 64 :]


def multi_frame(fmt: str) -> bytes:
    frames = [solid((200, 0, 0)), solid((0, 200, 0)), solid((0, 0, 200))]
    return image_bytes(frames[0], fmt, save_all=True, append_images=frames[1:])


@functools.lru_cache(maxsize=1)
def hostile_files() -> dict[str, bytes]:
    real = {fmt: image_bytes(solid((90, 120, 200), (96, 80)), fmt) for fmt in ("JPEG", "PNG", "GIF", "WEBP", "TIFF")}
    files = {
        "huge-header.png": png(100_000, 100_000, zlib.compress(b"\x00" * 64)),
        "bomb-20000.png": png_bomb(20_000),  # 400 M pixels: over twice Pillow's limit (an error)
        "bomb-10000.png": png_bomb(10_000),  # 100 M pixels: between 1x and 2x (Pillow only warns)
        "huge-screen.gif": gif_huge_screen(),
        "zero.jpg": b"",
        "script.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "page.png": b"<!doctype html><html><script>alert(document.cookie)</script></html>",
        "svg-as.jpg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        "random.webp": bytes(range(256)) * 8,
    }
    for fmt, data in real.items():
        ext = {"JPEG": "jpg"}.get(fmt, fmt.lower())
        files[f"truncated.{ext}"] = data[: len(data) // 2]
        files[f"header-only.{ext}"] = data[:16]
        files[f"corrupt.{ext}"] = corrupt(data)
    # Usable ones, which must be accepted: wrong extension, several frames.
    files["png-named.jpg"] = real["PNG"]
    files["frames.gif"] = multi_frame("GIF")
    files["pages.tiff"] = multi_frame("TIFF")
    files["frames.webp"] = multi_frame("WEBP")
    return files


def usable(data: bytes) -> bool:
    """Whether the app's own decoder accepts these bytes (some corruptions still decode)."""
    from image_search.errors import ImageError
    from image_search.images import decode

    try:
        decode(data)
        return True
    except ImageError:
        return False


assert Image  # Pillow must be importable for the files above
