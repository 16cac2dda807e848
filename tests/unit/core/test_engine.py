"""The assessment engine: pinned numbers, warnings, intervals, properties, purity.

Sources: the pooled numbers are from the Cao 2018 abstract (14.93 ± 1.24
ACLF, 4.6 ± 5.66 CLF, TBIL 78.57 μmol/L at days 60/90, ALT at day 15,
baseline MELD 20 threshold). The ACLF bilirubin definition (TBIL ≥ 5 mg/dL =
85 μmol/L) is APASL's (Sarin et al., Hepatol Int 2019). Everything else is a
hand calculation written next to it, or an independent SciPy computation
inside the test.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calc.core.engine import NO_ESTIMATE_SCOPE_NOTE, assess, round_meld_half_up
from calc.core.evidence import Dispersion, DispersionKind, Evidence, FailureType
from calc.core.inputs import (
    ALT_RANGES,
    DATE_HIGH,
    DATE_LOW,
    MELD_RANGE,
    TBIL_RANGES,
    AltUnit,
    InputError,
    PatientInputs,
    TbilUnit,
    validate_inputs,
)
from calc.core.results import Assessment, RangeEstimate
from calc.core.rules import MELD_CAP, MELD_FLOOR, decimals_of, subtract_printed
from calc.version import __version__

ACLF, CLF, ALF, SALF = FailureType.ACLF, FailureType.CLF, FailureType.ALF, FailureType.SALF
NO_ESTIMATE = (ALF, SALF)
MakeInputs = Callable[..., PatientInputs]

# The warnings of the baseline assessment (no labs, no follow-up), in the engine's order:
# plausibility of the inputs, then the limits of the evidence.
WARNING_ORDER = (
    "tbil_below_type_definition",
    "meld_below_10",
    "alt_below_5",
    "no_estimate",
    "meld_after_floor",
    "baseline_meld_below_20",
    "spread_exceeds_mean",
    "tbil_at_or_below_pooled",
)
WARNING_CODES = frozenset(WARNING_ORDER)


def codes(a: Assessment) -> set[str]:
    return {w.code for w in a.warnings}


# --------------------------------------------------------------------------
# Exact arithmetic on printed numbers


@pytest.mark.parametrize(
    ("x", "places"),
    [(14.93, 2), (1.24, 2), (4.6, 1), (5.66, 2), (28.0, 0), (78.57, 2), (20.0, 0)],
    ids=["14.93", "1.24", "4.6", "5.66", "28", "78.57", "20"],
)
def test_decimals_of(x: float, places: int) -> None:
    assert decimals_of(x) == places


# --------------------------------------------------------------------------
# Expected MELD after MSCT = baseline − pooled decrease, bounded to 6–40

MELD_AFTER: list[Any] = [
    # (type, baseline, expected after, shown (whole, half up), unbounded, bounded at 6)
    # Cao 2018 abstract means, hand calculation in exact decimals; exact equality.
    pytest.param(ACLF, 28, 13.07, 13, 13.07, False, id="ACLF-28-is-13.07"),  # 28 − 14.93
    pytest.param(ACLF, 40, 25.07, 25, 25.07, False, id="ACLF-40-is-25.07"),  # 40 − 14.93
    pytest.param(ACLF, 21, 6.07, 6, 6.07, False, id="ACLF-21-is-6.07"),  # 21 − 14.93
    pytest.param(ACLF, 20, 6.0, 6, 5.07, True, id="ACLF-20-floored"),  # 20 − 14.93 = 5.07 < 6
    # 15 − 14.93 = 0.07 exactly (naive float subtraction gives 0.07000000000000028)
    pytest.param(ACLF, 15, 6.0, 6, 0.07, True, id="ACLF-15-floored"),
    pytest.param(ACLF, 6, 6.0, 6, -8.93, True, id="ACLF-6-floored"),  # 6 − 14.93
    pytest.param(CLF, 28, 23.4, 23, 23.4, False, id="CLF-28-is-23.4"),  # 28 − 4.6
    pytest.param(CLF, 11, 6.4, 6, 6.4, False, id="CLF-11-is-6.4"),  # 11 − 4.6
    pytest.param(CLF, 10, 6.0, 6, 5.4, True, id="CLF-10-floored"),  # 10 − 4.6
    # 6 − 4.6 = 1.4 exactly (naive float subtraction gives 1.4000000000000004)
    pytest.param(CLF, 6, 6.0, 6, 1.4, True, id="CLF-6-floored"),
]


@pytest.mark.parametrize(("ft", "meld", "after", "shown", "unbounded", "floored"), MELD_AFTER)
def test_expected_meld_after(
    evidence: Evidence,
    make_inputs: MakeInputs,
    ft: FailureType,
    meld: int,
    after: float,
    shown: int,
    unbounded: float,
    floored: bool,
) -> None:
    a = assess(make_inputs(failure_type=ft.value, meld=meld), evidence)
    mr = a.meld_reduction
    assert mr.available is True
    assert mr.expected_meld_after == after
    assert mr.expected_meld_after_display == shown
    assert type(mr.expected_meld_after_display) is int
    assert mr.expected_meld_after_unbounded == unbounded
    assert mr.bounded_at_floor is floored
    assert ("meld_after_floor" in codes(a)) is floored


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        # Half up, exact on the decimal as written (hand calculation).
        (13.07, 13),
        (13.49, 13),
        (13.5, 14),  # a tie rounds up
        (12.5, 13),  # a tie rounds up, not to even: Python's round(12.5) gives 12
        (27.5, 28),
        (6.0, 6),
        (40.0, 40),
        (6.4999999999, 6),
    ],
    ids=str,
)
def test_round_meld_half_up(value: float, shown: int) -> None:
    assert round_meld_half_up(value) == shown


def test_landing_exactly_on_6_is_not_a_bound(evidence: Evidence, make_inputs: MakeInputs) -> None:
    # Made-up evidence (mean 14, no paper): 20 − 14 = 6 is a value, not the floor at work.
    mr14 = dataclasses.replace(evidence.meld_reduction[ACLF], mean=14.0)
    ev = dataclasses.replace(evidence, meld_reduction={**evidence.meld_reduction, ACLF: mr14})
    a = assess(make_inputs(meld=20), ev)
    assert a.meld_reduction.expected_meld_after == 6.0
    assert a.meld_reduction.bounded_at_floor is False
    assert "meld_after_floor" not in codes(a)


def test_subtract_printed_is_exact_where_floats_are_not() -> None:
    # Hand calculation: 15 − 14.93 = 0.07; the naive float difference is not 0.07.
    assert 15 - 14.93 != 0.07
    # 14.93 as printed: two decimals, so scale 100 and 1493 hundredths.
    assert subtract_printed(15, 100, 1493.0) == 0.07
    assert subtract_printed(np.array([15, 28]), 100, 1493.0).tolist() == [0.07, 13.07]


@pytest.mark.parametrize("ft", [ACLF, CLF], ids=str)
def test_pooled_numbers_are_shown_as_printed(
    evidence: Evidence, make_inputs: MakeInputs, ft: FailureType
) -> None:
    # Cao 2018 abstract: "14.93 ± 1.24 versus 4.6 ± 5.66"; exact equality.
    printed = {ACLF: (14.93, 1.24, "14.93 ± 1.24"), CLF: (4.6, 5.66, "4.6 ± 5.66")}[ft]
    mr = assess(make_inputs(failure_type=ft.value), evidence).meld_reduction
    assert (mr.mean, mr.reported_spread, mr.as_printed) == printed
    assert mr.spread_kind == "unreported"
    assert (mr.n, mr.time_point, mr.spread_low, mr.spread_high) == (None, None, None, None)


@pytest.mark.parametrize("ft", NO_ESTIMATE, ids=str)
def test_alf_has_no_estimate_and_borrows_no_number(
    evidence: Evidence, make_inputs: MakeInputs, ft: FailureType
) -> None:
    a = assess(make_inputs(failure_type=ft.value), evidence)
    mr = a.meld_reduction
    assert mr.available is False
    assert mr.failure_type is ft
    assert mr.expected_meld_after is None
    assert mr.expected_meld_after_display is None
    assert mr.expected_meld_after_unbounded is None
    assert (mr.mean, mr.reported_spread, mr.as_printed) == (None, None, None)
    assert mr.spread_kind == "none"
    assert mr.ranges == ()
    assert mr.unavailable_reason == evidence.meld_reduction[ft].unavailable_reason
    assert codes(a) == {"no_estimate"}
    (warning,) = a.warnings
    assert "No number from another group is used" in warning.message
    assert warning.demotes is True
    # Never another group's number: no pooled mean, spread or MELD after appears anywhere
    # (the controlled evidence is for ACLF only: not shown for these types either).
    text = json.dumps(dataclasses.asdict(a), default=str)
    for other in ("14.93", "1.24", "4.6", "5.66", "13.07", "23.4", "-3.27", "2.71"):
        assert other not in text


# --------------------------------------------------------------------------
# Warnings: the exact set for each patient

BELOW_20 = "baseline_meld_below_20"
LOW_TBIL = "tbil_below_type_definition"
WARNINGS: list[Any] = [
    # (overrides of the reference patient ACLF/28/ALT 240/TBIL 320 μmol/L, expected codes)
    pytest.param({}, set(), id="ACLF-28-none"),
    pytest.param({"meld": 21}, set(), id="ACLF-21-none"),
    pytest.param({"meld": 20}, {"meld_after_floor"}, id="ACLF-20-floor-not-below-20"),
    pytest.param({"meld": 19}, {"meld_after_floor", BELOW_20}, id="ACLF-19"),
    pytest.param({"meld": 15}, {"meld_after_floor", BELOW_20}, id="ACLF-15"),
    pytest.param({"failure_type": "CLF"}, {"spread_exceeds_mean"}, id="CLF-28-spread"),
    pytest.param({"failure_type": "CLF", "meld": 20}, {"spread_exceeds_mean"}, id="CLF-20"),
    pytest.param(
        {"failure_type": "CLF", "meld": 19}, {"spread_exceeds_mean", BELOW_20}, id="CLF-19"
    ),
    pytest.param(
        {"failure_type": "CLF", "meld": 10},
        {"spread_exceeds_mean", "meld_after_floor", BELOW_20},
        id="CLF-10",
    ),
    pytest.param({"failure_type": "ALF"}, {"no_estimate"}, id="ALF-28"),
    # No estimate: the baseline-MELD finding qualifies no number, so no warning about it.
    pytest.param({"failure_type": "ALF", "meld": 10}, {"no_estimate"}, id="ALF-10"),
    pytest.param({"failure_type": "SALF"}, {"no_estimate"}, id="SALF-28"),
    pytest.param({"failure_type": "SALF", "meld": 15}, {"no_estimate"}, id="SALF-15"),
    # Cao 2018 abstract: pooled TBIL 78.57 μmol/L; at or below it the marker says nothing.
    # In ACLF any TBIL below 85 μmol/L (APASL) also gets the check-the-unit warning.
    pytest.param({"tbil": 78.57}, {"tbil_at_or_below_pooled", LOW_TBIL}, id="TBIL-78.57-at-pooled"),
    pytest.param({"tbil": 78.58}, {LOW_TBIL}, id="TBIL-78.58-above"),
    pytest.param({"tbil": 20}, {"tbil_at_or_below_pooled", LOW_TBIL}, id="TBIL-20-below"),
    # 4.59 mg/dL × 17.1 = 78.489 μmol/L (hand calculation) <= 78.57
    pytest.param(
        {"tbil": 4.59, "tbil_unit": "mg/dL"},
        {"tbil_at_or_below_pooled", LOW_TBIL},
        id="TBIL-4.59-mg/dL",
    ),
    # 4.6 mg/dL × 17.1 = 78.66 μmol/L > 78.57
    pytest.param({"tbil": 4.6, "tbil_unit": "mg/dL"}, {LOW_TBIL}, id="TBIL-4.6-mg/dL"),
    # The APASL threshold, 85 μmol/L: at it no warning, just below it one (exact compare).
    pytest.param({"tbil": 85}, set(), id="TBIL-85-at-APASL"),
    pytest.param({"tbil": 84.99}, {LOW_TBIL}, id="TBIL-84.99-below-APASL"),
    # 5 mg/dL × 17.1 = 85.5 μmol/L >= 85; 4.97 × 17.1 = 84.987 < 85 (hand calculation)
    pytest.param({"tbil": 5, "tbil_unit": "mg/dL"}, set(), id="TBIL-5-mg/dL"),
    pytest.param({"tbil": 4.97, "tbil_unit": "mg/dL"}, {LOW_TBIL}, id="TBIL-4.97-mg/dL"),
    # The other types: below the upper limit of normal, 17.1 μmol/L (1 mg/dL).
    pytest.param(
        {"failure_type": "ALF", "tbil": 50},
        {"no_estimate", "tbil_at_or_below_pooled"},
        id="ALF-low-TBIL",
    ),
    pytest.param(
        {"failure_type": "CLF", "tbil": 17.1},
        {"spread_exceeds_mean", "tbil_at_or_below_pooled"},
        id="CLF-TBIL-17.1",
    ),
    pytest.param(
        {"failure_type": "CLF", "tbil": 17},
        {"spread_exceeds_mean", "tbil_at_or_below_pooled", LOW_TBIL},
        id="CLF-TBIL-17",
    ),
    pytest.param(
        {"failure_type": "SALF", "tbil": 0.9, "tbil_unit": "mg/dL"},
        {"no_estimate", "tbil_at_or_below_pooled", LOW_TBIL},
        id="SALF-TBIL-0.9-mg/dL",
    ),
    # Plausibility: MELD below 10, ALT below 5 U/L (warnings, not refusals).
    pytest.param({"meld": 9}, {"meld_below_10", "meld_after_floor", BELOW_20}, id="ACLF-9"),
    pytest.param({"failure_type": "ALF", "meld": 9}, {"meld_below_10", "no_estimate"}, id="ALF-9"),
    pytest.param({"alt": 4.99}, {"alt_below_5"}, id="ALT-4.99"),
    pytest.param({"alt": 5}, set(), id="ALT-5"),
    # 0.08 μkat/L × 60 = 4.8 U/L < 5; 0.1 μkat/L = 6 U/L (hand calculation)
    pytest.param({"alt": 0.08, "alt_unit": "ukat/L"}, {"alt_below_5"}, id="ALT-0.08-ukat"),
    pytest.param({"alt": 0.1, "alt_unit": "ukat/L"}, set(), id="ALT-0.1-ukat"),
]


@pytest.mark.parametrize(("overrides", "expected"), WARNINGS)
def test_warnings(
    evidence: Evidence, make_inputs: MakeInputs, overrides: dict[str, Any], expected: set[str]
) -> None:
    a = assess(make_inputs(**overrides), evidence)
    assert codes(a) == expected
    assert all(w.message and w.title for w in a.warnings)
    assert len(a.warnings) == len(codes(a))  # each warning once
    # In the engine's order: plausibility of the inputs, then the limits of the evidence.
    order = [c for c in WARNING_ORDER if c in expected]
    assert [w.code for w in a.warnings] == order


@pytest.mark.parametrize(
    ("code", "demotes"),
    [
        ("no_estimate", True),
        ("meld_after_floor", True),
        ("tbil_below_type_definition", True),
        ("meld_below_10", True),
        ("baseline_meld_below_20", False),
        ("spread_exceeds_mean", False),
        ("tbil_at_or_below_pooled", False),
        ("alt_below_5", False),
    ],
)
def test_which_warnings_demote_the_headline(
    evidence: Evidence, make_inputs: MakeInputs, code: str, demotes: bool
) -> None:
    patients = {
        "no_estimate": {"failure_type": "ALF"},
        "meld_after_floor": {"meld": 20},
        "tbil_below_type_definition": {"tbil": 80},
        "meld_below_10": {"meld": 9},
        "baseline_meld_below_20": {"meld": 19},
        "spread_exceeds_mean": {"failure_type": "CLF"},
        "tbil_at_or_below_pooled": {"tbil": 50},
        "alt_below_5": {"alt": 3},
    }
    a = assess(make_inputs(**patients[code]), evidence)
    (w,) = [w for w in a.warnings if w.code == code]
    assert w.demotes is demotes
    assert w.title and w.title != code.replace("_", " ")  # a named title, not the code


def test_floor_warning_explains_why(evidence: Evidence, make_inputs: MakeInputs) -> None:
    (w,) = assess(make_inputs(meld=20), evidence).warnings
    assert w.code == "meld_after_floor"
    assert "14.93" in w.message
    assert "cannot fall below 6" in w.message
    assert "≥ 20" in w.message


def test_tbil_warning_speaks_the_entered_unit(evidence: Evidence, make_inputs: MakeInputs) -> None:
    a = assess(make_inputs(tbil=4.59, tbil_unit="mg/dL"), evidence)
    (w,) = [w for w in a.warnings if w.code == "tbil_at_or_below_pooled"]
    # 78.489 μmol/L shown as 4.59 mg/dL; pooled 78.57 / 17.1 = 4.5947 shown as 4.59 mg/dL
    assert "Baseline TBIL (4.59 mg/dL)" in w.message
    assert "pooled level of 4.59 mg/dL" in w.message


# --------------------------------------------------------------------------
# Baseline stratum (Cao 2018 abstract: ≥ 20 had the larger decrease, P = 0.003)


@pytest.mark.parametrize(
    ("meld", "group", "larger"),
    [(6, "<20", False), (19, "<20", False), (20, ">=20", True), (40, ">=20", True)],
    ids=["6", "19", "20", "40"],
)
@pytest.mark.parametrize("ft", [ACLF, CLF], ids=str)
def test_stratum(
    evidence: Evidence,
    make_inputs: MakeInputs,
    ft: FailureType,
    meld: int,
    group: str,
    larger: bool,
) -> None:
    s = assess(make_inputs(failure_type=ft.value, meld=meld), evidence).stratum
    assert s is not None
    assert (s.group, s.this_group_larger) == (group, larger)
    assert s.threshold == 20.0
    assert s.p_value == "P = 0.003"


# --------------------------------------------------------------------------
# Early-response markers: ALT day 15, TBIL days 60 and 90 (Cao 2018 abstract)

MARKER_DATES: list[Any] = [
    # (transplant date, ALT check date, TBIL check dates); hand calculation
    pytest.param(None, None, None, id="no-date"),
    # March has 31 days: Mar 1 + 15 = Mar 16; + 60 = Apr 30; + 90 = May 30.
    pytest.param("2026-03-01", "2026-03-16", ("2026-04-30", "2026-05-30"), id="2026-03-01"),
    # 2024 is a leap year: Feb 15 + 14 = Feb 29, + 15 = Mar 1; + 60 = Apr 15; + 90 = May 15.
    pytest.param("2024-02-15", "2024-03-01", ("2024-04-15", "2024-05-15"), id="leap-2024"),
    # 2023 is not: Feb 15 + 13 = Feb 28, + 15 = Mar 2; + 60 = Apr 16; + 90 = May 16.
    pytest.param("2023-02-15", "2023-03-02", ("2023-04-16", "2023-05-16"), id="common-2023"),
    # Jan 1 + 31 (Jan) + 29 (Feb) = Mar 1 = day 60 in 2024; day 90 = Mar 31.
    pytest.param("2024-01-01", "2024-01-16", ("2024-03-01", "2024-03-31"), id="leap-jan-1"),
    # ... and 31 + 28 = 59 in 2023, so day 60 = Mar 2, day 90 = Apr 1.
    pytest.param("2023-01-01", "2023-01-16", ("2023-03-02", "2023-04-01"), id="common-jan-1"),
    # The last allowed date: 2100 is not a leap year (divisible by 100, not by 400).
    pytest.param("2099-12-31", "2100-01-15", ("2100-03-01", "2100-03-31"), id="last-date"),
]


@pytest.mark.parametrize(("transplant", "alt_date", "tbil_dates"), MARKER_DATES)
def test_marker_days_and_dates(
    evidence: Evidence,
    make_inputs: MakeInputs,
    transplant: str | None,
    alt_date: str | None,
    tbil_dates: tuple[str, str] | None,
) -> None:
    a = assess(make_inputs(transplant_date=transplant), evidence)
    assert a.alt.check_day == 15
    assert a.tbil.check_days == (60, 90)
    assert a.alt.check_date == (None if alt_date is None else date.fromisoformat(alt_date))
    expected = None if tbil_dates is None else tuple(date.fromisoformat(d) for d in tbil_dates)
    assert a.tbil.check_dates == expected


def test_alt_marker_is_direction_only(evidence: Evidence, make_inputs: MakeInputs) -> None:
    a = assess(make_inputs(alt=4, alt_unit="ukat/L"), evidence)
    assert a.alt.direction == "decrease"
    assert a.alt.size_reported is False
    assert (a.alt.baseline_u_l, a.alt.baseline_in_unit, a.alt.unit) == (240.0, 4.0, "ukat/L")
    assert a.alt.p_value == "P < 0.05"


@pytest.mark.parametrize("ft", NO_ESTIMATE, ids=str)
def test_no_stratum_where_there_is_no_estimate(
    evidence: Evidence, make_inputs: MakeInputs, ft: FailureType
) -> None:
    """The baseline-MELD finding qualifies the pooled ACLF/CLF change: none for ALF/SALF."""
    for meld in (6, 19, 20, 40):
        a = assess(make_inputs(failure_type=ft.value, meld=meld), evidence)
        assert a.stratum is None
        assert not any("stratum" in step.lower() for step in a.derivation)


TBIL_MARKER: list[Any] = [
    # (TBIL, unit, pooled level in unit, informative)
    # Cao 2018 abstract pooled 78.57 μmol/L; 78.57 / 17.1 = 4.594736842105263 mg/dL
    # (hand calculation); tolerance abs 1e-12.
    pytest.param(320, "umol/L", 78.57, True, id="320-umol"),
    pytest.param(10, "mg/dL", 4.594736842105263, True, id="10-mg"),  # 171 μmol/L
    pytest.param(78.58, "umol/L", 78.57, True, id="78.58-umol"),
    pytest.param(78.57, "umol/L", 78.57, False, id="at-pooled"),
    pytest.param(4.59, "mg/dL", 4.594736842105263, False, id="4.59-mg-below"),  # 78.489 μmol/L
]


@pytest.mark.parametrize(("tbil", "unit", "pooled_in_unit", "informative"), TBIL_MARKER)
def test_tbil_marker(
    evidence: Evidence,
    make_inputs: MakeInputs,
    tbil: float,
    unit: str,
    pooled_in_unit: float,
    informative: bool,
) -> None:
    t = assess(make_inputs(tbil=tbil, tbil_unit=unit), evidence).tbil
    assert t.pooled_level_umol_l == 78.57  # exact: the printed number
    assert t.pooled_level_in_unit == pytest.approx(pooled_in_unit, abs=1e-12)
    assert t.unit == unit
    assert t.informative is informative
    # The source's finding for the pooled patients, with the level as printed.
    assert t.finding == (
        "In the pooled patients, TBIL had declined to a stable level of 78.57 μmol/L at "
        '"2 and 3 months" (P < 0.05).'
    )


# --------------------------------------------------------------------------
# The evidence as printed: a "±" of unreported kind gives no range and no chance


@pytest.mark.parametrize("ft", [ACLF, CLF], ids=str)
@pytest.mark.parametrize("meld", [6, 15, 28, 40], ids=lambda m: f"meld-{m}")
@pytest.mark.hazard("H-02")
def test_h02_unreported_spread_gives_no_range(
    evidence: Evidence, make_inputs: MakeInputs, ft: FailureType, meld: int
) -> None:
    """Cao 2018 abstract: "14.93 ± 1.24", "4.6 ± 5.66", the kind of ± and n unreported."""
    mr = assess(make_inputs(failure_type=ft.value, meld=meld), evidence).meld_reduction
    assert evidence.meld_reduction[ft].dispersion.kind is DispersionKind.UNREPORTED
    assert evidence.meld_reduction[ft].n is None
    assert mr.ranges == ()
    assert mr.spread_kind == "unreported"
    # The ± itself is kept as printed, to be shown with the words that its kind is unknown.
    assert mr.as_printed == {ACLF: "14.93 ± 1.24", CLF: "4.6 ± 5.66"}[ft]


@pytest.mark.parametrize("ft", list(FailureType), ids=str)
@pytest.mark.hazard("H-01")
def test_h01_no_chance_of_improvement_in_the_assessment(
    evidence: Evidence, make_inputs: MakeInputs, ft: FailureType
) -> None:
    a = assess(make_inputs(failure_type=ft.value), evidence)
    fields = {f.name for f in dataclasses.fields(a.meld_reduction)}
    assert not {"chance_of_improvement", "chance_assumption"} & fields
    text = json.dumps(dataclasses.asdict(a), default=str).lower()
    for phrase in ("chance", "probability of", "scenario"):
        assert phrase not in text


@pytest.mark.parametrize("ft", list(FailureType), ids=str)
@pytest.mark.hazard("H-03")
def test_h03_no_implied_tbil_decline_in_the_assessment(
    evidence: Evidence, make_inputs: MakeInputs, ft: FailureType
) -> None:
    a = assess(make_inputs(failure_type=ft.value, tbil=320), evidence)
    fields = {f.name for f in dataclasses.fields(a.tbil)}
    assert not {f for f in fields if "decline" in f}
    text = json.dumps(dataclasses.asdict(a), default=str)
    assert "implied decline" not in text.lower()
    assert "241.43" not in text  # 320 − 78.57 (hand calculation): never shown


# --------------------------------------------------------------------------
# The headline: a whole MELD (half up), the exact value kept


def with_aclf_mean(evidence: Evidence, mean: float) -> Evidence:
    mr = dataclasses.replace(evidence.meld_reduction[ACLF], mean=mean)
    return dataclasses.replace(evidence, meld_reduction={**evidence.meld_reduction, ACLF: mr})


@pytest.mark.hazard("H-04")
def test_h04_headline_is_a_whole_meld_rounded_half_up(
    evidence: Evidence, make_inputs: MakeInputs
) -> None:
    # Cao 2018 abstract: ACLF decrease 14.93; 28 − 14.93 = 13.07 -> 13 (exact).
    mr = assess(make_inputs(meld=28), evidence).meld_reduction
    assert (mr.expected_meld_after, mr.expected_meld_after_display) == (13.07, 13)
    # Made-up evidence (mean 0.5, no paper): 28 − 0.5 = 27.5, a tie, shown as 28 (half up).
    tie = assess(make_inputs(meld=28), with_aclf_mean(evidence, 0.5)).meld_reduction
    assert (tie.expected_meld_after, tie.expected_meld_after_display) == (27.5, 28)
    # ... and 27 − 0.5 = 26.5 -> 27, where rounding half to even would give 26.
    tie = assess(make_inputs(meld=27), with_aclf_mean(evidence, 0.5)).meld_reduction
    assert (tie.expected_meld_after, tie.expected_meld_after_display) == (26.5, 27)


@pytest.mark.hazard("H-04")
def test_h04_floor_demotes_the_headline(evidence: Evidence, make_inputs: MakeInputs) -> None:
    # ACLF baseline MELD 14: 14 − 14.93 = −0.93 (Cao 2018 abstract; exact), bounded at 6.
    a = assess(make_inputs(meld=14), evidence)
    mr = a.meld_reduction
    assert (mr.expected_meld_after_unbounded, mr.expected_meld_after_display) == (-0.93, 6)
    (floor,) = [w for w in a.warnings if w.code == "meld_after_floor"]
    assert floor.demotes is True
    assert [w.code for w in a.warnings if w.demotes] == ["meld_after_floor"]


# --------------------------------------------------------------------------
# The controlled evidence (Ding et al. 2024): context, never in the calculation


@pytest.mark.hazard("H-05")
def test_h05_context_never_changes_the_expected_meld(
    evidence: Evidence, make_inputs: MakeInputs
) -> None:
    assert evidence.context is not None
    without = dataclasses.replace(evidence, context=None)
    for ft in FailureType:
        for meld in (6, 14, 20, 28, 40):
            inputs = make_inputs(failure_type=ft.value, meld=meld)
            a, b = assess(inputs, evidence), assess(inputs, without)
            assert a.meld_reduction == b.meld_reduction
            assert a.warnings == b.warnings
            assert a.stratum == b.stratum
    aclf = assess(make_inputs(), evidence)
    assert aclf.context.evidence is evidence.context
    assert aclf.stamp.context_evidence_version == "ding2024-abstract-v1"
    assert aclf.stamp.context_doi == "10.12449/JCH240822"
    none = assess(make_inputs(), without)
    assert none.context.evidence is None
    assert none.stamp.context_evidence_version is None


@pytest.mark.parametrize("ft", [CLF, ALF, SALF], ids=str)
@pytest.mark.hazard("H-05")
def test_h05_no_controlled_estimate_outside_aclf(
    evidence: Evidence, make_inputs: MakeInputs, ft: FailureType
) -> None:
    a = assess(make_inputs(failure_type=ft.value), evidence)
    assert a.context.evidence is None
    assert a.context.message == (
        f"No controlled MELD estimate (MSC versus control) was found for {ft.value}."
    )


# --------------------------------------------------------------------------
# Types with no estimate: ALF and SALF


@pytest.mark.parametrize("ft", NO_ESTIMATE, ids=str)
@pytest.mark.hazard("H-06")
def test_h06_no_estimate_types_say_for_whom_and_what_is_not_addressed(
    evidence: Evidence, make_inputs: MakeInputs, ft: FailureType
) -> None:
    a = assess(make_inputs(failure_type=ft.value), evidence)
    assert a.meld_reduction.available is False
    assert a.meld_reduction.unavailable_reason
    assert a.stratum is None
    assert a.population_note is not None
    assert "pooled liver-failure population" in a.population_note
    assert f"no {ft.value}-specific data" in a.population_note
    assert "476 patients" in a.population_note  # Cao 2018 abstract: n = 476
    assert a.scope_note == NO_ESTIMATE_SCOPE_NOTE
    assert "urgent liver transplantation" in a.scope_note


@pytest.mark.parametrize("ft", [ACLF, CLF], ids=str)
@pytest.mark.hazard("H-06")
def test_h06_types_with_an_estimate_have_no_such_notes(
    evidence: Evidence, make_inputs: MakeInputs, ft: FailureType
) -> None:
    a = assess(make_inputs(failure_type=ft.value), evidence)
    assert a.stratum is not None
    assert (a.population_note, a.scope_note) == (None, None)


@pytest.mark.hazard("H-06")
def test_h06_salf_is_a_type_of_its_own(evidence: Evidence, make_inputs: MakeInputs) -> None:
    a = assess(make_inputs(failure_type="salf"), evidence)
    assert a.inputs.failure_type is SALF
    assert "SALF" in (a.meld_reduction.unavailable_reason or "")


# --------------------------------------------------------------------------
# Baseline MELD below 20, for every type with an estimate


@pytest.mark.hazard("H-07")
def test_h07_clf_meld_15_gets_the_below_20_warning(
    evidence: Evidence, make_inputs: MakeInputs
) -> None:
    # Cao 2018 abstract: smaller decreases at baseline MELD < 20 (P = 0.003).
    a = assess(make_inputs(failure_type="CLF", meld=15), evidence)
    (w,) = [w for w in a.warnings if w.code == "baseline_meld_below_20"]
    assert w.message.startswith("CLF with baseline MELD below 20")
    assert "pooled CLF decrease probably overstates" in w.message
    assert "P = 0.003" in w.message


# --------------------------------------------------------------------------
# Plausibility: values that are valid but do not fit the patient


@pytest.mark.hazard("H-10")
def test_h10_aclf_tbil_in_the_wrong_unit_is_flagged(
    evidence: Evidence, make_inputs: MakeInputs
) -> None:
    # 12.5 mg/dL left on μmol/L: below the APASL ACLF definition, TBIL ≥ 5 mg/dL = 85 μmol/L.
    a = assess(make_inputs(tbil=12.5, tbil_unit="umol/L"), evidence)
    (w,) = [w for w in a.warnings if w.code == "tbil_below_type_definition"]
    assert "APASL" in w.message
    assert "85 μmol/L" in w.message
    assert "12.5 mg/dL would be 213.8 μmol/L" in w.message  # 12.5 × 17.1 = 213.75
    assert w.demotes is True
    assert a.warnings[0] is w  # plausibility comes before the limits of the evidence
    # The same number in mg/dL (213.75 μmol/L) fits ACLF: no warning.
    right = assess(make_inputs(tbil=12.5, tbil_unit="mg/dL"), evidence)
    assert "tbil_below_type_definition" not in codes(right)


@pytest.mark.parametrize("ft", ["CLF", "ALF", "SALF"])
@pytest.mark.hazard("H-10")
def test_h10_a_normal_bilirubin_is_flagged_for_the_other_types(
    evidence: Evidence, make_inputs: MakeInputs, ft: str
) -> None:
    # Liver failure of every type has a raised bilirubin; the upper limit of normal is
    # about 17.1 μmol/L = 1 mg/dL. 12.5 μmol/L is below it; 17.1 is not (strictly below).
    a = assess(make_inputs(failure_type=ft, tbil=12.5, tbil_unit="umol/L"), evidence)
    (w,) = [w for w in a.warnings if w.code == "tbil_below_type_definition"]
    assert "below 17.1 μmol/L (1 mg/dL)" in w.message
    assert f"defines {ft}" in w.message and "Check the unit" in w.message
    at_limit = assess(make_inputs(failure_type=ft, tbil=17.1, tbil_unit="umol/L"), evidence)
    assert "tbil_below_type_definition" not in codes(at_limit)
    # 40 μmol/L is low for ACLF (below 85) but raised for the other types.
    raised = assess(make_inputs(failure_type=ft, tbil=40, tbil_unit="umol/L"), evidence)
    assert "tbil_below_type_definition" not in codes(raised)


@pytest.mark.hazard("H-17")
def test_h17_baseline_meld_8_is_flagged(evidence: Evidence, make_inputs: MakeInputs) -> None:
    a = assess(make_inputs(meld=8), evidence)
    (w,) = [w for w in a.warnings if w.code == "meld_below_10"]
    assert "Baseline MELD 8 is below 10" in w.message
    assert w.demotes is True
    assert "meld_below_10" not in codes(assess(make_inputs(meld=10), evidence))


@pytest.mark.hazard("H-18")
def test_h18_alt_3_is_flagged(evidence: Evidence, make_inputs: MakeInputs) -> None:
    a = assess(make_inputs(alt=3), evidence)
    (w,) = [w for w in a.warnings if w.code == "alt_below_5"]
    assert "ALT 3 U/L is below 5 U/L" in w.message
    assert "1,200 into 1.200" in w.message
    assert "alt_below_5" not in codes(assess(make_inputs(alt=240), evidence))


# --------------------------------------------------------------------------
# Future evidence: made-up dispersions with n (no paper; they exercise the code)


def with_aclf(evidence: Evidence, dispersion: Dispersion, n: int | None) -> Evidence:
    mr = dataclasses.replace(evidence.meld_reduction[ACLF], dispersion=dispersion, n=n)
    return dataclasses.replace(evidence, meld_reduction={**evidence.meld_reduction, ACLF: mr})


def by_kind(ranges: tuple[RangeEstimate, ...]) -> dict[str, RangeEstimate]:
    out = {r.kind: r for r in ranges}
    assert len(out) == len(ranges)
    return out


@pytest.mark.parametrize("n", [2, 12, 30, 476], ids=lambda n: f"n-{n}")
@pytest.mark.parametrize("kind", [DispersionKind.SD, DispersionKind.SE], ids=str)
def test_sd_or_se_with_n_gives_t_confidence_and_prediction_intervals(
    evidence: Evidence, make_inputs: MakeInputs, kind: DispersionKind, n: int
) -> None:
    from scipy.stats import t as student_t

    value = 3.1  # made up
    ev = with_aclf(evidence, Dispersion(kind, value, None, None), n)
    mr = assess(make_inputs(), ev).meld_reduction
    ranges = by_kind(mr.ranges)
    assert set(ranges) == {"confidence", "prediction"}

    # Independent computation: SE = SD/√n, or SD = SE × √n.
    sd = value if kind is DispersionKind.SD else value * math.sqrt(n)
    se = sd / math.sqrt(n)
    q = student_t.ppf(0.975, n - 1)
    ci = (14.93 - q * se, 14.93 + q * se)
    half = q * sd * math.sqrt(1 + 1 / n)
    pi = (14.93 - half, 14.93 + half)

    ci_range, pi_range = ranges["confidence"], ranges["prediction"]
    assert (ci_range.low, ci_range.high) == pytest.approx(ci, abs=1e-9)
    assert (pi_range.low, pi_range.high) == pytest.approx(pi, abs=1e-9)
    assert ci_range.confidence_level == pi_range.confidence_level == 0.95
    assert f"{n - 1} degrees of freedom" in ci_range.assumption
    if kind is DispersionKind.SE:
        assert "SD = SE × √n" in ci_range.assumption
    for r in (ci_range, pi_range):
        assert r.meld_after_low == pytest.approx(max(6.0, 28 - r.high), abs=1e-9)
        assert r.meld_after_high == pytest.approx(min(40.0, 28 - r.low), abs=1e-9)
    assert mr.spread_kind == kind.value
    assert mr.n == n


def test_se_case_derives_sd_as_se_times_root_n(evidence: Evidence, make_inputs: MakeInputs) -> None:
    """An SE of 0.5 with n = 36 is the same evidence as an SD of 3.0 with n = 36."""
    se_ev = with_aclf(evidence, Dispersion(DispersionKind.SE, 0.5, None, None), 36)
    sd_ev = with_aclf(evidence, Dispersion(DispersionKind.SD, 3.0, None, None), 36)
    se_ranges = by_kind(assess(make_inputs(), se_ev).meld_reduction.ranges)
    sd_ranges = by_kind(assess(make_inputs(), sd_ev).meld_reduction.ranges)
    for kind in ("confidence", "prediction"):
        assert (se_ranges[kind].low, se_ranges[kind].high) == pytest.approx(
            (sd_ranges[kind].low, sd_ranges[kind].high), abs=1e-12
        )


def test_reported_ci_is_used_as_reported(evidence: Evidence, make_inputs: MakeInputs) -> None:
    ev = with_aclf(evidence, Dispersion(DispersionKind.CI95, None, 12.0, 17.5), None)
    mr = assess(make_inputs(), ev).meld_reduction
    (r,) = mr.ranges
    # Exact: the reported bounds; MELD after 28 − 17.5 = 10.5 to 28 − 12 = 16.
    assert (r.kind, r.low, r.high) == ("confidence", 12.0, 17.5)
    assert (r.meld_after_low, r.meld_after_high) == (10.5, 16.0)
    assert r.assumption == "95% confidence interval, as reported."
    assert (mr.spread_kind, mr.spread_low, mr.spread_high) == ("95% CI", 12.0, 17.5)


def test_sd_without_n_gives_no_interval(evidence: Evidence, make_inputs: MakeInputs) -> None:
    """An SD without n: no confidence interval, and no "95% of patients" range either."""
    ev = with_aclf(evidence, Dispersion(DispersionKind.SD, 1.24, None, None), None)
    mr = assess(make_inputs(), ev).meld_reduction
    assert mr.ranges == ()
    assert mr.expected_meld_after == 13.07  # the point estimate is unchanged


def test_se_without_n_gives_no_interval(evidence: Evidence, make_inputs: MakeInputs) -> None:
    """An SE without n says nothing honest about individual patients."""
    ev = with_aclf(evidence, Dispersion(DispersionKind.SE, 1.24, None, None), None)
    mr = assess(make_inputs(), ev).meld_reduction
    assert mr.ranges == ()
    assert mr.expected_meld_after == 13.07  # the point estimate is unchanged


# --------------------------------------------------------------------------
# The version stamp and the basis


def test_stamp_and_basis(evidence: Evidence, make_inputs: MakeInputs) -> None:
    a = assess(make_inputs(), evidence)
    assert a.stamp.app_version == __version__
    assert a.stamp.evidence_version == "cao2018-abstract-v2"
    assert a.stamp.doi == "10.1155/2018/9231710"
    assert (a.stamp.articles, a.stamp.patients) == (9, 476)
    assert "investigational" in a.intended_use
    for gap in evidence.not_reported:  # every gap of the evidence is a stated limit
        assert any(gap[1:] in limit for limit in a.limits), gap
    assert any("14.93 ± 1.24" in step for step in a.derivation)
    assert a.inputs == make_inputs()


# --------------------------------------------------------------------------
# Hypothesis properties


@st.composite
def valid_raw(draw: st.DrawFn) -> dict[str, Any]:
    alt_unit = draw(st.sampled_from(list(AltUnit)))
    tbil_unit = draw(st.sampled_from(list(TbilUnit)))
    alt, tbil = ALT_RANGES[alt_unit], TBIL_RANGES[tbil_unit]

    def number(low: float, high: float) -> st.SearchStrategy[float | int]:
        return st.floats(low, high) | st.integers(math.ceil(low), math.floor(high))

    return {
        "failure_type": draw(st.sampled_from([ft.value for ft in FailureType])),
        "meld": draw(st.integers(int(MELD_RANGE.low), int(MELD_RANGE.high))),
        "alt": draw(number(alt.low, alt.high)),
        "alt_unit": alt_unit.value,
        "tbil": draw(number(tbil.low, tbil.high)),
        "tbil_unit": tbil_unit.value,
        "transplant_date": draw(st.none() | st.dates(DATE_LOW, DATE_HIGH).map(date.isoformat)),
    }


def numbers_in(value: Any) -> Iterator[float]:
    if isinstance(value, dict):
        for v in value.values():
            yield from numbers_in(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from numbers_in(v)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield value


EVIDENCE_VARIANTS: dict[str, Callable[[Evidence], Evidence]] = {
    "as-printed": lambda ev: ev,
    "sd-n": lambda ev: with_aclf(ev, Dispersion(DispersionKind.SD, 3.1, None, None), 30),
    "se-n": lambda ev: with_aclf(ev, Dispersion(DispersionKind.SE, 0.5, None, None), 2),
    "ci": lambda ev: with_aclf(ev, Dispersion(DispersionKind.CI95, None, -3.0, 40.0), None),
}


@pytest.mark.parametrize("variant", list(EVIDENCE_VARIANTS))
@settings(max_examples=150, deadline=None)
@given(raw=valid_raw())
def test_any_valid_input_gives_finite_bounded_numbers(
    evidence: Evidence, variant: str, raw: dict[str, Any]
) -> None:
    a = assess(validate_inputs(raw, allow_text=False), EVIDENCE_VARIANTS[variant](evidence))
    numbers = list(numbers_in(dataclasses.asdict(a)))
    assert numbers
    assert all(type(x) in (int, float) and math.isfinite(x) for x in numbers)

    mr = a.meld_reduction
    if a.inputs.failure_type in NO_ESTIMATE:
        assert mr.expected_meld_after is None
        assert mr.expected_meld_after_display is None
        assert mr.ranges == ()
        assert a.stratum is None
    else:
        assert mr.expected_meld_after is not None
        assert MELD_FLOOR <= mr.expected_meld_after <= MELD_CAP
        assert mr.expected_meld_after <= a.inputs.meld
        assert mr.expected_meld_after_display == round_meld_half_up(mr.expected_meld_after)
        assert abs(mr.expected_meld_after_display - mr.expected_meld_after) <= 0.5
        # Ranges only where the evidence states the kind of its dispersion.
        assert bool(mr.ranges) is (variant != "as-printed" and a.inputs.failure_type is ACLF)
        assert a.stratum is not None
        assert a.stratum.group == (">=20" if a.inputs.meld >= 20 else "<20")
    for r in mr.ranges:
        assert r.low <= r.high
        assert MELD_FLOOR <= r.meld_after_low <= r.meld_after_high <= MELD_CAP
        assert r.kind in ("confidence", "prediction")
    assert codes(a) <= WARNING_CODES


def _not_canonical_unit(allowed: set[str]) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        return text.strip().replace("μ", "u").replace("µ", "u") not in allowed

    return check


WRONG_TYPE = st.one_of(
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def outside(low: float, high: float) -> st.SearchStrategy[Any]:
    """Numbers outside the closed range [low, high], non-finite ones included."""
    return st.one_of(
        st.floats(max_value=low, exclude_max=True),
        st.floats(min_value=high, exclude_min=True),
        st.just(math.nan),
        st.integers(max_value=math.ceil(low) - 1),
        st.integers(min_value=math.floor(high) + 1),
        st.sampled_from([10**400, -(10**400)]),
    )


def invalid_value(field: str, raw: dict[str, Any]) -> st.SearchStrategy[Any]:
    types = {ft.value for ft in FailureType}
    if field == "failure_type":
        text = st.text().filter(lambda s: s.strip().upper() not in types)
        return text | st.none() | st.integers() | WRONG_TYPE
    if field == "meld":
        not_whole = st.floats(6, 40).filter(lambda x: not x.is_integer())
        return outside(6, 40) | not_whole | st.text() | st.none() | WRONG_TYPE
    if field in ("alt", "tbil"):
        rng = (ALT_RANGES if field == "alt" else TBIL_RANGES)[raw[f"{field}_unit"]]
        return outside(rng.low, rng.high) | st.text() | st.none() | WRONG_TYPE
    if field in ("alt_unit", "tbil_unit"):
        allowed = {u.value for u in (AltUnit if field == "alt_unit" else TbilUnit)}
        return st.text().filter(_not_canonical_unit(allowed)) | st.integers() | WRONG_TYPE
    assert field == "transplant_date"
    iso_like = re.compile(r"\d{4}-\d{2}-\d{2}")
    return st.one_of(
        st.dates(max_value=date(1999, 12, 31)).map(date.isoformat),
        st.dates(min_value=date(2100, 1, 1)).map(date.isoformat),
        st.text().filter(lambda s: bool(s.strip()) and not iso_like.fullmatch(s.strip())),
        st.integers(),
        WRONG_TYPE,
    )


@st.composite
def one_invalid_field(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    raw = draw(valid_raw())
    field = draw(st.sampled_from(sorted(raw)))
    raw[field] = draw(invalid_value(field, raw))
    return field, raw


@settings(max_examples=300, deadline=None)
@given(case=one_invalid_field())
def test_any_invalid_input_raises_input_error_never_a_number(
    case: tuple[str, dict[str, Any]],
) -> None:
    field, raw = case
    with pytest.raises(InputError) as exc:
        validate_inputs(raw, allow_text=False)
    assert field in exc.value.errors
    assert all(isinstance(m, str) and m for m in exc.value.errors[field])


# --------------------------------------------------------------------------
# Purity: the core imports no web framework and no scipy.stats

FORBIDDEN = ("flask", "wtforms", "werkzeug", "scipy.stats", "calc.web.app", "calc.web.api")

PURITY_SCRIPT = f"""
import json, sys
import calc.core.engine, calc.core.evidence, calc.core.inputs, calc.core.report
after_import = sorted(m for m in {FORBIDDEN!r} if m in sys.modules)
from calc.core.evidence import load_evidence
from calc.core.inputs import validate_inputs
from calc.core.engine import assess
from calc.core.report import summary_text, to_dict
ev = load_evidence()
for ft in ("ACLF", "CLF", "ALF", "SALF"):
    a = assess(validate_inputs(
        {{"failure_type": ft, "meld": 28, "alt": 240, "tbil": 320}}, allow_text=False), ev)
    summary_text(a), to_dict(a)
after_use = sorted(m for m in {FORBIDDEN!r} if m in sys.modules)
print(json.dumps({{"after_import": after_import, "after_use": after_use}}))
"""


def test_core_imports_no_web_framework_and_no_scipy_stats() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PURITY_SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"after_import": [], "after_use": []}


def test_purity_check_can_see_a_web_import() -> None:
    """Control: the same check does report flask once the app is imported."""
    script = "import sys, calc.web.app; print('flask' in sys.modules, 'werkzeug' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]
