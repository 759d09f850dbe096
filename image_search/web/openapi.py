"""The JSON API described as OpenAPI 3, served at /api/openapi.json (the fuzz tests generate from it)."""
from __future__ import annotations

from flask import Blueprint, jsonify

bp = Blueprint("openapi", __name__, url_prefix="/api")

_error = {"$ref": "#/components/schemas/Error"}
# A query: some words, not only (Python's) whitespace, at most MAX_QUERY_CHARS (default 300).
_text = {"type": "string", "minLength": 1, "maxLength": 300, "pattern": "[^\\s\\x1c-\\x1f\\x85]"}
_k = {"name": "k", "in": "query", "required": False, "description": "how many hits (default 20)",
      "schema": {"type": "integer", "minimum": 1, "maximum": 200}}
# Photo dates: the app takes years 1800 to 9000.
_date = {"type": "string", "format": "date", "pattern": "^(1[89]|[2-8][0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}$"}
_filters = [
    {"name": "folder", "in": "query", "required": False, "description": "absolute folder prefix",
     "schema": {"type": "string", "pattern": "^/[^\\x00]*$", "maxLength": 1000}},
    {"name": "from", "in": "query", "required": False, "description": "taken on or after (YYYY-MM-DD)",
     "schema": _date},
    {"name": "to", "in": "query", "required": False, "description": "taken on or before (YYYY-MM-DD)",
     "schema": _date},
    {"name": "type", "in": "query", "required": False, "description": "file types, comma-separated: jpeg,png",
     "schema": {"type": "string", "enum": ["jpeg", "png", "webp", "gif", "tiff", "bmp", "jpeg,png"]}},
    {"name": "min_width", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 0, "maximum": 1000000}},
    {"name": "min_height", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 0, "maximum": 1000000}},
    {"name": "sort", "in": "query", "required": False, "schema": {"type": "string", "enum": ["relevance", "date"]}},
    {"name": "all", "in": "query", "required": False, "description": "0 applies the score cut-off",
     "schema": {"type": "string", "enum": ["0", "1"]}},
]
_words = {"name": "q", "in": "query", "required": False, "description": "words combined with the image",
          "schema": {"type": "string", "maxLength": 300}}
_image_form = {"multipart/form-data": {"schema": {
    "type": "object", "required": ["image"],
    "properties": {"image": {"type": "string", "format": "binary"}}}}}


def _errors(*codes: int) -> dict:
    reasons = {400: "unusable query, parameter or image", 401: "missing or wrong access token (when one is set)",
               404: "no indexed image has that id", 409: "the store was indexed with another model",
               413: "upload over MAX_UPLOAD_MB", 503: "model or store unavailable"}
    return {str(c): {"description": reasons[c], "content": {"application/json": {"schema": _error}}}
            for c in codes}


def _ok(schema: str) -> dict:
    return {"200": {"description": "OK", "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{schema}"}}}}}


SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "image_search", "version": "1",
             "description": "Find pictures by words or by an example picture. With ACCESS_TOKEN set, "
                            "every request needs `Authorization: Bearer <token>`."},
    "paths": {
        "/api/search": {
            "get": {"summary": "Search by text", "parameters": [
                {"name": "q", "in": "query", "required": True, "schema": _text}, _k, *_filters],
                "responses": {**_ok("Hits"), **_errors(400, 401, 409, 503)}},
            "post": {"summary": "Search by an example image", "parameters": [_k, _words, *_filters],
                     "requestBody": {"required": True, "content": _image_form},
                     "responses": {**_ok("Hits"), **_errors(400, 401, 409, 413, 503)}},
        },
        "/api/similar/{image_id}": {
            "get": {"summary": "More like an indexed image", "parameters": [
                {"name": "image_id", "in": "path", "required": True, "schema": {"type": "string"}}, _k, _words,
                *_filters],
                "responses": {**_ok("Hits"), **_errors(400, 401, 404, 409, 503)}},
        },
        "/api/duplicates": {
            "get": {"summary": "Groups of near-duplicate images", "parameters": [
                {"name": "threshold", "in": "query", "required": False,
                 "schema": {"type": "number", "minimum": 0.5, "maximum": 1.0}}],
                "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["groups"]}}}}, **_errors(400, 401, 409, 503)}},
        },
        "/api/health": {
            "get": {"summary": "Files on disk vs indexed, last run, model, store",
                    "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
                        "type": "object"}}}}, **_errors(401, 503)}},
        },
        "/api/embed": {
            "post": {"summary": "Vectors for texts or one image", "requestBody": {"required": True, "content": {
                "application/json": {"schema": {"type": "object", "required": ["texts"], "properties": {
                    "texts": {"type": "array", "minItems": 1, "maxItems": 64, "items": _text}}}},
                **_image_form}},
                "responses": {**_ok("Vectors"), **_errors(400, 401, 413, 503)}},
        },
    },
    "components": {"schemas": {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
        "Hits": {"type": "object", "required": ["model", "took_ms", "hits"], "properties": {
            "model": {"type": "string"}, "took_ms": {"type": "number"},
            "notice": {"type": "string", "nullable": True},
            "hits": {"type": "array", "items": {"type": "object",
                                                "required": ["id", "path", "score", "thumbnail_url"],
                                                "properties": {
                                                    "id": {"type": "string"}, "path": {"type": "string"},
                                                    "score": {"type": "number"},
                                                    "thumbnail_url": {"type": "string"}}}}}},
        "Vectors": {"type": "object", "required": ["model", "vectors"], "properties": {
            "model": {"type": "string"},
            "vectors": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}}}},
    }},
}


@bp.get("/openapi.json")
def openapi():
    return jsonify(SPEC)
