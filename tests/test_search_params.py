from datetime import datetime

import pytest

from image_search.errors import QueryError
from image_search.service.params import parse_filters, parse_view
from image_search.service.ranking import View
from image_search.stores import Filters


def test_no_values_no_filters():
    assert not parse_filters({})


def test_all_filters():
    filters = parse_filters(
        {
            "folder": "/photos/2023/",
            "from": "2023-01-01",
            "to": "2023-01-31",
            "type": "jpg, PNG,webp",
            "min_width": "800",
            "min_height": "600",
        }
    )
    assert filters == Filters(
        folder="/photos/2023",
        date_from=datetime(2023, 1, 1).timestamp(),
        date_to=datetime(2023, 2, 1).timestamp(),  # `to` is inclusive
        formats=("JPEG", "MPO", "PNG", "WEBP"),
        min_width=800,
        min_height=600,
    )


@pytest.mark.parametrize(
    "values, message",
    [
        ({"folder": "photos"}, "absolute folder path"),
        ({"from": "2023-02-30"}, "YYYY-MM-DD"),
        ({"to": "yesterday"}, "YYYY-MM-DD"),
        ({"from": "2023-02-01", "to": "2023-01-01"}, "on or before"),
        ({"type": "jpeg,docx"}, "Unknown file type 'docx'"),
        ({"min_width": "-5"}, "whole number of pixels"),
        ({"min_width": "²"}, "whole number of pixels"),  # a digit to str.isdigit(), not to int()
        ({"min_height": "1e9"}, "whole number of pixels"),
        ({"from": "0001-01-01"}, "between 1800 and 9000"),
        ({"to": "9999-12-31"}, "between 1800 and 9000"),
    ],
)
def test_bad_values_say_why(values, message):
    with pytest.raises(QueryError, match=message):
        parse_filters(values)


def test_view():
    assert parse_view({}) == View() and parse_view({}, show_all_default=True).show_all
    assert parse_view({"sort": "date", "all": "1"}) == View("date", True)
    assert not parse_view({"all": "0"}, show_all_default=True).show_all
    for values in ({"sort": "size"}, {"all": "maybe"}):
        with pytest.raises(QueryError):
            parse_view(values)
