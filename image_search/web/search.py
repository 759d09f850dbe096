"""Pages: the search box, text and combined results, image-query results, "more like this", the detail view."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext

from image_search.errors import QueryError, http_status
from image_search.service.options import FilterChoices, SearchOptions, SearchResult
from image_search.service.params import FILTER_NAMES
from image_search.service.ranking import View
from image_search.service.viewer import ResultsContext, ViewerPlace
from image_search.web.current import service, settings
from image_search.web.errors import user_message
from image_search.web.filter_form import folder_choices, type_choices
from image_search.web.i18n import locale_code
from image_search.web.params import filters_param, int_param, page_param, query_param, square_param, view_param
from image_search.web.upload import UploadForm
from image_search.web.urls import URL_FOR_OPTIONS, page_url, request_args

bp = Blueprint("search", __name__)

# Beside the filters, the parameters a new query from the header keeps (not its page, show-all or place).
KEPT_BY_NEW_QUERY = ("sort", "crop")
# The parameters the results page has an input for: a message about another one shows above the form.
FORM_FIELDS = ("q", *FILTER_NAMES, "sort")

# The viewer's parameters naming which results it was opened from (beside the results page's own).
CONTEXT_NAMES = ("pos", "similar", "upload")


def page_window(view: View, page: int | None = None) -> tuple[int, int]:
    """(page, k). Every page of a query looks at the same window of hits, so they agree on the cut-off;
    show-all by relevance widens it to one hit past this page (to know whether a next page exists),
    show-all by date looks at every reachable hit. `page`: this request's ?page= unless given."""
    page, size = page or page_param(), settings().page_size
    most, window = settings().max_results, settings().cutoff_window
    if view.show_all and view.sort == "date":
        return page, most
    if view.show_all:
        return page, min(max(window, page * size + 1), most)
    return page, min(window, most)


def url_with(**changes) -> str:
    """This page's URL with some query parameters changed (None removes one): all state lives in the URL."""
    return page_url(request.endpoint, request.view_args, request_args(), changes)


def search_page(kind: str, title: str, run, **context):
    """`run(options)` is the page's one service().search call. `title` is the page's own words (translated);
    the user's words come apart as title_words, so that the page can show them unmarked by its language."""
    try:
        view, square = view_param(), square_param()
        page, k = page_window(view)
        result: SearchResult = run(SearchOptions(k, filters_param(), view, filter_choices=True))
    except QueryError as error:
        return results_with_error(kind, title, error, context)
    maybe_more = len(result.hits) + result.hidden >= k  # the window was full: more may exist beyond it
    size = settings().page_size
    hits = result.hits[(page - 1) * size : page * size]
    return render_template(
        "results.html",
        **results_page_context(kind, title, result.filter_choices or FilterChoices(), context),
        result=result,
        hits=hits,
        # why each tile matched (the offline model's classes): this page's tiles only, from their stored vectors
        concepts=service().concepts([hit.id for hit in hits], locale_code()),
        page=page,
        has_next=len(result.hits) > page * size,
        view=view,
        url_with=url_with,
        maybe_more=maybe_more and not result.hidden,
        viewer_url=viewer_url_maker(kind, context),
        first_pos=(page - 1) * size + 1,
        square=square,
    )


def results_with_error(kind: str, title: str, error: QueryError, context: dict):
    """The same results page, without results: the message beside the input at fault and every input as sent
    (not an error page that empties the search box). A text search's words are the header's box."""
    field = error.field or "q"  # search() checks only the words: what it refuses is theirs
    message = user_message(error)
    in_header = kind == "text" and field == "q"
    errors = {} if in_header else {field if field in FORM_FIELDS else "": message}
    page = render_template(
        "results.html",
        **results_page_context(kind, title, service().filter_choices(), context),
        result=None,
        errors=errors,
        query_error=message if in_header else None,
    )
    return page, http_status(error)


