"""The OpenAPI 3.0 document of the JSON API; its request from the field table (calc.core.fields)."""

from __future__ import annotations

from typing import Any

from ..core.fields import BY_API, FIELDS, Field, Kind
from ..core.meld import CLASSIC_MELD


def _errors_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["errors"],
        "properties": {
            "errors": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            }
        },
    }


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}},
    }


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
    score = {"type": "integer", **MELD_SCORE}
    return {
        "Labs": labs,
        "MeldRequest": meld_request,
        "MeldResponse": {
            "type": "object",
            "required": ["meld", "meld_na", "meld_3_0", "working"],
            "properties": {
                "meld": score,
                "meld_na": {**score, "nullable": True},
                "meld_3_0": {**score, "nullable": True},
                "working": {"type": "object"},
            },
        },
    }


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


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


STRING: dict[str, Any] = {"type": "string"}
# Every MELD score is a whole number from 6 to 40 (calc.core.meld.CLASSIC_MELD).
MELD_SCORE: dict[str, Any] = {
    "minimum": CLASSIC_MELD.score_min,
    "maximum": CLASSIC_MELD.score_max,
}


def _warning_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["code", "title", "message", "demotes_headline"],
        "properties": {
            "code": {**STRING, "description": "Stable, for programs."},
            "title": {**STRING, "description": "The warning's short name."},
            "message": {**STRING, "description": "The warning in words."},
            "demotes_headline": {
                "type": "boolean",
                "description": (
                    "The expected MELD after MSCT may not apply to this patient: show the "
                    "warning before the number."
                ),
            },
        },
    }


def _context_schema() -> dict[str, Any]:
    outcome = {
        "type": "object",
        "required": ["outcome", "time", "measure", "as_printed", "p_as_printed", "unit"],
        "properties": {
            "outcome": STRING,
            "time": STRING,
            "measure": {"type": "string", "enum": ["OR", "MD"]},
            "as_printed": STRING,
            "p_as_printed": STRING,
            "unit": _nullable(STRING),
        },
    }
    return {
        "type": "object",
        "description": (
            "Controlled evidence (MSC versus control) for the patient's type, as printed, "
            "shown beside the pooled before/after change. Never used in the calculation. "
            "When none covers the type: `available` false and a `message`."
        ),
        "required": ["available", "used_in_calculation"],
        "properties": {
            "available": {"type": "boolean"},
            "used_in_calculation": {"type": "boolean", "enum": [False]},
            "message": STRING,
            "version": STRING,
            "citation": STRING,
            "doi": STRING,
            "url": STRING,
            "design": STRING,
            "articles": {"type": "integer"},
            "participants": {"type": "integer"},
            "comparison": STRING,
            "document_read": STRING,
            "outcomes": {"type": "array", "items": outcome},
            "adverse_events_as_printed": STRING,
            "not_reported": {"type": "array", "items": STRING},
            "why_different": STRING,
        },
    }


def assessment_schema() -> dict[str, Any]:
    """The response of POST /api/v1/assess (calc.core.report.to_dict)."""
    meld_after = {"type": "number", "nullable": True, **MELD_SCORE}
    range_item = {
        "type": "object",
        "required": ["kind", "low", "high", "meld_after_low", "meld_after_high"],
        "properties": {
            "kind": {"type": "string", "enum": ["confidence", "prediction"]},
            "low": {"type": "number"},
            "high": {"type": "number"},
            "meld_after_low": {"type": "number", **MELD_SCORE},
            "meld_after_high": {"type": "number", **MELD_SCORE},
        },
    }
    finding = {**STRING, "description": "What the source reports for the pooled patients."}
    return {
        "type": "object",
        "required": [
            "input",
            "meld_reduction",
            "context_evidence",
            "baseline_stratum",
            "stratum",
            "markers",
            "warnings",
            "scope_note",
            "evidence",
            "version",
            "basis",
            "summary_text",
        ],
        "properties": {
            "input": {"type": "object"},
            "meld_reduction": {
                "type": "object",
                "required": [
                    "available",
                    "mean",
                    "reported_spread",
                    "spread_kind",
                    "expected_meld_after",
                    "expected_meld_after_display",
                    "ranges",
                ],
                "properties": {
                    "available": {"type": "boolean"},
                    "what_it_is": _nullable(STRING),
                    "mean": {"type": "number", "nullable": True},
                    "reported_spread": {"type": "number", "nullable": True},
                    "spread_kind": {
                        "type": "string",
                        "enum": ["unreported", "SD", "SE", "95% CI", "none"],
                    },
                    "spread_kind_text": STRING,
                    "as_printed": _nullable(STRING),
                    "expected_meld_after": {
                        **meld_after,
                        "description": "Baseline MELD − pooled decrease, exact, bounded "
                        f"{CLASSIC_MELD.score_min}–{CLASSIC_MELD.score_max}.",
                    },
                    "expected_meld_after_display": {
                        "type": "integer",
                        "nullable": True,
                        **MELD_SCORE,
                        "description": (
                            'The same as a whole MELD (half up): the number to show, with "about".'
                        ),
                    },
                    "expected_meld_after_unbounded": {"type": "number", "nullable": True},
                    "bounded_at_floor": {"type": "boolean"},
                    "ranges": {
                        "type": "array",
                        "items": range_item,
                        "description": (
                            "Intervals the evidence supports: empty while the kind of its ± "
                            "is not reported."
                        ),
                    },
                    "unavailable_reason": _nullable(STRING),
                },
            },
            "context_evidence": _context_schema(),
            "baseline_stratum": {
                "type": "string",
                "nullable": True,
                "enum": [">=20", "<20", None],
                "description": "Null for a type without an estimate (ALF, SALF).",
            },
            "stratum": {"type": "object", "nullable": True},
            "markers": {
                "type": "object",
                "required": ["population_note", "alt", "tbil"],
                "properties": {
                    "population_note": _nullable(STRING),
                    "alt": {
                        "type": "object",
                        "required": ["check_day", "finding"],
                        "properties": {"check_day": {"type": "integer"}, "finding": finding},
                    },
                    "tbil": {
                        "type": "object",
                        "required": ["check_days", "finding", "pooled_level_umol_l"],
                        "properties": {
                            "check_days": {"type": "array", "items": {"type": "integer"}},
                            "finding": finding,
                            "pooled_level_umol_l": {"type": "number"},
                        },
                    },
                },
            },
            "warnings": {"type": "array", "items": _warning_schema()},
            "scope_note": _nullable(STRING),
            "evidence": {"type": "object"},
            "version": {
                "type": "object",
                "required": ["app", "evidence", "context_evidence"],
                "properties": {
                    "app": STRING,
                    "evidence": STRING,
                    "context_evidence": _nullable(STRING),
                },
            },
            "basis": {"type": "object"},
            "summary_text": STRING,
        },
    }


