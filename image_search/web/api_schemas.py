"""The JSON API's contract: marshmallow schemas that validate its requests (api_fields.py) and shape its
answers. flask-smorest derives the OpenAPI document from the same objects (openapi.py), so a field or a
limit cannot say one thing and check another."""

from __future__ import annotations

import re
from datetime import datetime

from flask import url_for
from flask_babel import lazy_gettext
from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, Schema, fields, post_load, pre_load, validate

from image_search.service.params import parse_filters, parse_view
from image_search.service.ranking import SORTS
from image_search.web.api_fields import (
    MAX_FOLDER_CHARS,
    MAX_TEXTS,
    SEND_TEXTS,
    SEND_TEXTS_MESSAGE,
    WORDS,
    AnyCase,
    AppLength,
    AppRange,
    FileTypes,
    ParsedFloat,
    ParsedInteger,
    ParsedString,
    api_config,
    date_field,
    filter_parser,
    side_field,
    text_parser,
    view_parser,
    words_parser,
)
from image_search.web.params import MAX_THRESHOLD, MIN_THRESHOLD, parse_int, parse_threshold


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
        parse=filter_parser("folder"),
        validate=[
            validate.Regexp(
                r"^/[^\x00]*$", error=lazy_gettext("'folder' must be an absolute folder path without NUL characters.")
            ),
            validate.Length(
                max=MAX_FOLDER_CHARS, error=lazy_gettext("'folder' is longer than any folder path ({max} characters).")
            ),
        ],
        metadata={"description": "absolute folder prefix"},
    )
    date_from = date_field("from", "after")
    date_to = date_field("to", "before")
    type = ParsedString(
        parse=filter_parser("type"),
        validate=FileTypes(),
        metadata={"description": "file type, or several comma-separated: jpeg,png"},
    )
    min_width = side_field("min_width")
    min_height = side_field("min_height")
    sort = ParsedString(parse=view_parser("sort"), validate=validate.OneOf(SORTS))
    all = ParsedString(
        parse=view_parser("all"),
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
        parse=text_parser,
        validate=[AppLength("max_query_chars", min=1), validate.Regexp(WORDS)],
        metadata={"description": "the query: words, weights, -negatives, id:IMAGE parts"},
    )


class WordsSearchArgs(SearchArgs):
    q = ParsedString(
        parse=words_parser,
        validate=AppLength("max_query_chars"),
        metadata={"description": "words combined with the image"},
    )


class ImageUpload(Schema):
    class Meta:
        unknown = EXCLUDE

    image = Upload(
        required=True,
        error_messages={"required": lazy_gettext("Send the image as a multipart file field named 'image'.")},
    )


SEND_IDS = lazy_gettext('Send JSON {"ids": ["IMAGE_ID", ...]}: the ids of the images to download.')


class Selection(Schema):
    """Images to download as one zip, by id (POST /api/selection): checked as the pages' selection is."""

    class Meta:
        unknown = EXCLUDE

    error_messages = {"type": SEND_IDS}  # a body that is not a JSON object
    ids = fields.List(
        fields.String(
            error_messages={"invalid": SEND_IDS},
            validate=validate.Regexp(r".*\S", re.DOTALL, error=lazy_gettext("An id is blank.")),  # not only spaces
        ),
        required=True,
        error_messages={"required": SEND_IDS, "invalid": SEND_IDS, "null": SEND_IDS},
        validate=[
            validate.Length(min=1, error=lazy_gettext("Select at least one image.")),
            AppLength("max_results", error=lazy_gettext("Select at most {max} images at once.")),
        ],
        metadata={"description": "the images' ids (at most MAX_RESULTS), as search answers give them"},
    )


class Texts(Schema):
    class Meta:
        unknown = EXCLUDE

    error_messages = {"type": SEND_TEXTS}  # a body that is not a JSON object
    texts = fields.List(
        ParsedString(
            parse=text_parser,
            validate=[AppLength("max_query_chars", min=1), validate.Regexp(WORDS)],
            error_messages={"invalid": SEND_TEXTS_MESSAGE, "null": SEND_TEXTS_MESSAGE},
        ),
        required=True,
        validate=[
            validate.Length(min=1, error=SEND_TEXTS_MESSAGE),
            validate.Length(max=MAX_TEXTS, error=lazy_gettext("At most {max} texts per request.")),
        ],
        error_messages={"required": SEND_TEXTS_MESSAGE, "invalid": SEND_TEXTS_MESSAGE, "null": SEND_TEXTS_MESSAGE},
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
        return None if value is None else datetime.fromtimestamp(value).isoformat(timespec="seconds")


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
    by_name = fields.Boolean(
        required=True, metadata={"description": "found by its file or folder name (low confidence), not by the model"}
    )


class Hits(Schema):
    model = fields.String(required=True)
    took_ms = fields.Float(required=True)
    notice = fields.String(required=True, allow_none=True, metadata={"description": "a warning about the query"})
    cutoff = fields.Integer(required=True, metadata={"description": "hits before the largest score drop"})
    hidden = fields.Integer(required=True, metadata={"description": "hits left out after the cut-off (all=0)"})
    weak = fields.Boolean(
        required=True, metadata={"description": "nothing matched well: the hits are only the nearest images"}
    )
    hits = fields.List(fields.Nested(Hit), required=True, metadata={"description": "best first"})


class DuplicateImage(Schema):
    id = fields.String(required=True)
    path = fields.String(required=True)
    size = fields.Integer(required=True, metadata={"description": "bytes"})
    width = fields.Integer(required=True)
    height = fields.Integer(required=True)


class DuplicateGroup(Schema):
    similarity = Rounded(required=True, metadata={"description": "the weakest pair's cosine (every pair is at least)"})
    images = fields.List(fields.Nested(DuplicateImage), required=True, attribute="records")
    key = fields.String(required=True, metadata={"description": "names the group in /duplicates/export's keep-KEY"})
    suggested_keeper = fields.Function(
        lambda group: group.suggested_keeper.id,
        required=True,
        metadata={"description": "the image kept unless chosen otherwise: most pixels, then largest file"},
    )


class Duplicates(Schema):
    groups = fields.List(fields.Nested(DuplicateGroup), required=True, metadata={"description": "largest first"})
    threshold = fields.Float(required=True, metadata={"description": "the threshold these groups are for"})
    computed_at = LocalTime(
        required=True, allow_none=True, metadata={"description": "when the groups were computed (null: never)"}
    )
    computed_threshold = fields.Float(
        required=True, allow_none=True, metadata={"description": "the lowest threshold the stored groups serve"}
    )
    images = fields.Integer(required=True, metadata={"description": "images the computation looked at"})
    changed_since = fields.Boolean(
        required=True, metadata={"description": "whether the collection changed after they were computed"}
    )
    notice = fields.String(
        required=True, allow_none=True, metadata={"description": "what to run when they are missing or out of date"}
    )


class Vectors(Schema):
    model = fields.String(required=True)
    vectors = fields.List(fields.List(fields.Float()), required=True)
