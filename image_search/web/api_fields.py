"""The API's request fields: each value first goes through the parser the pages and the CLI use
(service/params.py, web/params.py, inference/query.py), so a value they reject gets their message; the
field's own type and validators, which the OpenAPI document is made of, then apply. Limits that are app
settings (MAX_K, MAX_QUERY_CHARS) are looked up on each use, so the check and the document agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext, lazy_gettext
from flask_babel.speaklater import LazyString
from marshmallow import ValidationError, fields, missing, validate

from image_search.errors import QueryError
from image_search.inference.query import clean_query
from image_search.service.params import MAX_SIDE, TYPE_ALIASES, known_formats, parse_filters, parse_view
from image_search.web.current import settings

MAX_TEXTS = 64  # texts per /api/embed request: one batch through the text model
MAX_FOLDER_CHARS = 4096  # PATH_MAX on Linux: no folder prefix is longer
# Some words: not only (Python's) whitespace. Anchored, because marshmallow matches at the start and JSON
# Schema anywhere: this way both read it alike.
WORDS = r"^[\s\x1c-\x1f\x85]*[^\s\x1c-\x1f\x85]"
# YYYY-MM-DD (strptime also takes one-digit months and days), years 1800 to 9000 as service/params.py takes.
DATE = r"^(1[89][0-9]{2}|[2-8][0-9]{3}|9000)-[0-9]{1,2}-[0-9]{1,2}$"
# Lazy: these are made at import and read in each request's language.
SEND_TEXTS = lazy_gettext('Send JSON {"texts": ["...", ...]} or a multipart file field named "image".')
SEND_TEXTS_MESSAGE = LazyString(lambda: str(SEND_TEXTS).replace("{", "{{").replace("}", "}}"))  # marshmallow formats
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
    max_results: int  # the most ids one selection may download


def api_config() -> ApiConfig:
    """What the API takes from this app's settings, the one place it reads them: when a request is checked,
    and (in `document`, under the app's context) when the document is built."""
    config = settings()
    return ApiConfig(
        max_k=config.max_k,
        max_query_chars=config.max_query_chars,
        needs_token=bool(config.access_token),
        max_results=config.max_results,
    )


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
            raise ValidationError(
                gettext("Unknown file type in %(given)r: use e.g. jpeg, png, webp.", given=value[:40])
            )
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


def filter_parser(name: str) -> Callable[[str], object]:
    return lambda raw: parse_filters({name: raw})


def view_parser(name: str) -> Callable[[str], object]:
    return lambda raw: parse_view({name: raw})


def text_parser(raw: str) -> str:
    return clean_query(raw, api_config().max_query_chars)


def words_parser(raw: str) -> str:
    return text_parser(raw) if raw.strip() else raw  # optional words: empty is none


def date_field(name: str, meaning: str) -> ParsedString:
    return ParsedString(
        data_key=name,
        parse=filter_parser(name),
        validate=validate.Regexp(
            DATE,
            error=LazyString(
                lambda: gettext(
                    "'%(name)s' must be a date as YYYY-MM-DD, years 1800 to 9000, not {input!r}.", name=name
                )
            ),
        ),
        metadata={"format": "date", "description": f"taken on or {meaning} (YYYY-MM-DD)"},
    )


def side_field(name: str) -> ParsedInteger:
    return ParsedInteger(
        parse=filter_parser(name),
        validate=validate.Range(0, MAX_SIDE),
        error_messages={
            "invalid": LazyString(
                lambda: gettext(
                    "'%(name)s' must be a whole number of pixels from 0 to %(most)s.", name=name, most=MAX_SIDE
                )
            )
        },
        metadata={"description": "pixels, at least"},
    )