def results_page_context(kind: str, title: str, choices: FilterChoices, context: dict) -> dict:
    """What a results page shows with or without results: the heading, the header's box and the filter form."""
    return {
        "kind": kind,
        "title": title,
        "title_words": query_param().strip(),
        "query": query_param() if kind == "text" else "",
        "form": UploadForm(),
        "filters_set": any(request.args.get(name, "").strip() for name in FILTER_NAMES),
        "folders": folder_choices(choices),
        "types": type_choices(choices),
        "args": request.args,
        **context,
    }


@bp.app_template_global()
def kept_search_args() -> list[tuple[str, str]]:
    """The filters, sort and layout of this page, as (name, value): a new query from the header keeps them."""
    kept = (*FILTER_NAMES, *KEPT_BY_NEW_QUERY)
    return [(name, value) for name, values in request_args().items() if name in kept for value in values]


@bp.app_template_global()
def max_query_chars() -> int:
    """The search boxes' maxlength: the query length the service accepts."""
    return settings().max_query_chars


def viewer_url_maker(kind: str, context: dict):
    """viewer_url(image_id, pos): the viewer of a hit, carrying this results page's state (query, filters,
    sort, show-all) and which results these are, so that its previous/next are found by the same search."""
    args: dict[str, Any] = {k: v for k, v in passable_args().items() if k not in ("page", *CONTEXT_NAMES)}
    if kind == "similar":
        args["similar"] = context["source"].id
    elif kind == "image":
        args["upload"] = context["image_key"]

    def viewer_url(image_id: str, pos: int) -> str:
        return url_for("search.detail", image_id=image_id, **args, pos=pos)

    return viewer_url


@bp.get("/")
def index():
    return render_template("index.html", form=UploadForm(), query="", home=service().home())


@bp.get("/search")
def search_text():
    query = query_param()
    return search_page("text", "", lambda options: service().search(query, options))


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
    context, pos = results_context_param()
    view = view_param()
    page, k = page_window(view, (pos - 1) // settings().page_size + 1)
    place = service().view_in_results(image_id, context, SearchOptions(k, filters_param(), view), pos, locale_code())
    links = viewer_links(context, place, page) if context else {}
    return render_template("detail.html", place=place, record=place.record, form=UploadForm(), **links)


def results_context_param() -> tuple[ResultsContext | None, int]:
    """Which results the viewer was opened from (?pos= and the results page's own parameters), if any."""
    if not request.args.get("pos", "").strip():
        return None, 1
    pos = int_param("pos", 1, 1, settings().max_results)
    if request.args.get("similar"):
        return ResultsContext("similar", query_param(), source_id=request.args["similar"]), pos
    if request.args.get("upload"):
        return ResultsContext("image", query_param(), upload_key=request.args["upload"]), pos
    return ResultsContext("text", query_param()), pos


def passable_args() -> dict[str, list[str]]:
    """This request's query parameters that url_for can take back: none named like a path part of the pages
    the viewer links to (image_id, key) or like url_for's own options (a 500 otherwise)."""
    args = request_args(leave_out=("image_id", "key", *URL_FOR_OPTIONS))
    return {k: v for k, v in args.items() if not k.startswith("_")}


def viewer_links(context: ResultsContext, place: ViewerPlace, page: int) -> dict[str, str | None]:
    """The viewer's way back (to the same page of results, scrolled to this image) and its previous/next."""
    args: dict[str, Any] = {k: v for k, v in passable_args().items() if k not in ("pos", "page")}
    results_args: dict[str, Any] = {k: v for k, v in args.items() if k not in CONTEXT_NAMES}
    if page > 1:
        results_args["page"] = str(page)
    anchor = f"hit-{place.pos}" if place.pos else None
    if context.kind == "similar":
        back = url_for("search.similar", image_id=context.source_id, **results_args, _anchor=anchor)
    elif context.kind == "image":
        back = url_for("search.search_image_results", key=context.upload_key, **results_args, _anchor=anchor)
    else:
        back = url_for("search.search_text", **results_args, _anchor=anchor)
    pos = place.pos or 0
    previous = url_for("search.detail", image_id=place.previous.id, **args, pos=pos - 1) if place.previous else None
    following = url_for("search.detail", image_id=place.next.id, **args, pos=pos + 1) if place.next else None
    return {"back_url": back, "previous_url": previous, "next_url": following}
