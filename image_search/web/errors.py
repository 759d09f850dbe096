"""Every failure becomes a clear page or {"error": ...} JSON with a 4xx/5xx status, never a traceback."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from image_search.config import settings_of
from image_search.errors import ImageError, ModelMismatch, ModelUnavailable, NotFound, QueryError, StoreError

log = logging.getLogger(__name__)


def error_response(status: int, message: str):
    if request.path.startswith("/api/"):
        return jsonify(error=message), status
    return render_template("error.html", status=status, message=message), status


def register_errorhandlers(app: Flask) -> None:
    def too_large(_):
        mb = settings_of(app).max_upload_mb
        return error_response(413, f"The upload is too large: at most {mb} MB.")

    app.register_error_handler(RequestEntityTooLarge, too_large)
    app.register_error_handler(CSRFError, lambda e: error_response(
        400, "The form expired or was not sent by this site; reload the page and try again."))
    app.register_error_handler(QueryError, lambda e: error_response(400, str(e)))
    app.register_error_handler(ImageError, lambda e: error_response(400, f"Not a usable image: {e}"))
    app.register_error_handler(NotFound, lambda e: error_response(404, str(e)))
    app.register_error_handler(ModelMismatch, lambda e: error_response(409, str(e)))
    app.register_error_handler(ModelUnavailable, lambda e: error_response(503, str(e)))
    app.register_error_handler(StoreError, lambda e: error_response(503, str(e)))
    app.register_error_handler(HTTPException, lambda e: error_response(e.code or 500, e.description))

    @app.errorhandler(Exception)
    def unexpected(exc):
        log.exception("unexpected error on %s", request.path)
        return error_response(500, "Something went wrong on our side; the details are in the server log.")
