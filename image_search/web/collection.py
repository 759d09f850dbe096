"""Pages about the collection itself: near-duplicate groups and health."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from image_search.errors import QueryError, http_status
from image_search.web.current import service
from image_search.web.errors import user_message
from image_search.web.params import threshold_param
from image_search.web.upload import UploadForm

bp = Blueprint("collection", __name__)


@bp.get("/duplicates")
def duplicates():
    try:
        threshold = threshold_param()
    except QueryError as error:  # the same page, the message beside the threshold and the value as typed
        page = render_template(
            "duplicates.html",
            answer=None,
            groups=[],
            threshold=request.args.get("threshold", ""),
            threshold_error=user_message(error),
            form=UploadForm(),
        )
        return page, http_status(error)
    answer = service().duplicates(threshold)  # the stored groups: no O(n) work in a request
    return render_template(
        "duplicates.html", answer=answer, groups=answer.groups, threshold=answer.threshold, form=UploadForm()
    )


@bp.get("/duplicates/export")
def export_duplicates():
    """The paths of all but the kept image of each group, as a text file for `flask duplicates --move-to DIR
    --paths FILE`: `keep-<group key>=<image id>` chooses a group's keeper, else its suggested one stays."""
    keep = {name.removeprefix("keep-"): value for name, value in request.args.items() if name.startswith("keep-")}
    records = service().duplicates_to_move(threshold_param(), keep=keep)
    return Response(
        "".join(f"{r.path}\n" for r in records),
        mimetype="text/plain",
        headers={"Content-Disposition": "attachment; filename=duplicates-to-move.txt"},
    )


@bp.get("/health")
def health():
    return render_template("health.html", health=service().health(), form=UploadForm())
