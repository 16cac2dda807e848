"""The JSON API with labs and follow-up: POST /api/v1/meld, /api/v1/assess, OpenAPI.

Sources of pinned numbers
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
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from calc import create_app
from calc.core.assessment import ASSESS_FIELDS, LAB_FIELDS
from tests.api_errors import assert_errors

ASSESS = "/api/v1/assess"
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

FUZZ_APP: Flask = create_app({"TESTING": True})
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
