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
    download = service().selection_zip(ids)
    response = Response(stream_with_context(download.chunks), mimetype="application/zip")
    response.call_on_close(download.close)  # also when the stream never started (the client went away first)
    response.headers["Content-Disposition"] = f'attachment; filename="images-{download.count}.zip"'
    response.headers["Cache-Control"] = "no-store"
    return response
