"""flask-smorest fitted to the app, and the OpenAPI 3 document it derives from the API's schemas
(api_schemas.py), served at /api/openapi.json (the fuzz tests generate from it). A rejected request is a
QueryError: `{"error": ...}`, 400, rendered by web/errors.py like every other error.
"""

from __future__ import annotations

import flask_smorest
from flask import Blueprint as FlaskBlueprint
from flask import Flask, current_app, jsonify
from flask_babel import gettext
from webargs.flaskparser import FlaskParser

from image_search.errors import QueryError
from image_search.web.api_fields import ERROR_REASONS, SEND_TEXTS, api_config
from image_search.web.api_schemas import SEND_IDS, Error


# --- the library, fitted to the app --------------------------------------------------------------
def _first_message(messages) -> str:
    while isinstance(messages, (dict, list)) and messages:
        messages = next(iter(messages.values())) if isinstance(messages, dict) else messages[0]
    return str(messages)


def what_to_send(req) -> str:
    """What the route that got a broken JSON body takes (the two routes that take JSON)."""
    return str(SEND_IDS if req.endpoint == "api.selection" else SEND_TEXTS)


class Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400  # what the document says a rejected request gets

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        raise QueryError(_first_message(error.messages))  # web/errors.py: {"error": ...}, 400

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        raise QueryError(gettext("The body is not valid JSON. %(how)s", how=what_to_send(req)))

    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except RecursionError:  # json.loads gives up past about 1000 levels of nesting
            raise QueryError(gettext("The JSON body is nested too deeply. %(how)s", how=what_to_send(req))) from None

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
