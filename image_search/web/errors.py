"""Every failure becomes a clear page or {"error": ...} JSON with a 4xx/5xx status, never a traceback."""

from __future__ import annotations

import logging
import os
import traceback

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext
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
    return gettext("Not a usable image: %(reason)s", reason=error) if isinstance(error, ImageError) else str(error)


def too_large_message(exc: RequestEntityTooLarge, app: Flask) -> str:
    """What was too big. werkzeug raises the same bare exception for the three limits; where it raised it says which
    (no form limit was hit above the multipart parser)."""
    raised_in = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    if (
        raised_in
        and raised_in.filename.endswith(os.path.join("sansio", "multipart.py"))
        and raised_in.name == "next_event"
    ):
        return gettext(
            "The form has too many fields: at most %(num)s fields per request.", num=app.config["MAX_FORM_PARTS"]
        )
    if raised_in and raised_in.filename.endswith(("formparser.py", "multipart.py")):
        return gettext(
            "A text field of the form is too large: at most %(num)s KB.", num=app.config["MAX_FORM_MEMORY_SIZE"] // 1000
        )
    return gettext("The upload is too large: at most %(num)s MB.", num=f"{settings_of(app).max_upload_mb:g}")


def expired_form_message() -> str:
    return gettext("The form expired or was not sent by this site; reload the page and try again.")


def http_message(exc: HTTPException) -> str:
    """werkzeug's own wording is English: its stock descriptions get ours, in the reader's language; a
    description the code raised with (already a message of ours) is kept."""
    if exc.description != type(exc).description:
        return str(exc.description)
    stock = {
        404: gettext("There is no page at this address. Check the link, or start again from the search."),
        405: gettext("This address does not take a %(method)s request.", method=request.method),
        400: gettext("The request could not be read; reload the page and try again."),
    }
    return stock.get(exc.code or 500, gettext("The request could not be handled (HTTP %(code)s).", code=exc.code))


def register_errorhandlers(app: Flask) -> None:
    def too_large(exc):
        return error_response(413, too_large_message(exc, app))

    app.register_error_handler(RequestEntityTooLarge, too_large)
    app.register_error_handler(CSRFError, lambda e: error_response(400, expired_form_message()))
    app.register_error_handler(UserError, lambda e: error_response(http_status(e), user_message(e)))
    app.register_error_handler(HTTPException, lambda e: error_response(e.code or 500, http_message(e)))

    @app.errorhandler(Exception)
    def unexpected(exc):
        log.exception("unexpected error on %s", request.path)
        return error_response(500, gettext("Something went wrong on our side; the details are in the server log."))
