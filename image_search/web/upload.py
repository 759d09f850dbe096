"""The image upload page: a picture (plus optional words) as the query. Its results get a stable GET URL."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from flask_wtf.file import FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import StringField

from image_search.errors import ImageError, QueryError, http_status
from image_search.service.options import SearchOptions
from image_search.web.current import service
from image_search.web.errors import expired_form_message, too_large_message, user_message

bp = Blueprint("upload", __name__)


class UploadForm(FlaskForm):
    # lazy: a form's labels and messages are made once, at import, and shown in each request's language
    image = FileField(
        lazy_gettext("Image"), validators=[FileRequired(lazy_gettext("Choose an image file to search with."))]
    )
    q = StringField(lazy_gettext("Add words (optional)"))


@bp.route("/search/image", methods=["GET", "POST"])
def search_by_image():
    form = UploadForm()
    if not form.validate_on_submit():
        if form.is_submitted():
            messages = " ".join(map(str, sum(form.errors.values(), []))) or gettext("Choose an image file.")
            return upload_page_with_error(form, "image" if "image" in form.errors else "", messages, 400)
        return render_template("upload.html", form=form, query="")
    text = (form.q.data or "").strip()
    # The bytes are read into memory only; the image is never written to disk. k=1 checks the words too.
    try:
        vector, key = service().upload_query(form.image.data.read())
        service().search(text, SearchOptions(k=1), image=vector)
    except (QueryError, ImageError) as error:
        field = "image" if isinstance(error, ImageError) else error.field or "q"  # search() checks only words
        return upload_page_with_error(form, field, user_message(error), http_status(error))
    return redirect(url_for("search.search_image_results", key=key, q=text or None), code=303)


def upload_page_with_error(form: UploadForm | None, field: str, message: str, status: int):
    """The upload page again, the message beside the input at fault ("": above the form) and the words kept; a
    browser never keeps a chosen file. `form` None: the request could not be read (too large), so no words."""
    form = form or UploadForm(formdata=None)
    return render_template("upload.html", form=form, query="", errors={field: message}), status


# Refused before the view could read the form: still the upload page, with the message.
@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge):
    return upload_page_with_error(None, "image", too_large_message(exc, current_app), 413)


@bp.errorhandler(CSRFError)
def expired_form(exc: CSRFError):
    return upload_page_with_error(UploadForm(), "", expired_form_message(), 400)
