"""Every parameter parser, over all of Unicode (Hypothesis): query parameters, filters, k, dates, sizes, ids in
the path, form fields, JSON fields and the Host header, on the pages and the API. Never a 500: a value is
used or refused with a 4xx and a message."""

import io
import json
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import id_of
from tests.photos import image_bytes, solid
from tests.test_hostile_input import FUZZ  # one fixed-seed Hypothesis profile for both fuzz modules

# Values parsers have tripped over, or that sit on a limit, beside random text of every code point.
TRICKY = [
    "²",
    "٣",
    "１２",
    "1e309",
    "nan",
    "-inf",
    "-0",
    " 5 ",
    "0x10",
    "1_000",
    "9" * 400,
    "2023-02-30",
    "0001-01-01",
    "9999-12-31",
    "2023-1-1",
    "\x00",
    "%",
    "%00",
    "../../etc/passwd",
    "/",
    "//",
    "id:",
    "id:../x",
    "2:",
    "0:red",
    "11:red",
    "red + + blue",
    "-",
    '-"',
    "\u2028\u2029\x85\x1c",
    "\ufeff",
    "\U0010ffff",
    "jpeg,,png",
    "true",
    "TRUE",
]
ANY_TEXT = st.one_of(st.sampled_from(TRICKY), st.text(max_size=60), st.text(max_size=400))
# JSON strings may hold what no URL decoder yields: lone surrogates.
ANY_JSON_TEXT = st.one_of(
    st.sampled_from(TRICKY + ["\ud800", "\udfff x"]), st.text(st.characters(exclude_categories=()))
)
PARAMS = ["q", "k", "page", "folder", "from", "to", "type", "min_width", "min_height", "sort", "all", "threshold"]
PAGES = ["/", "/search?q=red", "/similar/{id}", "/image/{id}", "/duplicates", "/health"]
API = ["/api/search?q=red", "/api/similar/{id}", "/api/duplicates", "/api/health"]
ID_ROUTES = [
    "/similar/{}",
    "/image/{}",
    "/search/image/{}",
    "/thumbnail/{}",
    "/original/{}",
    "/api/similar/{}",
]


@pytest.fixture
def store_config():
    """The parsers come before any store: the embedded one is enough here."""
    return {"STORE": "embedded"}


@pytest.fixture
def red_id(indexed, photo_dir):
    return id_of(indexed, photo_dir / "red.jpg")


def assert_answered(response, what):
    assert response.status_code < 500, (what, response.get_data(as_text=True)[:300])
    if response.status_code >= 400 and response.is_json:
        assert response.get_json()["error"], what


def query_string(name: str, value: str) -> str:
    return f"{quote(name)}={quote(value, safe='', errors='surrogatepass')}"


@given(route=st.sampled_from(PAGES + API), name=st.sampled_from(PARAMS), value=ANY_TEXT, twice=st.booleans())
@FUZZ
def test_any_query_parameter_on_any_route(indexed, red_id, route, name, value, twice):
    url = route.format(id=red_id)
    extra = query_string(name, value) + ("&" + query_string(name, value[::-1]) if twice else "")
    url = f"{url}{'&' if '?' in url else '?'}{extra}"
    assert_answered(indexed.test_client().get(url), url)


@given(route=st.sampled_from(ID_ROUTES), value=ANY_TEXT)
@FUZZ
def test_any_id_in_the_path(indexed, route, value):
    url = route.format(quote(value, safe="", errors="surrogatepass"))
    assert_answered(indexed.test_client().get(url), url)


PICTURE = image_bytes(solid((200, 10, 10)), "PNG")


@given(
    url=st.sampled_from(["/search/image", "/api/search", "/api/embed"]),
    fields=st.dictionaries(st.sampled_from(PARAMS + ["image", "texts", "csrf_token"]), ANY_TEXT, max_size=4),
    with_image=st.booleans(),
)
@FUZZ
def test_any_form_fields_beside_an_upload(indexed, url, fields, with_image):
    data: dict = dict(fields)
    if with_image:
        data["image"] = (io.BytesIO(PICTURE), "q.png")
    response = indexed.test_client().post(url, data=data, content_type="multipart/form-data")
    assert_answered(response, (url, fields))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_JSON_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_JSON_TEXT, inner, max_size=4),
    max_leaves=12,
)


@given(
    body=st.one_of(
        st.fixed_dictionaries({"texts": st.lists(ANY_JSON_TEXT, max_size=5)}),
        st.fixed_dictionaries({"texts": JSON_VALUES}),
        JSON_VALUES,
    )
)
@FUZZ
def test_any_json_body_to_embed(indexed, body):
    response = indexed.test_client().post("/api/embed", data=json.dumps(body), content_type="application/json")
    assert_answered(response, body)


@given(body=st.binary(max_size=200), content_type=st.sampled_from(["application/json", "text/plain", ""]))
@FUZZ
def test_any_bytes_as_the_body(indexed, body, content_type):
    response = indexed.test_client().post("/api/embed", data=body, content_type=content_type)
    assert_answered(response, body)


@given(host=st.text(st.characters(max_codepoint=255, exclude_categories=("Cc",)), max_size=80))
@FUZZ
def test_any_host_header(indexed, host):
    response = indexed.test_client().get("/api/health", headers={"Host": host})
    assert_answered(response, host)


@given(next_value=ANY_TEXT, token=ANY_TEXT)
@FUZZ
def test_any_sign_in_fields(indexed, make_app, next_value, token):
    client = make_app(ACCESS_TOKEN="s3cret").test_client()
    for value in (token, "s3cret"):
        response = client.post("/login", data={"token": value, "next": next_value})
        assert_answered(response, (value, next_value))
        if response.status_code == 303:
            location = response.headers["Location"]
            assert location.startswith("/") and not location.startswith("//") and "\\" not in location


CLI_OPTIONS = ["-k", "--folder", "--from", "--to", "--type", "--min-width", "--min-height", "--sort"]


@given(
    query=ANY_TEXT,
    options=st.dictionaries(st.sampled_from(CLI_OPTIONS), ANY_TEXT, max_size=3),
    threshold=st.one_of(st.none(), ANY_TEXT),
)
@FUZZ
def test_any_cli_arguments(indexed, query, options, threshold):
    """`flask search` and `flask duplicates`: a result or a one-line message, never a traceback."""
    runner = indexed.test_cli_runner()
    # argv can't hold a NUL; an undecodable byte reaches Python as a lone surrogate (tested beside the query).
    args = ["search", query.replace("\x00", "")] + [
        part.replace("\x00", "") for item in options.items() for part in item
    ]
    for argv in (args, ["duplicates"] + ([] if threshold is None else ["--threshold", threshold.replace("\x00", "")])):
        result = runner.invoke(args=argv)
        assert result.exception is None or isinstance(result.exception, SystemExit), (argv, result.output)
        assert "Traceback" not in result.output, argv


@pytest.mark.parametrize("value", ["nan", "NaN", "-nan"])
def test_duplicates_threshold_refuses_nan(indexed, value):
    result = indexed.test_cli_runner().invoke(args=["duplicates", "--threshold", value])
    assert result.exit_code == 2 and "not nan" in result.output
