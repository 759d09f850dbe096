"""The JSON API's contract: marshmallow schemas that validate its requests and shape its answers, and the
OpenAPI 3 document flask-smorest derives from them, served at /api/openapi.json (the fuzz tests generate from
it). One set of objects does both, so a field or a limit cannot say one thing and check another.

Each request field first runs its value through the parser the pages and the CLI use (service/params.py,
web/params.py, inference/vectors.py), so a value they reject gets their message; the field's own type and
validators, which the document is made of, then apply. A failure is a QueryError: `{"error": ...}`, 400.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import flask_smorest
from flask import Blueprint as FlaskBlueprint
from flask import Flask, current_app, jsonify, url_for
from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, Schema, ValidationError, fields, missing, post_load, pre_load, validate
from webargs.flaskparser import FlaskParser

from image_search.errors import QueryError
from image_search.inference.query import clean_query
from image_search.service.params import MAX_SIDE, TYPE_ALIASES, known_formats, parse_filters, parse_view
from image_search.service.ranking import SORTS
from image_search.web.current import settings
from image_search.web.params import MAX_THRESHOLD, MIN_THRESHOLD, parse_int, parse_threshold

MAX_TEXTS = 64  # texts per /api/embed request: one batch through the text model
MAX_FOLDER_CHARS = 4096  # PATH_MAX on Linux: no folder prefix is longer
# Some words: not only (Python's) whitespace. Anchored, because marshmallow matches at the start and JSON
# Schema anywhere: this way both read it alike.
WORDS = r"^[\s\x1c-\x1f\x85]*[^\s\x1c-\x1f\x85]"
# YYYY-MM-DD (strptime also takes one-digit months and days), years 1800 to 9000 as service/params.py takes.
DATE = r"^(1[89][0-9]{2}|[2-8][0-9]{3}|9000)-[0-9]{1,2}-[0-9]{1,2}$"
SEND_TEXTS = 'Send JSON {"texts": ["...", ...]} or a multipart file field named "image".'
_SEND_TEXTS = SEND_TEXTS.replace("{", "{{").replace("}", "}}")  # marshmallow formats field messages
ERROR_REASONS = {
    400: "unusable query, parameter or image",
    401: "missing or wrong access token (when one is set)",
    404: "no indexed image has that id",
    409: "the store was indexed with another model",
    413: "upload over MAX_UPLOAD_MB",
    503: "model or store unavailable",
}


# --- the app's settings ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ApiConfig:
    max_k: int
    max_query_chars: int
    needs_token: bool


def api_config() -> ApiConfig:
    """What the API takes from this app's settings, the one place it reads them: when a request is checked,
    and (in `document`, under the app's context) when the document is built."""
    config = settings()
    return ApiConfig(max_k=config.max_k, max_query_chars=config.max_query_chars, needs_token=bool(config.access_token))


class AppMax:
    """Validator mixin: the maximum is the app's `limit` (an ApiConfig field), looked up on each use. apispec reads
    `.max` for the document, the validator for the check: the same number."""

    def __init__(self, limit: str, **kwargs):
        self.limit = limit
        super().__init__(**kwargs)

    # The base class's __init__ assigns max=None: ignored, the app's limit stands.
    max = property(lambda self: getattr(api_config(), self.limit), lambda self, _: None)


class AppRange(AppMax, validate.Range):
    pass


class AppLength(AppMax, validate.Length):
    pass


class AnyCase(validate.OneOf):
    """OneOf for a value the parser reads in any case (`all=True` from a script's True)."""

    def __call__(self, value: str) -> str:
        super().__call__(value.lower())
        return value


class FileTypes(validate.Validator):
    """One file type or several, comma-separated, as parse_filters reads them; the document lists the single
    ones (Pillow's formats and our aliases)."""

    def __init__(self):
        self.choices = sorted({f.lower() for f in known_formats()} | {a.lower() for a in TYPE_ALIASES})

    def __call__(self, value: str) -> str:
        if not all(t.lower() in self.choices for t in value.replace(" ", ",").split(",") if t):
            raise ValidationError(f"Unknown file type in {value[:40]!r}: use e.g. jpeg, png, webp.")
        return value


# --- request fields ------------------------------------------------------------------------------
class Parsed(fields.Field):
    """Field mixin: a value first goes through `parse`, the code the pages and the CLI use, so what they reject
    gets their message; then the field's own type and validators (what the document says)."""

    def __init__(self, *args, parse: Callable[[str], object], **kwargs):
        self.parse = parse
        super().__init__(*args, **kwargs)

    def _validate_missing(self, value):
        if value is missing and self.required:
            self._check("")  # a missing value gets the parser's message for an empty one
        super()._validate_missing(value)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            self._check(value)
        return super()._deserialize(value, attr, data, **kwargs)

    def _check(self, value: str) -> None:
        try:
            self.parse(value)
        except QueryError as exc:
            raise ValidationError(str(exc)) from None
        except ValueError:
            pass  # the parser trips over it (min_width=²): the field's own conversion says why


class ParsedString(Parsed, fields.String):
    pass


class ParsedInteger(Parsed, fields.Integer):
    pass


class ParsedFloat(Parsed, fields.Float):
    pass


def _filter(name: str) -> Callable[[str], object]:
    return lambda raw: parse_filters({name: raw})


def _view(name: str) -> Callable[[str], object]:
    return lambda raw: parse_view({name: raw})


def _text(raw: str) -> str:
    return clean_query(raw, api_config().max_query_chars)


def _words(raw: str) -> str:
    return _text(raw) if raw.strip() else raw  # optional words: empty is none


def _date(name: str, meaning: str) -> ParsedString:
    return ParsedString(
        data_key=name,
        parse=_filter(name),
        validate=validate.Regexp(
            DATE, error=f"'{name}' must be a date as YYYY-MM-DD, years 1800 to 9000, not {{input!r}}."
        ),
        metadata={"format": "date", "description": f"taken on or {meaning} (YYYY-MM-DD)"},
    )


def _side(name: str) -> ParsedInteger:
    return ParsedInteger(
        parse=_filter(name),
        validate=validate.Range(0, MAX_SIDE),
        error_messages={"invalid": f"'{name}' must be a whole number of pixels from 0 to {MAX_SIDE}."},
        metadata={"description": "pixels, at least"},
    )


# --- request schemas -----------------------------------------------------------------------------
class Params(Schema):
    """URL (or form) parameters. A blank one is an absent one, as on the pages (`?k=&sort=` from a form);
    unknown ones are ignored."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _drop_blanks(self, data, **kwargs):
        return {key: data[key].strip() for key in data if isinstance(data[key], str) and data[key].strip()}


class SearchArgs(Params):
    """How many hits, the filters and the view; loaded as the service's keyword arguments (and `q`)."""

    k = ParsedInteger(
        parse=lambda raw: parse_int("k", raw, 1, api_config().max_k),
        load_default=20,
        validate=AppRange("max_k", min=1),
        metadata={"description": "how many hits"},
    )
    folder = ParsedString(
        parse=_filter("folder"),
        validate=[
            validate.Regexp(r"^/[^\x00]*$", error="'folder' must be an absolute folder path without NUL characters."),
            validate.Length(max=MAX_FOLDER_CHARS, error="'folder' is longer than any folder path ({max} characters)."),
        ],
        metadata={"description": "absolute folder prefix"},
    )
    date_from = _date("from", "after")
    date_to = _date("to", "before")
    type = ParsedString(
        parse=_filter("type"),
        validate=FileTypes(),
        metadata={"description": "file type, or several comma-separated: jpeg,png"},
    )
    min_width = _side("min_width")
    min_height = _side("min_height")
    sort = ParsedString(parse=_view("sort"), validate=validate.OneOf(SORTS))
    all = ParsedString(
        parse=_view("all"),
        validate=AnyCase(["0", "1", "true", "false"]),
        metadata={"description": "0 applies the pages' score cut-off; default 1, k hits"},
    )

    @post_load(pass_original=True)
    def _service_args(self, data, original, **kwargs):
        # The fields have checked each value; parse_filters/parse_view build what the service takes (and check
        # `from` before `to`). Scripts get k hits by default (all=1).
        return {
            "q": data.get("q", ""),
            "k": data["k"],
            "filters": parse_filters(original),
            "view": parse_view(original, show_all_default=True),
        }


class TextSearchArgs(SearchArgs):
    q = ParsedString(
        required=True,
        parse=_text,
        validate=[AppLength("max_query_chars", min=1), validate.Regexp(WORDS)],
        metadata={"description": "the query: words, weights, -negatives, id:IMAGE parts"},
    )


class WordsSearchArgs(SearchArgs):
    q = ParsedString(
        parse=_words, validate=AppLength("max_query_chars"), metadata={"description": "words combined with the image"}
    )


class ImageUpload(Schema):
    class Meta:
        unknown = EXCLUDE

    image = Upload(
        required=True, error_messages={"required": "Send the image as a multipart file field named 'image'."}
    )


class Texts(Schema):
    class Meta:
        unknown = EXCLUDE

    error_messages = {"type": SEND_TEXTS}  # a body that is not a JSON object
    texts = fields.List(
        ParsedString(
            parse=_text,
            validate=[AppLength("max_query_chars", min=1), validate.Regexp(WORDS)],
            error_messages={"invalid": _SEND_TEXTS, "null": _SEND_TEXTS},
        ),
        required=True,
        validate=[
            validate.Length(min=1, error=_SEND_TEXTS),
            validate.Length(max=MAX_TEXTS, error="At most {max} texts per request."),
        ],
        error_messages={"required": _SEND_TEXTS, "invalid": _SEND_TEXTS, "null": _SEND_TEXTS},
    )


class DuplicatesArgs(Params):
    threshold = ParsedFloat(
        parse=parse_threshold,
        validate=validate.Range(MIN_THRESHOLD, MAX_THRESHOLD),
        metadata={"description": "cosine at or above which images count as duplicates (default DUPLICATE_THRESHOLD)"},
    )


# --- response schemas ----------------------------------------------------------------------------
class Rounded(fields.Float):
    """Cosines to 6 decimals: more is float noise."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else round(value, 6)


class LocalTime(fields.String):
    """Epoch seconds as local time to the second, like the photo's EXIF time (which has no zone)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return datetime.fromtimestamp(value).isoformat(timespec="seconds")


class ThumbnailUrl(fields.String):
    def _serialize(self, value, attr, obj, **kwargs):
        return url_for("files.thumbnail", image_id=value)


class Error(Schema):
    error = fields.String(required=True, metadata={"description": "what is wrong and what to do"})


class Hit(Schema):
    id = fields.String(required=True)
    path = fields.String(
        required=True, attribute="record.path", metadata={"description": "absolute path the file was indexed from"}
    )
    score = Rounded(required=True)
    taken_at = LocalTime(
        required=True,
        attribute="record.taken_at",
        metadata={"description": "EXIF time taken (else the file's time), local, ISO 8601"},
    )
    thumbnail_url = ThumbnailUrl(required=True, attribute="record.id")  # "id" is taken by `id`


class Hits(Schema):
    model = fields.String(required=True)
    took_ms = fields.Float(required=True)
    notice = fields.String(required=True, allow_none=True, metadata={"description": "a warning about the query"})
    cutoff = fields.Integer(required=True, metadata={"description": "hits before the largest score drop"})
    hidden = fields.Integer(required=True, metadata={"description": "hits left out after the cut-off (all=0)"})
    hits = fields.List(fields.Nested(Hit), required=True, metadata={"description": "best first"})


class DuplicateImage(Schema):
    id = fields.String(required=True)
    path = fields.String(required=True)
    size = fields.Integer(required=True, metadata={"description": "bytes"})
    width = fields.Integer(required=True)
    height = fields.Integer(required=True)


class DuplicateGroup(Schema):
    similarity = Rounded(required=True, metadata={"description": "the weakest link's cosine"})
    images = fields.List(fields.Nested(DuplicateImage), required=True, attribute="records")


class Duplicates(Schema):
    groups = fields.List(fields.Nested(DuplicateGroup), required=True)


class Vectors(Schema):
    model = fields.String(required=True)
    vectors = fields.List(fields.List(fields.Float()), required=True)


# --- the library, fitted to the app --------------------------------------------------------------
def _first_message(messages) -> str:
    while isinstance(messages, (dict, list)) and messages:
        messages = next(iter(messages.values())) if isinstance(messages, dict) else messages[0]
    return str(messages)


class Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400  # what the document says a rejected request gets

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        raise QueryError(_first_message(error.messages))  # web/errors.py: {"error": ...}, 400

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        raise QueryError(f"The body is not valid JSON. {SEND_TEXTS}")

    def load_querystring(self, req, schema):
        # Scripts send POST /api/search's parameters in the URL or as form fields beside the image: both count.
        return self._makeproxy(req.values, schema)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()

    def errors(self, *codes: int):
        """Documents the {"error": ...} answers a route can give, each with its reason."""

        def decorate(view):
            for code in codes:
                view = self.alt_response(code, schema=Error, description=ERROR_REASONS[code])(view)
            return view

        return decorate


class Api(flask_smorest.Api):
    ERROR_SCHEMA = Error

    def _register_error_handlers(self):
        """None: web/errors.py renders every error, {"error": ...} on /api/ paths and a page elsewhere."""


def document(app: Flask, api_bp: Blueprint) -> None:
    """Builds the app's document from the (already registered) API blueprint's schemas and routes."""
    api = Api(
        app,
        spec_kwargs={
            "title": "image_search",
            "version": "1",
            "openapi_version": "3.0.3",
            "info": {
                "description": "Find pictures by words or by an example picture. With ACCESS_TOKEN set, "
                "every request needs `Authorization: Bearer <token>`."
            },
        },
    )
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "the server's ACCESS_TOKEN, when it has one"}
    )
    app.extensions["flask-smorest"]["blp_name_to_api"][api_bp.name] = api
    with app.app_context():  # api_config() reads this app's config
        if api_config().needs_token:
            api.spec.options["security"] = [{"bearer": []}]
        api_bp.register_views_in_doc(api, app, api.spec, name=api_bp.name, parameters=None)
    api.spec.tag({"name": api_bp.name, "description": "the JSON API"})


def spec() -> dict:
    return current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()


bp = FlaskBlueprint("openapi", __name__, url_prefix="/api")


@bp.get("/openapi.json")
def openapi():
    return jsonify(spec())
