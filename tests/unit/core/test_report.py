"""The report: JSON-ready data (the API contract) and the plain-text summary.

Sources: pooled numbers from the Cao 2018 abstract; expected MELD after and
dates by hand calculation (see test_engine.py for the engine's own tables).
Rounding happens here, so the display helpers are pinned exactly.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

import calc.core.report
from calc.core.engine import assess
from calc.core.evidence import Evidence, FailureType
from calc.core.inputs import PatientInputs
from calc.core.report import (
    context_dict,
    context_lines,
    date_words,
    entered,
    meld_after_exact_text,
    meld_after_text,
    note_text,
    summary_text,
    tbil_text,
    to_dict,
)
from calc.core.results import Assessment
from calc.version import __version__

ALL_TYPES = ["ACLF", "CLF", "ALF", "SALF"]

MakeInputs = Callable[..., PatientInputs]

PATIENTS: list[Any] = [
    # overrides of the reference patient (ACLF, MELD 28, ALT 240 U/L, TBIL 320 μmol/L)
    pytest.param({}, id="ACLF-28"),
    pytest.param({"failure_type": "CLF"}, id="CLF-28"),
    pytest.param({"failure_type": "ALF"}, id="ALF-28"),
    pytest.param({"failure_type": "SALF"}, id="SALF-28"),
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
    assert {
        "available",
        "mean",
        "reported_spread",
        "spread_kind",
        "expected_meld_after",
        "expected_meld_after_display",
    } <= set(d["meld_reduction"])
    if d["meld_reduction"]["available"]:
        assert d["baseline_stratum"] in {">=20", "<20"}
    else:  # ALF, SALF: the baseline-MELD finding qualifies no number
        assert (d["baseline_stratum"], d["stratum"]) == (None, None)
    assert d["markers"]["alt"]["check_day"] == 15  # Cao 2018 abstract: half a month
    assert d["markers"]["tbil"]["check_days"] == [60, 90]  # Cao 2018 abstract: 2 and 3 months
    assert d["markers"]["tbil"]["pooled_level_umol_l"] == 78.57  # Cao 2018 abstract, exact
    assert all(set(w) == {"code", "title", "message", "demotes_headline"} for w in d["warnings"])
    assert all(type(w["demotes_headline"]) is bool for w in d["warnings"])
    assert d["evidence"]["version"] == "cao2018-abstract-v2"
    assert d["evidence"]["doi"] == "10.1155/2018/9231710"
    assert d["evidence"]["url"] == "https://doi.org/10.1155/2018/9231710"
    assert d["version"] == {
        "app": __version__,
        "evidence": "cao2018-abstract-v2",
        "context_evidence": "ding2024-abstract-v1",
    }
    assert d["context_evidence"]["used_in_calculation"] is False
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
    assert mr["expected_meld_after_display"] == 13
    assert mr["ranges"] == []  # the kind of ± is unreported: no range
    assert "chance_of_improvement" not in mr
    assert d["baseline_stratum"] == ">=20"
    assert d["stratum"]["p_value"] == "P = 0.003"
    # Hand calculation: 2026-03-01 + 15 / 60 / 90 days.
    assert d["markers"]["alt"]["check_date"] == "2026-03-16"
    assert d["markers"]["tbil"]["check_dates"] == ["2026-04-30", "2026-05-30"]
    assert not [k for k in d["markers"]["tbil"] if "decline" in k]
    assert d["warnings"] == []
    assert (d["markers"]["population_note"], d["scope_note"]) == (None, None)


def test_json_for_a_floored_patient(report: Callable[..., dict[str, Any]]) -> None:
    mr = report(meld=15)["meld_reduction"]
    # 15 − 14.93 = 0.07 (exact decimal), shown bounded at the MELD floor of 6.
    assert mr["expected_meld_after"] == 6.0
    assert mr["expected_meld_after_display"] == 6
    assert mr["expected_meld_after_unbounded"] == 0.07
    assert mr["bounded_at_floor"] is True


@pytest.mark.parametrize("ft", ["ALF", "SALF"])
def test_json_for_alf_has_no_number(report: Callable[..., dict[str, Any]], ft: str) -> None:
    d = report(failure_type=ft)
    mr = d["meld_reduction"]
    assert mr["available"] is False
    for key in ("mean", "reported_spread", "expected_meld_after", "expected_meld_after_display"):
        assert mr[key] is None
    assert "chance_of_improvement" not in mr
    assert mr["spread_kind"] == "none"
    assert mr["ranges"] == []
    assert mr["unavailable_reason"]


def test_json_warnings_carry_code_title_message_and_demotion(
    report: Callable[..., dict[str, Any]],
) -> None:
    warnings = report(meld=15)["warnings"]
    assert [w["code"] for w in warnings] == ["meld_after_floor", "baseline_meld_below_20"]
    assert [w["title"] for w in warnings] == ["Limited by the MELD floor", "Baseline MELD below 20"]
    assert [w["demotes_headline"] for w in warnings] == [True, False]
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

KIND_UNREPORTED = (
    "the source prints ± without saying whether it is a standard deviation (SD) or a "
    "standard error (SE), or how many patients it covers, so no range or probability can be "
    "derived from it"
)
SUMMARY: list[Any] = [
    # (overrides, phrases that must appear, phrases that must not)
    pytest.param(
        {},
        [
            "Inputs: ACLF; baseline MELD 28; ALT 240 U/L; TBIL 320 μmol/L",
            # 28 − 14.93 = 13.07 (Cao 2018 abstract; exact) -> about 13
            "Expected MELD after MSCT: about 13 — the fall from baseline seen in treated "
            "patients (before/after, no control group); time point not reported "
            "(baseline 28 − 14.93 = 13.07).",
            f"Pooled ACLF MELD decrease: 14.93 ± 1.24 as printed; {KIND_UNREPORTED}.",
            "Baseline MELD ≥ 20: in the meta-analysis this group had the larger MELD decrease",
            "P = 0.003",
            'ALT: In the pooled patients, ALT had fallen at about day 15 ("half a month", '
            "P < 0.05); the size of the fall was not reported. Date to check: day 15.",
            "TBIL: In the pooled patients, TBIL had declined to a stable level of 78.57 μmol/L "
            'at "2 and 3 months" (P < 0.05). Dates to check: days 60 and 90.',
            "doi:10.1155/2018/9231710",
            f"(calc {__version__} · evidence cao2018-abstract-v2 · "
            "context evidence ding2024-abstract-v1)",
            "9 articles, n = 476",
            "doi:10.12449/JCH240822",
        ],
        ["Warnings:", "bounded", "[ ]", "13.1", "no ALF", "urgent liver transplantation"],
        id="ACLF-28",
    ),
    pytest.param(
        {"transplant_date": "2024-02-15"},
        [
            "MSCT date 2024-02-15 (15 February 2024)",
            "Date to check: day 15, 2024-03-01 (1 March 2024).",  # leap year: Feb 29 exists
            "Dates to check: days 60 and 90, 2024-04-15 (15 April 2024), 2024-05-15 (15 May 2024).",
        ],
        [],
        id="with-date",
    ),
    pytest.param(
        {"meld": 20},
        [
            # 20 − 14.93 = 5.07, bounded at the floor
            "Expected MELD after MSCT: 6 (the lowest MELD)",
            "(baseline 20 − 14.93 = 5.07, bounded at the MELD floor of 6).",
            "Warnings:",
            "  - Limited by the MELD floor: ",
            "MELD cannot fall below 6",
        ],
        ["about 6"],
        id="ACLF-20-floored",
    ),
    pytest.param(
        {"failure_type": "CLF"},
        [
            f"Pooled CLF MELD decrease: 4.6 ± 5.66 as printed; {KIND_UNREPORTED}.",  # Cao 2018
            "Expected MELD after MSCT: about 23",  # 28 − 4.6 = 23.4
            "(baseline 28 − 4.6 = 23.4).",
            "No controlled MELD estimate (MSC versus control) was found for CLF.",
        ],
        ["%", "-3.27", "Ding"],
        id="CLF-28",
    ),
    pytest.param(
        {"failure_type": "ALF"},
        [
            "Expected MELD after MSCT: no estimate for ALF.",
            "No estimate for ALF",
            "there are no ALF-specific data",
            "Nothing in this result addresses assessment for urgent liver transplantation.",
        ],
        ["14.93", "4.6 ±", "MSCT: about", "Baseline MELD ≥", "Baseline MELD <", "-3.27"],
        id="ALF-28",
    ),
    pytest.param(
        {"failure_type": "SALF", "meld": 15},
        [
            "Inputs: SALF; baseline MELD 15",
            "Expected MELD after MSCT: no estimate for SALF.",
            "there are no SALF-specific data",
            "No controlled MELD estimate (MSC versus control) was found for SALF.",
            "urgent liver transplantation",
        ],
        ["14.93", "4.6 ±", "MSCT: about", "Baseline MELD <", "Baseline MELD below 20", "-3.27"],
        id="SALF-15",
    ),
    pytest.param(
        {"alt": 4, "alt_unit": "ukat/L", "tbil": 5, "tbil_unit": "mg/dL"},
        [
            "ALT 4 μkat/L (= 240 U/L)",  # 4 × 60
            "TBIL 5 mg/dL (= 85.5 μmol/L)",  # 5 × 17.1
            "stable level of 78.57 μmol/L",  # the pooled level as printed
        ],
        ["78.6"],
        id="other-units",
    ),
    pytest.param(
        {"tbil": 78.57},
        ["stable level of 78.57 μmol/L", "This patient's baseline is already at or below that"],
        ["implied", "78.6"],
        id="TBIL-at-pooled",
    ),
    pytest.param(
        {"alt": 12345.678},
        ["ALT 12345.678 U/L"],
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
    assert [w.code for w in a.warnings] == [
        "tbil_below_type_definition",  # 50 < 85 μmol/L (APASL)
        "meld_after_floor",
        "baseline_meld_below_20",
        "tbil_at_or_below_pooled",  # 50 ≤ 78.57 μmol/L (Cao 2018 abstract)
    ]
    text = summary_text(a)
    for w in a.warnings:
        assert f"  - {w.title}: {w.message}" in text


# --------------------------------------------------------------------------
# The note (at most six lines to paste into a clinical record)


@pytest.mark.parametrize("overrides", PATIENTS)
@pytest.mark.hazard("H-16")
def test_h16_note_text_is_at_most_six_lines_with_what_the_chart_needs(
    assessment: Callable[..., Assessment], overrides: dict[str, Any]
) -> None:
    a = assessment(**overrides)
    note = note_text(a, assessed="3 December 2026", reference="  bed 4  ")
    lines = note.split("\n")
    assert len(lines) <= 6
    assert lines[0] == "MSCT liver-failure assessment, 3 December 2026, patient ref bed 4"
    assert "cao2018-abstract-v2" in note
    assert "ding2024-abstract-v1" in note
    for w in a.warnings:
        assert w.title in note


def test_note_text_for_the_reference_patient(assessment: Callable[..., Assessment]) -> None:
    note = note_text(assessment(), assessed="today", reference=None)
    lines = note.split("\n")
    assert lines[:4] == [
        "MSCT liver-failure assessment, today",
        "ACLF; baseline MELD 28.",
        # 28 − 14.93 = 13.07 -> about 13 (Cao 2018 abstract; exact)
        "Expected MELD after MSCT: about 13 (the fall from baseline seen in treated patients "
        "(before/after, no control group); time point not reported).",
        "Warnings: none.",
    ]
    assert (
        "controlled context Ding et al. 2024, doi:10.12449/JCH240822 (not used in the calculation)"
        in lines[4]
    )


@pytest.mark.parametrize("ft", ["ALF", "SALF"])
def test_note_text_without_an_estimate(assessment: Callable[..., Assessment], ft: str) -> None:
    note = note_text(assessment(failure_type=ft), assessed="today", reference="")
    assert f"Expected MELD after MSCT: no estimate for {ft}." in note
    assert "Warnings: No estimate for this type." in note
    assert "patient ref" not in note
    assert "Ding" not in note


# --------------------------------------------------------------------------
# Display helpers (rounding at the edge)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "about 13"),  # 28 − 14.93 = 13.07 -> 13 (Cao 2018 abstract; exact)
        ({"meld": 21}, "about 6"),  # 21 − 14.93 = 6.07 -> 6, not bounded
        ({"meld": 20}, "6 (the lowest MELD)"),  # 5.07, bounded: the floor itself
        ({"failure_type": "CLF"}, "about 23"),  # 28 − 4.6 = 23.4 -> 23
        ({"failure_type": "CLF", "meld": 30}, "about 25"),  # 30 − 4.6 = 25.4 -> 25
        ({"failure_type": "ALF"}, "no estimate"),
        ({"failure_type": "SALF"}, "no estimate"),
    ],
    ids=["ACLF-28", "ACLF-21", "ACLF-20", "CLF-28", "CLF-30", "ALF", "SALF"],
)
def test_meld_after_text(
    assessment: Callable[..., Assessment], overrides: dict[str, Any], expected: str
) -> None:
    assert meld_after_text(assessment(**overrides)) == expected


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "28 − 14.93 = 13.07"),  # Cao 2018 abstract; exact decimals
        ({"meld": 21}, "21 − 14.93 = 6.07"),
        ({"meld": 15}, "15 − 14.93 = 0.07, bounded at the MELD floor of 6"),
        ({"failure_type": "CLF"}, "28 − 4.6 = 23.4"),
        ({"failure_type": "CLF", "meld": 6}, "6 − 4.6 = 1.4, bounded at the MELD floor of 6"),
        ({"failure_type": "ALF"}, "no estimate"),
    ],
    ids=["ACLF-28", "ACLF-21", "ACLF-15", "CLF-28", "CLF-6", "ALF"],
)
def test_meld_after_exact_text(
    assessment: Callable[..., Assessment], overrides: dict[str, Any], expected: str
) -> None:
    assert meld_after_exact_text(assessment(**overrides)) == expected


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2026, 12, 3), "3 December 2026"),  # day and month apart: 12/3 or 3/12
        (date(2024, 2, 29), "29 February 2024"),
        (date(2000, 1, 1), "1 January 2000"),
    ],
    ids=str,
)
def test_date_words(d: date, expected: str) -> None:
    assert date_words(d) == expected


@pytest.mark.hazard("H-01")
def test_h01_percent_text_is_gone() -> None:
    """The chance of improvement had its own formatter; nothing may format one now."""
    assert not hasattr(calc.core.report, "percent_text")


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
        (320.0, "umol/L", "320 μmol/L"),
        # A baseline at the pooled 78.57 μmol/L (Cao 2018 abstract) is never shown as 78.6,
        # which would read as above the level it is at.
        (78.57, "umol/L", "78.57 μmol/L"),
        (78.58, "umol/L", "78.58 μmol/L"),
        (4.59 * 17.1, "mg/dL", "4.59 mg/dL"),  # as typed, without float noise
        (4.594 * 17.1, "mg/dL", "4.594 mg/dL"),  # not 4.59, the pooled level in mg/dL
        (85.5, "mg/dL", "5 mg/dL"),  # 85.5 / 17.1 = 5
    ],
    ids=["umol", "78.57", "78.58", "4.59-mg", "4.594-mg", "85.5-in-mg"],
)
def test_tbil_text(umol_l: float, unit: str, expected: str) -> None:
    assert tbil_text(umol_l, unit) == expected


def test_input_line_converts_mg_dl_without_rounding_across_the_pooled_level(
    assessment: Callable[..., Assessment],
) -> None:
    # 4.594 mg/dL × 17.1 = 78.5574 μmol/L (hand calculation): at or below 78.57, and shown so.
    a = assessment(tbil=4.594, tbil_unit="mg/dL")
    assert a.tbil.informative is False
    assert "TBIL 4.594 mg/dL (= 78.5574 μmol/L)" in summary_text(a)


# --------------------------------------------------------------------------
# Hazards: numbers the evidence cannot support are absent from the JSON and the text


def all_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in all_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in all_keys(v)}
    return set()


@pytest.mark.parametrize("ft", ALL_TYPES)
@pytest.mark.hazard("H-01")
def test_h01_no_chance_of_improvement_in_json_or_text(
    assessment: Callable[..., Assessment], ft: str
) -> None:
    a = assessment(failure_type=ft)
    d = to_dict(a)
    assert not [k for k in all_keys(d) if "chance" in k or "probab" in k]
    for text in (summary_text(a), json.dumps(d, ensure_ascii=False)):
        lowered = text.lower()
        assert "chance" not in lowered
        assert "> 99.9 %" not in text
        assert not re.search(r"\b\d+(\.\d+)? ?% (chance|of patients)", text)
    # CLF: norm.sf(0, 4.6, 5.66) = 0.7918 was shown as "79 %" (Cao 2018 abstract numbers).
    assert "79 %" not in summary_text(a)


@pytest.mark.parametrize("ft", ["ACLF", "CLF"])
@pytest.mark.hazard("H-02")
def test_h02_no_range_from_a_plus_minus_of_unreported_kind(
    assessment: Callable[..., Assessment], ft: str
) -> None:
    a = assessment(failure_type=ft)
    d = to_dict(a)
    mr = d["meld_reduction"]
    assert mr["ranges"] == []
    printed = {"ACLF": "14.93 ± 1.24", "CLF": "4.6 ± 5.66"}[ft]  # Cao 2018 abstract
    assert mr["as_printed"] == printed
    assert mr["spread_kind"] == "unreported"
    assert mr["spread_kind_text"] == KIND_UNREPORTED
    text = summary_text(a)
    assert f"{printed} as printed; {KIND_UNREPORTED}." in text
    for t in (text, json.dumps(d, ensure_ascii=False)):
        assert "scenario" not in t.lower()
        assert "95% of patients" not in t
        assert "About 95%" not in t
    # ACLF: 14.93 ± 1.96 × 1.24 = 12.5 to 17.4, MELD after 10.6 to 15.5 was the old range.
    assert "12.5 to 17.4" not in text and "10.6 to 15.5" not in text


@pytest.mark.parametrize("ft", ALL_TYPES)
@pytest.mark.parametrize(
    ("tbil", "unit"), [(320, "umol/L"), (10, "mg/dL")], ids=["320-umol", "10-mg"]
)
@pytest.mark.hazard("H-03")
def test_h03_no_implied_tbil_decline_in_json_or_text(
    assessment: Callable[..., Assessment], ft: str, tbil: float, unit: str
) -> None:
    a = assessment(failure_type=ft, tbil=tbil, tbil_unit=unit)
    d = to_dict(a)
    assert not [k for k in all_keys(d) if "decline" in k]
    for text in (summary_text(a), json.dumps(d, ensure_ascii=False)):
        assert "implied decline" not in text.lower()
        assert "decline from baseline" not in text.lower()
    # 320 − 78.57 = 241.43 μmol/L, 75 %; 171 − 78.57 = 92.43 μmol/L = 5.41 mg/dL, 54 %
    # (hand calculation, Cao 2018 pooled level): the old implied declines.
    text = summary_text(a)
    for old in ("241.4", "75 %", "5.41 mg/dL", "54 %"):
        assert old not in text


@pytest.mark.hazard("H-04")
def test_h04_headline_json_keeps_full_precision(report: Callable[..., dict[str, Any]]) -> None:
    # Cao 2018 abstract: 28 − 14.93 = 13.07, shown as 13; the JSON keeps 13.07 exactly.
    mr = report()["meld_reduction"]
    assert mr["expected_meld_after"] == 13.07
    assert mr["expected_meld_after_unbounded"] == 13.07
    assert mr["expected_meld_after_display"] == 13
    assert type(mr["expected_meld_after_display"]) is int
    assert "before/after, no control group" in mr["what_it_is"]
    assert "time point not reported" in mr["what_it_is"]


@pytest.mark.hazard("H-04")
def test_h04_headline_text_is_about_a_whole_number(assessment: Callable[..., Assessment]) -> None:
    a = assessment()
    assert meld_after_text(a) == "about 13"
    assert meld_after_exact_text(a) == "28 − 14.93 = 13.07"
    text = summary_text(a)
    (line,) = [t for t in text.split("\n") if t.startswith("Expected MELD after MSCT:")]
    assert line.startswith("Expected MELD after MSCT: about 13 — ")
    assert "before/after, no control group" in line
    assert "time point not reported" in line
    assert "13.07" in line  # the exact working beside it


@pytest.mark.hazard("H-04")
def test_h04_half_up_at_a_tie(
    evidence: Evidence, make_inputs: Callable[..., PatientInputs]
) -> None:
    # Made-up evidence (mean 0.5, no paper): 28 − 0.5 = 27.5 -> "about 28".
    aclf = dataclasses.replace(evidence.meld_reduction[FailureType.ACLF], mean=0.5)
    ev = dataclasses.replace(
        evidence, meld_reduction={**evidence.meld_reduction, FailureType.ACLF: aclf}
    )
    a = assess(make_inputs(meld=28), ev)
    assert meld_after_text(a) == "about 28"
    assert meld_after_exact_text(a) == "28 − 0.5 = 27.5"
    d = to_dict(a)["meld_reduction"]
    assert (d["expected_meld_after"], d["expected_meld_after_display"]) == (27.5, 28)
    # 27 − 0.5 = 26.5 -> "about 27" (half to even would give 26).
    assert meld_after_text(assess(make_inputs(meld=27), ev)) == "about 27"


@pytest.mark.hazard("H-04")
def test_h04_floor_warning_demotes_the_headline_in_json(
    report: Callable[..., dict[str, Any]],
) -> None:
    # ACLF baseline MELD 14: 14 − 14.93 = −0.93 (Cao 2018 abstract; exact), bounded at 6.
    d = report(meld=14)
    (floor,) = [w for w in d["warnings"] if w["code"] == "meld_after_floor"]
    assert floor["demotes_headline"] is True
    assert d["meld_reduction"]["expected_meld_after_display"] == 6


# Ding H et al. Therapeutic effect of mesenchymal stem cells on acute-on-chronic liver
# failure: a meta-analysis. J Clin Hepatol 2024;40(8):1646-1652, doi:10.12449/JCH240822,
# abstract: every number as printed there (exact strings; tolerance: none).
DING_2024 = [
    # (outcome, time, measure, estimate, CI low, CI high, P as printed)
    ("survival", "8 weeks", "OR", "2.71", "1.58", "4.67", "P = 0.000 3"),
    ("survival", "12 weeks", "OR", "2.24", "1.36", "3.69", "P = 0.001"),
    ("survival", "24 weeks", "OR", "2.09", "1.37", "3.17", "P = 0.000 6"),
    ("survival", "48 weeks", "OR", "2.09", "1.29", "3.40", "P = 0.003"),
    ("MELD score", "12 weeks", "MD", "-3.27", "-6.07", "-0.48", "P = 0.02"),
    ("MELD score", "24 weeks", "MD", "-2.24", "-3.16", "-1.33", "P < 0.000 01"),
    ("TBil", "4 weeks after treatment", "MD", "-36.86", "-48.72", "-25.01", "P < 0.000 01"),
]
PRINTED_EFFECT = re.compile(
    r"^(?P<measure>OR|MD) = (?P<est>-?\d+\.\d+), 95%CI: (?P<low>-?\d+\.\d+)~(?P<high>-?\d+\.\d+)$"
)


@pytest.mark.hazard("H-05")
def test_h05_controlled_evidence_for_aclf_as_printed(
    assessment: Callable[..., Assessment],
) -> None:
    a = assessment()
    ctx = to_dict(a)["context_evidence"]
    assert ctx == context_dict(a)
    assert (ctx["available"], ctx["used_in_calculation"]) == (True, False)
    assert ctx["version"] == "ding2024-abstract-v1"
    assert ctx["doi"] == "10.12449/JCH240822"
    assert ctx["url"] == "https://doi.org/10.12449/JCH240822"
    assert (ctx["articles"], ctx["participants"]) == (11, 803)
    assert ctx["citation"].startswith("Ding H")
    assert "J Clin Hepatol 2024;40(8):1646-1652" in ctx["citation"]
    assert ctx["document_read"] == "abstract"
    shown = {}
    for o in ctx["outcomes"]:
        m = PRINTED_EFFECT.fullmatch(o["as_printed"])
        assert m, o["as_printed"]
        assert m["measure"] == o["measure"]
        shown[(o["outcome"], o["time"])] = (
            o["measure"],
            m["est"],
            m["low"],
            m["high"],
            o["p_as_printed"],
        )
    for outcome, time, *printed in DING_2024:
        assert shown[(outcome, time)] == tuple(printed), (outcome, time)


@pytest.mark.hazard("H-05")
def test_h05_context_lines_show_the_ding_numbers_apart(
    assessment: Callable[..., Assessment],
) -> None:
    text = summary_text(assessment())
    lines = context_lines(assessment())
    assert lines[0].startswith("Controlled evidence (context, not used in the calculation)")
    assert "11 articles, 803 participants" in lines[0]
    assert "doi:10.12449/JCH240822 (evidence ding2024-abstract-v1)" in lines[0]
    assert "MELD score at 12 weeks: MD = -3.27, 95%CI: -6.07~-0.48, P = 0.02" in lines
    assert "MELD score at 24 weeks: MD = -2.24, 95%CI: -3.16~-1.33, P < 0.000 01" in lines
    assert "survival at 8 weeks: OR = 2.71, 95%CI: 1.58~4.67, P = 0.000 3" in lines
    assert "never added, subtracted or merged" in lines[-1]
    for line in lines:
        assert line in text
    # Both versions named.
    assert "evidence cao2018-abstract-v2" in text
    assert "context evidence ding2024-abstract-v1" in text


@pytest.mark.parametrize("ft", ["CLF", "ALF", "SALF"])
@pytest.mark.hazard("H-05")
def test_h05_no_controlled_estimate_outside_aclf(
    assessment: Callable[..., Assessment], ft: str
) -> None:
    a = assessment(failure_type=ft)
    d = to_dict(a)
    message = f"No controlled MELD estimate (MSC versus control) was found for {ft}."
    assert d["context_evidence"] == {
        "available": False,
        "used_in_calculation": False,
        "message": message,
    }
    text = summary_text(a)
    assert message in text
    for t in (text, json.dumps(d, ensure_ascii=False)):
        for number in ("2.71", "-3.27", "-2.24", "-36.86", "803"):
            assert number not in t
    # The version of the context evidence is still named in the stamp.
    assert d["version"]["context_evidence"] == "ding2024-abstract-v1"


@pytest.mark.parametrize("ft", ["ALF", "SALF"])
@pytest.mark.hazard("H-06")
def test_h06_no_estimate_types_in_json_and_text(
    assessment: Callable[..., Assessment], ft: str
) -> None:
    a = assessment(failure_type=ft, meld=28)
    d = to_dict(a)
    assert d["meld_reduction"]["available"] is False
    assert d["meld_reduction"]["unavailable_reason"]
    assert (d["baseline_stratum"], d["stratum"]) == (None, None)
    assert f"no {ft}-specific data" in d["markers"]["population_note"]
    assert "urgent liver transplantation" in d["scope_note"]
    text = summary_text(a)
    assert "Baseline MELD ≥ 20" not in text
    assert "urgent liver transplantation" in text
    assert f"no {ft}-specific data" in text


@pytest.mark.hazard("H-08")
def test_h08_alt_is_the_sources_finding_not_a_forecast(
    assessment: Callable[..., Assessment],
) -> None:
    for ft in ALL_TYPES:
        a = assessment(failure_type=ft, transplant_date="2026-03-01")
        d = to_dict(a)
        assert d["markers"]["alt"]["finding"].startswith(
            "In the pooled patients, ALT had fallen at about day 15"
        )
        assert "expected" not in d["markers"]["alt"]
        text = summary_text(a)
        assert "In the pooled patients, ALT had fallen at about day 15" in text
        for t in (text, json.dumps(d, ensure_ascii=False)):
            assert "expected to fall" not in t.lower()
            assert "expected below baseline" not in t.lower()


@pytest.mark.parametrize("overrides", PATIENTS)
@pytest.mark.hazard("H-09")
def test_h09_pooled_tbil_as_printed_never_rounded(
    assessment: Callable[..., Assessment], overrides: dict[str, Any]
) -> None:
    # Cao 2018 abstract: "78.57 μmol/L"; a rounding to 78.6 must never be shown.
    lower = [{"tbil": 50, "tbil_unit": "umol/L"}, {"tbil": 78.57, "tbil_unit": "umol/L"}]
    for tbil in [{}, *lower, {"tbil": 2.9, "tbil_unit": "mg/dL"}]:
        a = assessment(**{**overrides, **tbil})
        text = summary_text(a)
        d = to_dict(a)
        messages = " ".join(w["message"] for w in d["warnings"])
        findings = d["markers"]["tbil"]["finding"]
        for t in (text, messages, findings):
            assert "78.6" not in t
        assert "78.57 μmol/L" in text
        assert "78.57 μmol/L" in findings
        if a.inputs.tbil_unit.value == "umol/L" and not a.tbil.informative:
            assert "pooled level of 78.57 μmol/L" in messages
