"""One request validated as a whole (calc.core.assessment): typed MELD, MELD from labs, follow-up.

Sources of pinned numbers
    * Published classic MELD worked examples: bilirubin 4.2 mg/dL,
      INR 1.2, creatinine 1.9 mg/dL → MELD 20; bilirubin 1.9, INR 1.2,
      creatinine 1.3 → MELD 13. (The formulas themselves: tests/unit/core/test_meld.py.)
    * Cao 2018 abstract: ACLF decrease 14.93, CLF 4.6, no estimate for ALF.
    * Hand calculations in exact decimals beside each case (e.g. 20 − 14.93 = 5.07).

Tolerance: expected MELD after MSCT is computed in exact decimals by the engine
(subtract_printed), so it is compared exactly; unit conversions with 1e-9.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from calc.core.assessment import (
    ASSESS_FIELDS,
    LAB_FIELDS,
    AssessmentRequest,
    run,
    validate_labs_object,
    validate_request,
)
from calc.core.engine import assess
from calc.core.evidence import Evidence, FailureType, load_evidence
from calc.core.followup import FollowupInputs
from calc.core.inputs import InputError
from calc.core.meld import EnteredLab, LabInputs, compute_meld
from calc.core.results import Assessment
from calc.core.rules import MELD_LABS_TOLERANCE

TOL = 1e-9
PATIENT: dict[str, Any] = {"failure_type": "ACLF", "alt": 240, "tbil": 320}
# The classic MELD worked example (MELD 20) without its bilirubin (which defaults to the TBIL).
LABS_NO_BILI: dict[str, Any] = {
    "inr": 1.2,
    "creatinine": 1.9,
    "creatinine_unit": "mg/dL",
    "dialysis": False,
}
# Classic MELD worked example: bilirubin 4.2 mg/dL, INR 1.2, creatinine 1.9 mg/dL → MELD 20.
LABS_MELD_20: dict[str, Any] = {**LABS_NO_BILI, "bilirubin": 4.2, "bilirubin_unit": "mg/dL"}
# Another classic MELD worked example: bilirubin 1.9, INR 1.2, creatinine 1.3 → MELD 13.
LABS_MELD_13: dict[str, Any] = {
    **LABS_NO_BILI,
    "bilirubin": 1.9,
    "bilirubin_unit": "mg/dL",
    "creatinine": 1.3,
}


def request(**fields: Any) -> AssessmentRequest:
    """Validate the reference patient (without a MELD) with ``fields`` added or replaced."""
    return validate_request({**PATIENT, **fields}, allow_text=False)


def request_errors(raw: dict[str, Any], *, allow_text: bool = False) -> dict[str, list[str]]:
    with pytest.raises(InputError) as info:
        validate_request(raw, allow_text=allow_text)
    errors = info.value.errors
    assert errors
    for messages in errors.values():
        assert messages
        assert all(isinstance(m, str) and m for m in messages)
    return errors


def codes(req: AssessmentRequest, evidence: Evidence) -> list[str]:
    return [w.code for w in run(req, evidence).warnings]


def test_field_sets() -> None:
    assert {"labs", "followup", "meld", "tbil", "transplant_date"} <= ASSESS_FIELDS
    assert {"bilirubin", "bilirubin_unit", "inr", "creatinine", "dialysis"} <= LAB_FIELDS


# --------------------------------------------------------------------------
# Where the baseline MELD comes from


def test_typed_meld_only(evidence: Evidence) -> None:
    req = request(meld=28)
    assert req.inputs.meld == 28
    assert req.inputs.meld_source == "entered"
    assert req.labs is None
    assert req.followup == FollowupInputs()
    a = run(req, evidence)
    assert (a.labs, a.followup) == (None, None)
    assert a.meld_reduction.expected_meld_after == 13.07  # 28 − 14.93, Cao 2018 abstract
    assert [w.code for w in a.warnings] == []


LABS_ONLY: list[Any] = [
    # (extra request fields, classic MELD from labs)
    pytest.param({"labs": LABS_MELD_20}, 20, id="worked-example-20-labs-bilirubin"),
    pytest.param({"labs": LABS_MELD_13}, 13, id="worked-example-13-labs-bilirubin"),
    # bilirubin defaults to the TBIL in its unit: 4.2 mg/dL
    pytest.param({"tbil": 4.2, "tbil_unit": "mg/dL", "labs": LABS_NO_BILI}, 20, id="tbil-mg/dL"),
    # 4.2 mg/dL × 17.1 = 71.82 μmol/L, in μmol/L given or by default
    pytest.param(
        {"tbil": 71.82, "tbil_unit": "umol/L", "labs": LABS_NO_BILI}, 20, id="tbil-umol/L"
    ),
    pytest.param({"tbil": 71.82, "labs": LABS_NO_BILI}, 20, id="tbil-default-unit"),
    pytest.param({"tbil": 71.82, "tbil_unit": None, "labs": LABS_NO_BILI}, 20, id="tbil-null-unit"),
    pytest.param({"meld": None, "labs": LABS_MELD_20}, 20, id="meld-null"),
]


def done(req: AssessmentRequest) -> Assessment:
    """The request computed: validation leaves the MELD of the labs to run()."""
    return run(req, load_evidence())


def test_validation_computes_nothing() -> None:
    """A request validated holds the labs as entered, not their MELD (run computes it)."""
    req = request(labs=LABS_MELD_20, meld=None)
    assert isinstance(req.labs, LabInputs)
    assert req.meld_from_labs
    assert req.inputs.meld_source == "entered"  # until run() puts the labs' MELD in
    assert (done(req).inputs.meld, done(req).inputs.meld_source) == (20, "labs")


@pytest.mark.parametrize(("fields", "meld"), LABS_ONLY)
def test_labs_only_gives_classic_meld_from_labs(fields: dict[str, Any], meld: int) -> None:
    req = request(**fields)
    assert req.labs is not None
    assert done(req).labs.meld == meld
    assert done(req).inputs.meld == meld
    assert done(req).inputs.meld_source == "labs"


def test_blank_meld_text_uses_the_labs() -> None:
    raw = {**PATIENT, "meld": " ", "labs": {**LABS_MELD_20, "dialysis": "no"}}
    req = validate_request(raw, allow_text=True)
    assert (done(req).inputs.meld, done(req).inputs.meld_source) == (20, "labs")


AFTER_CASES: list[Any] = [
    # (failure type, labs, expected after, unbounded, warning codes)
    # worked example MELD 20; ACLF 20 − 14.93 = 5.07 < 6 → bounded to 6
    pytest.param("ACLF", LABS_MELD_20, 6.0, 5.07, ["meld_after_floor"], id="ACLF-MELD-20"),
    # worked example MELD 13; ACLF 13 − 14.93 = −1.93 → 6; and 13 < 20
    pytest.param(
        "ACLF", LABS_MELD_13, 6.0, -1.93, ["meld_after_floor", "baseline_meld_below_20"],
        id="ACLF-MELD-13",
    ),
    # CLF 20 − 4.6 = 15.4; CLF's ± 5.66 exceeds its mean 4.6
    pytest.param("CLF", LABS_MELD_20, 15.4, 15.4, ["spread_exceeds_mean"], id="CLF-MELD-20"),
    pytest.param("ALF", LABS_MELD_20, None, None, ["no_estimate"], id="ALF-MELD-20"),
]  # fmt: skip


@pytest.mark.parametrize(("ft", "labs", "after", "unbounded", "warnings"), AFTER_CASES)
def test_meld_from_labs_drives_the_assessment(
    evidence: Evidence,
    ft: str,
    labs: dict[str, Any],
    after: float | None,
    unbounded: float | None,
    warnings: list[str],
) -> None:
    req = request(failure_type=ft, labs=labs)
    a = run(req, evidence)
    assert a.inputs.meld_source == "labs"
    assert req.labs is not None and a.labs == compute_meld(req.labs)
    assert a.meld_reduction.expected_meld_after == after
    assert a.meld_reduction.expected_meld_after_unbounded == unbounded
    assert [w.code for w in a.warnings] == warnings


def test_meld_20_floor_warning_text(evidence: Evidence) -> None:
    a = run(request(labs=LABS_MELD_20), evidence)
    (warning,) = a.warnings
    assert warning.code == "meld_after_floor"
    assert "baseline MELD of 20" in warning.message
    assert "shown as 6" in warning.message


# --------------------------------------------------------------------------
# The labs' bilirubin defaults to the TBIL and its unit


@pytest.mark.parametrize(
    ("fields", "entered"),
    [
        pytest.param(
            {"tbil": 4.2, "tbil_unit": "mg/dL"},
            EnteredLab("bilirubin", 4.2, "mg/dL", 4.2, "mg/dL"),
            id="mg/dL",
        ),
        pytest.param(
            {"tbil": 320},
            # 320 / 17.1 = 18.713450292397661 mg/dL
            EnteredLab("bilirubin", 320.0, "umol/L", 320 / 17.1, "mg/dL"),
            id="umol/L-default",
        ),
        pytest.param(
            {"tbil": 320, "tbil_unit": "μmol/L"},
            EnteredLab("bilirubin", 320.0, "umol/L", 320 / 17.1, "mg/dL"),
            id="umol/L-greek-mu",
        ),
    ],
)
def test_labs_bilirubin_defaults_to_the_tbil(fields: dict[str, Any], entered: EnteredLab) -> None:
    req = request(labs=LABS_NO_BILI, **fields)
    assert req.labs is not None
    got = done(req).labs.working.entered[0]
    assert (got.field, got.value, got.unit, got.unit_canonical) == (
        entered.field,
        entered.value,
        entered.unit,
        entered.unit_canonical,
    )
    assert got.value_canonical == pytest.approx(entered.value_canonical, rel=TOL)
    assert done(req).inputs.tbil_entered == entered.value


def test_labs_bilirubin_given_is_used_over_the_tbil() -> None:
    # TBIL 320 μmol/L (18.7 mg/dL) would give a higher MELD; the labs' 4.2 mg/dL is used.
    req = request(labs=LABS_MELD_20)
    assert req.labs is not None
    assert done(req).labs.working.entered[0] == EnteredLab("bilirubin", 4.2, "mg/dL", 4.2, "mg/dL")
    assert done(req).inputs.meld == 20
    assert done(req).inputs.tbil_umol_l == 320.0


def test_labs_bilirubin_unit_without_bilirubin_keeps_the_tbil_unit() -> None:
    # TBIL 40 μmol/L = 40 / 17.1 = 2.339 mg/dL; with INR 1.2, creatinine 1.9 → MELD 18
    # (same request without bilirubin_unit: see the assertion below the bug).
    labs = {**LABS_NO_BILI, "bilirubin_unit": "mg/dL"}
    assert done(request(tbil=40, labs=LABS_NO_BILI)).inputs.meld == 18
    req = request(tbil=40, labs=labs)
    assert req.labs is not None
    assert done(req).labs.working.entered[0].unit == "umol/L"
    assert done(req).inputs.meld == 18


# --------------------------------------------------------------------------
# Typed MELD and labs together: the typed one is used; > 1 point apart is a warning

BOTH_CASES: list[Any] = [
    # (typed MELD, labs MELD 20 (worked example), warned)
    pytest.param(20, False, id="equal"),
    pytest.param(19, False, id="minus-1"),
    pytest.param(21, False, id="plus-1"),
    pytest.param(18, True, id="minus-2"),
    pytest.param(22, True, id="plus-2"),
    pytest.param(40, True, id="plus-20"),
]


@pytest.mark.parametrize(("typed", "warned"), BOTH_CASES)
def test_typed_meld_and_labs(evidence: Evidence, typed: int, warned: bool) -> None:
    req = request(meld=typed, labs=LABS_MELD_20)
    assert done(req).inputs.meld == typed
    assert done(req).inputs.meld_source == "entered"
    assert req.labs is not None and done(req).labs.meld == 20
    a = run(req, evidence)
    disagree = [w for w in a.warnings if w.code == "meld_labs_disagree"]
    assert len(disagree) == int(warned)
    assert (abs(typed - 20) > MELD_LABS_TOLERANCE) is warned
    if warned:
        message = disagree[0].message
        assert f"typed baseline MELD ({typed})" in message
        assert "from the labs (20)" in message
        assert f"differ by {abs(typed - 20)} points; the typed value is used" in message


def test_labs_do_not_change_the_pooled_estimates(evidence: Evidence) -> None:
    with_labs = run(request(meld=28, labs=LABS_MELD_20), evidence)
    without = run(request(meld=28), evidence)
    assert with_labs.meld_reduction == without.meld_reduction
    assert with_labs.meld_reduction.expected_meld_after == 13.07  # 28 − 14.93


# --------------------------------------------------------------------------
# Errors: keyed field, labs.<field>, followup.<marker>; all at once

LABS_ERRORS: list[Any] = [
    # (labs object, error keys)
    pytest.param({**LABS_MELD_20, "inr": 25}, {"labs.inr"}, id="inr-above-20"),
    pytest.param({**LABS_MELD_20, "inr": "1.2"}, {"labs.inr"}, id="inr-text"),
    pytest.param(
        {k: v for k, v in LABS_MELD_20.items() if k != "creatinine"},
        {"labs.creatinine"},
        id="creatinine-missing",
    ),
    pytest.param(
        {k: v for k, v in LABS_MELD_20.items() if k != "dialysis"},
        {"labs.dialysis"},
        id="dialysis-missing",
    ),
    pytest.param({**LABS_MELD_20, "bilirubin": 85}, {"labs.bilirubin"}, id="bilirubin-mislabel"),
    pytest.param(
        {**LABS_MELD_20, "creatinine": 150}, {"labs.creatinine"}, id="creatinine-mislabel"
    ),
    pytest.param({**LABS_MELD_20, "sodium": 300}, {"labs.sodium"}, id="sodium"),
    pytest.param({**LABS_MELD_20, "sex": "f"}, {"labs.sex"}, id="sex"),
    pytest.param({**LABS_MELD_20, "potassium": 4}, {"labs.potassium"}, id="unknown-lab"),
    pytest.param(
        {"inr": 0, "creatinine": 0, "creatinine_unit": "mg/dL", "dialysis": "yes"},
        {"labs.inr", "labs.creatinine", "labs.dialysis"},
        id="several",
    ),
    pytest.param(5, {"labs"}, id="not-an-object"),
    pytest.param([LABS_MELD_20], {"labs"}, id="list"),
]


@pytest.mark.parametrize(("labs", "keys"), LABS_ERRORS)
def test_invalid_labs_without_meld_give_only_labs_errors(labs: Any, keys: set[str]) -> None:
    errors = request_errors({**PATIENT, "labs": labs})
    assert set(errors) == keys  # no "meld" error on top of the labs' own
    assert "meld" not in errors


@pytest.mark.parametrize(("labs", "keys"), LABS_ERRORS)
def test_invalid_labs_with_a_typed_meld_are_still_errors(labs: Any, keys: set[str]) -> None:
    assert set(request_errors({**PATIENT, "meld": 28, "labs": labs})) == keys


@pytest.mark.parametrize(
    "fields",
    [{}, {"meld": None}, {"labs": None}, {"meld": None, "labs": None}],
    ids=["absent", "meld-null", "labs-null", "both-null"],
)
def test_neither_meld_nor_labs_is_a_meld_error(fields: dict[str, Any]) -> None:
    errors = request_errors({**PATIENT, **fields})
    assert set(errors) == {"meld"}
    assert errors["meld"] == ["Baseline MELD is required: enter 6 to 40."]


def test_typed_meld_out_of_range_is_a_meld_error_even_with_labs() -> None:
    errors = request_errors({**PATIENT, "meld": 41, "labs": LABS_MELD_20})
    assert set(errors) == {"meld"}


def test_every_error_is_reported_at_once() -> None:
    raw = {
        "failure_type": "HCC",
        "alt": 0,
        "tbil": 320,
        "transplant_date": "2024-02-15",
        "labs": {**LABS_MELD_20, "inr": 25, "creatinine_unit": "g"},
        "followup": {
            "alt_day15": {"value": 139, "date": "2024-02-01"},  # before MSCT
            "tbil_day60": {"value": "80"},
            "meld": {"value": 41},
        },
    }
    errors = request_errors(raw)
    assert set(errors) == {
        "failure_type",
        "alt",
        "labs.inr",
        "labs.creatinine_unit",
        "followup.alt_day15",
        "followup.tbil_day60",
        "followup.meld",
    }
    assert "it is -14 days after" in errors["followup.alt_day15"][0]  # 1 Feb is 14 days before


@pytest.mark.parametrize(
    ("followup", "key"),
    [
        pytest.param([], "followup", id="list"),
        pytest.param("x", "followup", id="text"),
        pytest.param({"alt": {"value": 1}}, "followup.alt", id="unknown-marker"),
        pytest.param({"meld": {"value": 50}}, "followup.meld", id="meld"),
    ],
)
def test_followup_errors_are_keyed_by_marker(followup: Any, key: str) -> None:
    errors = request_errors({**PATIENT, "meld": 28, "followup": followup})
    assert set(errors) == {key}


def test_followup_date_uses_the_transplant_date(evidence: Evidence) -> None:
    req = request(
        meld=28,
        transplant_date="2024-02-15",
        followup={"alt_day15": {"value": 139, "date": "2024-03-01"}},
    )
    assert req.followup.alt_day15 is not None
    assert req.followup.alt_day15.day == 15  # 2024 leap year: 14 days in Feb + 1
    a = run(req, evidence)
    assert a.followup is not None
    (m,) = a.followup.markers
    assert (m.status, m.day, m.date) == ("fallen", 15, date(2024, 3, 1))


def test_followup_date_without_transplant_date_is_an_error() -> None:
    errors = request_errors(
        {**PATIENT, "meld": 28, "followup": {"tbil_day90": {"value": 80, "date": "2024-05-15"}}}
    )
    assert set(errors) == {"followup.tbil_day90"}
    assert "a date needs the date of MSCT" in errors["followup.tbil_day90"][0]


def test_invalid_transplant_date_is_reported() -> None:
    errors = request_errors(
        {
            **PATIENT,
            "meld": 28,
            "transplant_date": "2024-02-30",
            "followup": {"alt_day15": {"value": 139, "day": 15}},
        }
    )
    assert set(errors) == {"transplant_date"}  # a follow-up given by day is still fine


# --------------------------------------------------------------------------
# run(): follow-up carried into the assessment, with its warnings


def test_run_without_followup_has_none(evidence: Evidence) -> None:
    for followup in (None, {}, {"meld": None}):
        a = run(request(meld=28, followup=followup), evidence)
        assert a.followup is None


def test_run_with_followup(evidence: Evidence) -> None:
    req = request(
        failure_type="ALF",
        meld=28,
        followup={
            "alt_day15": {"value": 139, "day": 40},
            "tbil_day60": {"value": 78.57},
            "meld": {"value": 18, "day": 30},
        },
    )
    a = run(req, evidence)
    assert a.followup is not None
    assert [(m.key, m.status) for m in a.followup.markers] == [
        ("alt_day15", "fallen"),
        ("tbil_day60", "at_or_below_pooled"),
        ("meld", "fallen"),
    ]
    # The follow-up's warnings first, then the limits of the evidence.
    assert [w.code for w in a.warnings] == [
        "alt_day15_off_marker_day",
        "tbil_day60_day_unknown",
        "meld_followup_no_estimate",
        "no_estimate",
    ]
    # The follow-up adds warnings, never changes the pooled result.
    assert a.meld_reduction == assess(req.inputs, evidence).meld_reduction


def test_baseline_tbil_below_pooled_with_followup(evidence: Evidence) -> None:
    req = request(meld=28, tbil=60, followup={"tbil_day60": {"value": 50, "day": 60}})
    a = run(req, evidence)
    assert a.followup is not None
    assert a.followup.markers[0].status == "at_or_below_pooled"
    # ACLF with TBIL 60 μmol/L: below the APASL definition (85 μmol/L) and the pooled 78.57.
    assert [w.code for w in a.warnings] == ["tbil_below_type_definition", "tbil_at_or_below_pooled"]


@pytest.mark.parametrize(
    ("baseline", "followup_unit", "canonical"),
    [
        # 6.8 mg/dL × 17.1 = 116.28 μmol/L (hand calculation)
        ({"tbil": 10, "tbil_unit": "mg/dL"}, None, 116.28),
        ({"tbil": 320, "tbil_unit": "umol/L"}, None, 6.8),
        ({"tbil": 320}, None, 6.8),  # no baseline unit: μmol/L, the default of both
        ({"tbil": 10, "tbil_unit": "mg/dL"}, "umol/L", 6.8),  # a unit given is kept
    ],
    ids=["mg/dL", "umol/L", "default", "given"],
)
def test_followup_tbil_without_a_unit_takes_the_baseline_unit(
    evidence: Evidence, baseline: dict[str, Any], followup_unit: str | None, canonical: float
) -> None:
    item: dict[str, Any] = {"value": 6.8, "day": 60}
    if followup_unit:
        item["unit"] = followup_unit
    req = request(meld=28, **baseline, followup={"tbil_day60": item})
    assert req.followup.tbil_day60 is not None
    assert req.followup.tbil_day60.canonical == pytest.approx(canonical, rel=1e-12)


def test_validate_labs_object_prefixes_lab_errors() -> None:
    with pytest.raises(InputError) as info:
        validate_labs_object({"bilirubin": 4.2}, allow_text=False)
    assert set(info.value.errors) == {
        "labs.bilirubin_unit",
        "labs.inr",
        "labs.creatinine_unit",
        "labs.dialysis",
    }
    labs = validate_labs_object(LABS_MELD_20, allow_text=False)
    assert compute_meld(labs).meld == 20  # worked example


def test_failure_type_is_the_enum() -> None:
    assert request(meld=28, failure_type="clf").inputs.failure_type is FailureType.CLF


@pytest.mark.parametrize("unit", ["mmol/L", ""], ids=repr)
def test_a_refused_baseline_unit_is_reported_once(unit: str) -> None:
    """The follow-up value without a unit does not repeat the baseline unit's error."""
    errors = request_errors(
        {**PATIENT, "meld": 28, "tbil_unit": unit, "followup": {"tbil_day60": {"value": 100}}}
    )
    assert set(errors) == {"tbil_unit"}
