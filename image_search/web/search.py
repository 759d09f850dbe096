"""Pages: the search box, text and combined results, image-query results, "more like this", the detail view."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext

from image_search.service.options import SearchOptions, SearchResult
from image_search.service.params import FILTER_NAMES
from image_search.service.ranking import View
from image_search.web.current import service, settings
from image_search.web.params import filters_param, page_param, query_param, view_param
from image_search.web.upload import UploadForm
from image_search.web.urls import page_url

bp = Blueprint("search", __name__)


def page_window(view: View) -> tuple[int, int]:
    """(page, k). Every page of a query looks at the same window of hits, so they agree on the cut-off;
    show-all by relevance widens it to one hit past this page (to know whether a next page exists),
    show-all by date looks at every reachable hit."""
    page, size = page_param(), settings().page_size
    most, window = settings().max_results, settings().cutoff_window
    if view.show_all and view.sort == "date":
        return page, most
    if view.show_all:
        return page, min(max(window, page * size + 1), most)
    return page, min(window, most)


def url_with(**changes) -> str:
    """This page's URL with some query parameters changed (None removes one): all state lives in the URL."""
    return page_url(request.endpoint, request.view_args, {k: v for k, v in request.args.items() if v != ""}, changes)


def search_page(kind: str, title: str, run, **context):
    """`run(options)` is the page's one service().search call. `title` is the page's own words (translated);
    the user's words come apart as title_words, so that the page can show them unmarked by its language."""
    view = view_param()
    page, k = page_window(view)
    result: SearchResult = run(SearchOptions(k, filters_param(), view))
    maybe_more = len(result.hits) + result.hidden >= k  # the window was full: more may exist beyond it
    size = settings().page_size
    filters_set = any(request.args.get(name) for name in FILTER_NAMES)
    return render_template(
        "results.html",
        result=result,
        hits=result.hits[(page - 1) * size : page * size],
        page=page,
        has_next=len(result.hits) > page * size,
        view=view,
        kind=kind,
        title=title,
        title_words=query_param().strip(),
        form=UploadForm(),
        filters_set=filters_set,
        url_with=url_with,
        maybe_more=maybe_more and not result.hidden,
        args=request.args,
        **context,
    )


@bp.get("/")
def index():
    return render_template("index.html", form=UploadForm(), query="", home=service().home())


@bp.get("/search")
def search_text():
    query = query_param()
    return search_page("text", "", lambda options: service().search(query, options), query=query)


@bp.get("/search/image/<key>")
def search_image_results(key: str):
    text = query_param()
    return search_page(
        "image",
        gettext("Images like your picture"),
        lambda options: service().search(text, options, service().cached_query(key)),
        image_key=key,
    )


@bp.get("/similar/<image_id>")
def similar(image_id: str):
    text = query_param()
    record = service().record(image_id)
    title = gettext("More like %(name)s", name=record.name)

    def more_like_this(options: SearchOptions) -> SearchResult:
        return service().search(text, options, service().stored_query(image_id), exclude=image_id)

    return search_page("similar", title, more_like_this, source=record)


@bp.get("/image/<image_id>")
def detail(image_id: str):
    return render_template("detail.html", record=service().record(image_id), form=UploadForm())
