"""Decoding images the same way everywhere: EXIF orientation, first frame, transparency onto white."""

from __future__ import annotations

import io
import os
import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

import pillow_heif
from flask_babel import gettext
from PIL import Image, ImageOps, UnidentifiedImageError

from image_search.errors import ImageError
from image_search.jpeg_scans import reduced_for_eighth_scale
from image_search.user_files import open_regular

# Phones save HEIC (iPhones) and AVIF: Pillow reads AVIF itself, pillow-heif adds HEIF/HEIC. Registered
# here, where every decode and every list of readable types comes from.
pillow_heif.register_heif_opener()

EXIF_IFD = 0x8769
DATETIME_ORIGINAL = 36867
ORIENTATION = 0x0112


def image_extensions() -> set[str]:
    """Every file extension Pillow can open (jpg, png, webp, gif, bmp, tiff, heic, avif, ...)."""
    Image.init()
    return {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}


@dataclass
class Decoded:
    image: Image.Image  # RGB, upright; possibly reduced (JPEG draft mode, then whole-pixel averaging)
    width: int  # of the original, as displayed (after EXIF orientation)
    height: int
    format: str
    taken_at: float | None  # EXIF DateTimeOriginal as epoch seconds


@dataclass(frozen=True)
class PixelBudget:
    """The most pixels one decode may hold in memory, so memory is bounded by decoding threads x budget.

    Over `limit` an image is refused before its pixels are decoded. Over `alone_over` (and up to the
    limit) decodes take turns, one at a time in the process. `setting` names what raises the limit.
    """

    limit: int
    setting: str
    alone_over: int | None = None


# Large decodes within a budget's `alone_over` wait for each other here.
_ONE_LARGE_DECODE = threading.Lock()
# Rows of pixels converted at a time when reducing: bands of about this many pixels.
BAND_PIXELS = 1 << 20


def decode(
    source: str | os.PathLike | bytes, draft_size: int | None = None, budget: PixelBudget | None = None
) -> Decoded:
    """Decode to an RGB image, upright, first frame, transparency composited onto white.

    `draft_size` lets decoding skip detail the model will throw away anyway: JPEGs decode at about
    that size (draft mode) and larger images are reduced to it before any full-size copy is made.
    `budget` (default: Pillow's MAX_IMAGE_PIXELS) refuses images whose decode would hold more pixels.
    A path is read only if it is a regular file (NotAFile otherwise; OSError when missing or unreadable).
    """
    budget = budget or PixelBudget(Image.MAX_IMAGE_PIXELS or 2**62, "PIL.Image.MAX_IMAGE_PIXELS")
    if isinstance(source, bytes):
        return _decode(io.BytesIO(source), draft_size, budget)
    with open_regular(source) as f:
        return _decode(f, draft_size, budget)


def open_image(
    source: str | os.PathLike | bytes, draft_size: int | None = None, budget: PixelBudget | None = None
) -> Image.Image:
    return decode(source, draft_size, budget).image


def _decode(fp: BinaryIO, draft_size: int | None, budget: PixelBudget) -> Decoded:
    try:
        with warnings.catch_warnings():
            # Pillow warns between 1x and 2x its pixel limit (and refuses above): the budget decides here.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(fp) as img:
                header = img.size
                if draft_size and img.format == "JPEG":
                    img.draft("RGB", (draft_size, draft_size))
                # Checked before getexif(), which decodes a PNG whole to look for an eXIf chunk after the pixels.
                with _admitted(budget, held_pixels(img, header), header), ExitStack() as scope:
                    pixels = _fewer_scans(img, fp, draft_size, scope) or img
                    pixels.seek(0)
                    pixels.load()
                    exif = img.getexif()
                    rgb = reduced_rgb(pixels, draft_size)
                orientation = exif.get(ORIENTATION)
                width, height = header[::-1] if orientation in (5, 6, 7, 8) else header
                return Decoded(upright(rgb, orientation), width, height, img.format or "unknown", exif_taken_at(exif))
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(
            gettext("image too large (over %(num)s pixels)", num=2 * (Image.MAX_IMAGE_PIXELS or 0))
        ) from None
    except UnidentifiedImageError:
        raise ImageError(gettext("not an image file Pillow can read")) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise ImageError(gettext("cannot decode image: %(reason)s", reason=exc)) from None
    except Exception as exc:  # Pillow's decoders raise many kinds on hostile bytes; all mean "unusable"
        raise ImageError(gettext("cannot decode image (%(kind)s)", kind=type(exc).__name__)) from None


def _fewer_scans(img: Image.Image, fp: BinaryIO, draft_size: int | None, scope: ExitStack) -> Image.Image | None:
    """A progressive JPEG drafted to 1/8 scale opened again from only the scans that scale reads (jpeg_scans.py):
    the same pixels for a third of the CPU or less. None for every other image."""
    drafted = getattr(img, "decoderconfig", None) == (8, 0)
    if not draft_size or img.format != "JPEG" or not img.info.get("progressive") or not drafted:
        return None
    fp.seek(0)
    reduced = reduced_for_eighth_scale(fp.read())
    if reduced is None:
        return None
    twin = scope.enter_context(Image.open(io.BytesIO(reduced)))
    twin.draft("RGB", (draft_size, draft_size))
    return twin if twin.size == img.size and getattr(twin, "decoderconfig", None) == (8, 0) else None


def held_pixels(img: Image.Image, header: tuple[int, int]) -> int:
    """Pixels the decoder holds at once: the drafted size for a baseline JPEG (decoded row by row at
    the reduced scale); the header's size otherwise (a progressive JPEG keeps every coefficient)."""
    if img.format == "JPEG" and not img.info.get("progressive"):
        return img.width * img.height
    return header[0] * header[1]


@contextmanager
def _admitted(budget: PixelBudget, held: int, size: tuple[int, int]) -> Iterator[None]:
    if held > budget.limit:
        pixels = size[0] * size[1]
        decoded = gettext(" (%(num)s as decoded)", num=f"{held:,}") if held != pixels else ""
        raise ImageError(
            gettext(
                "image too large: %(width)sx%(height)s pixels%(decoded)s, over the limit of %(limit)s (%(setting)s)",
                width=size[0],
                height=size[1],
                decoded=decoded,
                limit=f"{budget.limit:,}",
                setting=budget.setting,
            )
        )
    if budget.alone_over is not None and held > budget.alone_over:
        with _ONE_LARGE_DECODE:
            yield
    else:
        yield


def reduced_rgb(img: Image.Image, target: int | None) -> Image.Image:
    """RGB, averaged down by a whole factor while the shorter side stays at least `target`.

    Converted band by band, so no full-size copy is made (RGBA to RGB alone takes three).
    """
    factor = min(img.size) // target if target else 1
    if factor < 2:
        return to_rgb(img)
    width, height = img.size
    out = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    rows = factor * max(1, BAND_PIXELS // (width * factor))  # a multiple of factor: bands reduce cleanly
    for top in range(0, height, rows):
        band = to_rgb(img.crop((0, top, width, min(top + rows, height))))
        out.paste(band.reduce(factor), (0, top // factor))
    return out


def upright(img: Image.Image, orientation: int | None) -> Image.Image:
    """Turned as the EXIF (or XMP) orientation of the original says."""
    if orientation in (2, 3, 4, 5, 6, 7, 8):
        img.getexif()[ORIENTATION] = orientation
        ImageOps.exif_transpose(img, in_place=True)
    return img


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
