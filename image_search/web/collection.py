"""Pages about the collection itself: near-duplicate groups and health."""

from __future__ import annotations

from flask import Blueprint, render_template

from image_search.web.current import service
from image_search.web.params import threshold_param
from image_search.web.upload import UploadForm

bp = Blueprint("collection", __name__)


@bp.get("/duplicates")
def duplicates():
    answer = service().duplicates(threshold_param())  # the stored groups: no O(n) work in a request
    return render_template(
        "duplicates.html", answer=answer, groups=answer.groups, threshold=answer.threshold, form=UploadForm()
    )


@bp.get("/health")
def health():
    return render_template("health.html", health=service().health(), form=UploadForm())
