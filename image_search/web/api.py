"""The JSON API: search by text or image, more like this, and the inference endpoint."""
from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for

from ..inference import QueryError
from ..services import SearchResult
from . import service
from .params import k_param, uploaded_image

bp = Blueprint("api", __name__, url_prefix="/api")


def hits_json(result: SearchResult):
    return jsonify(model=result.model, took_ms=result.took_ms, notice=result.notice, hits=[
        {"id": h.id, "path": h.record.path, "score": round(h.score, 6),
         "thumbnail_url": url_for("files.thumbnail", image_id=h.id)} for h in result.hits])


@bp.get("/search")
def search_text():
    return hits_json(service().search_text(request.args.get("q", ""), k_param()))


@bp.post("/search")
def search_image():
    return hits_json(service().search_image(uploaded_image(), k_param()))


@bp.get("/similar/<image_id>")
def similar(image_id: str):
    return hits_json(service().similar(image_id, k_param()))


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
