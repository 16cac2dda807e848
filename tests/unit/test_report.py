"""The report: JSON-ready data (the API contract) and the plain-text summary.

Sources: pooled numbers from the Cao 2018 abstract; expected MELD after and
dates by hand calculation (see test_engine.py for the engine's own tables).
Rounding happens here, so the display helpers are pinned exactly.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest

from calc.engine import Assessment, assess
from calc.evidence import Evidence
from calc.inputs import PatientInputs
from calc.report import entered, meld_after_text, percent_text, summary_text, tbil_text, to_dict
from calc.version import __version__

MakeInputs = Callable[..., PatientInputs]

PATIENTS: list[Any] = [
    # overrides of the reference patient (ACLF, MELD 28, ALT 240 U/L, TBIL 320 μmol/L)
    pytest.param({}, id="ACLF-28"),
    pytest.param({"failure_type": "CLF"}, id="CLF-28"),
    pytest.param({"failure_type": "ALF"}, id="ALF-28"),
    pytest.param({"meld": 15}, id="ACLF-15-floored"),
    pytest.param({"tbil": 50}, id="TBIL-below-pooled"),
    pytest.param(
        {"alt": 4, "alt_unit": "ukat/L", "tbil": 5, "tbil_unit": "mg/dL"}, id="other-units"
    ),
    pytest.param({"transplant_date": "2024-02-15"}, id="with-date"),
]


@pytest.fixture(scope="module")
def report(evidence: Evidence, make_inputs: MakeInputs) -> Callable[..., dict[str, Any]]:
    def build(**overrides: Any) -> dict[str, Any]:
        return to_dict(assess(make_inputs(**overrides), evidence))

    return build


@pytest.fixture(scope="module")
def assessment(evidence: Evidence, make_inputs: MakeInputs) -> Callable[..., Assessment]:
    def build(**overrides: Any) -> Assessment:
        return assess(make_inputs(**overrides), evidence)

    return build


# --------------------------------------------------------------------------
# JSON


@pytest.mark.parametrize("overrides", PATIENTS)
def test_json_has_the_contract_keys(
    report: Callable[..., dict[str, Any]], overrides: dict[str, Any]
) -> None:
    d = report(**overrides)
    for key in ("input", "meld_reduction", "baseline_stratum", "markers", "warnings", "evidence"):
        assert key in d
    assert {"available", "mean", "reported_spread", "spread_kind", "expected_meld_after"} <= set(
        d["meld_reduction"]
    )
    assert d["baseline_stratum"] in {">=20", "<20"}
    assert d["markers"]["alt"]["check_day"] == 15  # Cao 2018 abstract: half a month
    assert d["markers"]["tbil"]["check_days"] == [60, 90]  # Cao 2018 abstract: 2 and 3 months
    assert d["markers"]["tbil"]["pooled_level_umol_l"] == 78.57  # Cao 2018 abstract, exact
    assert all(set(w) == {"code", "message"} for w in d["warnings"])
    assert d["evidence"]["version"] == "cao2018-abstract-v1"
    assert d["evidence"]["doi"] == "10.1155/2018/9231710"
    assert d["evidence"]["url"] == "https://doi.org/10.1155/2018/9231710"
    assert d["version"] == {"app": __version__, "evidence": "cao2018-abstract-v1"}
    assert d["summary_text"]


@pytest.mark.parametrize("overrides", PATIENTS)
def test_json_is_strict_json(
    report: Callable[..., dict[str, Any]], overrides: dict[str, Any]
) -> None:
    d = report(**overrides)
    # allow_nan=False raises on NaN / Infinity; a round trip changes nothing.
    assert json.loads(json.dumps(d, allow_nan=False)) == d


def test_json_for_the_reference_patient(report: Callable[..., dict[str, Any]]) -> None:
    d = report(transplant_date="2026-03-01")
    assert d["input"] == {
        "failure_type": "ACLF",
        "meld": 28,
        "alt_u_l": 240.0,
        "tbil_umol_l": 320.0,
        "alt_entered": {"value": 240.0, "unit": "U/L"},
        "tbil_entered": {"value": 320.0, "unit": "umol/L"},
        "transplant_date": "2026-03-01",
    }
    mr = d["meld_reduction"]
    # Cao 2018 abstract (14.93 ± 1.24) and hand calculation 28 − 14.93 = 13.07; exact.
    assert (mr["available"], mr["mean"], mr["reported_spread"]) == (True, 14.93, 1.24)
    assert (mr["spread_kind"], mr["as_printed"]) == ("unreported", "14.93 ± 1.24")
    assert (mr["expected_meld_after"], mr["bounded_at_floor"]) == (13.07, False)
    (scenario,) = mr["ranges"]
    assert scenario["kind"] == "scenario"
    assert mr["chance_of_improvement"]["value"] == pytest.approx(1.0, abs=1e-12)
    assert d["baseline_stratum"] == ">=20"
    assert d["stratum"]["p_value"] == "P = 0.003"
    # Hand calculation: 2026-03-01 + 15 / 60 / 90 days.
    assert d["markers"]["alt"]["check_date"] == "2026-03-16"
    assert d["markers"]["tbil"]["check_dates"] == ["2026-04-30", "2026-05-30"]
    # 320 − 78.57 = 241.43 μmol/L; tolerance 1e-9.
    assert d["markers"]["tbil"]["implied_decline_umol_l"] == pytest.approx(241.43, abs=1e-9)
    assert d["warnings"] == []


def test_json_for_a_floored_patient(report: Callable[..., dict[str, Any]]) -> None:
    mr = report(meld=15)["meld_reduction"]
    # 15 − 14.93 = 0.07 (exact decimal), shown bounded at the MELD floor of 6.
    assert mr["expected_meld_after"] == 6.0
    assert mr["expected_meld_after_unbounded"] == 0.07
    assert mr["bounded_at_floor"] is True


def test_json_for_alf_has_no_number(report: Callable[..., dict[str, Any]]) -> None:
    mr = report(failure_type="ALF")["meld_reduction"]
    assert mr["available"] is False
    for key in ("mean", "reported_spread", "expected_meld_after", "chance_of_improvement"):
        assert mr[key] is None
    assert mr["spread_kind"] == "none"
    assert mr["ranges"] == []
    assert mr["unavailable_reason"]


def test_json_warnings_carry_code_and_message(report: Callable[..., dict[str, Any]]) -> None:
    warnings = report(meld=15)["warnings"]
    assert [w["code"] for w in warnings] == ["meld_after_floor", "aclf_meld_below_20"]
    assert all(isinstance(w["message"], str) and w["message"] for w in warnings)


def test_json_numbers_are_plain_python_numbers(report: Callable[..., dict[str, Any]]) -> None:
    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        else:
            assert type(value) in (str, int, float, bool, type(None)), type(value)
            if type(value) is float:
                assert math.isfinite(value)

    walk(report(failure_type="CLF", transplant_date="2026-03-01"))


# --------------------------------------------------------------------------
# Plain text

SUMMARY: list[Any] = [
    # (overrides, phrases that must appear, phrases that must not)
    pytest.param(
        {},
        [
            "Inputs: ACLF; baseline MELD 28; ALT 240 U/L; TBIL 320 μmol/L",
            "Expected MELD decrease: 14.93 ± 1.24",  # Cao 2018 abstract
            "expected MELD after MSCT: 13.07",  # 28 − 14.93
            # 14.93 ± 1.96 × 1.24 = 12.5 to 17.4; MELD after 10.6 to 15.5 (hand calculation)
            "Scenario range (not a confidence interval): MELD decrease 12.5 to 17.4; "
            "MELD after 10.6 to 15.5",
            "chance of any MELD decrease > 99.9 %",
            "Baseline MELD stratum ≥ 20: this group had the larger MELD decrease",
            "P = 0.003",
            "[ ] ALT at day 15: expected below baseline 240 U/L",
            # 320 − 78.57 = 241.43 -> 241.4 μmol/L; 241.43 / 320 = 75 %
            "[ ] TBIL at days 60 and 90: pooled level 78.57 μmol/L; implied decline from "
            "baseline 320.0 μmol/L: 241.4 μmol/L (75 %).",
            "doi:10.1155/2018/9231710",
            f"(calc {__version__}, evidence cao2018-abstract-v1)",
            "9 articles, n = 476",
        ],
        ["Warnings:", "bounded"],
        id="ACLF-28",
    ),
    pytest.param(
        {"transplant_date": "2024-02-15"},
        [
            "MSCT date 2024-02-15",
            "ALT at day 15 (2024-03-01)",  # leap year: Feb 29 exists
            "TBIL at days 60 and 90 (2024-04-15, 2024-05-15)",
        ],
        [],
        id="with-date",
    ),
    pytest.param(
        {"meld": 20},
        [
            "expected MELD after MSCT: 6 (bounded at the MELD floor of 6)",  # 20 − 14.93 = 5.07
            "Warnings:",
            "MELD cannot fall below 6",
        ],
        ["5.07"],
        id="ACLF-20-floored",
    ),
    pytest.param(
        {"failure_type": "CLF"},
        [
            "Expected MELD decrease: 4.6 ± 5.66",  # Cao 2018 abstract
            "expected MELD after MSCT: 23.4",  # 28 − 4.6
            "chance of any MELD decrease 79 %",  # norm.sf(0, 4.6, 5.66) = 0.7918
            "± 5.66",
        ],
        [],
        id="CLF-28",
    ),
    pytest.param(
        {"failure_type": "ALF"},
        ["Expected MELD decrease: no estimate for ALF.", "No estimate for ALF"],
        ["14.93", "4.6 ±", "expected MELD after MSCT", "Scenario range"],
        id="ALF-28",
    ),
    pytest.param(
        {"alt": 4, "alt_unit": "ukat/L", "tbil": 5, "tbil_unit": "mg/dL"},
        [
            "ALT 4 μkat/L (= 240 U/L)",  # 4 × 60
            "TBIL 5 mg/dL (= 85.5 μmol/L)",  # 5 × 17.1
            "expected below baseline 4 μkat/L",
            # 78.57 / 17.1 = 4.59 mg/dL; 85.5 − 78.57 = 6.93 μmol/L = 0.41 mg/dL = 8 %
            "pooled level 4.59 mg/dL; implied decline from baseline 5.00 mg/dL: 0.41 mg/dL (8 %)",
        ],
        [],
        id="other-units",
    ),
    pytest.param(
        {"tbil": 78.57},
        ["pooled level 78.57 μmol/L; baseline already at or below it", "not informative"],
        ["implied decline from"],
        id="TBIL-at-pooled",
    ),
    pytest.param(
        {"alt": 12345.678},
        ["ALT 12345.678 U/L", "expected below baseline 12345.678 U/L"],
        ["12345.7"],
        id="entered-as-typed",
    ),
]


@pytest.mark.parametrize(("overrides", "present", "absent"), SUMMARY)
def test_summary_text(
    assessment: Callable[..., Assessment],
    overrides: dict[str, Any],
    present: list[str],
    absent: list[str],
) -> None:
    text = summary_text(assessment(**overrides))
    for phrase in present:
        assert phrase in text
    for phrase in absent:
        assert phrase not in text


@pytest.mark.parametrize("overrides", PATIENTS)
def test_summary_text_is_in_the_json(
    assessment: Callable[..., Assessment], overrides: dict[str, Any]
) -> None:
    a = assessment(**overrides)
    assert to_dict(a)["summary_text"] == summary_text(a)


def test_every_warning_is_in_the_summary(assessment: Callable[..., Assessment]) -> None:
    a = assessment(failure_type="ACLF", meld=15, tbil=50)
    assert len(a.warnings) == 3
    text = summary_text(a)
    for w in a.warnings:
        assert f"  - {w.message}" in text


# --------------------------------------------------------------------------
# Display helpers (rounding at the edge)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "13.07"),  # 28 − 14.93, two decimals as printed
        ({"meld": 21}, "6.07"),
        ({"meld": 20}, "6"),  # bounded: the floor itself
        ({"failure_type": "CLF"}, "23.4"),  # 28 − 4.6, one decimal as printed
        ({"failure_type": "CLF", "meld": 30}, "25.4"),
        ({"failure_type": "ALF"}, "no estimate"),
    ],
    ids=["ACLF-28", "ACLF-21", "ACLF-20", "CLF-28", "CLF-30", "ALF"],
)
def test_meld_after_text(
    assessment: Callable[..., Assessment], overrides: dict[str, Any], expected: str
) -> None:
    assert meld_after_text(assessment(**overrides)) == expected


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (0.0, "< 0.1 %"),
        (0.0009, "< 0.1 %"),
        (0.004, "0.4 %"),
        (0.005, "0.5 %"),  # not "0 %": a chance never rounds to zero
        (0.5, "50 %"),
        (0.7918, "79 %"),
        (0.99, "99 %"),
        (0.996, "99.6 %"),  # not "100 %": a chance never rounds to certainty
        (0.999, "99.9 %"),
        (0.9995, "> 99.9 %"),
        (1.0, "> 99.9 %"),
    ],
    ids=str,
)
def test_percent_text(p: float, expected: str) -> None:
    assert percent_text(p) == expected


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (240.0, "240"),
        (12.5, "12.5"),
        (0.02, "0.02"),
        (12345.678, "12345.678"),
        (50000.0, "50000"),
        (0.1 * 17.1, "1.71"),  # float noise (1.7100000000000002) is not shown
    ],
    ids=["240", "12.5", "0.02", "12345.678", "50000", "float-noise"],
)
def test_entered(x: float, expected: str) -> None:
    assert entered(x) == expected


@pytest.mark.parametrize(
    ("umol_l", "unit", "expected"),
    [
        (320.0, "umol/L", "320.0 μmol/L"),
        (78.57, "mg/dL", "4.59 mg/dL"),
        (85.5, "mg/dL", "5.00 mg/dL"),
    ],
    ids=["umol", "pooled-in-mg", "85.5-in-mg"],
)
def test_tbil_text(umol_l: float, unit: str, expected: str) -> None:
    assert tbil_text(umol_l, unit) == expected
