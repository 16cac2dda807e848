"""The OpenAPI 3.0 document of the JSON API, generated.

The requests come from the field table (calc.core.fields: types, units, bounds,
help); the responses from the response types (calc.core.jsonview: a schema per
dataclass from its type hints, every field required, nothing else allowed,
descriptions from the field docs, enums and bounds from the tables that define
them); the citations from the evidence files. Written by hand here: the
operations, their summaries and the meaning of each error status.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from enum import StrEnum
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from ..core import jsonview as jv
from ..core.evidence import Evidence, load_evidence
from ..core.fields import BY_API, FIELDS, Field, Kind


def _range_by_unit(field: Field, unit_field: Field) -> dict[str, Any]:
    """The range of ``field`` depends on ``unit_field`` (absent: the default unit)."""
    assert field.ranges is not None
    rules: list[dict[str, Any]] = []
    for unit, r in field.ranges.items():
        default = unit == unit_field.default
        rule: dict[str, Any] = {
            "properties": {
                # the default unit also stands for an absent or null unit
                unit_field.api: {"enum": [unit, None] if default else [unit]},
                field.api: {"minimum": r.low, "maximum": r.high},
            }
        }
        if not default:
            rule["required"] = [unit_field.api]
        rules.append(rule)
    return {"oneOf": rules}


def request_property(field: Field) -> dict[str, Any]:
    """The schema of one field of the table (calc.core.fields): type, enum, bounds, description."""
    schema: dict[str, Any]
    if field.kind is Kind.NUMBER:
        assert field.ranges is not None
        ranges = field.ranges.values()
        schema = {
            "type": "integer" if all(r.whole for r in ranges) else "number",
            "minimum": min(r.low for r in ranges),
            "maximum": max(r.high for r in ranges),
        }
    elif field.kind is Kind.FLAG:
        schema = {"type": "boolean"}
    elif field.kind is Kind.DATE:
        schema = {"type": "string", "format": "date"}
    elif field.default is None:
        schema = {"type": "string", "enum": list(field.choices)}
    else:  # absent or null: the default
        schema = {
            "type": "string",
            "nullable": True,
            "enum": [*field.choices, None],
            "default": field.default,
        }
    if field.api_help:
        schema["description"] = field.api_help
    return schema


def _properties(prefix: str) -> dict[str, Any]:
    """The properties of the request's fields whose API name starts with ``prefix``."""
    return {
        f.api.removeprefix(prefix): request_property(f)
        for f in FIELDS
        if f.api.startswith(prefix) and "." not in f.api.removeprefix(prefix)
    }


def lab_schemas() -> dict[str, Any]:
    props = _properties("labs.")
    labs = {
        "type": "object",
        "additionalProperties": False,
        "required": ["inr", "creatinine", "creatinine_unit", "dialysis"],
        "properties": props,
    }
    meld_request = {
        **labs,
        "required": [
            "bilirubin",
            "bilirubin_unit",
            "inr",
            "creatinine",
            "creatinine_unit",
            "dialysis",
        ],
    }
    return {"Labs": labs, "MeldRequest": meld_request}


def followup_schema() -> dict[str, Any]:
    def item(key: str) -> dict[str, Any]:
        return {
            "type": "object",
            "additionalProperties": False,
            "required": ["value"],
            "properties": _properties(f"followup.{key}."),
        }

    keys = dict.fromkeys(f.api.split(".")[1] for f in FIELDS if f.api.startswith("followup."))
    return {
        "type": "object",
        "additionalProperties": False,
        "description": (
            "Optional follow-up values. A `date` needs `transplant_date`; `day` is days after "
            "MSCT. A value without a `unit` is read in the baseline unit of the same analyte "
            "(`alt_unit`, `tbil_unit`)."
        ),
        "properties": {key: item(key) for key in keys},
    }


# --------------------------------------------------------------------------
# Responses: from the response types (calc.core.jsonview)


def _enum_schema(values: list[Any]) -> dict[str, Any]:
    kinds = {type(v) for v in values}
    if kinds == {bool}:
        return {"type": "boolean", "enum": values}
    if kinds == {int}:
        return {"type": "integer", "enum": values}
    return {"type": "string", "enum": values}


