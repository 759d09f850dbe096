"""Originals and thumbnails, served only by indexed id: no path ever comes from the request."""

from __future__ import annotations

import io
import os
import unicodedata
from typing import BinaryIO

from flask import Blueprint, request, send_file, url_for
from flask_babel import gettext
from PIL import Image
from werkzeug.wrappers import Response

from image_search.errors import ImageError, NotAFile, NotFound, QueryError
from image_search.paths import is_within_root
from image_search.user_files import open_regular
from image_search.web.current import service, settings
from image_search.web.params import int_param

bp = Blueprint("files", __name__)

# What browsers draw in <img>; pages show other originals (HEIC, TIFF) by their JPEG thumbnail.
BROWSER_FORMATS = frozenset({"JPEG", "MPO", "PNG", "GIF", "WEBP", "AVIF", "BMP", "ICO"})


@bp.app_template_test("drawn_by_browsers")
def drawn_by_browsers(record) -> bool:
    return record.format.upper() in BROWSER_FORMATS


@bp.app_template_global()
def thumbnail_srcset(image_id: str) -> str:
    """Both thumbnail sizes for an <img srcset>: a 2x or 3x phone screen picks the larger one."""
    small, large = service().thumbnail_sizes
    small_url = url_for("files.thumbnail", image_id=image_id)
    large_url = url_for("files.thumbnail", image_id=image_id, size=large)
    return f"{small_url} {small}w, {large_url} {large}w"


@bp.app_template_global("thumbnail_sizes")
def thumbnail_sizes() -> tuple[int, int]:
    return service().thumbnail_sizes


@bp.get("/thumbnail/<image_id>")
def thumbnail(image_id: str):
    size = thumbnail_size_param()
    servable_record(image_id)
    try:
        thumbnail = service().thumbnail(image_id, size)
    except NotAFile as exc:
        raise NotFound(no_longer_a_file(exc)) from None
    except (OSError, ImageError):
        raise NotFound(
            gettext("The original file of this image is missing or unreadable; re-index its folder.")
        ) from None
    if isinstance(thumbnail, bytes):  # could not be cached (a full disk): served from memory
        return cached_privately_behind_token(send_file(io.BytesIO(thumbnail), mimetype="image/jpeg", max_age=86400))
    return cached_privately_behind_token(send_file(thumbnail, mimetype="image/jpeg", max_age=86400))


@bp.get("/original/<image_id>")
def original(image_id: str):
    record = servable_record(image_id)
    try:
        file = open_regular(record.path)  # never a blocking open(): the file may now be a named pipe
    except NotAFile as exc:
        raise NotFound(no_longer_a_file(exc)) from None
    except OSError:
        raise NotFound(gettext("The original file of this image is missing; re-index its folder.")) from None
    # The type of what the file holds (Pillow identified it), not a guess from its name.
    Image.init()
    mimetype = Image.MIME.get(record.format.upper(), "application/octet-stream")
    response = send_open_file(file, mimetype, max_age=3600, download_name=download_name(record.path))
    return cached_privately_behind_token(response)


def thumbnail_size_param() -> int:
    """?size= one of the fixed sizes (each is cached; any other size would let a request fill the disk)."""
    sizes = service().thumbnail_sizes
    size = int_param("size", sizes[0], 1, 10_000)
    if size not in sizes:
        raise QueryError(gettext("'size' must be one of %(sizes)s.", sizes=", ".join(str(s) for s in sizes)))
    return size


def no_longer_a_file(exc: NotAFile) -> str:
    return gettext("The original file of this image is no longer a file: %(reason)s; re-index its folder.", reason=exc)


def send_open_file(file: BinaryIO, mimetype: str, max_age: int, download_name: str) -> Response:
    """send_file of an open file, with what it would take from a path: length, ETag, Last-Modified, ranges."""
    st = os.fstat(file.fileno())
    response = send_file(
        file,
        mimetype=mimetype,
        max_age=max_age,
        download_name=download_name,
        conditional=False,
        etag=f"{st.st_mtime_ns}-{st.st_size}",
        last_modified=st.st_mtime,
    )
    response.content_length = st.st_size
    return response.make_conditional(request, accept_ranges=True, complete_length=st.st_size)


def download_name(path: str) -> str:
    """The file's own name for the browser's "save as", made fit for a header: a file name may hold a newline
    (or any control character, or undecodable bytes), which a header value must not."""
    name = os.path.basename(path)
    return "".join("_" if unicodedata.category(char).startswith("C") else char for char in name) or "image"


def cached_privately_behind_token(response):
    """send_file marks a file `public`: behind an access token only the signed-in browser may keep a copy,
    never a shared cache (a proxy would hand it to anyone)."""
    if settings().access_token:
        response.cache_control.public = False
        response.cache_control.private = True
    return response


def servable_record(image_id: str):
    """The record, if its file still lies under the folder it was indexed from (checked per request:
    a folder may since have been replaced by a link to somewhere else)."""
    record = service().record(image_id)
    if not is_within_root(record.path, record.root):
        raise NotFound(gettext("This file is no longer inside an indexed folder; re-index its folder."))
    return record
