"""Pages about the collection itself: near-duplicate groups and health."""

from __future__ import annotations

from flask import Blueprint, render_template

from image_search.web.current import service, settings
from image_search.web.params import threshold_param
from image_search.web.upload import UploadForm

bp = Blueprint("collection", __name__)


@bp.get("/duplicates")
def duplicates():
    threshold = threshold_param() or settings().duplicate_threshold
    return render_template(
        "duplicates.html", groups=service().duplicates(threshold), threshold=threshold, form=UploadForm()
    )


@bp.get("/health")
def health():
    return render_template("health.html", health=service().health(), form=UploadForm())
