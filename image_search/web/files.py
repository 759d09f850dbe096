"""Originals and thumbnails, served only by indexed id: no path ever comes from the request."""
from __future__ import annotations

from flask import Blueprint, send_file

from ..images import ImageError
from ..services import NotFound
from . import service

bp = Blueprint("files", __name__)


@bp.get("/thumbnail/<image_id>")
def thumbnail(image_id: str):
    try:
        path = service().thumbnail(image_id)
    except (OSError, ImageError):
        raise NotFound("The original file of this image is missing or unreadable; re-index its folder.")
    return send_file(path, mimetype="image/jpeg", max_age=86400)


@bp.get("/original/<image_id>")
def original(image_id: str):
    record = service().record(image_id)
    try:
        return send_file(record.path, max_age=3600)
    except OSError:
        raise NotFound("The original file of this image is missing; re-index its folder.")
