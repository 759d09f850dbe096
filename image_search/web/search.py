"""Pages: the search box, text results, image-query results, "more like this" and the detail view."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from ..services import SearchResult
from . import service
from .params import page_param
from .upload import UploadForm

bp = Blueprint("search", __name__)


def page_window() -> tuple[int, int]:
    """(page, k): a page's hits are the tail of the first page*size nearest neighbours."""
    page = page_param()
    return page, page * int(current_app.config["PAGE_SIZE"])


def render_results(result: SearchResult, page: int, title: str, **context):
    size = int(current_app.config["PAGE_SIZE"])
    hits = result.hits[(page - 1) * size:page * size]
    has_next = len(result.hits) == page * size and page * size < int(current_app.config["MAX_RESULTS"])
    return render_template("results.html", result=result, hits=hits, page=page, has_next=has_next,
                           title=title, form=UploadForm(), **context)


@bp.get("/")
def index():
    return render_template("index.html", form=UploadForm(), query="")


@bp.get("/search")
def search_text():
    query = request.args.get("q", "")
    page, k = page_window()
    result = service().search_text(query, k)
    return render_results(result, page, f"“{query.strip()}”", query=query)


@bp.get("/search/image/<key>")
def search_image_results(key: str):
    page, k = page_window()
    result = service().search_cached_image(key, k)
    return render_results(result, page, "Images like your picture", image_key=key)


@bp.get("/similar/<image_id>")
def similar(image_id: str):
    page, k = page_window()
    record = service().record(image_id)
    result = service().similar(image_id, k)
    return render_results(result, page, f"More like {record.name}", source=record)


@bp.get("/image/<image_id>")
def detail(image_id: str):
    return render_template("detail.html", record=service().record(image_id), form=UploadForm())
