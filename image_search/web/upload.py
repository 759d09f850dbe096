"""The image upload page: a picture (plus optional words) as the query. Its results get a stable GET URL."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField

from image_search.errors import QueryError
from image_search.service.options import SearchOptions
from image_search.web.current import service

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
            raise QueryError(" ".join(map(str, sum(form.errors.values(), []))) or gettext("Choose an image file."))
        return render_template("upload.html", form=form, query="")
    text = (form.q.data or "").strip()
    # The bytes are read into memory only; the image is never written to disk. k=1 checks the words too.
    vector, key = service().upload_query(form.image.data.read())
    service().search(text, SearchOptions(k=1), image=vector)
    return redirect(url_for("search.search_image_results", key=key, q=text or None), code=303)
