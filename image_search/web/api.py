"""The JSON API: search by text, image or both, more like this, duplicates, health, the inference endpoint."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, jsonify, request, url_for

from image_search.errors import QueryError
from image_search.service.options import SearchOptions
from image_search.service.search_service import SearchResult
from image_search.web.current import service
from image_search.web.params import filters_param, k_param, query_param, threshold_param, uploaded_image, view_param

bp = Blueprint("api", __name__, url_prefix="/api")


def hits_json(result: SearchResult):
    return jsonify(model=result.model, took_ms=result.took_ms, notice=result.notice, cutoff=result.cutoff,
                   hidden=result.hidden, hits=[
        {"id": h.id, "path": h.record.path, "score": round(h.score, 6),
         "taken_at": datetime.fromtimestamp(h.record.taken_at).isoformat(timespec="seconds"),
         "thumbnail_url": url_for("files.thumbnail", image_id=h.id)} for h in result.hits])


# Scripts ask for k hits and get k by default (all=1); all=0 applies the pages' cut-off.
def search_args() -> dict:
    return {"k": k_param(), "filters": filters_param(), "view": view_param(show_all_default=True)}


@bp.get("/search")
def search_text():
    return hits_json(service().search(query_param(), SearchOptions(**search_args())))


@bp.post("/search")
def search_image():
    result = service().search(query_param(), SearchOptions(**search_args()), service().image_query(uploaded_image()))
    return hits_json(result)


@bp.get("/similar/<image_id>")
def similar(image_id: str):
    return hits_json(service().search(query_param(), SearchOptions(**search_args()), service().stored_query(image_id),
                                      exclude=image_id))


@bp.get("/duplicates")
def duplicates():
    groups = service().duplicates(threshold_param())
    return jsonify(groups=[{"similarity": round(g.similarity, 6), "images": [
        {"id": r.id, "path": r.path, "size": r.size, "width": r.width, "height": r.height}
        for r in g.records]} for g in groups])


@bp.get("/health")
def health():
    return jsonify(service().health())


@bp.post("/embed")
def embed():
    if request.files:
        vectors = service().embed_image(uploaded_image())[None, :]
    else:
        body = request.get_json(silent=True)
        texts = body.get("texts") if isinstance(body, dict) else None
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            raise QueryError('Send JSON {"texts": ["...", ...]} or a multipart file field named "image".')
        if len(texts) > 64:
            raise QueryError("At most 64 texts per request.")
        vectors = service().embed_texts(texts)
    return jsonify(model=service().model_id, vectors=vectors.round(7).tolist())