def evidence_sources_schema() -> dict[str, Any]:
    """The response of GET /api/v1/evidence (calc.web.api.evidence_sources)."""
    source = {
        "type": "object",
        "required": ["used_in_calculation", "schema_version", "evidence_version", "source"],
        "properties": {
            "used_in_calculation": {"type": "boolean"},
            "schema_version": {"type": "integer"},
            "evidence_version": STRING,
            "source": {"type": "object"},
        },
    }
    return {
        "type": "object",
        "description": (
            "Each source of evidence as loaded, keyed by its name (its version up to the "
            "first hyphen), each with its own `evidence_version`: `cao2018`, the pooled "
            "before/after changes that drive the calculation (`used_in_calculation` true), "
            "and `ding2024`, the controlled evidence shown as context (`used_in_calculation` "
            "false; absent when none is loaded)."
        ),
        "required": ["cao2018"],
        "properties": {"cao2018": source, "ding2024": source},
        "additionalProperties": source,
    }


def openapi_document(version: str) -> dict[str, Any]:
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
                "Decision support for clinicians. Evidence: Cao et al. 2018, "
                "doi:10.1155/2018/9231710 (abstract), for the calculation; Ding et al. 2024, "
                "doi:10.12449/JCH240822 (abstract), shown as context and never used in the "
                "calculation. MSCT is investigational."
            ),
        },
        "paths": {
            "/api/v1/assess": {
                "post": {
                    "summary": "Expected MELD reduction and early-response markers for one patient",
                    "operationId": "assess",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/AssessRequest"}
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "The assessment",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Assessment"}
                                }
                            },
                        },
                        "400": _error("The body is not a JSON object."),
                        "413": _error("The body is larger than 16 KiB."),
                        "415": _error("The content type is not application/json."),
                        "422": _error("One or more fields are missing or invalid."),
                    },
                }
            },
            "/api/v1/meld": {
                "post": {
                    "summary": "Classic MELD, MELD-Na and MELD 3.0 from labs, with the working",
                    "operationId": "meld",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/MeldRequest"}
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "The scores (null when their inputs are missing)",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/MeldResponse"}
                                }
                            },
                        },
                        "400": _error("The body is not a JSON object."),
                        "413": _error("The body is larger than 16 KiB."),
                        "415": _error("The content type is not application/json."),
                        "422": _error("One or more labs are missing or invalid."),
                    },
                }
            },
            "/api/v1/evidence": {
                "get": {
                    "summary": "Both evidence files as loaded, each with its own version",
                    "operationId": "evidence",
                    "responses": {
                        "200": {
                            "description": (
                                "The sources by name: the one used in the calculation and the "
                                "one shown as context"
                            ),
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/EvidenceSources"}
                                }
                            },
                        }
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Liveness for load balancers",
                    "operationId": "healthz",
                    "responses": {
                        "200": {
                            "description": "The app is up",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["status", "version", "evidence_version"],
                                        "properties": {
                                            "status": {"type": "string", "enum": ["ok"]},
                                            "version": {"type": "string"},
                                            "evidence_version": {"type": "string"},
                                        },
                                    }
                                }
                            },
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "AssessRequest": request_schema,
                **lab_schemas(),
                "Followup": followup_schema(),
                "Errors": _errors_schema(),
                "Assessment": assessment_schema(),
                "EvidenceSources": evidence_sources_schema(),
            }
        },
    }
