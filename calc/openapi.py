"""The OpenAPI 3.0 document of the JSON API, built from the same range table."""

from __future__ import annotations

from typing import Any

from .evidence import FailureType
from .inputs import ALT_RANGES, MELD_RANGE, TBIL_RANGES, AltUnit, TbilUnit


def _ranges_text(ranges: dict[Any, Any]) -> str:
    return "; ".join(f"{r.describe()}" for r in ranges.values())


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


def openapi_document(version: str) -> dict[str, Any]:
    alt_low = min(r.low for r in ALT_RANGES.values())
    alt_high = max(r.high for r in ALT_RANGES.values())
    tbil_low = min(r.low for r in TBIL_RANGES.values())
    tbil_high = max(r.high for r in TBIL_RANGES.values())
    request_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["failure_type", "meld", "alt", "tbil"],
        "properties": {
            "failure_type": {"type": "string", "enum": [f.value for f in FailureType]},
            "meld": {
                "type": "integer",
                "minimum": MELD_RANGE.low,
                "maximum": MELD_RANGE.high,
                "description": "Baseline classic MELD, a whole number.",
            },
            "alt": {
                "type": "number",
                "minimum": alt_low,
                "maximum": alt_high,
                "description": f"ALT in alt_unit. Allowed: {_ranges_text(ALT_RANGES)}.",
            },
            "alt_unit": {
                "type": "string",
                "enum": [u.value for u in AltUnit],
                "default": AltUnit.U_L.value,
            },
            "tbil": {
                "type": "number",
                "minimum": tbil_low,
                "maximum": tbil_high,
                "description": (
                    f"Total bilirubin in tbil_unit. Allowed: {_ranges_text(TBIL_RANGES)}."
                ),
            },
            "tbil_unit": {
                "type": "string",
                "enum": [u.value for u in TbilUnit],
                "default": TbilUnit.UMOL_L.value,
            },
            "transplant_date": {
                "type": "string",
                "format": "date",
                "description": "Optional date of MSCT, YYYY-MM-DD, 2000-01-01 to 2099-12-31.",
            },
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "calc: expected course after MSCT in liver failure",
            "version": version,
            "description": (
                "Decision support for clinicians. Evidence: Cao et al. 2018, "
                "doi:10.1155/2018/9231710 (abstract). MSCT is investigational."
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
                "Errors": _errors_schema(),
                "Assessment": {
                    "type": "object",
                    "required": [
                        "input",
                        "meld_reduction",
                        "baseline_stratum",
                        "markers",
                        "warnings",
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
                            ],
                            "properties": {
                                "available": {"type": "boolean"},
                                "mean": {"type": "number", "nullable": True},
                                "reported_spread": {"type": "number", "nullable": True},
                                "spread_kind": {
                                    "type": "string",
                                    "enum": ["unreported", "SD", "SE", "95% CI", "none"],
                                },
                                "expected_meld_after": {
                                    "type": "number",
                                    "nullable": True,
                                    "minimum": 6,
                                    "maximum": 40,
                                },
                            },
                        },
                        "baseline_stratum": {"type": "string", "enum": [">=20", "<20"]},
                        "markers": {"type": "object"},
                        "warnings": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["code", "message"],
                                "properties": {
                                    "code": {"type": "string"},
                                    "message": {"type": "string"},
                                },
                            },
                        },
                        "evidence": {"type": "object"},
                        "version": {"type": "object"},
                        "basis": {"type": "object"},
                        "summary_text": {"type": "string"},
                    },
                },
            }
        },
    }