def _enum_values(tp: Any) -> list[Any] | None:
    """The values of a Literal, a StrEnum, or a union of them; None for any other type."""
    if get_origin(tp) is Literal:
        return list(get_args(tp))
    if isinstance(tp, type) and issubclass(tp, StrEnum):
        return [member.value for member in tp]
    if get_origin(tp) in (Union, UnionType):
        parts = [_enum_values(arg) for arg in get_args(tp)]
        if all(part is not None for part in parts):
            return [value for part in parts for value in part or ()]
    return None


def type_schema(tp: Any) -> dict[str, Any]:
    """The OpenAPI 3.0 schema of a Python type, nested dataclasses inline.

    Inline rather than ``$ref``: in OpenAPI 3.0 ``nullable`` only widens a
    ``type`` written beside it, so a nullable reference cannot be written; an
    inline object with ``nullable`` can.
    """
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is str:
        return {"type": "string"}
    if tp is datetime.date:
        return {"type": "string", "format": "date"}
    values = _enum_values(tp)
    if values is not None:
        return _enum_schema(values)
    if get_origin(tp) is Annotated:
        base, *extras = get_args(tp)
        schema = type_schema(base)
        for spec in extras:
            if isinstance(spec, jv.Spec):
                schema = _with_spec(schema, spec)
        return schema
    if is_dataclass(tp) and isinstance(tp, type):
        return dataclass_schema(tp)
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, UnionType):
        options = [arg for arg in args if arg is not NoneType]
        union: dict[str, Any] = (
            type_schema(options[0])
            if len(options) == 1
            else {"oneOf": [type_schema(option) for option in options]}
        )
        if NoneType in args:
            if "type" not in union:  # OpenAPI 3.0.3: nullable widens only a written type
                raise TypeError(f"no nullable OpenAPI 3.0 schema for {tp!r}")
            union = {**union, "nullable": True}
            if "enum" in union:
                union["enum"] = [*union["enum"], None]
        return union
    if origin in (tuple, list) and (origin is list or args[1:] == (Ellipsis,)):
        return {"type": "array", "items": type_schema(args[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": type_schema(args[1])}
    raise TypeError(f"no JSON schema for {tp!r}")


def _with_spec(schema: dict[str, Any], spec: jv.Spec) -> dict[str, Any]:
    """A type's allowed strings or bounds (``Annotated[..., Spec(...)]``) on its schema."""
    out = dict(schema)
    if spec.choices:
        out["enum"] = list(spec.choices)
    out |= {k: v for k, v in (("minimum", spec.low), ("maximum", spec.high)) if v is not None}
    return out


def dataclass_schema(cls: type) -> dict[str, Any]:
    """An object: every field required, nothing else allowed, each described by its docs."""
    hints = get_type_hints(cls, include_extras=True)
    docs = jv.field_docs(cls)
    properties: dict[str, Any] = {}
    for f in fields(cls):
        schema = type_schema(hints[f.name])
        if f.name in docs:
            schema["description"] = docs[f.name]
        properties[f.name] = schema
    return {
        "type": "object",
        "description": jv.summary(cls),
        "required": list(properties),
        "additionalProperties": False,
        "properties": properties,
    }


def response_schemas() -> dict[str, Any]:
    """The component schemas of the responses, each generated from its type."""
    sources = type_schema(jv.EvidenceSources)
    sources["description"] = (
        "Each source of evidence as loaded, keyed by its name (its evidence version up to "
        "the first hyphen), each with its own `evidence_version`: the pooled before/after "
        "changes that drive the calculation (`used_in_calculation` true) and the controlled "
        "evidence shown as context (`used_in_calculation` false; absent when none is loaded)."
    )
    return {
        "Assessment": dataclass_schema(jv.AssessmentJson),
        "MeldResponse": dataclass_schema(jv.MeldResponse),
        "EvidenceSources": sources,
        "Health": dataclass_schema(jv.Health),
        "Errors": dataclass_schema(jv.Errors),
    }


def _json(description: str, schema: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(schema, str):
        schema = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


# A POST made by another site's page (Fetch Metadata or Origin) is refused (calc.web.app).
POST_ERRORS = {
    "400": "The body is not a JSON object (malformed, or a key given twice).",
    "403": "The request comes from another site's page.",
    "415": "The content type is not application/json.",
}


def _responses(ok: dict[str, Any], errors: Mapping[str, str], body_limit: str) -> dict[str, Any]:
    """The operation's own answers, and the body limit, which every route and method
    answers (calc.web.app). No 500: no request may produce one, so a 500 is drift."""
    every = {**errors, "413": f"The body is larger than {body_limit}."}
    return {"200": ok, **{code: _json(every[code], "Errors") for code in sorted(every)}}


def _post(
    summary: str, operation: str, request: str, ok: dict[str, Any], invalid: str, limit: str
) -> Any:
    return {
        "post": {
            "summary": summary,
            "operationId": operation,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{request}"}}
                },
            },
            "responses": _responses(ok, {**POST_ERRORS, "422": invalid}, limit),
        }
    }


def _get(summary: str, operation: str, ok: dict[str, Any], limit: str) -> Any:
    responses = _responses(ok, {}, limit)
    return {"get": {"summary": summary, "operationId": operation, "responses": responses}}


def _cite(short_citation: str, doi: str, document_read: str) -> str:
    return f"{short_citation}, doi:{doi} ({document_read})"


def openapi_document(
    version: str, evidence: Evidence | None = None, body_limit: int | None = None
) -> dict[str, Any]:
    """The document: requests from the field table, responses from the response types.

    ``evidence``: the evidence the app serves (its citations head the document),
    the packaged evidence when not given; ``body_limit``: the app's limit on a
    request body, in bytes.
    """
    evidence = load_evidence() if evidence is None else evidence
    limit = "the limit" if body_limit is None else f"{body_limit / 1024:g} KiB"
    src = evidence.source
    basis = f"Evidence: {_cite(src.short_citation, src.doi, src.document_read)}"
    basis += ", for the calculation"
    if evidence.context is not None:
        ctx = evidence.context.source
        basis += (
            f"; {_cite(ctx.short_citation, ctx.doi, ctx.document_read)}, shown as context "
            "and never used in the calculation"
        )
    baseline = _properties("")
    baseline["transplant_date"] = {
        "type": "string",
        "nullable": True,
        "anyOf": [
            # "format" with "pattern": a real date from 2000-01-01 to 2099-12-31
            {"format": "date", "pattern": "^20[0-9]{2}-"},
            {"pattern": "^\\s*$"},  # blank: no date, as absent or null
        ],
        "description": BY_API["transplant_date"].api_help,
    }
    request_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": [f.api for f in FIELDS if f.required],
        "allOf": [
            _range_by_unit(BY_API["alt"], BY_API["alt_unit"]),
            _range_by_unit(BY_API["tbil"], BY_API["tbil_unit"]),
            # The baseline MELD is typed, or computed from the labs (or both).
            {"anyOf": [{"required": ["meld"]}, {"required": ["labs"]}]},
        ],
        "properties": {
            **baseline,
            "labs": {
                "allOf": [{"$ref": "#/components/schemas/Labs"}],
                "description": (
                    "Labs to compute classic MELD when `meld` is absent (with both, `meld` is "
                    "used and a difference of more than 1 point is a warning). Bilirubin "
                    "defaults to `tbil`."
                ),
            },
            "followup": {"$ref": "#/components/schemas/Followup"},
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "calc: expected course after MSCT in liver failure",
            "version": version,
            "description": (
                f"Decision support for clinicians. {basis}. MSCT is investigational. "
                "Every route answers a method it does not route with 405, an `Allow` header "
                "and an `Errors` body."
            ),
        },
        "paths": {
            "/api/v1/assess": _post(
                "Expected MELD reduction and early-response markers for one patient",
                "assess",
                "AssessRequest",
                _json("The assessment", "Assessment"),
                "One or more fields are missing or invalid.",
                limit,
            ),
            "/api/v1/meld": _post(
                "Classic MELD, MELD-Na and MELD 3.0 from labs, with the working",
                "meld",
                "MeldRequest",
                _json("The scores (null when their inputs are missing)", "MeldResponse"),
                "One or more labs are missing or invalid.",
                limit,
            ),
            "/api/v1/evidence": _get(
                "Both evidence files as loaded, each with its own version",
                "evidence",
                _json(
                    "The sources by name: the one used in the calculation and the one shown "
                    "as context",
                    "EvidenceSources",
                ),
                limit,
            ),
            "/api/v1/openapi.json": _get(
                "This document",
                "openapi",
                _json("The OpenAPI 3.0 document of the API", {"type": "object"}),
                limit,
            ),
            "/healthz": _get(
                "Liveness for load balancers", "healthz", _json("Up", "Health"), limit
            ),
        },
        "components": {
            "schemas": {
                "AssessRequest": request_schema,
                **lab_schemas(),
                "Followup": followup_schema(),
                **response_schemas(),
            }
        },
    }
