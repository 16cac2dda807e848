"""The FHIR R4 endpoint and the CDS Hooks 2.0 service over HTTP (calc.web.ehr).

Sources: HL7 FHIR R4; CDS Hooks 2.0 (discovery, service request and response,
cards, feedback, "Trusting CDS Clients": JWT with iss, aud, exp, iat, jti);
OWASP Secure Headers Project (the app's headers on every response).

Golden files (tests/unit/web/golden/) hold the FHIR output and the discovery
document; ``CALC_UPDATE_GOLDEN=1`` rewrites them.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from calc import create_app
from calc.web import ehr
from calc.web.app import NO_STORE, SECURITY_HEADERS
from tests.unit.core.test_fhir import NOW, bundle, obs, reference_entries

GOLDEN = Path(__file__).resolve().parent / "golden"
PUBLIC_URL = "https://calc.hospital.test"
ISSUER = "https://ehr.hospital.test"
SERVICE_URL = PUBLIC_URL + ehr.SERVICE
INDICATORS = {"info", "warning", "critical"}


def _ids() -> Callable[[], str]:
    counter = iter(range(1, 10_000))
    return lambda: str(uuid.UUID(int=next(counter)))


def make_app(**config: Any) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "EHR_CLOCK": lambda: NOW,
            "EHR_NEW_ID": _ids(),
            "PUBLIC_URL": PUBLIC_URL,
            **config,
        }
    )


@pytest.fixture
def open_client() -> FlaskClient:
    """JWT verification off, as only a test configures it."""
    return make_app(CDS_HOOKS_JWT=False).test_client()


def check_golden(name: str, value: Any) -> None:
    path = GOLDEN / name
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("CALC_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(text), name


def assert_headers(r: TestResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert r.headers.get(name) == value, name
    assert r.headers.get("Cache-Control") == NO_STORE
    assert "Server" not in r.headers


def assert_errors(r: TestResponse, status: int) -> dict[str, list[str]]:
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.mimetype == "application/json"
    body = r.get_json()
    assert set(body) == {"errors"} and body["errors"]
    for field, messages in body["errors"].items():
        assert isinstance(field, str) and messages
        assert all(isinstance(m, str) and m for m in messages)
    assert_headers(r)
    errors: dict[str, list[str]] = body["errors"]
    return errors


def full_entries() -> list[dict[str, Any]]:
    return [
        *reference_entries(),
        obs("na", "2951-2", 130, "mmol/L"),
        obs("alb", "1751-7", 28, "g/L"),
    ]


def fhir_body(entries: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "failure_type": "ACLF",
        "transplant_date": "2026-12-01",
        "dialysis": False,
        "sex": "female",
        "bundle": bundle(full_entries() if entries is None else entries),
        **extra,
    }


# --------------------------------------------------------------------------
# POST /fhir/r4/assess


def test_the_fhir_endpoint_answers_the_apis_assessment_with_used_and_fhir(
    open_client: FlaskClient,
) -> None:
    r = open_client.post(ehr.FHIR_ASSESS, json=fhir_body())
    assert r.status_code == 200, r.get_json()
    assert_headers(r)
    body = r.get_json()
    typed = {
        "failure_type": "ACLF",
        "transplant_date": "2026-12-01",
        "alt": 240,
        "alt_unit": "U/L",
        "tbil": 320,
        "tbil_unit": "umol/L",
        "labs": {
            "inr": 2.1,
            "creatinine": 1.9,
            "creatinine_unit": "mg/dL",
            "sodium": 130,
            "albumin": 28,
            "albumin_unit": "g/L",
            "dialysis": False,
            "sex": "female",
        },
    }
    api = open_client.post("/api/v1/assess", json=typed)
    assert api.status_code == 200
    assert {k: v for k, v in body.items() if k not in ("used", "fhir")} == api.get_json()
    assert body["used"] == [
        {"field": "alt", "observation_id": "alt", "loinc": "1742-6", "effective": "2026-12-05T08:00:00Z", "value": 240, "unit": "U/L"},  # noqa: E501
        {"field": "tbil", "observation_id": "tbil", "loinc": "14631-6", "effective": "2026-12-05T08:00:00Z", "value": 320, "unit": "umol/L"},  # noqa: E501
        {"field": "labs.inr", "observation_id": "inr", "loinc": "6301-6", "effective": "2026-12-05T08:00:00Z", "value": 2.1, "unit": "{INR}"},  # noqa: E501
        {"field": "labs.creatinine", "observation_id": "cr", "loinc": "2160-0", "effective": "2026-12-05T08:00:00Z", "value": 1.9, "unit": "mg/dL"},  # noqa: E501
        {"field": "labs.sodium", "observation_id": "na", "loinc": "2951-2", "effective": "2026-12-05T08:00:00Z", "value": 130, "unit": "mmol/L"},  # noqa: E501
        {"field": "labs.albumin", "observation_id": "alb", "loinc": "1751-7", "effective": "2026-12-05T08:00:00Z", "value": 28, "unit": "g/L"},  # noqa: E501
    ]  # fmt: skip
    assert body["meld_used"]["source"] == "labs"


def test_the_fhir_output_matches_the_golden_file_and_the_r4b_models(
    open_client: FlaskClient,
) -> None:
    from fhir.resources.R4B.bundle import Bundle

    out = open_client.post(ehr.FHIR_ASSESS, json=fhir_body()).get_json()["fhir"]
    check_golden("fhir_assess_output.json", out)
    Bundle.model_validate(out)
    # Code values, which the models do not check.
    codes = [e["resource"].get("code", {}).get("coding", [{}])[0].get("code") for e in out["entry"]]
    assert codes == ["44760-7", "100348-2", "meld-3.0", None]


@pytest.mark.hazard("H-23")
def test_h23_the_endpoint_refuses_a_wrong_unit_naming_the_observation(
    open_client: FlaskClient,
) -> None:
    entries = full_entries()
    entries[1] = obs("bili-7", "1975-2", 320, "umol/L")  # mass code, molar unit
    errors = assert_errors(open_client.post(ehr.FHIR_ASSESS, json=fhir_body(entries)), 422)
    assert list(errors) == ["Observation/bili-7"]


@pytest.mark.hazard("H-23")
def test_h23_the_endpoint_refuses_a_stale_or_preliminary_lab(open_client: FlaskClient) -> None:
    entries = full_entries()
    entries[3] = obs("cr-old", "2160-0", 1.9, "mg/dL", when="2026-11-20T08:00:00Z")
    entries[2] = obs("inr-p", "6301-6", 2.1, "{INR}", status="preliminary")
    errors = assert_errors(open_client.post(ehr.FHIR_ASSESS, json=fhir_body(entries)), 422)
    assert set(errors) == {"Observation/cr-old", "Observation/inr-p"}


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": "{", "content_type": "application/json"}, 400),
        ({"data": "[]", "content_type": "application/json"}, 400),
        ({"data": '{"a": 1, "a": 2}', "content_type": "application/json"}, 400),
        ({"data": "failure_type=ACLF"}, 415),
        ({"json": {"bundle": {"resourceType": "Patient"}}}, 422),
        ({"json": {"bundle": {"resourceType": "Bundle", "entry": 5}}}, 422),
    ],
)
def test_bad_requests_are_4xx_json(
    open_client: FlaskClient, kwargs: dict[str, Any], status: int
) -> None:
    assert_errors(open_client.post(ehr.FHIR_ASSESS, **kwargs), status)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("PUT", ehr.FHIR_ASSESS, 405),
        ("GET", ehr.FHIR_ASSESS, 405),
        ("POST", ehr.DISCOVERY, 405),
        ("GET", ehr.SERVICE, 405),
        ("GET", "/fhir/r4/nowhere", 404),
        ("POST", "/cds-services/another-service", 404),
    ],
)
def test_routing_errors_are_json_with_the_headers(
    open_client: FlaskClient, method: str, path: str, status: int
) -> None:
    assert_errors(open_client.open(path, method=method), status)


def test_a_body_over_the_limit_is_413_json(open_client: FlaskClient) -> None:
    big = json.dumps(fhir_body(entries=full_entries() * 40))
    assert len(big) > 16 * 1024
    for path in (ehr.FHIR_ASSESS, ehr.SERVICE, ehr.FEEDBACK):
        assert_errors(open_client.post(path, data=big, content_type="application/json"), 413)


def test_requests_without_browser_headers_pass_and_cross_site_posts_do_not(
    open_client: FlaskClient,
) -> None:
    assert open_client.post(ehr.FHIR_ASSESS, json=fhir_body()).status_code == 200
    r = open_client.post(
        ehr.FHIR_ASSESS, json=fhir_body(), headers={"Origin": "https://elsewhere.test"}
    )
    assert_errors(r, 403)


# --------------------------------------------------------------------------
# CDS Hooks 2.0


def searchset(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": list(entries)}


def hook_request(**changes: Any) -> dict[str, Any]:
    alt, tbil, inr, cr = reference_entries()
    body = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirServer": "https://ehr.hospital.test/fhir",
        "context": {"userId": "Practitioner/9", "patientId": "p1"},
        "prefetch": {
            "alt": searchset(alt),
            "tbil": searchset(tbil),
            "inr": searchset(inr),
            "creatinine": searchset(cr),
            "sodium": searchset(obs("na", "2951-2", 130, "mmol/L")),
            "albumin": searchset(),
        },
    }
    body.update(changes)
    return body


def urls_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [u for v in value.values() for u in urls_in(v)]
    if isinstance(value, list):
        return [u for v in value for u in urls_in(v)]
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return [value]
    return []


def assert_cards(r: TestResponse, *forbidden_in_urls: str) -> list[dict[str, Any]]:
    """The response invariants of CDS Hooks 2.0 for cards."""
    assert r.status_code == 200, r.get_json()
    assert_headers(r)
    body = r.get_json()
    assert set(body) == {"cards"}
    for card in body["cards"]:
        assert len(card["summary"]) < 140
        assert card["indicator"] in INDICATORS
        uuid.UUID(card["uuid"])
        assert card["source"]["label"]
        assert urlsplit(card["source"]["url"]).scheme == "https"
        assert "doi.org/10.1155/2018/9231710" in card["source"]["url"]
        assert isinstance(card["detail"], str) and card["detail"]
        for link in card.get("links", []):
            assert link["type"] == "absolute" and link["label"]
            assert link["url"].startswith(PUBLIC_URL + "/")
        for url in urls_in(card):
            for value in forbidden_in_urls:
                assert value not in url, (value, url)
    cards: list[dict[str, Any]] = body["cards"]
    return cards


def test_discovery_lists_one_patient_view_service_with_its_prefetch(
    open_client: FlaskClient,
) -> None:
    r = open_client.get(ehr.DISCOVERY)
    assert r.status_code == 200
    assert_headers(r)
    doc = r.get_json()
    check_golden("cds_discovery.json", doc)
    [service] = doc["services"]
    assert (service["hook"], service["id"]) == ("patient-view", ehr.SERVICE_ID)
    assert set(service["prefetch"]) == {"alt", "tbil", "inr", "creatinine", "sodium", "albumin"}
    assert service["prefetch"]["tbil"] == (
        "Observation?patient={{context.patientId}}"
        "&code=http://loinc.org|1975-2,http://loinc.org|14631-6&_sort=-date&_count=1"
    )


@pytest.mark.hazard("H-23")
def test_h23_the_card_gives_the_meld_of_the_record_with_and_without_dialysis(
    open_client: FlaskClient,
) -> None:
    r = open_client.post(ehr.SERVICE, json=hook_request())
    [card] = assert_cards(r, "p1", "240", "320", "2.1", "1.9")
    assert card["indicator"] == "info"
    assert card["summary"].startswith("MELD 32 (39 if on dialysis) from labs to 2026-12-05")
    assert "type of liver failure" in card["detail"]
    assert "| INR | 2.1 | {INR} | 2026-12-05T08:00:00Z | 6301-6 |" in card["detail"]
    assert "10.12449/JCH240822" in card["detail"] and "cao2018-abstract-v2" in card["detail"]
    assert card["links"] == [
        {"label": "Open the MSCT calculator", "url": PUBLIC_URL + "/", "type": "absolute"}
    ]


@pytest.mark.hazard("H-23")
def test_h23_a_lab_that_cannot_be_used_gives_a_warning_card_and_no_score(
    open_client: FlaskClient,
) -> None:
    request = hook_request()
    request["prefetch"]["inr"] = searchset(
        obs("inr-p", "6301-6", 2.1, "{INR}", status="preliminary")
    )
    [card] = assert_cards(open_client.post(ehr.SERVICE, json=request))
    assert card["indicator"] == "warning"
    assert "Observation/inr-p" in card["detail"] and "MELD 3" not in card["summary"]
    # Another patient's lab in the prefetch is refused the same way.
    request = hook_request(context={"patientId": "p2"})
    [card] = assert_cards(open_client.post(ehr.SERVICE, json=request))
    assert card["indicator"] == "warning"


def test_no_liver_labs_no_cards(open_client: FlaskClient) -> None:
    empty = {k: searchset() for k in ("alt", "tbil", "inr", "creatinine")}
    r = open_client.post(ehr.SERVICE, json=hook_request(prefetch=empty))
    assert assert_cards(r) == []


def test_a_missing_prefetch_is_412(open_client: FlaskClient) -> None:
    request = hook_request()
    del request["prefetch"]["inr"]
    errors = assert_errors(open_client.post(ehr.SERVICE, json=request), 412)
    assert list(errors) == ["prefetch.inr"]
    request["prefetch"]["creatinine"] = None
    assert_errors(open_client.post(ehr.SERVICE, json=request), 412)
    del request["prefetch"]
    assert_errors(open_client.post(ehr.SERVICE, json=request), 412)


@pytest.mark.parametrize(
    "changes",
    [
        {"hook": "order-select"},
        {"context": {}},
        {"hookInstance": None},
        {"prefetch": ["not", "an", "object"]},
    ],
)
def test_a_malformed_hook_request_is_400(open_client: FlaskClient, changes: dict[str, Any]) -> None:
    assert_errors(open_client.post(ehr.SERVICE, json=hook_request(**changes)), 400)


def test_feedback_is_acknowledged(open_client: FlaskClient) -> None:
    feedback = {
        "feedback": [{"card": str(uuid.uuid4()), "outcome": "accepted",
                      "outcomeTimestamp": "2026-12-06T12:00:00Z"}]
    }  # fmt: skip
    r = open_client.post(ehr.FEEDBACK, json=feedback)
    assert r.status_code == 200 and r.get_json() == {}
    assert_headers(r)


def test_without_a_public_url_the_card_has_no_link() -> None:
    client = make_app(CDS_HOOKS_JWT=False, PUBLIC_URL=None).test_client()
    [card] = assert_cards(client.post(ehr.SERVICE, json=hook_request()))
    assert "links" not in card


# --------------------------------------------------------------------------
# JWT from the EHR (CDS Hooks 2.0, "Trusting CDS Clients")


@pytest.fixture(scope="module")
def ehr_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


def jwks(key: ec.EllipticCurvePrivateKey, kid: str = "ehr-1") -> dict[str, Any]:
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**public, "kid": kid, "alg": "ES384", "use": "sig"}]}


@pytest.fixture
def secured(ehr_key: ec.EllipticCurvePrivateKey) -> FlaskClient:
    return make_app(CDS_HOOKS_ISSUERS={ISSUER: jwks(ehr_key)}).test_client()


def token(key: Any, *, algorithm: str = "ES384", kid: str = "ehr-1", **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": SERVICE_URL, "iat": now, "exp": now + 300,
               "jti": str(uuid.uuid4()), **claims}  # fmt: skip
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def test_a_valid_token_is_accepted(
    secured: FlaskClient, ehr_key: ec.EllipticCurvePrivateKey
) -> None:
    r = secured.post(ehr.SERVICE, json=hook_request(), headers=bearer(token(ehr_key)))
    assert_cards(r)
    feedback = token(ehr_key, aud=PUBLIC_URL + ehr.FEEDBACK)
    assert (
        secured.post(ehr.FEEDBACK, json={"feedback": []}, headers=bearer(feedback)).status_code
        == 200
    )


def _refused(r: TestResponse, words: str) -> None:
    errors = assert_errors(r, 401)
    assert words in errors["authorization"][0], errors
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_bad_signature_is_refused(secured: FlaskClient) -> None:
    other = ec.generate_private_key(ec.SECP384R1())
    _refused(secured.post(ehr.SERVICE, json=hook_request(), headers=bearer(token(other))),
             "signature")  # fmt: skip


def test_a_token_for_another_audience_is_refused(
    secured: FlaskClient, ehr_key: ec.EllipticCurvePrivateKey
) -> None:
    wrong = token(ehr_key, aud="https://other-service.test/cds-services/x")
    _refused(secured.post(ehr.SERVICE, json=hook_request(), headers=bearer(wrong)), "aud")
    # The service's own URL is the audience: the feedback URL's token is not the service's.
    feedback = token(ehr_key, aud=PUBLIC_URL + ehr.FEEDBACK)
    _refused(secured.post(ehr.SERVICE, json=hook_request(), headers=bearer(feedback)), "aud")


def test_an_expired_token_is_refused(
    secured: FlaskClient, ehr_key: ec.EllipticCurvePrivateKey
) -> None:
    old = int(time.time()) - 3600
    expired = token(ehr_key, iat=old, exp=old + 300)
    _refused(secured.post(ehr.SERVICE, json=hook_request(), headers=bearer(expired)), "expired")


def test_an_unknown_issuer_is_refused(
    secured: FlaskClient, ehr_key: ec.EllipticCurvePrivateKey
) -> None:
    stranger = token(ehr_key, iss="https://stranger.test")
    _refused(secured.post(ehr.SERVICE, json=hook_request(), headers=bearer(stranger)), "issuer")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}, bearer("not.a.jwt")],
)
def test_a_missing_or_unreadable_token_is_refused(
    secured: FlaskClient, headers: dict[str, str]
) -> None:
    assert_errors(secured.post(ehr.SERVICE, json=hook_request(), headers=headers), 401)


def test_symmetric_and_unsigned_tokens_are_refused(
    secured: FlaskClient, ehr_key: ec.EllipticCurvePrivateKey
) -> None:
    hs = token("a-shared-secret-of-at-least-32-bytes!", algorithm="HS256")
    assert_errors(secured.post(ehr.SERVICE, json=hook_request(), headers=bearer(hs)), 401)
    none = token(None, algorithm="none")
    assert_errors(secured.post(ehr.SERVICE, json=hook_request(), headers=bearer(none)), 401)
    no_jti = token(ehr_key, jti=None)
    assert_errors(secured.post(ehr.SERVICE, json=hook_request(), headers=bearer(no_jti)), 401)


def test_verification_is_on_unless_turned_off(ehr_key: ec.EllipticCurvePrivateKey) -> None:
    client = make_app().test_client()  # no issuers configured: nothing is trusted
    assert_errors(client.post(ehr.SERVICE, json=hook_request()), 401)
    r = client.post(ehr.SERVICE, json=hook_request(), headers=bearer(token(ehr_key)))
    assert_errors(r, 401)
    assert_errors(client.post(ehr.FEEDBACK, json={}), 401)
    # Without the service's URL the audience cannot be checked: refused, not skipped.
    client = make_app(PUBLIC_URL=None, CDS_HOOKS_ISSUERS={ISSUER: jwks(ehr_key)}).test_client()
    r = client.post(ehr.SERVICE, json=hook_request(), headers=bearer(token(ehr_key)))
    assert_errors(r, 401)


# --------------------------------------------------------------------------
# No patient data kept


SENTINELS = {
    "patient": "PATIENT-SENTINEL-4711",
    "observation": "OBS-SENTINEL-0815",
    "access_token": "ACCESS-TOKEN-SENTINEL-31337",
    "value": 4321.5,
}


def test_no_value_of_a_bundle_or_a_hook_reaches_the_log_or_the_headers(
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ehr_key: ec.EllipticCurvePrivateKey,
) -> None:
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.DEBUG)
    app = make_app(CDS_HOOKS_ISSUERS={ISSUER: jwks(ehr_key)})
    client = app.test_client()
    sentinel_obs = obs(SENTINELS["observation"], "1742-6", SENTINELS["value"], "U/L",
                       subject=f"Patient/{SENTINELS['patient']}")  # fmt: skip
    tbil, inr, cr = (
        obs(
            f"{SENTINELS['observation']}-{i}", code, v, u, subject=f"Patient/{SENTINELS['patient']}"
        )
        for i, (code, v, u) in enumerate(
            [("14631-6", 320, "umol/L"), ("6301-6", 2.1, "{INR}"), ("2160-0", 1.9, "mg/dL")]
        )
    )
    hook = hook_request(
        context={"patientId": SENTINELS["patient"], "userId": "Practitioner/9"},
        fhirAuthorization={
            "access_token": SENTINELS["access_token"],
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/Observation.read",
            "subject": "calc",
        },
        prefetch={
            "alt": searchset(sentinel_obs),
            "tbil": searchset(tbil),
            "inr": searchset(inr),
            "creatinine": searchset(cr),
        },
    )
    jwt_token = token(ehr_key)
    feedback_token = token(ehr_key, aud=PUBLIC_URL + ehr.FEEDBACK)
    responses = [
        client.post(ehr.SERVICE, json=hook, headers=bearer(jwt_token)),
        client.post(ehr.SERVICE, json={**hook, "prefetch": {}}, headers=bearer(jwt_token)),
        client.post(ehr.SERVICE, json=hook, headers=bearer(jwt_token + "x")),
        client.post(ehr.FEEDBACK, json=hook, headers=bearer(feedback_token)),
    ]
    for entries in ([sentinel_obs, tbil, inr, cr], [sentinel_obs]):
        body = {"failure_type": "ACLF", "dialysis": False, "bundle": bundle(entries)}
        responses.append(client.post(ehr.FHIR_ASSESS, json=body))
    assert [r.status_code for r in responses] == [200, 412, 401, 200, 200, 422]
    secrets = [*map(str, SENTINELS.values()), jwt_token, feedback_token]
    for r in responses:
        headers = str(r.headers)
        assert not any(s in headers for s in secrets), headers
    assert not any(s in caplog.text for s in secrets)
    assert SENTINELS["access_token"] not in responses[0].get_data(as_text=True)
    assert list(tmp_path.iterdir()) == []
    assert not Path(app.instance_path).exists() or not any(Path(app.instance_path).iterdir())


# --------------------------------------------------------------------------
# Any JSON to any new route: never a 500


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=25,
)
FHIR_KEYS = st.sampled_from(["failure_type", "transplant_date", "dialysis", "sex", "bundle"])
HOOK_KEYS = st.sampled_from(["hook", "hookInstance", "context", "prefetch", "fhirAuthorization"])


def _shaped(keys: st.SearchStrategy[str], valid: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Random JSON, and the valid body with some members replaced by random JSON."""
    changed = st.dictionaries(keys, json_values, max_size=3).map(lambda c: {**valid, **c})
    return st.one_of(json_values, changed, changed)


