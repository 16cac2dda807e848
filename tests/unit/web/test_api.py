"""The JSON API over HTTP (app.test_client()): numbers, error contract, headers.

The API's error contract (README, JSON API): 400 malformed body, 413 over
16 KiB, 415 wrong content type, 422 invalid values, all as
{"errors": {field: [messages]}}; only GET/HEAD/POST routed (405); no 500.
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
from calc.core.engine import assess
from calc.core.evidence import Evidence, FailureType
from calc.core.inputs import validate_inputs
from calc.core.report import to_dict
from calc.version import __version__
from calc.web.api import ASSESS_FIELDS
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
