"""Every API response against the published OpenAPI document (installed by tests/conftest.py).

One module, imported under one name, so that the client class installed on the
app and the count of validated responses are the same objects everywhere.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import jsonschema_rs
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from calc import create_app
from calc.version import __version__
from calc.web.openapi import openapi_document

# Keywords whose values are data, not schemas: never rewritten.
_DATA_KEYWORDS = frozenset({"enum", "default", "example", "required"})
# Keywords whose values map names to schemas.
_SCHEMA_MAPS = frozenset({"properties", "schemas"})


def json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema (or a map or list of them) as JSON Schema draft 4.

    Draft 4 is what 3.0's schema object extends. OpenAPI 3.0.3: ``nullable: true``
    adds null to the ``type`` written beside it (and to nothing else: an ``enum``
    must list null itself); without a ``type`` it has no effect.
    """
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DATA_KEYWORDS:
            out[key] = value
        elif key in _SCHEMA_MAPS:
            out[key] = {name: json_schema(schema) for name, schema in value.items()}
        elif key != "nullable":
            out[key] = json_schema(value)
    if node.get("nullable") is True and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


class ResponseDrift(AssertionError):
    """An API response that the published OpenAPI document does not describe."""


@cache
def published_document() -> dict[str, Any]:
    """The document an app with the default settings serves."""
    app = create_app({"TESTING": True})
    limit = app.config["MAX_CONTENT_LENGTH"]
    return openapi_document(__version__, app.extensions["calc_evidence"], limit)


@cache
def _validator(where: tuple[str, ...]) -> jsonschema_rs.Draft4Validator:
    """A validator for the schema at ``where`` (the keys leading to it in the document)."""
    doc = published_document()
    node: Any = doc
    for key in where:
        node = node[key]
    # The document's components beside the schema, so that its $refs resolve.
    root = {"components": json_schema(doc["components"]), **json_schema(copy.deepcopy(node))}
    return jsonschema_rs.Draft4Validator(root)


VALIDATED: dict[str, int] = {"responses": 0}


def check_api_response(method: str, path: str, status: int, mimetype: str, body: bytes) -> None:
    """Raise ResponseDrift unless the document describes this response.

    A documented path: the operation's schema for the status (a status the
    operation does not list is drift); a method the path does not route: 405
    with the ``Errors`` body. Any other ``/api/`` path: an ``Errors`` body.
    """
    paths = published_document()["paths"]
    if path not in paths and not path.startswith("/api/"):
        return
    if method == "HEAD":
        return  # no body
    operation = paths.get(path, {}).get(method.lower()) if method.isupper() else None
    where = f"{method} {path} -> {status}"
    if path not in paths or operation is None:
        if path in paths and status != 405:
            raise ResponseDrift(f"{where}: an unrouted method must be answered 405")
        if status < 400:
            raise ResponseDrift(f"{where}: an undocumented path must be an error")
        where_schema: tuple[str, ...] = ("components", "schemas", "Errors")
    else:
        if str(status) not in operation["responses"]:
            raise ResponseDrift(f"{where}: the document lists no such status")
        where_schema = (
            *("paths", path, method.lower(), "responses", str(status)),
            *("content", "application/json", "schema"),
        )
    if mimetype != "application/json":
        raise ResponseDrift(f"{where}: {mimetype}, not application/json")
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise ResponseDrift(f"{where}: the body is not JSON ({exc})") from None
    validator = _validator(where_schema)
    errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(value)]
    if errors:
        schema = "/".join(where_schema)
        raise ResponseDrift(f"{where} does not match {schema}:\n" + "\n".join(errors[:10]))
    VALIDATED["responses"] += 1


class ValidatingClient(FlaskClient):
    """Flask's test client, checking every API response against the published document."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        request = response.request
        # The method as sent: "get" is not GET (RFC 9110 9.1), though Werkzeug upper-cases it.
        check_api_response(
            request.environ.get("REQUEST_METHOD", request.method),
            request.path,
            response.status_code,
            response.mimetype or "",
            response.get_data(),
        )
        return response
