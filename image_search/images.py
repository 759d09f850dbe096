"""Decoding images the same way everywhere: EXIF orientation, first frame, transparency onto white."""

from __future__ import annotations

import io
import os
import struct
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

from image_search.errors import ImageError
from image_search.user_files import open_regular

EXIF_IFD = 0x8769
DATETIME_ORIGINAL = 36867
ORIENTATION = 0x0112


def image_extensions() -> set[str]:
    """Every file extension Pillow can open (jpg, png, webp, gif, bmp, tiff, ...)."""
    Image.init()
    return {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}


@dataclass
class Decoded:
    image: Image.Image  # RGB, upright; possibly reduced by JPEG draft mode
    width: int  # of the original, as displayed (after EXIF orientation)
    height: int
    format: str
    taken_at: float | None  # EXIF DateTimeOriginal as epoch seconds


def decode(source: str | os.PathLike | bytes, draft_size: int | None = None) -> Decoded:
    """Decode to an RGB image, upright, first frame, transparency composited onto white.

    `draft_size` lets JPEG decoding skip detail the model will throw away anyway. A path is read only
    if it is a regular file (NotAFile otherwise; OSError when it is missing or unreadable).
    """
    if isinstance(source, bytes):
        return _decode(io.BytesIO(source), draft_size)
    with open_regular(source) as f:
        return _decode(f, draft_size)


def _decode(fp: BinaryIO, draft_size: int | None) -> Decoded:
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1x and 2x its pixel limit; a bomb is refused either way.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(fp) as img:
                width, height = img.size
                # Checked here too: the warnings filter above is process-wide, so not thread-safe.
                if width * height > Image.MAX_IMAGE_PIXELS:
                    raise Image.DecompressionBombError("too many pixels")
                exif = img.getexif()
                if exif.get(ORIENTATION) in (5, 6, 7, 8):
                    width, height = height, width
                if draft_size and img.format == "JPEG":
                    img.draft("RGB", (draft_size, draft_size))
                img.seek(0)
                img.load()
                return Decoded(
                    to_rgb(ImageOps.exif_transpose(img)), width, height, img.format or "unknown", exif_taken_at(exif)
                )
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"image too large (over {Image.MAX_IMAGE_PIXELS} pixels)") from None
    except UnidentifiedImageError:
        raise ImageError("not an image file Pillow can read") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise ImageError(f"cannot decode image: {exc}") from None
    except Exception as exc:  # Pillow's decoders raise many kinds on hostile bytes; all mean "unusable"
        raise ImageError(f"cannot decode image ({type(exc).__name__})") from None


def open_image(source: str | os.PathLike | bytes, draft_size: int | None = None) -> Image.Image:
    return decode(source, draft_size).image


def to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def exif_taken_at(exif: Image.Exif) -> float | None:
    """EXIF DateTimeOriginal as epoch seconds (the camera's local time), or None."""
    try:
        value = exif.get_ifd(EXIF_IFD).get(DATETIME_ORIGINAL)
        return datetime.strptime(str(value).strip("\x00 "), "%Y:%m:%d %H:%M:%S").timestamp()
    except (TypeError, ValueError, AttributeError, OSError, KeyError):
        return None
