"""User-facing errors get their HTTP status from one table (image_search/errors.py)."""

import pytest

from image_search.errors import (
    ImageError,
    LockHeld,
    ModelMismatch,
    ModelUnavailable,
    NotFound,
    QueryError,
    StoreError,
    UserError,
    WriteFailures,
    http_status,
)


@pytest.mark.parametrize(
    "error, status",
    [
        (QueryError("q"), 400),
        (ImageError("i"), 400),
        (NotFound("n"), 404),
        (ModelMismatch("a", "b"), 409),
        (LockHeld("l"), 409),
        (ModelUnavailable("m"), 503),
        (StoreError("s"), 503),
        (WriteFailures({"/p": "r"}, 0), 503),
        (UserError("u"), 400),
    ],
)
def test_most_specific_status_wins(error, status):
    assert http_status(error) == status


def raise_from(monkeypatch, method: str, error: Exception) -> None:
    """Make SearchService.<method> raise `error`, as a failing store or model would."""
    from image_search.service.search_service import SearchService

    def failing(*_a, **_k):
        raise error

    monkeypatch.setattr(SearchService, method, failing)


def test_pages_and_api_answer_a_user_error_by_the_table(client, monkeypatch):
    held = LockHeld("Another `flask index` is writing to this store.")
    raise_from(monkeypatch, "record", held)
    page = client.get("/image/0123456789abcdef")
    assert page.status_code == 409 and "Another `flask index`" in page.get_data(as_text=True)
    raise_from(monkeypatch, "health", held)
    body = client.get("/api/health")
    assert body.status_code == 409 and body.get_json() == {"error": "Another `flask index` is writing to this store."}


def test_an_image_error_reads_as_before(client, monkeypatch):
    raise_from(monkeypatch, "record", ImageError("cannot decode image"))
    page = client.get("/image/0123456789abcdef")
    assert page.status_code == 400 and "Not a usable image: cannot decode image" in page.get_data(as_text=True)
