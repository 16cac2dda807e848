"""The JSON API (/api/v1): a thin adapter from JSON to the engine and back.

Every body it answers is one of the response types of :mod:`calc.core.jsonview`,
serialised by orjson as it stands, so the OpenAPI document generated from those
types (calc.web.openapi) describes exactly what is sent.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, request

from ..core import jsonview as jv
from ..core.assessment import ASSESS_FIELDS, LAB_FIELDS, run, validate_labs_object, validate_request
from ..core.inputs import InputError
from ..core.meld import compute_meld
from ..core.report import assessment_view, evidence_view, meld_view
from ..version import __version__
from .openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class BadBody(ValueError):
    """The body is not a JSON object (400)."""


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise BadBody(f"duplicate key {key!r}")
        out[key] = value
    return out


# One decoder for every request: json.loads with a hook builds a new one per call.
_DECODER = json.JSONDecoder(object_pairs_hook=_reject_duplicates)


def read_json_object() -> dict[str, Any]:
    """The request body as a JSON object, or BadBody."""
    raw = request.get_data(cache=False)
    try:
        data = _DECODER.decode(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        if isinstance(exc, BadBody):
            raise
        raise BadBody("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadBody("the body must be a JSON object")
    return data


def json_response(body: object, status: int = 200) -> Response:
    """A response type (calc.core.jsonview), or the OpenAPI document, as JSON."""
    return Response(jv.dumps(body), status=status, mimetype="application/json")


def errors_response(errors: dict[str, list[str]], status: int) -> tuple[Response, int]:
    body = jv.Errors(errors={field: tuple(messages) for field, messages in errors.items()})
    return json_response(body, status), status


def _json_or_error(fields: frozenset[str]) -> dict[str, Any] | tuple[Response, int]:
    if request.mimetype != "application/json":
        return errors_response(
            {"request": ["Send the body as JSON with Content-Type: application/json."]}, 415
        )
    try:
        data = read_json_object()
    except BadBody as exc:
        return errors_response({"request": [f"Malformed body: {exc}."]}, 400)
    unknown = sorted(set(data) - fields)
    if unknown:
        return errors_response(
            {k: [f"Unknown field {k!r}; allowed: {', '.join(sorted(fields))}."] for k in unknown},
            422,
        )
    return data


@bp.post("/assess")
def assess_patient() -> tuple[Response, int] | Response:
    data = _json_or_error(ASSESS_FIELDS)
    if isinstance(data, tuple):
        return data
    try:
        req = validate_request(data, allow_text=False)
    except InputError as exc:
        return errors_response(exc.errors, 422)
    result = run(req, current_app.extensions["calc_evidence"])
    return json_response(assessment_view(result))


@bp.post("/meld")
def meld_from_labs() -> tuple[Response, int] | Response:
    """Classic MELD, MELD-Na and MELD 3.0 from labs, with the working."""
    data = _json_or_error(LAB_FIELDS)
    if isinstance(data, tuple):
        return data
    try:
        labs = validate_labs_object(data, allow_text=False)
    except InputError as exc:
        # Errors name the fields of this endpoint, without the "labs." prefix.
        return errors_response({k.removeprefix("labs."): v for k, v in exc.errors.items()}, 422)
    return json_response(meld_view(compute_meld(labs)))


@bp.get("/openapi.json")
def openapi() -> Response:
    """The document, with the evidence and the body limit this app serves."""
    evidence, limit = (
        current_app.extensions["calc_evidence"],
        current_app.config["MAX_CONTENT_LENGTH"],
    )
    return json_response(openapi_document(__version__, evidence, limit))


@bp.get("/evidence")
def evidence() -> Response:
    """Both evidence files as loaded, so the basis of every number can be reviewed."""
    return json_response(evidence_view(current_app.extensions["calc_evidence"]))
