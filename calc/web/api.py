"""The JSON API (/api/v1): a thin adapter from JSON to the engine and back."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from ..core.assessment import ASSESS_FIELDS, LAB_FIELDS, run, validate_labs_object, validate_request
from ..core.evidence import Evidence
from ..core.inputs import InputError
from ..core.meld import working_as_dict
from ..core.report import to_dict
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


def read_json_object() -> dict[str, Any]:
    """The request body as a JSON object, or BadBody."""
    raw = request.get_data(cache=False)
    try:
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=_reject_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        if isinstance(exc, BadBody):
            raise
        raise BadBody("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadBody("the body must be a JSON object")
    return data


def errors_response(errors: dict[str, list[str]], status: int) -> tuple[Response, int]:
    return jsonify({"errors": errors}), status


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
    return jsonify(to_dict(result))


@bp.post("/meld")
def meld_from_labs() -> tuple[Response, int] | Response:
    """Classic MELD, MELD-Na and MELD 3.0 from labs, with the working."""
    data = _json_or_error(LAB_FIELDS)
    if isinstance(data, tuple):
        return data
    try:
        result = validate_labs_object(data, allow_text=False)
    except InputError as exc:
        # Errors name the fields of this endpoint, without the "labs." prefix.
        return errors_response({k.removeprefix("labs."): v for k, v in exc.errors.items()}, 422)
    return jsonify(
        {
            "meld": result.meld,
            "meld_na": result.meld_na,
            "meld_3_0": result.meld_3_0,
            "working": working_as_dict(result),
        }
    )


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(__version__))


def source_key(evidence_version: str) -> str:
    """The name of a source: its version up to the first hyphen (cao2018-abstract-v2 -> cao2018)."""
    return evidence_version.split("-", 1)[0]


def evidence_sources(evidence: Evidence) -> dict[str, dict[str, Any]]:
    """Each source of evidence as loaded, apart, each with its own version.

    ``{"cao2018": {...}, "ding2024": {...}}``: the pooled changes that drive the
    calculation (``used_in_calculation`` true) and the controlled evidence shown
    beside them as context (``used_in_calculation`` false), never merged.
    """
    pooled = asdict(replace(evidence, context=None))
    del pooled["context"]
    out = {source_key(evidence.evidence_version): {"used_in_calculation": True, **pooled}}
    ctx = evidence.context
    if ctx is not None:
        key = source_key(ctx.evidence_version)
        if key in out:  # two sources of one name: the full version tells them apart
            key = ctx.evidence_version
        out[key] = {"used_in_calculation": False, **asdict(ctx)}
    return out


@bp.get("/evidence")
def evidence() -> Response:
    """Both evidence files as loaded, so the basis of every number can be reviewed."""
    return jsonify(evidence_sources(current_app.extensions["calc_evidence"]))
