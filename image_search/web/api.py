"""The JSON API: search by text, image or both, more like this, duplicates, health, the inference endpoint.

Requests are loaded and answers dumped by the schemas in web/api_schemas.py, from which web/openapi.py
makes the document.
"""

from __future__ import annotations

from flask import Response, jsonify, request, stream_with_context

from image_search.service.options import SearchOptions
from image_search.web.api_schemas import (
    Duplicates,
    DuplicatesArgs,
    Error,
    Hits,
    ImageUpload,
    Selection,
    Texts,
    TextSearchArgs,
    Vectors,
    WordsSearchArgs,
)
from image_search.web.current import service
from image_search.web.openapi import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/search")
@bp.arguments(TextSearchArgs, location="query")
@bp.response(200, Hits)
@bp.errors(400, 401, 409, 503)
def search_text(args):
    """Search by text"""
    return service().search(args.pop("q"), SearchOptions(**args))


@bp.post("/search")
@bp.arguments(WordsSearchArgs, location="query")
@bp.arguments(ImageUpload, location="files")
@bp.response(200, Hits)
@bp.errors(400, 401, 409, 413, 503)
def search_image(args, upload):
    """Search by an example image (and words)"""
    image = service().image_query(upload["image"].read())
    return service().search(args.pop("q"), SearchOptions(**args), image)


@bp.get("/similar/<image_id>")
@bp.arguments(WordsSearchArgs, location="query")
@bp.response(200, Hits)
@bp.errors(400, 401, 404, 409, 503)
def similar(args, image_id: str):
    """More like an indexed image (itself left out)"""
    return service().search(args.pop("q"), SearchOptions(**args), service().stored_query(image_id), exclude=image_id)


@bp.get("/duplicates")
@bp.arguments(DuplicatesArgs, location="query")
@bp.response(200, Duplicates)
@bp.errors(400, 401, 409, 503)
def duplicates(args):
    """Groups of near-duplicate images"""
    return service().duplicates(args.get("threshold"))  # stored groups, never computed in a request


@bp.get("/health")
@bp.response(200, {"type": "object"}, description="store facts, folders on disk vs indexed, last run, model")
@bp.errors(401, 503)
def health():
    """Files on disk vs indexed, last run, model, store"""
    return jsonify(service().health())


@bp.post("/selection")
@bp.arguments(Selection, location="json")
@bp.response(
    200,
    {"type": "string", "format": "binary"},
    content_type="application/zip",
    description="the originals, streamed as the zip is written; files gone since are listed in its README.txt",
)
@bp.alt_response(413, schema=Error, description="the selected originals are over MAX_DOWNLOAD_MB")
@bp.errors(400, 401, 404, 503)  # 503 also while 2 other downloads stream
def selection(body):
    """Download images as one zip, by id"""
    download = service().selection_zip(body["ids"])
    response = Response(stream_with_context(download.chunks), mimetype="application/zip")
    response.call_on_close(download.close)  # also when the stream never started (the client went away first)
    response.headers["Content-Disposition"] = f'attachment; filename="images-{download.count}.zip"'
    return response


# One body or the other, so read here rather than by @arguments; the document names both schemas.
@bp.post("/embed")
@bp.doc(
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": Texts}, "multipart/form-data": {"schema": ImageUpload}},
    }
)
@bp.response(200, Vectors)
@bp.errors(400, 401, 413, 503)
def embed():
    """Vectors for texts or one image"""
    if request.files:
        vectors = service().embed_image(bp.ARGUMENTS_PARSER.parse(ImageUpload, location="files")["image"].read())
        vectors = vectors[None, :]
    else:
        vectors = service().embed_texts(bp.ARGUMENTS_PARSER.parse(Texts, location="json")["texts"])
    return {"model": service().model_id, "vectors": vectors.round(7).tolist()}