HYPOTHESIS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
APP = make_app(CDS_HOOKS_JWT=False)


@pytest.mark.parametrize(
    ("path", "bodies"),
    [
        (ehr.FHIR_ASSESS, _shaped(FHIR_KEYS, fhir_body())),
        (ehr.SERVICE, _shaped(HOOK_KEYS, hook_request())),
        (ehr.FEEDBACK, json_values),
    ],
)
def test_any_json_to_the_new_routes_is_never_a_500(path: str, bodies: Any) -> None:
    client = APP.test_client()
    statuses: set[int] = set()

    @HYPOTHESIS
    @given(document=bodies)
    def run(document: Any) -> None:
        r = client.post(path, data=json.dumps(document), content_type="application/json")
        statuses.add(r.status_code)
        assert r.status_code < 500
        assert r.mimetype == "application/json"
        if r.status_code >= 400:
            assert set(r.get_json()) == {"errors"}

    run()
    assert statuses & {200} and statuses - {200}, statuses


@HYPOTHESIS
@given(prefetch=st.dictionaries(
    st.sampled_from(["alt", "tbil", "inr", "creatinine", "sodium", "albumin"]),
    st.one_of(json_values, st.lists(json_values, max_size=3).map(
        lambda e: {"resourceType": "Bundle", "entry": e})),
))  # fmt: skip
def test_any_prefetch_is_never_a_500(prefetch: dict[str, Any]) -> None:
    body = json.dumps(hook_request(prefetch=prefetch))
    r = APP.test_client().post(ehr.SERVICE, data=body, content_type="application/json")
    assert r.status_code in (200, 400, 412)


@pytest.mark.parametrize(
    ("setting", "required"),
    [(True, True), (False, False), ("false", False), ("off", False), (0, False),
     ("true", True), ("ture", True), (None, True), ([], True)],
)  # fmt: skip
def test_only_an_explicit_false_turns_verification_off(setting: object, required: bool) -> None:
    assert ehr.jwt_required(setting) is required
