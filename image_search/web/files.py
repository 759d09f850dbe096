"""Originals and thumbnails, served only by indexed id: no path ever comes from the request."""

from __future__ import annotations

from flask import Blueprint, send_file
from PIL import Image

from image_search.errors import ImageError, NotFound
from image_search.paths import is_within_root
from image_search.web.current import service

bp = Blueprint("files", __name__)


@bp.get("/thumbnail/<image_id>")
def thumbnail(image_id: str):
    servable_record(image_id)
    try:
        path = service().thumbnail(image_id)
    except (OSError, ImageError):
        raise NotFound("The original file of this image is missing or unreadable; re-index its folder.") from None
    return send_file(path, mimetype="image/jpeg", max_age=86400)


@bp.get("/original/<image_id>")
def original(image_id: str):
    record = servable_record(image_id)
    try:
        # The type of what the file holds (Pillow identified it), not a guess from its name.
        Image.init()
        mimetype = Image.MIME.get(record.format.upper(), "application/octet-stream")
        return send_file(record.path, mimetype=mimetype, max_age=3600)
    except OSError:
        raise NotFound("The original file of this image is missing; re-index its folder.") from None


def servable_record(image_id: str):
    """The record, if its file still lies under the folder it was indexed from (checked per request:
    a folder may since have been replaced by a link to somewhere else)."""
    record = service().record(image_id)
    if not is_within_root(record.path, record.root):
        raise NotFound("This file is no longer inside an indexed folder; re-index its folder.")
    return record
