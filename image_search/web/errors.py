"""Every failure becomes a clear page or {"error": ...} JSON with a 4xx/5xx status, never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from image_search.config import settings_of
from image_search.errors import ImageError, UserError, http_status

log = logging.getLogger(__name__)


def error_response(status: int, message: str):
    if request.path.startswith("/api/"):
        return jsonify(error=message), status
    return render_template("error.html", status=status, message=message), status


def user_message(error: UserError) -> str:
    # An ImageError's message is a bare reason ("cannot decode image"), worded for beside a path.
    return f"Not a usable image: {error}" if isinstance(error, ImageError) else str(error)


def register_errorhandlers(app: Flask) -> None:
    def too_large(_):
        mb = settings_of(app).max_upload_mb
        return error_response(413, f"The upload is too large: at most {mb} MB.")

    app.register_error_handler(RequestEntityTooLarge, too_large)
    app.register_error_handler(
        CSRFError,
        lambda e: error_response(400, "The form expired or was not sent by this site; reload the page and try again."),
    )
    app.register_error_handler(UserError, lambda e: error_response(http_status(e), user_message(e)))
    app.register_error_handler(HTTPException, lambda e: error_response(e.code or 500, e.description))

    @app.errorhandler(Exception)
    def unexpected(exc):
        log.exception("unexpected error on %s", request.path)
        return error_response(500, "Something went wrong on our side; the details are in the server log.")
