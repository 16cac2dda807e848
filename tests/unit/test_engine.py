"""The assessment engine: pinned numbers, warnings, intervals, properties, purity.

Sources: the pooled numbers are from the Cao 2018 abstract (14.93 ± 1.24
ACLF, 4.6 ± 5.66 CLF, TBIL 78.57 μmol/L at days 60/90, ALT at day 15,
baseline MELD 20 threshold). Everything else is a hand calculation written
next to it, or an independent SciPy computation inside the test.
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
from statistics import NormalDist
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calc.engine import (
    MELD_CAP,
    MELD_FLOOR,
    Assessment,
    RangeEstimate,
    assess,
    decimals_of,
    subtract_printed,
)
from calc.evidence import Dispersion, DispersionKind, Evidence, FailureType
from calc.inputs import (
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
from calc.version import __version__

ACLF, CLF, ALF = FailureType.ACLF, FailureType.CLF, FailureType.ALF
MakeInputs = Callable[..., PatientInputs]

WARNING_CODES = {
    "no_estimate",
    "meld_after_floor",
    "aclf_meld_below_20",
    "spread_exceeds_mean",
    "tbil_at_or_below_pooled",
}


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
    # (type, baseline, expected after, unbounded, bounded at 6)
    # Cao 2018 abstract means, hand calculation in exact decimals; exact equality.
    pytest.param(ACLF, 28, 13.07, 13.07, False, id="ACLF-28-is-13.07"),  # 28 − 14.93
    pytest.param(ACLF, 40, 25.07, 25.07, False, id="ACLF-40-is-25.07"),  # 40 − 14.93
    pytest.param(ACLF, 21, 6.07, 6.07, False, id="ACLF-21-is-6.07"),  # 21 − 14.93
    pytest.param(ACLF, 20, 6.0, 5.07, True, id="ACLF-20-floored"),  # 20 − 14.93 = 5.07 < 6
    # 15 − 14.93 = 0.07 exactly (naive float subtraction gives 0.07000000000000028)
    pytest.param(ACLF, 15, 6.0, 0.07, True, id="ACLF-15-floored"),
    pytest.param(ACLF, 6, 6.0, -8.93, True, id="ACLF-6-floored"),  # 6 − 14.93
    pytest.param(CLF, 28, 23.4, 23.4, False, id="CLF-28-is-23.4"),  # 28 − 4.6
    pytest.param(CLF, 11, 6.4, 6.4, False, id="CLF-11-is-6.4"),  # 11 − 4.6
    pytest.param(CLF, 10, 6.0, 5.4, True, id="CLF-10-floored"),  # 10 − 4.6
    # 6 − 4.6 = 1.4 exactly (naive float subtraction gives 1.4000000000000004)
    pytest.param(CLF, 6, 6.0, 1.4, True, id="CLF-6-floored"),
]


@pytest.mark.parametrize(("ft", "meld", "after", "unbounded", "floored"), MELD_AFTER)
def test_expected_meld_after(
    evidence: Evidence,
    make_inputs: MakeInputs,
    ft: FailureType,
    meld: int,
    after: float,
    unbounded: float,
    floored: bool,
) -> None:
    a = assess(make_inputs(failure_type=ft.value, meld=meld), evidence)
    mr = a.meld_reduction
    assert mr.available is True
    assert mr.expected_meld_after == after
    assert mr.expected_meld_after_unbounded == unbounded
    assert mr.bounded_at_floor is floored
    assert ("meld_after_floor" in codes(a)) is floored


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
    assert subtract_printed(15, 14.93) == 0.07


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


def test_alf_has_no_estimate_and_borrows_no_number(
    evidence: Evidence, make_inputs: MakeInputs
) -> None:
    a = assess(make_inputs(failure_type="ALF"), evidence)
    mr = a.meld_reduction
    assert mr.available is False
    assert mr.failure_type is ALF
    assert mr.expected_meld_after is None
    assert mr.expected_meld_after_unbounded is None
    assert (mr.mean, mr.reported_spread, mr.as_printed) == (None, None, None)
    assert mr.spread_kind == "none"
    assert mr.ranges == ()
    assert mr.chance_of_improvement is None
    assert mr.unavailable_reason == evidence.meld_reduction[ALF].unavailable_reason
    assert codes(a) == {"no_estimate"}
    (warning,) = a.warnings
    assert "No number from another group is used" in warning.message
    # Never another group's number: neither pooled mean nor spread appears anywhere.
    text = json.dumps(dataclasses.asdict(a), default=str)
    for other in ("14.93", "1.24", "4.6", "5.66", "13.07", "23.4"):
        assert other not in text


# --------------------------------------------------------------------------
# Warnings: the exact set for each patient

WARNINGS: list[Any] = [
    # (overrides of the reference patient ACLF/28/ALT 240/TBIL 320 μmol/L, expected codes)
    pytest.param({}, set(), id="ACLF-28-none"),
    pytest.param({"meld": 21}, set(), id="ACLF-21-none"),
    pytest.param({"meld": 20}, {"meld_after_floor"}, id="ACLF-20-floor-not-below-20"),
    pytest.param({"meld": 19}, {"meld_after_floor", "aclf_meld_below_20"}, id="ACLF-19"),
    pytest.param({"meld": 15}, {"meld_after_floor", "aclf_meld_below_20"}, id="ACLF-15"),
    pytest.param({"failure_type": "CLF"}, {"spread_exceeds_mean"}, id="CLF-28-spread"),
    pytest.param({"failure_type": "CLF", "meld": 19}, {"spread_exceeds_mean"}, id="CLF-19"),
    pytest.param(
        {"failure_type": "CLF", "meld": 10},
        {"spread_exceeds_mean", "meld_after_floor"},
        id="CLF-10",
    ),
    pytest.param({"failure_type": "ALF"}, {"no_estimate"}, id="ALF-28"),
    pytest.param({"failure_type": "ALF", "meld": 10}, {"no_estimate"}, id="ALF-10"),
    # Cao 2018 abstract: pooled TBIL 78.57 μmol/L; at or below it the marker says nothing.
    pytest.param({"tbil": 78.57}, {"tbil_at_or_below_pooled"}, id="TBIL-78.57-at-pooled"),
    pytest.param({"tbil": 78.58}, set(), id="TBIL-78.58-above"),
    pytest.param({"tbil": 20}, {"tbil_at_or_below_pooled"}, id="TBIL-20-below"),
    # 4.59 mg/dL × 17.1 = 78.489 μmol/L (hand calculation) <= 78.57
    pytest.param(
        {"tbil": 4.59, "tbil_unit": "mg/dL"}, {"tbil_at_or_below_pooled"}, id="TBIL-4.59-mg/dL"
    ),
    # 4.6 mg/dL × 17.1 = 78.66 μmol/L > 78.57
    pytest.param({"tbil": 4.6, "tbil_unit": "mg/dL"}, set(), id="TBIL-4.6-mg/dL"),
    pytest.param(
        {"failure_type": "ALF", "tbil": 50},
        {"no_estimate", "tbil_at_or_below_pooled"},
        id="ALF-low-TBIL",
    ),
]


@pytest.mark.parametrize(("overrides", "expected"), WARNINGS)
def test_warnings(
    evidence: Evidence, make_inputs: MakeInputs, overrides: dict[str, Any], expected: set[str]
) -> None:
    a = assess(make_inputs(**overrides), evidence)
    assert codes(a) == expected
    assert all(w.message for w in a.warnings)
    assert len(a.warnings) == len(codes(a))  # each warning once


def test_floor_warning_explains_why(evidence: Evidence, make_inputs: MakeInputs) -> None:
    (w,) = assess(make_inputs(meld=20), evidence).warnings
    assert w.code == "meld_after_floor"
    assert "14.93" in w.message
    assert "cannot fall below 6" in w.message
    assert "≥ 20" in w.message


def test_tbil_warning_speaks_the_entered_unit(evidence: Evidence, make_inputs: MakeInputs) -> None:
    (w,) = assess(make_inputs(tbil=4.59, tbil_unit="mg/dL"), evidence).warnings
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
@pytest.mark.parametrize("ft", list(FailureType), ids=str)
def test_stratum(
    evidence: Evidence,
    make_inputs: MakeInputs,
    ft: FailureType,
    meld: int,
    group: str,
    larger: bool,
) -> None:
    s = assess(make_inputs(failure_type=ft.value, meld=meld), evidence).stratum
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


TBIL_MARKER: list[Any] = [
    # (TBIL, unit, pooled level in unit, implied decline μmol/L, in unit, percent)
    # Cao 2018 abstract pooled 78.57 μmol/L; hand calculation; tolerance abs 1e-9.
    pytest.param(320, "umol/L", 78.57, 241.43, 241.43, 75.446875, id="320-umol"),
    # 320 − 78.57 = 241.43; 241.43 / 320 = 75.446875 %
    pytest.param(
        10, "mg/dL", 4.594736842105263, 92.43, 5.405263157894737, 54.05263157894737, id="10-mg"
    ),
    # 10 mg/dL = 171 μmol/L; 171 − 78.57 = 92.43 μmol/L = 5.40526 mg/dL; 92.43 / 171 = 54.0526 %
    pytest.param(78.58, "umol/L", 78.57, 0.01, 0.01, 0.012725884449, id="78.58-umol"),
    # 78.58 − 78.57 = 0.01; 0.01 / 78.58 = 0.0127259 %
    pytest.param(78.57, "umol/L", 78.57, None, None, None, id="at-pooled"),
    pytest.param(4.59, "mg/dL", 4.594736842105263, None, None, None, id="4.59-mg-below"),
]


@pytest.mark.parametrize(
    ("tbil", "unit", "pooled_in_unit", "decline", "decline_in_unit", "percent"), TBIL_MARKER
)
def test_tbil_marker(
    evidence: Evidence,
    make_inputs: MakeInputs,
    tbil: float,
    unit: str,
    pooled_in_unit: float,
    decline: float | None,
    decline_in_unit: float | None,
    percent: float | None,
) -> None:
    t = assess(make_inputs(tbil=tbil, tbil_unit=unit), evidence).tbil
    assert t.pooled_level_umol_l == 78.57  # exact: the printed number
    assert t.pooled_level_in_unit == pytest.approx(pooled_in_unit, abs=1e-12)
    assert t.unit == unit
    assert t.informative is (decline is not None)
    if decline is None:
        assert (t.implied_decline_umol_l, t.implied_decline_in_unit) == (None, None)
        assert t.implied_decline_percent is None
    else:
        assert t.implied_decline_umol_l == pytest.approx(decline, abs=1e-9)
        assert t.implied_decline_in_unit == pytest.approx(decline_in_unit, abs=1e-9)
        assert t.implied_decline_percent == pytest.approx(percent, abs=1e-9)


# --------------------------------------------------------------------------
# Intervals under the evidence as printed ("±" of unreported kind)


@pytest.mark.parametrize(
    ("ft", "mean", "spread"), [(ACLF, 14.93, 1.24), (CLF, 4.6, 5.66)], ids=["ACLF", "CLF"]
)
@pytest.mark.parametrize("meld", [6, 15, 28, 40], ids=lambda m: f"meld-{m}")
def test_unreported_spread_gives_a_named_scenario_not_a_ci(
    evidence: Evidence,
    make_inputs: MakeInputs,
    ft: FailureType,
    mean: float,
    spread: float,
    meld: int,
) -> None:
    from scipy.stats import norm

    mr = assess(make_inputs(failure_type=ft.value, meld=meld), evidence).meld_reduction
    (r,) = mr.ranges
    assert r.kind == "scenario"  # never "confidence": the source does not say what ± is
    assert f"Assumes the reported ± {spread:g} is the standard deviation" in r.assumption
    assert "The source does not say what ± is" in r.assumption
    assert r.confidence_level == 0.95
    # mean ± z(0.975)·±, z from the standard library and, independently, from SciPy.
    z = NormalDist().inv_cdf(0.975)
    assert (r.low, r.high) == pytest.approx((mean - z * spread, mean + z * spread), abs=1e-12)
    assert (r.low, r.high) == pytest.approx(norm.interval(0.95, mean, spread), abs=1e-12)
    # MELD after = baseline − decrease, bounded to 6–40 (hand calculation)
    assert r.meld_after_low == min(40.0, max(6.0, meld - r.high))
    assert r.meld_after_high == min(40.0, max(6.0, meld - r.low))


def test_scenario_numbers_for_aclf_28(evidence: Evidence, make_inputs: MakeInputs) -> None:
    # Hand calculation: 14.93 ± 1.959964 × 1.24 = 12.499645 to 17.360355;
    # MELD after 28 − 17.360355 = 10.639645 to 28 − 12.499645 = 15.500355.
    (r,) = assess(make_inputs(), evidence).meld_reduction.ranges
    assert (r.low, r.high) == pytest.approx((12.499645, 17.360355), abs=1e-6)
    assert (r.meld_after_low, r.meld_after_high) == pytest.approx((10.639645, 15.500355), abs=1e-6)


def test_chance_of_improvement(evidence: Evidence, make_inputs: MakeInputs) -> None:
    from scipy.stats import norm

    clf = assess(make_inputs(failure_type="CLF"), evidence).meld_reduction
    # P(decrease > 0) if ± is the SD of a normal: norm.sf(0, 4.6, 5.66) ≈ 0.7918
    assert clf.chance_of_improvement == pytest.approx(norm.sf(0, 4.6, 5.66), abs=1e-12)
    assert clf.chance_of_improvement == pytest.approx(0.7918, abs=1e-4)
    assert clf.chance_assumption is not None
    assert "if ± 5.66 is the standard deviation" in clf.chance_assumption
    aclf = assess(make_inputs(), evidence).meld_reduction
    assert aclf.chance_of_improvement == pytest.approx(norm.sf(0, 14.93, 1.24), abs=1e-12)


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
    assert mr.chance_of_improvement is None


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
    assert mr.chance_of_improvement is None


def test_sd_without_n_gives_a_scenario_only(evidence: Evidence, make_inputs: MakeInputs) -> None:
    from scipy.stats import norm

    ev = with_aclf(evidence, Dispersion(DispersionKind.SD, 1.24, None, None), None)
    (r,) = assess(make_inputs(), ev).meld_reduction.ranges
    assert r.kind == "scenario"
    assert "no confidence interval" in r.assumption
    assert (r.low, r.high) == pytest.approx(norm.interval(0.95, 14.93, 1.24), abs=1e-12)


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
    assert a.stamp.evidence_version == "cao2018-abstract-v1"
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
    if a.inputs.failure_type is ALF:
        assert mr.expected_meld_after is None
        assert mr.ranges == ()
    else:
        assert mr.expected_meld_after is not None
        assert MELD_FLOOR <= mr.expected_meld_after <= MELD_CAP
        assert mr.expected_meld_after <= a.inputs.meld
        assert mr.ranges
    for r in mr.ranges:
        assert r.low <= r.high
        assert MELD_FLOOR <= r.meld_after_low <= r.meld_after_high <= MELD_CAP
    if mr.chance_of_improvement is not None:
        assert 0.0 <= mr.chance_of_improvement <= 1.0
    assert codes(a) <= WARNING_CODES
    assert a.stratum.group == (">=20" if a.inputs.meld >= 20 else "<20")


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

FORBIDDEN = ("flask", "wtforms", "werkzeug", "scipy.stats", "calc.app", "calc.api")

PURITY_SCRIPT = f"""
import json, sys
import calc.engine, calc.evidence, calc.inputs, calc.report
after_import = sorted(m for m in {FORBIDDEN!r} if m in sys.modules)
from calc.evidence import load_evidence
from calc.inputs import validate_inputs
from calc.engine import assess
from calc.report import summary_text, to_dict
ev = load_evidence()
for ft in ("ACLF", "CLF", "ALF"):
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
    script = "import sys, calc.app; print('flask' in sys.modules, 'werkzeug' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]
