"""Response headers, in-memory uploads, and the optional access token (pages: sign-in; API: Bearer)."""

from __future__ import annotations

import hashlib
import hmac
import io
import re
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Request, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField

from image_search.web.current import settings

bp = Blueprint("security", __name__)

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # The pages use only /static files: no inline script or style, no framing, forms post only here.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class InMemoryRequest(Request):
    """Keeps uploaded files in memory: werkzeug spools those over 500 KB to a temporary file, and a
    query image must never touch the disk. MAX_CONTENT_LENGTH bounds the memory."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return io.BytesIO()


def add_headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


# --- the host names it answers to ---------------------------------------------------------------
def require_allowed_host():
    allowed = [name.lower().rstrip(".") for name in settings().allowed_hosts]
    if "*" in allowed:
        return None
    name = host_name(request.host)
    if name and any(name == ok or (ok.startswith(".") and name.endswith(ok)) for ok in allowed):
        return None
    from image_search.web.errors import error_response

    return error_response(
        400,
        gettext(
            "This server does not answer to the host name %(host)r (only to %(allowed)s); to reach it by that "
            "name, add it to IMAGE_SEARCH_ALLOWED_HOSTS.",
            host=request.host[:100],
            allowed=", ".join(settings().allowed_hosts),
        ),
    )


def host_name(host: str) -> str:
    """The name in a Host header, without its port or brackets, lower case ("" if it is not one). werkzeug's own
    TRUSTED_HOSTS can't take this job: it cannot match an IPv6 address such as [::1]."""
    try:
        return (urlsplit(f"//{host}").hostname or "").rstrip(".")
    except ValueError:  # a port that is no number, an unclosed bracket
        return ""


# --- the optional access token ------------------------------------------------------------------
class LoginForm(FlaskForm):
    token = PasswordField(lazy_gettext("Access token"))
    next = HiddenField()


def _token() -> str | None:
    return settings().access_token or None


def _session_mark(token: str) -> str:
    # Not the token itself: the (signed, not encrypted) cookie must not reveal it; changing it logs all out.
    return hashlib.sha256(b"image_search session:" + token.encode()).hexdigest()


def require_token():
    token = _token()
    if token is None or request.endpoint in ("static", "security.login"):
        return None
    # A script's Bearer header opens every route, so the thumbnail_url of an API answer can be fetched with it.
    if "Authorization" in request.headers or request.path.startswith("/api/"):
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return None
        from image_search.web.errors import error_response

        response = make_response(
            error_response(401, gettext("Send the access token as `Authorization: Bearer <token>`."))
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="image_search"'
        return response
    if hmac.compare_digest(session.get("access", ""), _session_mark(token)):
        return None
    return redirect(url_for("security.login", next=request.full_path if request.method == "GET" else "/"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    wrong = False
    token = _token()
    if form.validate_on_submit() and token is not None:
        if hmac.compare_digest((form.token.data or "").encode(), token.encode()):
            session.clear()
            session["access"] = _session_mark(token)
            return redirect(same_site_path(form.next.data or "/"), code=303)
        wrong = True
    form.next.data = form.next.data or request.args.get("next", "/")
    return render_template("login.html", form=form, wrong=wrong, query=""), 401 if wrong else 200


# Characters a browser drops from or rewrites in a URL before reading it (WHATWG URL parsing: tabs and newlines
# vanish, a backslash reads as a slash), and the other controls, none of which a path of ours contains.
_UNSAFE_IN_PATH = re.compile(r"[\x00-\x1f\x7f\\]")


def same_site_path(target: str) -> str:
    """`target` if a browser reads it as a path on this site, else "/": never a redirect to another site
    (`//host`, `/<tab>/host`, `/<backslash>host`, `https:`, `javascript:` ...)."""
    # A single leading slash: a path. No scheme or host can come before it.
    if _UNSAFE_IN_PATH.search(target) or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def init_app(app: Flask) -> None:
    app.request_class = InMemoryRequest
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:  # Flask's default is None: cross-site sends it
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.register_blueprint(bp)
    app.before_request(require_allowed_host)  # first: a rebound name learns nothing, not even the sign-in page
    app.before_request(require_token)
    app.after_request(add_headers)
