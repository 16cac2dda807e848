"""The JSON API over HTTP (app.test_client()): numbers, error contract, headers.

The API's error contract (README, JSON API): 400 malformed body, 413 over
16 KiB, 415 wrong content type, 422 invalid values, all as
{"errors": {field: [messages]}}; only GET/HEAD/POST routed (405); no 500.

Sources of pinned numbers (labs and follow-up: POST /api/v1/meld, /api/v1/assess)
    * Published worked examples (classic MELD: Kamath 2001 with the OPTN/UNOS
      rules; MELD-Na: OPTN 2016): bilirubin 4.2 mg/dL,
      INR 1.2, creatinine 1.9 mg/dL → MELD(i) 20.039… → MELD 20; with Na 125 →
      MELD-Na 28; bilirubin 1.9, INR 1.2, creatinine 1.3 → MELD 13.
    * Cao 2018 abstract: ACLF 14.93 ± 1.24, TBIL pooled 78.57 μmol/L, ALT at day 15.
    * Hand calculations beside each case.

Tolerance: scores are integers (exact); unrounded values and percentages are
compared with 1e-9 (hand calculations are exact decimals) or, for the worked
example's printed "20.039…", to its 3 printed decimals.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from calc import create_app
from calc.core.assessment import ASSESS_FIELDS, LAB_FIELDS
from calc.core.engine import assess
from calc.core.evidence import Evidence, FailureType
from calc.core.inputs import validate_inputs
from calc.core.report import to_dict
from calc.version import __version__
from tests.api_errors import assert_errors

ASSESS = "/api/v1/assess"
CSP = (  # OWASP Secure Headers Project; exactly as calc/web/app.py sends it
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
    # (failure type, expected MELD after, shown, spread kind, warning codes)
    # Cao 2018 abstract means; hand calculation 28 − 14.93 = 13.07 (shown 13),
    # 28 − 4.6 = 23.4 (shown 23); exact.
    pytest.param("ACLF", 13.07, 13, "unreported", [], id="ACLF"),
    pytest.param("CLF", 23.4, 23, "unreported", ["spread_exceeds_mean"], id="CLF"),
    pytest.param("ALF", None, None, "none", ["no_estimate"], id="ALF"),
    pytest.param("SALF", None, None, "none", ["no_estimate"], id="SALF"),
]


@pytest.mark.parametrize(("failure_type", "after", "shown", "kind", "warnings"), OK_CASES)
def test_assess_returns_the_numbers(
    client: FlaskClient,
    reference_body: dict[str, Any],
    failure_type: str,
    after: float | None,
    shown: int | None,
    kind: str,
    warnings: list[str],
) -> None:
    response = client.post(ASSESS, json={**reference_body, "failure_type": failure_type})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    d = response.get_json()
    assert d["input"]["failure_type"] == failure_type
    assert d["meld_reduction"]["expected_meld_after"] == after
    assert d["meld_reduction"]["expected_meld_after_display"] == shown
    assert d["meld_reduction"]["available"] is (after is not None)
    assert d["meld_reduction"]["spread_kind"] == kind
    assert d["meld_reduction"]["ranges"] == []
    assert [w["code"] for w in d["warnings"]] == warnings
    # The baseline-MELD stratum qualifies the pooled ACLF/CLF change only.
    assert d["baseline_stratum"] == (">=20" if after is not None else None)
    assert d["markers"]["alt"]["check_day"] == 15
    assert d["markers"]["tbil"]["check_days"] == [60, 90]
    assert d["markers"]["tbil"]["pooled_level_umol_l"] == 78.57
    assert d["evidence"] == {
        **d["evidence"],
        "version": "cao2018-abstract-v2",
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
        {"failure_type": "SALF", "meld": 8, "alt": 1.2, "tbil": 12.5},
    ],
    ids=["all-fields", "whole-float-meld", "bounds", "salf-implausible"],
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
    | st.sampled_from(
        ["ACLF", "CLF", "ALF", "SALF", "U/L", "ukat/L", "umol/L", "mg/dL", "2026-03-01"]
    ),
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
        assert response.get_json()["input"]["failure_type"] in ("ACLF", "CLF", "ALF", "SALF")
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


@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/api/v1/evidence", "/healthz"])
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
    # The types come from FailureType: SALF included.
    assert schema["properties"]["failure_type"]["enum"] == [ft.value for ft in FailureType]
    assert schema["properties"]["failure_type"]["enum"] == ["ACLF", "CLF", "ALF", "SALF"]
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


def test_openapi_describes_the_assessment_response(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    schema = doc["components"]["schemas"]["Assessment"]
    props = schema["properties"]
    mr = props["meld_reduction"]["properties"]
    assert "expected_meld_after_display" in mr
    assert mr["expected_meld_after_display"]["type"] == "integer"
    assert mr["ranges"]["items"]["properties"]["kind"]["enum"] == ["confidence", "prediction"]
    for removed in ("chance_of_improvement", "implied_decline_umol_l", "implied_decline_percent"):
        assert removed not in json.dumps(doc)
    assert "context_evidence" in props and "context_evidence" in schema["required"]
    for option in props["context_evidence"]["oneOf"]:  # available, or not
        assert option["properties"]["used_in_calculation"]["enum"] == [False]
    warning = props["warnings"]["items"]
    assert set(warning["required"]) == {"code", "title", "message", "demotes_headline"}
    assert warning["properties"]["demotes_headline"]["type"] == "boolean"
    assert props["baseline_stratum"]["nullable"] is True
    assert props["stratum"]["nullable"] is True
    assert props["version"]["properties"]["context_evidence"]["nullable"] is True
    evidence = doc["paths"]["/api/v1/evidence"]["get"]["responses"]["200"]
    ref = evidence["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/EvidenceSources"
    sources = doc["components"]["schemas"]["EvidenceSources"]["additionalProperties"]["oneOf"]
    used = [source["properties"]["used_in_calculation"]["enum"] for source in sources]
    assert used == [[True], [False]]  # the pooled evidence, and the context apart


def test_evidence_endpoint_shows_the_numbers_as_printed(client: FlaskClient) -> None:
    response = client.get("/api/v1/evidence")
    assert response.status_code == 200
    d = response.get_json()
    assert set(d) == {"cao2018", "ding2024"}  # each source apart, with its own version
    cao = d["cao2018"]
    assert (cao["evidence_version"], cao["used_in_calculation"]) == ("cao2018-abstract-v2", True)
    assert cao["meld_reduction"]["ACLF"]["mean"] == 14.93  # Cao 2018 abstract
    assert cao["meld_reduction"]["ACLF"]["dispersion"]["kind"] == "unreported"
    assert cao["meld_reduction"]["ALF"]["available"] is False
    assert cao["meld_reduction"]["SALF"]["available"] is False
    assert "context" not in cao  # the controlled evidence is not nested in the pooled one
    ding = d["ding2024"]
    assert ding["evidence_version"] == "ding2024-abstract-v1"
    assert ding["used_in_calculation"] is False
    assert ding["source"]["doi"] == "10.12449/JCH240822"
    assert ding["source"]["failure_types"] == ["ACLF"]


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "version": __version__,
        "evidence_version": "cao2018-abstract-v2",
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


# --------------------------------------------------------------------------
# Hazards, over HTTP

ALL_TYPES = ["ACLF", "CLF", "ALF", "SALF"]


def keys_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from keys_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from keys_in(value)


def assess_json(client: FlaskClient, **body: Any) -> dict[str, Any]:
    response = client.post(ASSESS, json={"failure_type": "ACLF", "meld": 28, "alt": 240,
                                         "tbil": 320, **body})  # fmt: skip
    assert response.status_code == 200, response.get_data(as_text=True)
    d: dict[str, Any] = response.get_json()
    return d


@pytest.mark.parametrize("failure_type", ALL_TYPES)
@pytest.mark.hazard("H-01")
def test_h01_no_chance_of_improvement_in_the_api(client: FlaskClient, failure_type: str) -> None:
    d = assess_json(client, failure_type=failure_type)
    assert not [k for k in keys_in(d) if "chance" in k.lower() or "probab" in k.lower()]
    assert "chance" not in json.dumps(d, ensure_ascii=False).lower()


@pytest.mark.parametrize("failure_type", ["ACLF", "CLF"])
@pytest.mark.hazard("H-02")
def test_h02_no_range_from_the_plus_minus_in_the_api(
    client: FlaskClient, failure_type: str
) -> None:
    mr = assess_json(client, failure_type=failure_type)["meld_reduction"]
    assert mr["ranges"] == []
    assert mr["as_printed"] == {"ACLF": "14.93 ± 1.24", "CLF": "4.6 ± 5.66"}[failure_type]
    assert mr["spread_kind"] == "unreported"
    assert "without saying whether it is a standard deviation" in mr["spread_kind_text"]
    text = json.dumps(assess_json(client, failure_type=failure_type), ensure_ascii=False)
    assert "scenario" not in text.lower()
    assert "95% of patients" not in text


@pytest.mark.parametrize("failure_type", ALL_TYPES)
@pytest.mark.hazard("H-03")
def test_h03_no_implied_tbil_decline_in_the_api(client: FlaskClient, failure_type: str) -> None:
    d = assess_json(client, failure_type=failure_type, tbil=320)
    assert not [k for k in keys_in(d) if "decline" in k.lower()]
    assert "implied decline" not in json.dumps(d, ensure_ascii=False).lower()


@pytest.mark.hazard("H-04")
def test_h04_api_headline_is_whole_and_json_keeps_precision(client: FlaskClient) -> None:
    # Cao 2018 abstract: 28 − 14.93 = 13.07 (exact), shown as 13.
    mr = assess_json(client)["meld_reduction"]
    assert (mr["expected_meld_after"], mr["expected_meld_after_display"]) == (13.07, 13)
    d = assess_json(client, meld=14)  # 14 − 14.93 = −0.93, bounded at 6
    (floor,) = [w for w in d["warnings"] if w["code"] == "meld_after_floor"]
    assert floor["demotes_headline"] is True
    assert d["meld_reduction"]["expected_meld_after_display"] == 6


@pytest.mark.hazard("H-05")
def test_h05_api_context_evidence_for_aclf(client: FlaskClient, evidence: Evidence) -> None:
    d = assess_json(client)
    ctx = d["context_evidence"]
    assert (ctx["available"], ctx["used_in_calculation"]) == (True, False)
    assert (ctx["version"], ctx["doi"]) == ("ding2024-abstract-v1", "10.12449/JCH240822")
    # Ding et al. 2024 abstract (J Clin Hepatol 2024;40(8):1646-1652), as printed.
    printed = {(o["outcome"], o["time"]): (o["as_printed"], o["p_as_printed"])
               for o in ctx["outcomes"]}  # fmt: skip
    assert printed[("MELD score", "12 weeks")] == ("MD = -3.27, 95%CI: -6.07~-0.48", "P = 0.02")
    assert printed[("survival", "8 weeks")] == ("OR = 2.71, 95%CI: 1.58~4.67", "P = 0.000 3")
    assert d["version"] == {
        "app": __version__,
        "evidence": "cao2018-abstract-v2",
        "context_evidence": "ding2024-abstract-v1",
    }
    # Never merged: the expected MELD is the engine's with no context evidence at all.
    from dataclasses import replace

    bare = to_dict(assess(validate_inputs(REFERENCE_BODY, allow_text=False),
                          replace(evidence, context=None)))  # fmt: skip
    assert d["meld_reduction"] == json.loads(json.dumps(bare["meld_reduction"]))


REFERENCE_BODY = json.loads(REFERENCE_JSON)


@pytest.mark.parametrize("failure_type", ["CLF", "ALF", "SALF"])
@pytest.mark.hazard("H-05")
def test_h05_api_no_controlled_estimate_outside_aclf(
    client: FlaskClient, failure_type: str
) -> None:
    d = assess_json(client, failure_type=failure_type)
    assert d["context_evidence"] == {
        "available": False,
        "used_in_calculation": False,
        "message": f"No controlled MELD estimate (MSC versus control) was found for "
        f"{failure_type}.",
    }
    text = json.dumps(d, ensure_ascii=False)
    for number in ("2.71", "-3.27", "-2.24", "-36.86"):
        assert number not in text


@pytest.mark.parametrize("failure_type", ["SALF", "salf"])
@pytest.mark.hazard("H-06")
def test_h06_api_accepts_salf_without_an_estimate(client: FlaskClient, failure_type: str) -> None:
    d = assess_json(client, failure_type=failure_type)
    assert d["input"]["failure_type"] == "SALF"
    mr = d["meld_reduction"]
    assert (mr["available"], mr["expected_meld_after"], mr["expected_meld_after_display"]) == (
        False,
        None,
        None,
    )
    assert "SALF" in mr["unavailable_reason"]
    assert (d["baseline_stratum"], d["stratum"]) == (None, None)
    assert "no SALF-specific data" in d["markers"]["population_note"]
    assert "urgent liver transplantation" in d["scope_note"]
    assert "Baseline MELD ≥ 20" not in d["summary_text"]


@pytest.mark.hazard("H-07")
def test_h07_api_clf_meld_15_is_warned(client: FlaskClient) -> None:
    d = assess_json(client, failure_type="CLF", meld=15)
    assert "baseline_meld_below_20" in [w["code"] for w in d["warnings"]]


# INR 2.0, creatinine 1.0 mg/dL, no dialysis; bilirubin from the baseline TBIL.
LABS_H10 = {"inr": 2.0, "creatinine": 1.0, "creatinine_unit": "mg/dL", "dialysis": False}


@pytest.mark.hazard("H-10")
def test_h10_api_tbil_in_the_wrong_unit_with_labs(client: FlaskClient) -> None:
    # Classic MELD (OPTN/UNOS; labs below 1 set to 1; MELD(i) to the tenth, × 10), by hand:
    # 12.5 μmol/L = 0.73 mg/dL -> 1: 1.12 ln 2 + 0.643 = 1.4193 -> 1.4 -> MELD 14;
    # 12.5 mg/dL: 0.378 ln 12.5 + 1.12 ln 2 + 0.643 = 2.3741 -> 2.4 -> MELD 24.
    umol = assess_json(client, meld=None, tbil=12.5, tbil_unit="umol/L", labs=LABS_H10)
    mg = assess_json(client, meld=None, tbil=12.5, tbil_unit="mg/dL", labs=LABS_H10)
    assert (umol["meld_used"]["value"], umol["meld_used"]["source"]) == (14, "labs")
    assert (mg["meld_used"]["value"], mg["meld_used"]["source"]) == (24, "labs")
    (w,) = [w for w in umol["warnings"] if w["code"] == "tbil_below_type_definition"]
    assert "APASL" in w["message"] and "85 μmol/L" in w["message"]
    assert w["demotes_headline"] is True
    assert "tbil_below_type_definition" not in [w["code"] for w in mg["warnings"]]


@pytest.mark.hazard("H-10")
def test_h10_api_tbil_in_the_wrong_unit_without_labs(client: FlaskClient) -> None:
    d = assess_json(client, tbil=12.5, tbil_unit="umol/L")
    assert d["warnings"][0]["code"] == "tbil_below_type_definition"
    ok = assess_json(client, tbil=12.5, tbil_unit="mg/dL")
    assert "tbil_below_type_definition" not in [w["code"] for w in ok["warnings"]]


@pytest.mark.parametrize(
    ("baseline", "followup", "unit", "canonical"),
    [
        # Baseline in mg/dL, follow-up without a unit: read as mg/dL.
        # 6.8 mg/dL × 17.1 = 116.28 μmol/L (hand calculation; tolerance 1e-9).
        ({"tbil": 10, "tbil_unit": "mg/dL"}, {"value": 6.8, "day": 60}, "mg/dL", 116.28),
        # A unit given with the follow-up is kept.
        ({"tbil": 10, "tbil_unit": "mg/dL"}, {"value": 120, "unit": "umol/L", "day": 60},
         "umol/L", 120.0),
        ({"tbil": 320}, {"value": 120, "day": 60}, "umol/L", 120.0),
    ],
    ids=["mg/dL-inherited", "unit-given", "umol/L-default"],
)  # fmt: skip
@pytest.mark.hazard("H-11")
def test_h11_followup_tbil_without_a_unit_takes_the_baseline_unit(
    client: FlaskClient,
    baseline: dict[str, Any],
    followup: dict[str, Any],
    unit: str,
    canonical: float,
) -> None:
    d = assess_json(client, **baseline, followup={"tbil_day60": followup})
    (m,) = d["followup"]["markers"]
    assert m["value"]["unit"] == unit
    assert m["canonical"] == pytest.approx(canonical, abs=1e-9)
    # 6.8 read as μmol/L would be a 98 % fall and a check-the-unit warning: none here.
    assert "tbil_day60_check_unit" not in [w["code"] for w in d["warnings"]]


@pytest.mark.hazard("H-12")
def test_h12_api_alt_1_2_is_warned(client: FlaskClient) -> None:
    # "1.200" for 1200 reads as 1.2 U/L: below 5 U/L, a warning (not a refusal).
    d = assess_json(client, alt=1.2)
    (w,) = [w for w in d["warnings"] if w["code"] == "alt_below_5"]
    assert "ALT 1.2 U/L is below 5 U/L" in w["message"]
    assert "1,200 into 1.200" in w["message"]


@pytest.mark.hazard("H-13")
def test_h13_api_worsening_comes_first(client: FlaskClient) -> None:
    # ACLF MELD 27 → 33, TBIL 320 → 464 μmol/L (+45 %), ALT 240 → 139 U/L.
    d = assess_json(
        client,
        meld=27,
        followup={
            "alt_day15": {"value": 139, "day": 15},
            "tbil_day60": {"value": 464, "day": 60},
            "meld": {"value": 33, "day": 60},
        },
    )
    codes = [w["code"] for w in d["warnings"]]
    assert codes[:3] == ["meld_rose", "tbil_rose", "alt_fall_with_worsening"]
    assert "MELD has risen from 27 to 33" in d["warnings"][0]["message"]


@pytest.mark.hazard("H-17")
def test_h17_api_baseline_meld_8_is_warned(client: FlaskClient) -> None:
    codes = [w["code"] for w in assess_json(client, meld=8)["warnings"]]
    assert codes[0] == "meld_below_10"
    assert "meld_below_10" not in [w["code"] for w in assess_json(client, meld=10)["warnings"]]


@pytest.mark.hazard("H-18")
def test_h18_api_alt_3_is_warned(client: FlaskClient) -> None:
    codes = [w["code"] for w in assess_json(client, alt=3)["warnings"]]
    assert codes == ["alt_below_5"]


@pytest.mark.hazard("H-19")
def test_h19_api_followup_in_the_other_unit_asks_for_the_unit(client: FlaskClient) -> None:
    # Baseline TBIL 18.7 mg/dL (320 μmol/L); follow-up 6.8 meant in mg/dL but sent as
    # μmol/L: a 98 % fall (6.8 / 319.77 μmol/L), far more often a unit slip than a change.
    d = assess_json(
        client,
        tbil=18.7,
        tbil_unit="mg/dL",
        followup={"tbil_day60": {"value": 6.8, "unit": "umol/L", "day": 60}},
    )
    (w,) = [w for w in d["warnings"] if w["code"] == "tbil_day60_check_unit"]
    assert "98 % below" in w["message"] and "Check the unit" in w["message"]
    # The same value in the baseline's unit (no unit given: it follows the baseline) is a
    # 64 % fall: no unit warning.
    same = assess_json(
        client,
        tbil=18.7,
        tbil_unit="mg/dL",
        followup={"tbil_day60": {"value": 6.8, "day": 60}},
    )
    assert "tbil_day60_check_unit" not in [w["code"] for w in same["warnings"]]
    (marker,) = same["followup"]["markers"]
    assert marker["value"] == {"value": 6.8, "unit": "mg/dL"}


# --------------------------------------------------------------------------
# With labs and follow-up

MELD = "/api/v1/meld"
TOL = 1e-9
# Classic MELD worked example: bilirubin 4.2 mg/dL, INR 1.2, creatinine 1.9 mg/dL → MELD 20.
LABS_MELD_20: dict[str, Any] = {
    "bilirubin": 4.2,
    "bilirubin_unit": "mg/dL",
    "inr": 1.2,
    "creatinine": 1.9,
    "creatinine_unit": "mg/dL",
    "dialysis": False,
}
LABS_NO_BILI = {k: v for k, v in LABS_MELD_20.items() if not k.startswith("bilirubin")}


def ok_json(response: TestResponse) -> dict[str, Any]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    return body


# --------------------------------------------------------------------------
# POST /api/v1/meld: 200

MELD_OK: list[Any] = [
    # (lab changes, MELD, MELD-Na, MELD 3.0 is null)
    pytest.param({}, 20, None, id="worked-example-20"),
    pytest.param({"sodium": 125}, 20, 28, id="worked-example-20-Na-125"),
    pytest.param({"bilirubin": 1.9, "creatinine": 1.3}, 13, None, id="worked-example-13"),
    # 4.2 mg/dL × 17.1 = 71.82 μmol/L; 1.9 mg/dL × 88.4 = 167.96 μmol/L: the same labs
    pytest.param(
        {
            "bilirubin": 71.82,
            "bilirubin_unit": "umol/L",
            "creatinine": 167.96,
            "creatinine_unit": "umol/L",
            "sodium": 125,
        },
        20,
        28,
        id="worked-example-20-SI-units",
    ),
    # albumin without sex, sex without albumin: MELD 3.0 not calculated
    pytest.param({"sodium": 125, "albumin": 3.0, "albumin_unit": "g/dL"}, 20, 28, id="no-sex"),
    pytest.param({"sodium": 125, "sex": "female"}, 20, 28, id="no-albumin"),
]


@pytest.mark.parametrize(("changes", "meld", "meld_na"), MELD_OK)
def test_meld_endpoint_returns_the_scores(
    client: FlaskClient, changes: dict[str, Any], meld: int, meld_na: int | None
) -> None:
    d = ok_json(client.post(MELD, json={**LABS_MELD_20, **changes}))
    assert set(d) == {"meld", "meld_na", "meld_3_0", "working"}
    assert d["meld"] == meld
    assert d["meld_na"] == meld_na
    assert d["meld_3_0"] is None
    assert any(n.startswith("MELD 3.0 not calculated") for n in d["working"]["not_calculated"])
    assert d["working"]["classic"]["meld"] == meld


def test_meld_endpoint_shows_the_working(client: FlaskClient) -> None:
    d = ok_json(client.post(MELD, json={**LABS_MELD_20, "sodium": 125}))
    classic = d["working"]["classic"]
    assert classic["meld_i_unrounded"] == pytest.approx(20.039, abs=5e-4)  # worked example 20.039…
    assert classic["meld_i"] == 20
    assert [t["label"] for t in classic["terms"]] == [
        "0.957 × ln(creatinine)",
        "0.378 × ln(bilirubin)",
        "1.120 × ln(INR)",
        "0.643",
    ]
    na = d["working"]["meld_na"]
    # 20 + 1.32 × 12 − 0.033 × 20 × 12 = 20 + 15.84 − 7.92 = 27.92 → 28 (hand, exact)
    assert na["unrounded"] == pytest.approx(27.92, abs=TOL)
    assert (na["meld_i"], na["sodium_term_applied"], na["meld_na"]) == (20, True, 28)
    assert [e["field"] for e in d["working"]["entered"]] == [
        "bilirubin",
        "inr",
        "creatinine",
        "sodium",
    ]


def test_meld_endpoint_with_everything_gives_meld_3_0(client: FlaskClient) -> None:
    body = {**LABS_MELD_20, "sodium": 125, "albumin": 30, "albumin_unit": "g/L", "sex": "male"}
    d = ok_json(client.post(MELD, json=body))
    assert isinstance(d["meld_3_0"], int)
    assert 6 <= d["meld_3_0"] <= 40
    assert d["working"]["meld_3_0"]["albumin_g_dl"] == pytest.approx(3.0, abs=TOL)  # 30 / 10


# --------------------------------------------------------------------------
# POST /api/v1/meld: errors keyed by the lab field, without "labs."

MELD_422: list[Any] = [
    # (lab changes, error fields, phrase in the first field's message)
    pytest.param(
        {"bilirubin": 85}, {"bilirubin"},
        # 85 μmol/L / 17.1 = 4.97 mg/dL
        "Bilirubin 85 mg/dL looks like μmol/L (85 μmol/L = 4.97 mg/dL): check the unit.",
        id="bilirubin-85-mg/dL",
    ),
    pytest.param(
        {"creatinine": 150}, {"creatinine"},
        # 150 μmol/L / 88.4 = 1.70 mg/dL
        "Creatinine 150 mg/dL looks like μmol/L (150 μmol/L = 1.7 mg/dL): check the unit.",
        id="creatinine-150-mg/dL",
    ),
    pytest.param(
        {"inr": 25}, {"inr"}, "may be a prothrombin time in seconds or a Quick value in %",
        id="inr-25",
    ),
    pytest.param({"inr": "1.2"}, {"inr"}, "INR must be a JSON number", id="inr-text"),
    pytest.param({"dialysis": "no"}, {"dialysis"}, "Dialysis must be true or false", id="dial"),
    pytest.param(
        {"bilirubin_unit": None}, {"bilirubin_unit"}, "Bilirubin unit is required",
        id="bilirubin-unit-missing",
    ),
    pytest.param({"sodium": 80}, {"sodium"}, "Sodium must be a number from 90 to 200", id="na"),
    pytest.param({"sex": "x"}, {"sex"}, 'Sex must be "female" or "male"', id="sex"),
    pytest.param(
        {"albumin": 3.0}, {"albumin_unit"}, "Albumin unit is required", id="albumin-no-unit"
    ),
    pytest.param(
        {"inr": None, "creatinine": None}, {"inr", "creatinine"}, "Creatinine is required",
        id="two-missing",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "fields", "phrase"), MELD_422)
def test_meld_endpoint_422(
    client: FlaskClient, changes: dict[str, Any], fields: set[str], phrase: str
) -> None:
    body = {k: v for k, v in {**LABS_MELD_20, **changes}.items() if v is not None}
    errors = assert_errors(client.post(MELD, json=body), 422, fields)
    assert not any(k.startswith("labs.") for k in errors)
    first = sorted(fields)[0]
    assert phrase in errors[first][0]


def test_meld_endpoint_mislabel_suggests_the_other_unit(client: FlaskClient) -> None:
    errors = assert_errors(
        client.post(MELD, json={**LABS_MELD_20, "bilirubin": 85}), 422, {"bilirubin"}
    )
    # 85 mg/dL × 17.1 = 1453.5 μmol/L
    assert errors["bilirubin"][0].endswith("If it really is 85 mg/dL, enter it as 1453.5 μmol/L.")


def test_meld_endpoint_empty_object_names_every_required_field(client: FlaskClient) -> None:
    assert_errors(
        client.post(MELD, json={}),
        422,
        {"bilirubin_unit", "inr", "creatinine_unit", "dialysis"},
    )


def test_meld_endpoint_unknown_field(client: FlaskClient) -> None:
    errors = assert_errors(
        client.post(MELD, json={**LABS_MELD_20, "potassium": 4}), 422, {"potassium"}
    )
    assert errors["potassium"] == [
        f"Unknown field 'potassium'; allowed: {', '.join(sorted(LAB_FIELDS))}."
    ]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", json.dumps(LABS_MELD_20)),
        ("application/x-www-form-urlencoded", "inr=1.2"),
        (None, json.dumps(LABS_MELD_20)),
    ],
    ids=["text", "form", "none"],
)
def test_meld_endpoint_wrong_content_type_is_415(
    client: FlaskClient, content_type: str | None, body: str
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    assert_errors(client.post(MELD, data=body, headers=headers), 415, {"request"})


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        ("{", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"inr": 1.2, "inr": 1.3}', "duplicate key 'inr'"),
        (b"\xff\xfe", "not valid JSON"),
    ],
    ids=["truncated", "array", "duplicate-key", "not-utf8"],
)
def test_meld_endpoint_malformed_body_is_400(
    client: FlaskClient, body: str | bytes, phrase: str
) -> None:
    errors = assert_errors(
        client.post(MELD, data=body, headers={"Content-Type": "application/json"}),
        400,
        {"request"},
    )
    assert phrase in errors["request"][0]


def test_meld_endpoint_get_is_405(client: FlaskClient) -> None:
    assert_errors(client.get(MELD), 405, {"request"})


# --------------------------------------------------------------------------
# POST /api/v1/assess with labs

MELD_USED: list[Any] = [
    # (body changes, meld_used, labs MELD or None)
    pytest.param(
        {"meld": 28},
        {"value": 28, "score": "classic MELD", "source": "entered", "how": "as entered"},
        None,
        id="typed",
    ),
    pytest.param(
        {"labs": LABS_MELD_20},
        {
            "value": 20,
            "score": "classic MELD",
            "source": "labs",
            "how": "classic MELD (OPTN/UNOS) computed from the labs",
        },
        20,
        id="labs",
    ),
    pytest.param(
        {"meld": 21, "labs": LABS_MELD_20},
        {"value": 21, "score": "classic MELD", "source": "entered", "how": "as entered"},
        20,
        id="both",
    ),
]


@pytest.mark.parametrize(("changes", "meld_used", "labs_meld"), MELD_USED)
def test_assess_says_which_meld_was_used(
    client: FlaskClient,
    changes: dict[str, Any],
    meld_used: dict[str, Any],
    labs_meld: int | None,
) -> None:
    body = {"failure_type": "ACLF", "alt": 240, "tbil": 320, **changes}
    d = ok_json(client.post(ASSESS, json=body))
    assert d["meld_used"] == meld_used
    assert d["input"]["meld"] == meld_used["value"]
    if labs_meld is None:
        assert d["labs"] is None
    else:
        assert d["labs"]["meld"] == labs_meld
        assert d["labs"]["note"].endswith("the meta-analysis used classic MELD.")
        assert d["labs"]["working"]["classic"]["meld"] == labs_meld
    assert d["followup"] is None


def test_assess_with_labs_only_worked_example(
    client: FlaskClient, reference_body: dict[str, Any]
) -> None:
    body = {**reference_body, "labs": {**LABS_MELD_20, "sodium": 125}}
    del body["meld"]
    d = ok_json(client.post(ASSESS, json=body))
    assert d["meld_used"]["value"] == 20  # worked example
    assert (d["labs"]["meld"], d["labs"]["meld_na"], d["labs"]["meld_3_0"]) == (20, 28, None)
    mr = d["meld_reduction"]
    # ACLF: 20 − 14.93 = 5.07 < 6 → bounded to 6 (exact decimals)
    assert (mr["expected_meld_after"], mr["expected_meld_after_unbounded"]) == (6.0, 5.07)
    assert mr["bounded_at_floor"] is True
    assert [w["code"] for w in d["warnings"]] == ["meld_after_floor"]
    assert "baseline MELD 20 (classic MELD from labs)" in d["summary_text"]
    assert "MELD from labs: classic MELD 20; MELD-Na 28" in d["summary_text"]


def test_assess_bilirubin_defaults_to_tbil(client: FlaskClient) -> None:
    body = {"failure_type": "CLF", "alt": 240, "tbil": 4.2, "tbil_unit": "mg/dL"}
    d = ok_json(client.post(ASSESS, json={**body, "labs": LABS_NO_BILI}))
    assert d["meld_used"]["value"] == 20  # worked example: bilirubin 4.2 mg/dL from the TBIL
    assert d["labs"]["working"]["entered"][0] == {
        "field": "bilirubin",
        "value": 4.2,
        "unit": "mg/dL",
        "value_canonical": 4.2,
        "unit_canonical": "mg/dL",
    }
    assert d["meld_reduction"]["expected_meld_after"] == 15.4  # 20 − 4.6


@pytest.mark.parametrize(
    ("typed", "warned"),
    [(20, False), (19, False), (21, False), (18, True), (22, True)],
    ids=["same", "minus-1", "plus-1", "minus-2", "plus-2"],
)
def test_assess_meld_labs_disagree(
    client: FlaskClient, reference_body: dict[str, Any], typed: int, warned: bool
) -> None:
    body = {**reference_body, "meld": typed, "labs": LABS_MELD_20}
    d = ok_json(client.post(ASSESS, json=body))
    assert d["meld_used"]["value"] == typed
    assert d["meld_used"]["source"] == "entered"
    assert ("meld_labs_disagree" in [w["code"] for w in d["warnings"]]) is warned


ASSESS_LABS_422: list[Any] = [
    # (body changes, error fields)
    pytest.param({"labs": {**LABS_MELD_20, "inr": 25}}, {"labs.inr"}, id="inr"),
    pytest.param({"labs": {**LABS_MELD_20, "bilirubin": 85}}, {"labs.bilirubin"}, id="bili-85"),
    pytest.param(
        {"labs": {**LABS_MELD_20, "creatinine": 150}}, {"labs.creatinine"}, id="creatinine-150"
    ),
    pytest.param({"labs": {**LABS_MELD_20, "k": 4}}, {"labs.k"}, id="unknown-lab"),
    pytest.param({"labs": "20"}, {"labs"}, id="labs-not-object"),
    pytest.param({"labs": None}, {"meld"}, id="labs-null-no-meld"),
    pytest.param({}, {"meld"}, id="neither"),
    pytest.param(
        {"alt": 0, "labs": {**LABS_MELD_20, "dialysis": None}},
        {"alt", "labs.dialysis"},
        id="baseline-and-labs",
    ),
]


@pytest.mark.parametrize(("changes", "fields"), ASSESS_LABS_422)
def test_assess_labs_errors(client: FlaskClient, changes: dict[str, Any], fields: set[str]) -> None:
    body = {"failure_type": "ACLF", "alt": 240, "tbil": 320, **changes}
    errors = assert_errors(client.post(ASSESS, json=body), 422, fields)
    if "labs.bilirubin" in errors:
        assert "looks like μmol/L" in errors["labs.bilirubin"][0]


# --------------------------------------------------------------------------
# POST /api/v1/assess with follow-up

FOLLOWUP = {
    "alt_day15": {"value": 139, "unit": "U/L", "date": "2024-03-01"},
    "tbil_day60": {"value": 78.57, "day": 60},
    "tbil_day90": {"value": 78.58, "day": 90},
    "meld": {"value": 18, "day": 30},
}


def test_assess_with_followup(client: FlaskClient, reference_body: dict[str, Any]) -> None:
    body = {**reference_body, "transplant_date": "2024-02-15", "followup": FOLLOWUP}
    d = ok_json(client.post(ASSESS, json=body))
    markers = d["followup"]["markers"]
    assert [(m["marker"], m["status"], m["symbol"]) for m in markers] == [
        ("alt_day15", "fallen", "↓"),
        ("tbil_day60", "at_or_below_pooled", "≤"),  # exactly 78.57 (Cao 2018)
        ("tbil_day90", "above_pooled", ">"),  # 78.58
        ("meld", "fallen", "↓"),
    ]
    alt, tbil60, tbil90, meld = markers
    # ALT 240 → 139: change −101; −101 / 240 = −42.0833… %; fall 42.0833… % of baseline
    assert alt["change"] == pytest.approx(-101.0, abs=TOL)
    assert alt["change_percent"] == pytest.approx(-42.083333333333336, rel=TOL)
    assert alt["fall_percent_of_baseline"] == pytest.approx(42.083333333333336, rel=TOL)
    assert (alt["day"], alt["date"], alt["target_day"]) == (15, "2024-03-01", 15)
    assert alt["value"] == {"value": 139.0, "unit": "U/L"}
    assert alt["off_marker_day"] is False
    assert alt["text"].startswith("ALT has fallen 42 % from baseline (240 U/L → 139 U/L)")
    assert tbil60["pooled_level_umol_l"] == 78.57
    assert tbil60["above_pooled_by_umol_l"] == pytest.approx(0.0, abs=TOL)
    assert tbil90["above_pooled_by_umol_l"] == pytest.approx(0.01, abs=TOL)  # 78.58 − 78.57
    # TBIL 320 → 78.57: −241.43 / 320 = −75.446875 %
    assert tbil60["change_percent"] == pytest.approx(-75.446875, rel=TOL)
    assert tbil60["fall_percent_of_baseline"] == pytest.approx(75.446875, rel=TOL)
    # MELD 28 → 18: −10 / 28 = −35.714… %; pooled ACLF 14.93 (Cao 2018)
    assert meld["change"] == -10.0
    assert meld["expected_reduction"] == 14.93
    assert meld["fall_percent_of_baseline"] == pytest.approx(35.714285714285715, rel=TOL)
    assert [w["code"] for w in d["warnings"]] == []
    assert "Follow-up:\n  ↓ ALT has fallen 42 % from baseline" in d["summary_text"]


@pytest.mark.parametrize(
    ("followup", "statuses", "warnings"),
    [
        pytest.param(
            {"alt_day15": {"value": 240, "day": 15}}, ["not_fallen"], [], id="ALT-equal"
        ),
        pytest.param(
            {"alt_day15": {"value": 139, "day": 40}},
            ["fallen"],
            ["alt_day15_off_marker_day"],
            id="ALT-day40",
        ),
        pytest.param(
            {"tbil_day60": {"value": 4.59, "unit": "mg/dL", "day": 75}},  # 78.489 μmol/L
            ["at_or_below_pooled"],
            [],
            id="TBIL-mg/dL-day75",
        ),
        pytest.param(
            {"tbil_day60": {"value": 4.6, "unit": "mg/dL", "day": 76}},  # 78.66 μmol/L
            ["above_pooled"],
            ["tbil_day60_off_marker_day"],
            id="TBIL-mg/dL-day76",
        ),
        pytest.param(
            {"tbil_day90": {"value": 100}}, ["above_pooled"], ["tbil_day90_day_unknown"],
            id="TBIL-day-unknown",
        ),
        # 28 → 30: a rise, said first among the warnings
        pytest.param({"meld": {"value": 30}}, ["risen"], ["meld_rose"], id="MELD-risen"),
        pytest.param({"meld": {"value": 28}}, ["unchanged"], [], id="MELD-unchanged"),
    ],
)  # fmt: skip
def test_assess_followup_statuses(
    client: FlaskClient,
    reference_body: dict[str, Any],
    followup: dict[str, Any],
    statuses: list[str],
    warnings: list[str],
) -> None:
    d = ok_json(client.post(ASSESS, json={**reference_body, "followup": followup}))
    assert [m["status"] for m in d["followup"]["markers"]] == statuses
    assert [w["code"] for w in d["warnings"]] == warnings


@pytest.mark.parametrize("failure_type", ["ALF", "SALF"])
def test_alf_meld_followup_warns(
    client: FlaskClient, reference_body: dict[str, Any], failure_type: str
) -> None:
    body = {**reference_body, "failure_type": failure_type, "followup": {"meld": {"value": 18}}}
    d = ok_json(client.post(ASSESS, json=body))
    (marker,) = d["followup"]["markers"]
    assert marker["expected_reduction"] is None
    assert marker["text"].endswith(f"there is no pooled estimate for {failure_type}.")
    # The follow-up's warnings come first.
    assert [w["code"] for w in d["warnings"]] == ["meld_followup_no_estimate", "no_estimate"]


@pytest.mark.parametrize("followup", [None, {}, {"meld": None}], ids=["null", "empty", "nulls"])
def test_no_followup_is_null(
    client: FlaskClient, reference_body: dict[str, Any], followup: Any
) -> None:
    d = ok_json(client.post(ASSESS, json={**reference_body, "followup": followup}))
    assert d["followup"] is None
    assert "Follow-up:" not in d["summary_text"]


ASSESS_FOLLOWUP_422: list[Any] = [
    # (follow-up, transplant date, error fields, phrase)
    pytest.param(
        {"alt_day15": {"value": 139, "date": "2024-03-01"}}, None, {"followup.alt_day15"},
        "a date needs the date of MSCT", id="date-without-msct",
    ),
    pytest.param(
        {"alt_day15": {"value": 139, "date": "2024-02-01"}}, "2024-02-15",
        {"followup.alt_day15"}, "(it is -14 days after)", id="date-before-msct",
    ),
    pytest.param(
        {"tbil_day60": {"value": 80, "day": 59, "date": "2024-04-15"}}, "2024-02-15",
        {"followup.tbil_day60"}, "day 59 does not match the date, which is day 60",
        id="day-date-mismatch",
    ),
    pytest.param(
        {"tbil_day90": {"value": 80, "day": 366}}, None, {"followup.tbil_day90"},
        "whole number from 0 to 365", id="day-366",
    ),
    pytest.param(
        {"meld": {"value": 41}}, None, {"followup.meld"}, "from 6 to 40", id="meld-41",
    ),
    pytest.param(
        {"alt_day15": {"value": "139"}}, None, {"followup.alt_day15"}, "must be a JSON number",
        id="value-text",
    ),
    pytest.param(
        {"alt_day30": {"value": 139}}, None, {"followup.alt_day30"},
        "Unknown follow-up field 'alt_day30'", id="unknown-marker",
    ),
    pytest.param([], None, {"followup"}, "Follow-up must be an object.", id="not-object"),
]  # fmt: skip


@pytest.mark.parametrize(("followup", "msct", "fields", "phrase"), ASSESS_FOLLOWUP_422)
def test_assess_followup_errors(
    client: FlaskClient,
    reference_body: dict[str, Any],
    followup: Any,
    msct: str | None,
    fields: set[str],
    phrase: str,
) -> None:
    body = {**reference_body, "transplant_date": msct, "followup": followup}
    errors = assert_errors(client.post(ASSESS, json=body), 422, fields)
    assert phrase in next(iter(errors.values()))[0]


def test_assess_every_error_at_once(client: FlaskClient) -> None:
    body = {
        "failure_type": "ACLF",
        "alt": -1,
        "tbil": 320,
        "labs": {**LABS_MELD_20, "inr": 0},
        "followup": {"alt_day15": {"value": 139, "day": 400}, "meld": {"value": 5}},
    }
    assert_errors(
        client.post(ASSESS, json=body),
        422,
        {"alt", "labs.inr", "followup.alt_day15", "followup.meld"},
    )


# --------------------------------------------------------------------------
# OpenAPI


def test_openapi_lists_meld_and_the_labs_and_followup_schemas(client: FlaskClient) -> None:
    doc = ok_json(client.get("/api/v1/openapi.json"))
    post = doc["paths"]["/api/v1/meld"]["post"]
    schema_ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema_ref == "#/components/schemas/MeldRequest"
    ok_ref = post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ok_ref == "#/components/schemas/MeldResponse"
    schemas = doc["components"]["schemas"]
    assert {"Labs", "Followup", "MeldRequest", "MeldResponse", "AssessRequest"} <= set(schemas)
    assert set(schemas["Labs"]["properties"]) == LAB_FIELDS
    assert schemas["Labs"]["additionalProperties"] is False
    assert "bilirubin" not in schemas["Labs"]["required"]  # defaults to tbil in /assess
    assert {"bilirubin", "bilirubin_unit"} <= set(schemas["MeldRequest"]["required"])
    followup = schemas["Followup"]
    assert set(followup["properties"]) == {"alt_day15", "tbil_day60", "tbil_day90", "meld"}
    assert followup["additionalProperties"] is False
    day = followup["properties"]["alt_day15"]["properties"]["day"]
    assert (day["type"], day["minimum"], day["maximum"]) == ("integer", 0, 365)
    assess_props = schemas["AssessRequest"]["properties"]
    assert set(assess_props) == ASSESS_FIELDS
    assert assess_props["followup"] == {"$ref": "#/components/schemas/Followup"}
    assert {"$ref": "#/components/schemas/Labs"} in assess_props["labs"]["allOf"]
    meld_response = schemas["MeldResponse"]
    assert set(meld_response["required"]) == {"meld", "meld_na", "meld_3_0", "working"}


# --------------------------------------------------------------------------
# No labs or follow-up body produces a 500 (fuzz)

leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["mg/dL", "umol/L", "U/L", "ukat/L", "g/L", "female", "2024-03-01"])
)
fuzz_items = st.dictionaries(
    st.sampled_from(["value", "unit", "day", "date"]) | st.text(max_size=4), leaf, max_size=4
)
fuzz_followup = st.dictionaries(
    st.sampled_from(["alt_day15", "tbil_day60", "tbil_day90", "meld"]) | st.text(max_size=4),
    fuzz_items | leaf,
    max_size=4,
)
fuzz_labs = st.dictionaries(st.sampled_from(sorted(LAB_FIELDS)), leaf, max_size=10)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(labs=fuzz_labs | leaf, followup=fuzz_followup | leaf, msct=leaf)
def test_no_labs_or_followup_produce_a_500(labs: Any, followup: Any, msct: Any) -> None:
    body = {
        "failure_type": "ACLF",
        "alt": 240,
        "tbil": 320,
        "labs": labs,
        "followup": followup,
        "transplant_date": msct,
    }
    response = FUZZ_APP.test_client().post(
        ASSESS, data=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (200, 422)
    d = response.get_json()
    if response.status_code == 200:
        assert d["meld_used"]["source"] in ("entered", "labs")
    else:
        assert set(d) == {"errors"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(labs=fuzz_labs)
def test_no_meld_body_produces_a_500(labs: dict[str, Any]) -> None:
    response = FUZZ_APP.test_client().post(
        MELD, data=json.dumps(labs), headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (200, 422)
    d = response.get_json()
    if response.status_code == 200:
        assert 6 <= d["meld"] <= 40
    else:
        assert set(d) == {"errors"}
        assert not any(k.startswith("labs.") for k in d["errors"])
