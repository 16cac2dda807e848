"""The JSON API over HTTP (app.test_client()): numbers, error contract, headers.

Error contract (shared/reference/quality.md): 400 malformed body, 413 over
16 KiB, 415 wrong content type, 422 invalid values, all as
{"errors": {field: [messages]}}; only GET/HEAD/POST routed (405); no 500.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from api_errors import assert_errors
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from calc import create_app
from calc.api import ASSESS_FIELDS
from calc.engine import assess
from calc.evidence import Evidence
from calc.inputs import validate_inputs
from calc.report import to_dict
from calc.version import __version__

ASSESS = "/api/v1/assess"
CSP = (  # quality.md "Headers", exactly as calc/app.py sends it
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
NO_STORE = "no-store, max-age=0"
REFERENCE_JSON = '{"failure_type": "ACLF", "meld": 28, "alt": 240, "tbil": 320}'


def post_raw(client: FlaskClient, body: str | bytes, content_type: str | None) -> TestResponse:
    headers = {} if content_type is None else {"Content-Type": content_type}
    return client.post(ASSESS, data=body, headers=headers)


# --------------------------------------------------------------------------
# 200: the right numbers

OK_CASES: list[Any] = [
    # (failure type, expected MELD after, spread kind, warning codes)
    # Cao 2018 abstract means; hand calculation 28 − 14.93 = 13.07, 28 − 4.6 = 23.4; exact.
    pytest.param("ACLF", 13.07, "unreported", [], id="ACLF"),
    pytest.param("CLF", 23.4, "unreported", ["spread_exceeds_mean"], id="CLF"),
    pytest.param("ALF", None, "none", ["no_estimate"], id="ALF"),
]


@pytest.mark.parametrize(("failure_type", "after", "kind", "warnings"), OK_CASES)
def test_assess_returns_the_numbers(
    client: FlaskClient,
    reference_body: dict[str, Any],
    failure_type: str,
    after: float | None,
    kind: str,
    warnings: list[str],
) -> None:
    response = client.post(ASSESS, json={**reference_body, "failure_type": failure_type})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    d = response.get_json()
    assert d["input"]["failure_type"] == failure_type
    assert d["meld_reduction"]["expected_meld_after"] == after
    assert d["meld_reduction"]["available"] is (after is not None)
    assert d["meld_reduction"]["spread_kind"] == kind
    assert [w["code"] for w in d["warnings"]] == warnings
    assert d["baseline_stratum"] == ">=20"
    assert d["markers"]["alt"]["check_day"] == 15
    assert d["markers"]["tbil"]["check_days"] == [60, 90]
    assert d["markers"]["tbil"]["pooled_level_umol_l"] == 78.57
    assert d["evidence"] == {
        **d["evidence"],
        "version": "cao2018-abstract-v1",
        "doi": "10.1155/2018/9231710",
    }


@pytest.mark.parametrize(
    "body",
    [
        {
            "failure_type": "CLF",
            "meld": 19,
            "alt": 4,
            "alt_unit": "ukat/L",
            "tbil": 5,
            "tbil_unit": "mg/dL",
            "transplant_date": "2024-02-15",
        },
        {"failure_type": "ACLF", "meld": 28.0, "alt": 240.5, "tbil": 78.57},
        {"failure_type": "ALF", "meld": 6, "alt": 1, "tbil": 1710, "alt_unit": None},
    ],
    ids=["all-fields", "whole-float-meld", "bounds"],
)
def test_api_json_is_the_engine_report(
    client: FlaskClient, evidence: Evidence, body: dict[str, Any]
) -> None:
    """The API only translates: its JSON is the report of the engine for the same inputs."""
    response = client.post(ASSESS, json=body)
    assert response.status_code == 200
    expected = to_dict(assess(validate_inputs(body, allow_text=False), evidence))
    assert response.get_json() == json.loads(json.dumps(expected))


def test_charset_parameter_is_accepted(client: FlaskClient) -> None:
    response = post_raw(client, REFERENCE_JSON, "application/json; charset=utf-8")
    assert response.status_code == 200
    assert response.get_json()["meld_reduction"]["expected_meld_after"] == 13.07


def test_body_of_exactly_16_kib_is_accepted(client: FlaskClient) -> None:
    body = REFERENCE_JSON + " " * (16 * 1024 - len(REFERENCE_JSON))
    assert len(body.encode()) == 16 * 1024
    assert post_raw(client, body, "application/json").status_code == 200


# --------------------------------------------------------------------------
# 415, 400, 413: the body


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/json-patch+json",
        None,
    ],
    ids=["text", "form", "multipart", "xml", "json-patch", "none"],
)
def test_wrong_content_type_is_415(client: FlaskClient, content_type: str | None) -> None:
    errors = assert_errors(post_raw(client, REFERENCE_JSON, content_type), 415, {"request"})
    assert "application/json" in errors["request"][0]


def test_form_post_is_415(client: FlaskClient, reference_body: dict[str, Any]) -> None:
    response = client.post(ASSESS, data={k: str(v) for k, v in reference_body.items()})
    assert_errors(response, 415, {"request"})


MALFORMED: list[Any] = [
    pytest.param(b"", "not valid JSON", id="empty"),
    pytest.param(b"{", "not valid JSON", id="truncated"),
    pytest.param(b"failure_type=ACLF", "not valid JSON", id="form-encoded"),
    pytest.param(b"{'meld': 28}", "not valid JSON", id="single-quotes"),
    pytest.param(b'{"meld": 28,}', "not valid JSON", id="trailing-comma"),
    pytest.param(b'{"failure_type": "\xff"}', "not valid JSON", id="invalid-utf8"),
    pytest.param("\ufeff" + REFERENCE_JSON, "not valid JSON", id="utf8-bom"),
    pytest.param(b"[" * 8_000 + b"]" * 8_000, "not valid JSON", id="deeply-nested"),
    pytest.param(b"9" * 5000, "not valid JSON", id="int-over-4300-digits"),
    pytest.param(b"[]", "must be a JSON object", id="array"),
    pytest.param(b"[" + REFERENCE_JSON.encode() + b"]", "must be a JSON object", id="array-of-one"),
    pytest.param(b'"ACLF"', "must be a JSON object", id="string"),
    pytest.param(b"28", "must be a JSON object", id="number"),
    pytest.param(b"null", "must be a JSON object", id="null"),
    pytest.param(
        b'{"failure_type": "ACLF", "meld": 28, "alt": 240, "tbil": 320, "meld": 12}',
        "duplicate key 'meld'",
        id="duplicate-key",
    ),
    pytest.param(
        b'{"failure_type": "ACLF", "meld": {"a": 1, "a": 2}, "alt": 240, "tbil": 320}',
        "duplicate key 'a'",
        id="nested-duplicate-key",
    ),
]


@pytest.mark.parametrize(("body", "phrase"), MALFORMED)
def test_malformed_body_is_400(client: FlaskClient, body: bytes | str, phrase: str) -> None:
    errors = assert_errors(post_raw(client, body, "application/json"), 400, {"request"})
    assert phrase in errors["request"][0]


@pytest.mark.parametrize("size", [16 * 1024 + 1, 100_000], ids=["16KiB+1", "100kB"])
def test_body_over_16_kib_is_413(client: FlaskClient, size: int) -> None:
    body = REFERENCE_JSON + " " * (size - len(REFERENCE_JSON))
    errors = assert_errors(post_raw(client, body, "application/json"), 413, {"request"})
    assert "16 KiB" in errors["request"][0]


# --------------------------------------------------------------------------
# 422: valid JSON, invalid values

INVALID: list[Any] = [
    # (body as JSON text, the fields named in the errors)
    pytest.param('{"meld": 28, "alt": 240, "tbil": 320}', {"failure_type"}, id="no-failure-type"),
    pytest.param('{"failure_type": "ACLF", "alt": 240, "tbil": 320}', {"meld"}, id="no-meld"),
    pytest.param('{"failure_type": "ACLF", "meld": 28, "tbil": 320}', {"alt"}, id="no-alt"),
    pytest.param('{"failure_type": "ACLF", "meld": 28, "alt": 240}', {"tbil"}, id="no-tbil"),
    pytest.param("{}", {"failure_type", "meld", "alt", "tbil"}, id="empty-object"),
    pytest.param(REFERENCE_JSON.replace("240", '"240"'), {"alt"}, id="numeric-string"),
    pytest.param(REFERENCE_JSON.replace("240", '"abc"'), {"alt"}, id="non-numeric"),
    pytest.param(REFERENCE_JSON.replace("240", "true"), {"alt"}, id="boolean"),
    pytest.param(REFERENCE_JSON.replace("240", "null"), {"alt"}, id="null-value"),
    pytest.param(REFERENCE_JSON.replace("240", "[240]"), {"alt"}, id="list-value"),
    pytest.param(REFERENCE_JSON.replace("240", "NaN"), {"alt"}, id="NaN-token"),
    pytest.param(REFERENCE_JSON.replace("240", "Infinity"), {"alt"}, id="Infinity-token"),
    pytest.param(REFERENCE_JSON.replace("240", "-Infinity"), {"alt"}, id="minus-Infinity-token"),
    pytest.param(REFERENCE_JSON.replace("240", "1e309"), {"alt"}, id="1e309"),
    pytest.param(REFERENCE_JSON.replace("240", "1" + "0" * 400), {"alt"}, id="huge-int"),
    pytest.param(REFERENCE_JSON.replace("28", "41"), {"meld"}, id="meld-above-40"),
    pytest.param(REFERENCE_JSON.replace("28", "5"), {"meld"}, id="meld-below-6"),
    pytest.param(REFERENCE_JSON.replace("28", "28.5"), {"meld"}, id="meld-not-whole"),
    pytest.param(REFERENCE_JSON.replace("240", "0"), {"alt"}, id="alt-zero"),
    pytest.param(REFERENCE_JSON.replace("320", "1711"), {"tbil"}, id="tbil-above-range"),
    pytest.param(REFERENCE_JSON.replace("ACLF", "HCC"), {"failure_type"}, id="unknown-type"),
    pytest.param(
        REFERENCE_JSON.replace("}", ', "tbil_unit": "mmol/L"}'), {"tbil_unit"}, id="unknown-unit"
    ),
    pytest.param(
        REFERENCE_JSON.replace("}", ', "tbil_unit": "mg/dL"}'), {"tbil"}, id="umol-value-in-mg"
    ),
    pytest.param(
        REFERENCE_JSON.replace("}", ', "transplant_date": "2026-02-30"}'),
        {"transplant_date"},
        id="bad-date",
    ),
    pytest.param(
        REFERENCE_JSON.replace("}", ', "patient_name": "X"}'), {"patient_name"}, id="unknown-field"
    ),
    pytest.param(REFERENCE_JSON.replace("}", ', "Meld": 12}'), {"Meld"}, id="unknown-field-case"),
]


@pytest.mark.parametrize(("body", "fields"), INVALID)
def test_invalid_values_are_422(client: FlaskClient, body: str, fields: set[str]) -> None:
    assert_errors(post_raw(client, body, "application/json"), 422, fields)


def test_422_message_names_field_unit_and_range(client: FlaskClient) -> None:
    body = REFERENCE_JSON.replace("320", "1711")
    errors = assert_errors(post_raw(client, body, "application/json"), 422, {"tbil"})
    assert errors == {"tbil": ["Total bilirubin (TBIL) must be a number from 1 to 1710 μmol/L."]}


def test_unknown_field_message_lists_the_allowed_fields(client: FlaskClient) -> None:
    body = REFERENCE_JSON.replace("}", ', "patient_name": "X"}')
    errors = assert_errors(post_raw(client, body, "application/json"), 422, {"patient_name"})
    for field in ASSESS_FIELDS:
        assert field in errors["patient_name"][0]


def test_every_invalid_field_is_reported_at_once(client: FlaskClient) -> None:
    body = {"failure_type": "X", "meld": 0, "alt": -1, "tbil": "high", "transplant_date": "now"}
    assert_errors(
        client.post(ASSESS, json=body),
        422,
        {"failure_type", "meld", "alt", "tbil", "transplant_date"},
    )


# --------------------------------------------------------------------------
# No input produces a 500 (fuzz)

FUZZ_APP: Flask = create_app({"TESTING": True})

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["ACLF", "CLF", "ALF", "U/L", "ukat/L", "umol/L", "mg/dL", "2026-03-01"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
bodies = st.dictionaries(
    st.sampled_from(sorted(ASSESS_FIELDS)) | st.text(max_size=8), json_values, max_size=8
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies)
def test_no_json_object_produces_a_500(body: dict[str, Any]) -> None:
    # json.dumps writes NaN / Infinity tokens for non-finite floats, as a client might.
    response = FUZZ_APP.test_client().post(
        ASSESS, data=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (200, 422)
    if response.status_code == 200:
        assert response.get_json()["input"]["failure_type"] in ("ACLF", "CLF", "ALF")
    else:
        assert set(response.get_json()) == {"errors"}


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200))
def test_no_bytes_produce_a_500(body: bytes) -> None:
    response = FUZZ_APP.test_client().post(
        ASSESS, data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (200, 400, 422)
    if response.status_code != 200:
        assert set(response.get_json()) == {"errors"}


# --------------------------------------------------------------------------
# Methods and routes


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "GET"])
def test_other_methods_on_assess_are_405(client: FlaskClient, method: str) -> None:
    response = client.open(
        ASSESS, method=method, data=REFERENCE_JSON, content_type="application/json"
    )
    assert_errors(response, 405, {"request"})
    assert set(response.headers["Allow"].split(", ")) == {"POST"}  # RFC 9110: 405 names them


@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/healthz"])
@pytest.mark.parametrize("method", ["PUT", "DELETE", "POST"])
def test_read_only_routes_refuse_writes(client: FlaskClient, path: str, method: str) -> None:
    assert_errors(client.open(path, method=method), 405, {"request"})


@pytest.mark.parametrize(
    "path", ["/api/v1/nope", "/api/v2/assess", "/api/v1/assess/", "/api/"], ids=str
)
def test_unknown_api_path_is_404_json(client: FlaskClient, path: str) -> None:
    errors = assert_errors(client.get(path), 404, {"request"})
    assert errors["request"] == ["There is no page at this address."]


# --------------------------------------------------------------------------
# OpenAPI, evidence, health


def test_openapi_document(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    doc = response.get_json()
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["version"] == __version__
    assert doc["info"]["title"]
    post = doc["paths"]["/api/v1/assess"]["post"]
    assert set(post["responses"]) >= {"200", "400", "413", "415", "422"}
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/AssessRequest"
    schema = doc["components"]["schemas"]["AssessRequest"]
    assert set(schema["properties"]) == ASSESS_FIELDS
    assert set(schema["required"]) == {"failure_type", "alt", "tbil"}
    # MELD is typed or computed from the labs: one of the two is required.
    assert {"anyOf": [{"required": ["meld"]}, {"required": ["labs"]}]} in schema["allOf"]
    assert "/api/v1/meld" in doc["paths"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["failure_type"]["enum"] == ["ACLF", "CLF", "ALF"]
    meld = schema["properties"]["meld"]
    assert (meld["type"], meld["minimum"], meld["maximum"]) == ("integer", 6, 40)
    refs = list(refs_in(doc))
    assert len(refs) >= 5
    for ref in refs:  # every $ref points at a schema that exists
        assert ref.removeprefix("#/components/schemas/") in doc["components"]["schemas"]


def refs_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs_in(value)


def test_evidence_endpoint_shows_the_numbers_as_printed(client: FlaskClient) -> None:
    response = client.get("/api/v1/evidence")
    assert response.status_code == 200
    d = response.get_json()
    assert d["evidence_version"] == "cao2018-abstract-v1"
    assert d["meld_reduction"]["ACLF"]["mean"] == 14.93  # Cao 2018 abstract
    assert d["meld_reduction"]["ACLF"]["dispersion"]["kind"] == "unreported"
    assert d["meld_reduction"]["ALF"]["available"] is False


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "version": __version__,
        "evidence_version": "cao2018-abstract-v1",
    }


# --------------------------------------------------------------------------
# Headers on every response, errors included

REQUESTS: list[Any] = [
    pytest.param("POST", ASSESS, REFERENCE_JSON, "application/json", 200, id="200-assess"),
    pytest.param("POST", ASSESS, "{}", "application/json", 422, id="422"),
    pytest.param("POST", ASSESS, "{", "application/json", 400, id="400"),
    pytest.param("POST", ASSESS, REFERENCE_JSON, "text/plain", 415, id="415"),
    pytest.param("POST", ASSESS, " " * 20_000, "application/json", 413, id="413"),
    pytest.param("PUT", ASSESS, REFERENCE_JSON, "application/json", 405, id="405"),
    pytest.param("GET", "/api/v1/nope", None, None, 404, id="404"),
    pytest.param("GET", "/api/v1/openapi.json", None, None, 200, id="200-openapi"),
    pytest.param("GET", "/api/v1/evidence", None, None, 200, id="200-evidence"),
    pytest.param("GET", "/healthz", None, None, 200, id="200-healthz"),
    pytest.param("HEAD", "/healthz", None, None, 200, id="200-head"),
]


@pytest.mark.parametrize(("method", "path", "body", "content_type", "status"), REQUESTS)
def test_every_response_is_no_store_with_the_csp(
    client: FlaskClient,
    method: str,
    path: str,
    body: str | None,
    content_type: str | None,
    status: int,
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = client.open(path, method=method, data=body, headers=headers)
    assert response.status_code == status
    assert response.headers["Cache-Control"] == NO_STORE
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
