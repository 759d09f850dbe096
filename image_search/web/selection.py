"""Selected results as one download: POST their ids (the grid's checkboxes, or the selection bar's script),
get a zip of the originals streamed as it is written, or the list of their paths."""

from __future__ import annotations

from flask import Blueprint, Response, request, stream_with_context

from image_search.web.current import service

bp = Blueprint("selection", __name__)


@bp.post("/selection")
def download():
    """`id` once per selected image; `action=paths` answers their paths as text (the no-script "copy")."""
    ids = request.form.getlist("id")
    if request.form.get("action") == "paths":
        paths = [record.path for record in service().selected(ids)]
        return Response("\n".join(paths) + "\n", mimetype="text/plain")
    chunks, count = service().selection_zip(ids)
    response = Response(stream_with_context(chunks), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="images-{count}.zip"'
    response.headers["Cache-Control"] = "no-store"
    return response
