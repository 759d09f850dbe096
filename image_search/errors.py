"""What can go wrong for a user, in one place: each error's message says why and what to do.

The pages and the API map these to HTTP statuses by HTTP_STATUS; the CLI prints the message on one line.
Messages are made with Flask-Babel's gettext: in a request, in the reader's language; elsewhere (the CLI), English.
"""

from __future__ import annotations

from flask_babel import gettext


class UserError(Exception):
    """A failure the user can act on; str(error) is the whole message."""


class QueryError(UserError, ValueError):
    """The user's query or a parameter cannot be used. `field`: the request parameter at fault ("from", "q"),
    so that a page shows the message beside its input; None when no one parameter is."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class ImageError(UserError, ValueError):
    """The bytes are not an image we can use; the message is a one-line reason."""


class NotAFile(ImageError):
    """A path that should be an image file is a named pipe, a device, a folder or a socket: never read
    (a pipe would block the reader forever, a device never end)."""


class NotFound(UserError, LookupError):
    """No indexed image or cached query has that id."""


class ModelUnavailable(UserError, RuntimeError):
    """The model's weights could not be loaded; the message says what was tried and how to fix it."""


class StoreError(UserError, RuntimeError):
    """The store cannot do what was asked (bad configuration, server down)."""


class ModelMismatch(StoreError):
    """The store holds vectors of another model than the active one."""

    def __init__(self, store_model: str, active_model: str):
        self.store_model, self.active_model = store_model, active_model
        super().__init__(
            gettext(
                "The index was built with model '%(store_model)s' but the active model is '%(active_model)s'. "
                "Rebuild it with: flask --app image_search index --rebuild PATH [PATH...] "
                "(or select the model it was built with).",
                store_model=store_model,
                active_model=active_model,
            )
        )


class WriteFailures(StoreError):
    """Some documents of a batch were not written; the others were. `failures` maps path -> reason."""

    def __init__(self, failures: dict[str, str], written: int):
        self.failures, self.written = failures, written
        shown = ", ".join(list(failures)[:3]) + (", ..." if len(failures) > 3 else "")
        super().__init__(f"{len(failures)} image(s) could not be stored ({written} were): {shown}")


class TooLarge(UserError, ValueError):
    """What was asked for is over a size limit (a download of selected images over MAX_DOWNLOAD_MB)."""


class Busy(UserError, RuntimeError):
    """The server is doing as many of these at once as it takes (downloads of selected images); try again."""


class LockHeld(UserError, RuntimeError):
    """Another indexer is writing to this store."""


# The most specific class first: a ModelMismatch is also a StoreError.
HTTP_STATUS: dict[type[UserError], int] = {
    QueryError: 400,
    ImageError: 400,
    NotFound: 404,
    TooLarge: 413,
    ModelMismatch: 409,
    LockHeld: 409,
    Busy: 503,
    ModelUnavailable: 503,
    StoreError: 503,
}


def http_status(error: UserError) -> int:
    """The first matching class's status; a UserError of no listed kind is the user's to fix: 400."""
    return next((status for kind, status in HTTP_STATUS.items() if isinstance(error, kind)), 400)
