"""Tests for calc.core.meld: MELD, MELD-Na, MELD 3.0, unit conversion and validation.

Sources of pinned numbers
    * "worked example" = a published MELD worked example, given by its values. First:
      creatinine 1.9, bilirubin 4.2 mg/dL, INR 1.2 -> 20.039… -> MELD 20 (classic MELD,
      Kamath 2001 with the OPTN/UNOS rules); with Na 125 -> MELD-Na 28 (OPTN 2016).
      Second: bilirubin 1.9, INR 1.2, creatinine 1.3 -> MELD 13.
    * "hand" = a hand calculation shown in the comment beside the case, with ln
      values to 6 decimals. Unrounded values are compared with ``HAND_TOL`` (the
      hand calculation is good to about 1e-6); exact decimal results (no ln term)
      with ``EXACT_TOL``. Scores are integers and compared exactly.
"""

from __future__ import annotations

import ast
import io
import json
import math
import re
import tokenize
from collections.abc import Mapping
from dataclasses import FrozenInstanceError, fields, replace
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import calc
from calc.core.inputs import MELD_RANGE, UMOL_L_PER_MG_DL, InputError, TbilUnit
from calc.core.meld import (
    ALBUMIN_RANGES,
    BILIRUBIN_RANGES,
    CANONICAL_RANGES,
    CLASSIC_MELD,
    CREATININE_RANGES,
    CREATININE_UMOL_L_PER_MG_DL,
    LAB_RANGES,
    MELD_TABLE,
    AlbuminUnit,
    CreatinineUnit,
    LabInputs,
    MeldResult,
    Quantity,
    Sex,
    albumin_to_g_dl,
    bilirubin_to_mg_dl,
    classic_meld,
    compute_meld,
    creatinine_to_mg_dl,
    meld_3_0,
    meld_na,
    round_half_up,
    validate_labs,
    working_as_dict,
)

HAND_TOL = 1e-5  # hand calculations below carry 6 decimals
EXACT_TOL = 1e-9  # results that are exact decimals (no ln term), up to float display


def labs(**overrides: Any) -> LabInputs:
    """Normal labs (every floor at 1.0, no dialysis) with ``overrides``."""
    values: dict[str, Any] = {
        "bilirubin_mg_dl": 1.0,
        "inr": 1.0,
        "creatinine_mg_dl": 1.0,
        "dialysis": False,
    }
    values.update(overrides)
    return LabInputs(**values)


def m3(**overrides: Any) -> LabInputs:
    """MELD 3.0 baseline: all labs at their floors, sodium 137, albumin 3.5, male.

    Every term but the constant is 0 here, so MELD 3.0 = 6 exactly.
    """
    values: dict[str, Any] = {"sodium_mmol_l": 137.0, "albumin_g_dl": 3.5, "sex": Sex.MALE}
    values.update(overrides)
    return labs(**values)


def raw_labs(**overrides: object) -> dict[str, object]:
    """A valid JSON body (the first worked example) with ``overrides``."""
    values: dict[str, object] = {
        "bilirubin": 4.2,
        "bilirubin_unit": "mg/dL",
        "inr": 1.2,
        "creatinine": 1.9,
        "creatinine_unit": "mg/dL",
        "dialysis": False,
    }
    values.update(overrides)
    return values


def errors_of(raw: Mapping[str, object], *, allow_text: bool) -> dict[str, list[str]]:
    with pytest.raises(InputError) as info:
        validate_labs(raw, allow_text=allow_text)
    assert isinstance(info.value, ValueError)
    return info.value.errors


# ---------------------------------------------------------------------------
# Worked examples
# ---------------------------------------------------------------------------


def test_first_worked_example_classic_meld_20() -> None:
    # worked example: creatinine 1.9, bilirubin 4.2, INR 1.2 -> 20.039… -> MELD 20.
    result = compute_meld(labs(creatinine_mg_dl=1.9, bilirubin_mg_dl=4.2, inr=1.2))
    assert result.meld == 20
    assert 20.039 <= result.working.classic.meld_i_unrounded < 20.040  # "20.039…"
    assert result.working.classic.meld_i == 20
    # hand: 0.957 x 0.641854 + 0.378 x 1.435085 + 1.120 x 0.182322 + 0.643 = 2.003916
    assert result.working.classic.formula_value == pytest.approx(2.003916, abs=HAND_TOL)
    assert result.working.classic.bounds_applied == ()


def test_second_worked_example_classic_meld_13() -> None:
    # worked example: bilirubin 1.9, INR 1.2, creatinine 1.3 -> 13.41 -> MELD 13.
    result = compute_meld(labs(bilirubin_mg_dl=1.9, inr=1.2, creatinine_mg_dl=1.3))
    assert result.meld == 13
    # the worked example prints 13.41 (two decimals): tolerance half a unit in the last place.
    assert result.working.classic.meld_i_unrounded == pytest.approx(13.41, abs=0.005)


def test_worked_example_meld_na_28() -> None:
    # worked example: the first example's labs with Na 125 -> MELD-Na 28.
    # hand: MELD(i) 20; 20 + 1.32 x 12 - 0.033 x 20 x 12 = 20 + 15.84 - 7.92 = 27.92 -> 28.
    result = compute_meld(
        labs(creatinine_mg_dl=1.9, bilirubin_mg_dl=4.2, inr=1.2, sodium_mmol_l=125.0)
    )
    assert result.meld_na == 28
    na = result.working.meld_na
    assert na is not None
    assert na.meld_i == 20
    assert na.sodium_term_applied is True
    assert na.unrounded == pytest.approx(27.92, abs=EXACT_TOL)


@pytest.mark.parametrize(
    ("sex", "unrounded", "score"),
    [
        # hand, female: 1.33 + 4.56 x 1.435085 (6.543985) + 0.82 x 12 (9.84)
        #   - 0.24 x 12 x 1.435085 (-4.133043) + 9.09 x 0.182322 (1.657303)
        #   + 11.14 x 0.641854 (7.150252) + 1.85 x 1.0 (1.85)
        #   - 1.83 x 1.0 x 0.641854 (-1.174593) + 6 = 29.063905 -> 29
        (Sex.FEMALE, 29.063905, 29),
        # hand, male: the same without 1.33 = 27.733905 -> 28
        (Sex.MALE, 27.733905, 28),
    ],
    ids=["female", "male"],
)
def test_meld_3_0_on_the_first_example(sex: Sex, unrounded: float, score: int) -> None:
    # No MELD 3.0 worked example is pinned: the first example's labs with Na 125, albumin 2.5.
    result = compute_meld(
        labs(
            creatinine_mg_dl=1.9,
            bilirubin_mg_dl=4.2,
            inr=1.2,
            sodium_mmol_l=125.0,
            albumin_g_dl=2.5,
            sex=sex,
        )
    )
    assert result.meld_3_0 == score
    working = result.working.meld_3_0
    assert working is not None
    assert working.unrounded == pytest.approx(unrounded, abs=HAND_TOL)
    assert sum(t.value for t in working.terms) == pytest.approx(working.unrounded, abs=1e-12)


def test_same_example_entered_in_si_units_gives_the_same_scores() -> None:
    # 4.2 mg/dL x 17.1 = 71.82 μmol/L; 1.9 mg/dL x 88.4 = 167.96 μmol/L; 2.5 g/dL = 25 g/L.
    si = validate_labs(
        raw_labs(
            bilirubin=71.82,
            bilirubin_unit="μmol/L",
            creatinine=167.96,
            creatinine_unit="µmol/L",
            sodium=125,
            albumin=25,
            albumin_unit="g/L",
            sex="female",
        ),
        allow_text=False,
    )
    assert si.bilirubin_mg_dl == 4.2
    assert si.creatinine_mg_dl == 1.9
    assert si.albumin_g_dl == 2.5
    result = compute_meld(si)
    assert (result.meld, result.meld_na, result.meld_3_0) == (20, 28, 29)


# ---------------------------------------------------------------------------
# Classic MELD: floors, caps, dialysis, MELD(i) rounding
# ---------------------------------------------------------------------------

FLOOR_CASES = [
    # (field, entered, used, unrounded MELD(i) x 10, MELD, note expected?)
    # hand: all other labs 1.0, so MELD(i) x 10 = 6.43 + coefficient x 10 x ln(used);
    # ln 1.01 = 0.009950. MELD: the formula value rounded to the tenth, x 10.
    ("bilirubin_mg_dl", 0.99, 1.0, 6.43, 6, True),  # 0.643 -> 0.6 -> 6
    ("bilirubin_mg_dl", 1.0, 1.0, 6.43, 6, False),
    ("bilirubin_mg_dl", 1.01, 1.01, 6.467612, 6, False),  # + 3.78 x 0.009950; 0.6468 -> 6
    ("inr", 0.99, 1.0, 6.43, 6, True),
    ("inr", 1.0, 1.0, 6.43, 6, False),
    ("inr", 1.01, 1.01, 6.541444, 7, False),  # + 11.2 x 0.009950; 0.6541 -> 0.7 -> 7
    ("creatinine_mg_dl", 0.99, 1.0, 6.43, 6, True),
    ("creatinine_mg_dl", 1.0, 1.0, 6.43, 6, False),
    ("creatinine_mg_dl", 1.01, 1.01, 6.525225, 7, False),  # + 9.57 x 0.009950; 0.6525 -> 7
]


@pytest.mark.parametrize(
    ("field", "entered", "used", "unrounded", "meld", "noted"),
    FLOOR_CASES,
    ids=[f"{c[0]}-{c[1]}" for c in FLOOR_CASES],
)
def test_classic_floor_at_one(
    field: str, entered: float, used: float, unrounded: float, meld: int, noted: bool
) -> None:
    result = compute_meld(labs(**{field: entered}))
    classic = result.working.classic
    assert getattr(classic, field) == used
    assert classic.meld_i_unrounded == pytest.approx(unrounded, abs=HAND_TOL)
    assert result.meld == meld
    name = {"bilirubin_mg_dl": "bilirubin", "inr": "INR", "creatinine_mg_dl": "creatinine"}[field]
    notes = [n for n in classic.bounds_applied if n.startswith(name)]
    if noted:
        assert notes == [
            f"{name} 0.99{' mg/dL' if name != 'INR' else ''} below 1.0,"
            f" set to 1.0{' mg/dL' if name != 'INR' else ''}"
        ]
    else:
        assert notes == []


@pytest.mark.parametrize(
    ("creatinine", "used", "unrounded", "noted"),
    [
        # hand: 6.43 + 9.57 x ln(used); ln 3.99 = 1.383791, ln 4 = 1.386294.
        (3.99, 3.99, 19.672882, False),
        (4.0, 4.0, 19.696837, False),
        (4.01, 4.0, 19.696837, True),
    ],
    ids=["3.99", "4.0", "4.01"],
)
def test_classic_creatinine_cap_4(
    creatinine: float, used: float, unrounded: float, noted: bool
) -> None:
    result = compute_meld(labs(creatinine_mg_dl=creatinine))
    classic = result.working.classic
    assert classic.creatinine_mg_dl == used
    assert classic.meld_i_unrounded == pytest.approx(unrounded, abs=HAND_TOL)
    assert result.meld == 20  # 1.97 -> 2.0 -> 20 in all three
    expected = ["creatinine 4.01 mg/dL above 4.0, set to 4.0 mg/dL"] if noted else []
    assert list(classic.bounds_applied) == expected


@pytest.mark.parametrize(
    "creatinine", [0.5, 1.0, 3.99, 6.0], ids=["below-floor", "normal", "below-cap", "above-cap"]
)
def test_dialysis_sets_creatinine_to_each_cap(creatinine: float) -> None:
    result = compute_meld(m3(creatinine_mg_dl=creatinine, dialysis=True))
    classic = result.working.classic
    assert classic.creatinine_mg_dl == 4.0
    assert classic.bounds_applied == ("creatinine set to 4.0 mg/dL (dialysis)",)
    assert result.meld == 20  # hand: 6.43 + 9.57 x 1.386294 = 19.696837 -> 20
    m30 = result.working.meld_3_0
    assert m30 is not None
    assert m30.creatinine_mg_dl == 3.0
    assert m30.bounds_applied == ("creatinine set to 3.0 mg/dL (dialysis)",)
    assert result.meld_3_0 == 18  # hand: 6 + 11.14 x 1.098612 = 18.238541 -> 18
    assert "MELD: creatinine set to 4.0 mg/dL (dialysis)" in result.working.bounds_applied


def test_no_dialysis_leaves_creatinine() -> None:
    result = compute_meld(labs(creatinine_mg_dl=1.0, dialysis=False))
    assert result.working.classic.creatinine_mg_dl == 1.0
    assert result.meld == 6


@pytest.mark.parametrize(
    ("creatinine", "unrounded", "meld_i"),
    [
        # hand: 6.43 + 9.57 x ln 1.69 (0.524729) = 11.451652: formula 1.1452 -> 1.1 -> 11
        (1.69, 11.451652, 11),
        # hand: 6.43 + 9.57 x ln 1.70 (0.530628) = 11.508112: formula 1.1508 -> 1.2 -> 12
        (1.70, 11.508112, 12),
    ],
    ids=["11.45-to-11", "11.51-to-12"],
)
def test_meld_i_is_rounded_at_the_tenth_then_times_10(
    creatinine: float, unrounded: float, meld_i: int
) -> None:
    classic = classic_meld(1.0, 1.0, creatinine, dialysis=False)
    assert classic.meld_i_unrounded == pytest.approx(unrounded, abs=HAND_TOL)
    assert classic.meld_i == meld_i
    assert classic.meld == meld_i


@pytest.mark.parametrize(
    ("bilirubin", "unrounded", "meld_i", "meld"),
    [
        # hand, creatinine 4, INR 3: 9.57 x 1.386294 + 11.2 x 1.098612 + 6.43 = 32.000301
        # + 3.78 x ln(bilirubin):
        (6.0, 38.774145, 39, 39),  # + 3.78 x 1.791759 = 38.774145 -> 39
        (8.0, 39.861584, 40, 40),  # + 3.78 x 2.079442 = 39.861584 -> 40
        (20.0, 43.325163, 43, 40),  # + 3.78 x 2.995732 = 43.325163 -> 43 -> capped 40
    ],
    ids=["39", "40", "43-capped"],
)
def test_classic_cap_at_40(bilirubin: float, unrounded: float, meld_i: int, meld: int) -> None:
    result = compute_meld(labs(creatinine_mg_dl=4.0, inr=3.0, bilirubin_mg_dl=bilirubin))
    classic = result.working.classic
    assert classic.meld_i_unrounded == pytest.approx(unrounded, abs=HAND_TOL)
    assert classic.meld_i == meld_i
    assert result.meld == meld
    capped = [n for n in classic.bounds_applied if "capped" in n]
    assert capped == (["MELD(i) 43 capped at 40"] if meld_i > 40 else [])


def test_minimum_is_6_for_every_score() -> None:
    # Classic MELD at the 1.0 floors is 6.43, so the minimum is 6; MELD 3.0 at its
    # baseline (every term 0) is the constant 6.
    result = compute_meld(
        m3(bilirubin_mg_dl=0.1, inr=0.5, creatinine_mg_dl=0.1, sodium_mmol_l=150.0, albumin_g_dl=5)
    )
    assert (result.meld, result.meld_na, result.meld_3_0) == (6, 6, 6)
    assert result.working.classic.meld_i_unrounded == pytest.approx(6.43, abs=EXACT_TOL)
    m30 = result.working.meld_3_0
    assert m30 is not None
    assert m30.unrounded == pytest.approx(6.0, abs=EXACT_TOL)


# ---------------------------------------------------------------------------
# MELD-Na
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sodium", "used", "unrounded", "score"),
    [
        # hand, MELD(i) 20 (the first worked example): 20 + (1.32 - 0.66) x (137 - Na)
        (124.0, 125.0, 27.92, 28),  # bounded to 125: 20 + 0.66 x 12
        (125.0, 125.0, 27.92, 28),
        (126.0, 126.0, 27.26, 27),  # 20 + 0.66 x 11
        (136.0, 136.0, 20.66, 21),  # 20 + 0.66 x 1
        (137.0, 137.0, 20.0, 20),
        (138.0, 137.0, 20.0, 20),  # bounded to 137
    ],
    ids=["124", "125", "126", "136", "137", "138"],
)
def test_meld_na_sodium_bounds(sodium: float, used: float, unrounded: float, score: int) -> None:
    result = compute_meld(
        labs(creatinine_mg_dl=1.9, bilirubin_mg_dl=4.2, inr=1.2, sodium_mmol_l=sodium)
    )
    na = result.working.meld_na
    assert na is not None
    assert na.sodium_mmol_l == used
    assert na.unrounded == pytest.approx(unrounded, abs=EXACT_TOL)
    assert result.meld_na == score
    bounded = list(na.bounds_applied)
    if sodium < 125:
        assert bounded == ["sodium 124 mmol/L below 125, bounded to 125 mmol/L"]
    elif sodium > 137:
        assert bounded == ["sodium 138 mmol/L above 137, bounded to 137 mmol/L"]
    else:
        assert bounded == []


@pytest.mark.parametrize(
    ("creatinine", "meld_i", "applied", "unrounded", "score"),
    [
        # hand: 6.43 + 9.57 x ln 1.6 (0.470004) = 10.927935 -> 1.09 -> 1.1 -> MELD(i) 11:
        # not > 11, so MELD-Na = MELD = 11 whatever the sodium.
        (1.6, 11, False, 11.0, 11),
        # MELD(i) 11 from 11.451652 (creatinine 1.69, see the rounding test): still 11.
        (1.69, 11, False, 11.0, 11),
        # 11.508112 (creatinine 1.70) -> MELD(i) 12 > 11: 12 + 1.32 x 12 - 0.033 x 12 x 12
        # = 12 + 15.84 - 4.752 = 23.088 -> 23.
        (1.70, 12, True, 23.088, 23),
        # 6.43 + 9.57 x ln 1.8 (0.587787) = 12.055118 -> MELD(i) 12 -> 23.088 -> 23.
        (1.8, 12, True, 23.088, 23),
    ],
    ids=["meld_i-11", "meld_i-11.45", "meld_i-11.51", "meld_i-12"],
)
def test_meld_na_threshold_meld_i_above_11(
    creatinine: float, meld_i: int, applied: bool, unrounded: float, score: int
) -> None:
    result = compute_meld(labs(creatinine_mg_dl=creatinine, sodium_mmol_l=125.0))
    na = result.working.meld_na
    assert na is not None
    assert na.meld_i == meld_i
    assert na.sodium_term_applied is applied
    assert na.unrounded == pytest.approx(unrounded, abs=EXACT_TOL)
    assert result.meld_na == score
    if applied:
        assert na.sodium_mmol_l == 125.0
        assert na.bounds_applied == ()
    else:
        assert na.sodium_mmol_l is None
        assert na.bounds_applied == ("MELD(i) 11 ≤ 11, sodium term not applied (MELD-Na = MELD)",)
        assert "MELD-Na: MELD(i) 11 ≤ 11, sodium term not applied (MELD-Na = MELD)" in (
            result.working.bounds_applied
        )


@pytest.mark.parametrize(
    ("bilirubin", "meld_i", "unrounded", "score", "note"),
    [
        # hand, creatinine 4, INR 3, Na 125: MELD-Na = 0.604 x MELD(i) + 15.84.
        (5.0, 38, 38.792, 39, None),  # 38.084970 -> MELD(i) 38
        (8.0, 40, 40.0, 40, None),  # MELD(i) 40: 0.604 x 40 + 15.84 = 40.00 exactly
        (20.0, 43, 41.812, 40, "MELD-Na 42 capped at 40"),  # MELD(i) 43 -> 41.812 -> 42
    ],
    ids=["39", "40", "42-capped"],
)
def test_meld_na_cap_at_40(
    bilirubin: float, meld_i: int, unrounded: float, score: int, note: str | None
) -> None:
    result = compute_meld(
        labs(creatinine_mg_dl=4.0, inr=3.0, bilirubin_mg_dl=bilirubin, sodium_mmol_l=125.0)
    )
    na = result.working.meld_na
    assert na is not None
    assert na.meld_i == meld_i
    assert na.unrounded == pytest.approx(unrounded, abs=EXACT_TOL)
    assert result.meld_na == score
    assert list(na.bounds_applied) == ([note] if note else [])


@pytest.mark.parametrize("meld_i", [5, 0, -3, True, 12.0, "12"], ids=repr)
def test_meld_na_refuses_a_meld_i_that_is_not_a_score(meld_i: Any) -> None:
    with pytest.raises(ValueError, match=r"MELD\(i\) must be a whole number of at least 6"):
        meld_na(meld_i, 130.0)


def test_meld_na_uses_137_not_140() -> None:
    # OPTN 2016: the 137 form adds nothing at sodium 137 or above. The older 140 form
    # (MELD - Na - 0.025 x MELD x (140 - Na) + 140) would give, for MELD 20 and Na 137,
    # 20 - 137 - 1.5 + 140 = 21.5 -> 22: the test tells the two forms apart.
    assert meld_na(20, 137.0).meld_na == 20
    assert meld_na(20, 140.0).meld_na == 20


# ---------------------------------------------------------------------------
# MELD 3.0
# ---------------------------------------------------------------------------

M3_FLOOR_CASES = [
    # (field, entered, used, unrounded) at the baseline (MELD 3.0 = 6 + term).
    ("bilirubin_mg_dl", 0.99, 1.0, 6.0),
    ("bilirubin_mg_dl", 1.0, 1.0, 6.0),
    ("bilirubin_mg_dl", 1.01, 1.01, 6.045374),  # hand: 6 + 4.56 x 0.009950
    ("inr", 0.99, 1.0, 6.0),
    ("inr", 1.0, 1.0, 6.0),
    ("inr", 1.01, 1.01, 6.090449),  # hand: 6 + 9.09 x 0.009950
    ("creatinine_mg_dl", 0.99, 1.0, 6.0),
    ("creatinine_mg_dl", 1.0, 1.0, 6.0),
    ("creatinine_mg_dl", 1.01, 1.01, 6.110847),  # hand: 6 + 11.14 x 0.009950
]


@pytest.mark.parametrize(
    ("field", "entered", "used", "unrounded"),
    M3_FLOOR_CASES,
    ids=[f"{c[0]}-{c[1]}" for c in M3_FLOOR_CASES],
)
def test_meld_3_0_floor_at_one(field: str, entered: float, used: float, unrounded: float) -> None:
    result = compute_meld(m3(**{field: entered}))
    m30 = result.working.meld_3_0
    assert m30 is not None
    assert getattr(m30, field) == used
    assert m30.unrounded == pytest.approx(unrounded, abs=HAND_TOL)
    assert result.meld_3_0 == 6
    assert (len(m30.bounds_applied) == 1) is (entered < 1.0)


@pytest.mark.parametrize(
    ("creatinine", "used", "unrounded", "noted"),
    [
        # hand: 6 + 11.14 x ln(used); ln 2.99 = 1.095273, ln 3 = 1.098612.
        (2.99, 2.99, 18.201346, False),
        (3.0, 3.0, 18.238541, False),
        (3.01, 3.0, 18.238541, True),
    ],
    ids=["2.99", "3.0", "3.01"],
)
def test_meld_3_0_creatinine_cap_3(
    creatinine: float, used: float, unrounded: float, noted: bool
) -> None:
    result = compute_meld(m3(creatinine_mg_dl=creatinine))
    m30 = result.working.meld_3_0
    assert m30 is not None
    assert m30.creatinine_mg_dl == used
    assert m30.unrounded == pytest.approx(unrounded, abs=HAND_TOL)
    assert result.meld_3_0 == 18
    expected = ["creatinine 3.01 mg/dL above 3.0, set to 3.0 mg/dL"] if noted else []
    assert list(m30.bounds_applied) == expected
    # Classic MELD caps at 4.0, not 3.0: it uses the creatinine as entered.
    assert result.working.classic.creatinine_mg_dl == creatinine


@pytest.mark.parametrize(
    ("sodium", "used", "unrounded", "score"),
    [
        # hand, baseline: 6 + 0.82 x (137 - used); the bilirubin interaction is 0 (ln 1).
        (124.0, 125.0, 15.84, 16),
        (125.0, 125.0, 15.84, 16),
        (126.0, 126.0, 15.02, 15),
        (136.0, 136.0, 6.82, 7),
        (137.0, 137.0, 6.0, 6),
        (138.0, 137.0, 6.0, 6),
    ],
    ids=["124", "125", "126", "136", "137", "138"],
)
def test_meld_3_0_sodium_bounds(sodium: float, used: float, unrounded: float, score: int) -> None:
    result = compute_meld(m3(sodium_mmol_l=sodium))
    m30 = result.working.meld_3_0
    assert m30 is not None
    assert m30.sodium_mmol_l == used
    assert m30.unrounded == pytest.approx(unrounded, abs=EXACT_TOL)
    assert result.meld_3_0 == score
    assert (len(m30.bounds_applied) == 1) is (sodium != used)


@pytest.mark.parametrize(
    ("albumin", "sex", "sodium", "used", "unrounded", "score"),
    [
        # hand, male, Na 125: 6 + 9.84 + 1.85 x (3.5 - used).
        (1.4, Sex.MALE, 125.0, 1.5, 19.54, 20),  # bounded to 1.5: + 1.85 x 2
        (1.5, Sex.MALE, 125.0, 1.5, 19.54, 20),
        (1.6, Sex.MALE, 125.0, 1.6, 19.355, 19),  # + 1.85 x 1.9 = 3.515
        # hand, female, Na 137: 1.33 + 6 + 1.85 x (3.5 - used).
        (3.4, Sex.FEMALE, 137.0, 3.4, 7.515, 8),  # + 1.85 x 0.1 = 0.185
        (3.5, Sex.FEMALE, 137.0, 3.5, 7.33, 7),
        (3.6, Sex.FEMALE, 137.0, 3.5, 7.33, 7),  # bounded to 3.5
    ],
    ids=["1.4", "1.5", "1.6", "3.4", "3.5", "3.6"],
)
def test_meld_3_0_albumin_bounds(
    albumin: float, sex: Sex, sodium: float, used: float, unrounded: float, score: int
) -> None:
    result = compute_meld(m3(albumin_g_dl=albumin, sex=sex, sodium_mmol_l=sodium))
    m30 = result.working.meld_3_0
    assert m30 is not None
    assert m30.albumin_g_dl == used
    assert m30.unrounded == pytest.approx(unrounded, abs=EXACT_TOL)
    assert result.meld_3_0 == score
    albumin_notes = [n for n in m30.bounds_applied if n.startswith("albumin")]
    if albumin < 1.5:
        assert albumin_notes == ["albumin 1.4 g/dL below 1.5, bounded to 1.5 g/dL"]
    elif albumin > 3.5:
        assert albumin_notes == ["albumin 3.6 g/dL above 3.5, bounded to 3.5 g/dL"]
    else:
        assert albumin_notes == []


@pytest.mark.parametrize(
    ("inr", "unrounded", "score"),
    [
        # hand, male, bilirubin 10, creatinine 3, Na 137, albumin 3.5:
        # 6 + 4.56 x 2.302585 (10.499788) + 11.14 x 1.098612 (12.238541) = 28.738329
        # + 9.09 x ln(INR):
        (3.0, 38.724714, 39),  # + 9.09 x 1.098612 = 9.986385
        (3.5, 40.125944, 40),  # + 9.09 x 1.252763 = 11.387615
        (4.0, 41.339742, 40),  # + 9.09 x 1.386294 = 12.601413 -> 41 -> capped 40
    ],
    ids=["39", "40", "41-capped"],
)
def test_meld_3_0_cap_at_40(inr: float, unrounded: float, score: int) -> None:
    result = compute_meld(m3(bilirubin_mg_dl=10.0, creatinine_mg_dl=3.0, inr=inr))
    m30 = result.working.meld_3_0
    assert m30 is not None
    assert m30.unrounded == pytest.approx(unrounded, abs=HAND_TOL)
    assert result.meld_3_0 == score
    assert list(m30.bounds_applied) == (["MELD 3.0 41 capped at 40"] if unrounded > 40.5 else [])


@pytest.mark.parametrize(
    ("sex", "sodium", "albumin", "score", "python_round"),
    [
        # hand, exact tie (every ln term 0): 6 + 0.82 x 11 + 1.85 x 0.8 = 16.50 -> 17
        (Sex.MALE, 126.0, 2.7, 17, 16),
        # hand, exact tie: 1.33 + 6 + 0.82 x 12 + 1.85 x 1.8 = 20.50 -> 21
        (Sex.FEMALE, 125.0, 1.7, 21, 20),
    ],
    ids=["16.50", "20.50"],
)
def test_meld_3_0_exact_ties_round_half_up(
    sex: Sex, sodium: float, albumin: float, score: int, python_round: int
) -> None:
    result = compute_meld(m3(sex=sex, sodium_mmol_l=sodium, albumin_g_dl=albumin))
    m30 = result.working.meld_3_0
    assert m30 is not None
    assert m30.unrounded == score - 0.5
    assert result.meld_3_0 == score
    # Python's round() (ties to even) would give the other answer: the reason for half up.
    assert round(m30.unrounded) == python_round


def test_meld_3_0_female_term_is_1_33() -> None:
    female = meld_3_0(2.0, 1.5, 1.5, 130.0, 3.0, female=True, dialysis=False)
    male = meld_3_0(2.0, 1.5, 1.5, 130.0, 3.0, female=False, dialysis=False)
    assert female.unrounded - male.unrounded == pytest.approx(1.33, abs=EXACT_TOL)
    assert female.terms[0].value == 1.33
    assert male.terms[0].value == 0.0


def test_round_half_up_helper() -> None:
    # The tenth rounding of MELD(i) and the integer rounding, ties away from zero.
    assert round_half_up(Decimal("2.05"), Decimal("0.1")) == Decimal("2.1")
    assert round_half_up(Decimal("2.04999"), Decimal("0.1")) == Decimal("2.0")
    assert round_half_up(Decimal("16.5")) == Decimal("17")
    assert round_half_up(Decimal("16.49")) == Decimal("16")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bilirubin_mg_dl": 0.0},
        {"inr": -1.0},
        {"creatinine_mg_dl": math.nan},
        {"sodium_mmol_l": math.inf},
        {"albumin_g_dl": 0.1},
    ],
    ids=["bilirubin-0", "inr-negative", "creatinine-nan", "sodium-inf", "albumin-0.1"],
)
def test_score_functions_refuse_impossible_canonical_values(kwargs: dict[str, float]) -> None:
    values = {
        "bilirubin_mg_dl": 2.0,
        "inr": 1.5,
        "creatinine_mg_dl": 1.5,
        "sodium_mmol_l": 130.0,
        "albumin_g_dl": 3.0,
    }
    values.update(kwargs)
    with pytest.raises(InputError) as info:
        meld_3_0(
            values["bilirubin_mg_dl"],
            values["inr"],
            values["creatinine_mg_dl"],
            values["sodium_mmol_l"],
            values["albumin_g_dl"],
            female=False,
            dialysis=False,
        )
    assert list(info.value.errors) == list(kwargs)


# ---------------------------------------------------------------------------
# Output: working, types, JSON
# ---------------------------------------------------------------------------


def test_working_records_entered_converted_and_used_values() -> None:
    raw = raw_labs(
        bilirubin=12,
        bilirubin_unit="umol/L",  # 12 / 17.1 = 0.701754 mg/dL -> floored to 1.0
        creatinine=442,
        creatinine_unit="umol/L",  # 442 / 88.4 = 5.0 mg/dL -> 4.0 (MELD), 3.0 (MELD 3.0)
        inr=0.9,
        sodium=120,
        albumin=40,
        albumin_unit="g/L",  # 4.0 g/dL -> 3.5 (MELD 3.0)
        sex="male",
    )
    result = compute_meld(validate_labs(raw, allow_text=False))
    entered = {e.field: e for e in result.working.entered}
    assert (entered["bilirubin"].value, entered["bilirubin"].unit) == (12.0, "umol/L")
    assert entered["bilirubin"].value_canonical == pytest.approx(12 / 17.1, rel=1e-12)
    assert (entered["creatinine"].value_canonical, entered["creatinine"].unit_canonical) == (
        5.0,
        "mg/dL",
    )
    assert (entered["albumin"].value, entered["albumin"].value_canonical) == (40.0, 4.0)
    assert (entered["inr"].value, entered["inr"].unit) == (0.9, "")
    assert (entered["sodium"].value, entered["sodium"].unit) == (120.0, "mmol/L")
    classic = result.working.classic
    assert (classic.bilirubin_mg_dl, classic.inr, classic.creatinine_mg_dl) == (1.0, 1.0, 4.0)
    assert result.working.bounds_applied == (
        "MELD: bilirubin 0.701754 mg/dL below 1.0, set to 1.0 mg/dL",
        "MELD: INR 0.9 below 1.0, set to 1.0",
        "MELD: creatinine 5 mg/dL above 4.0, set to 4.0 mg/dL",
        "MELD-Na: sodium 120 mmol/L below 125, bounded to 125 mmol/L",
        "MELD 3.0: bilirubin 0.701754 mg/dL below 1.0, set to 1.0 mg/dL",
        "MELD 3.0: INR 0.9 below 1.0, set to 1.0",
        "MELD 3.0: creatinine 5 mg/dL above 3.0, set to 3.0 mg/dL",
        "MELD 3.0: sodium 120 mmol/L below 125, bounded to 125 mmol/L",
        "MELD 3.0: albumin 4 g/dL above 3.5, bounded to 3.5 g/dL",
    )
    # hand: MELD(i) 19.696837 -> 20; MELD-Na 20 + 0.66 x 12 = 27.92 -> 28;
    # MELD 3.0: 6 + 0.82 x 12 + 11.14 x 1.098612 = 28.078541 -> 28.
    assert (result.meld, result.meld_na, result.meld_3_0) == (20, 28, 28)


def test_result_types_are_plain_python() -> None:
    result = compute_meld(
        m3(bilirubin_mg_dl=3.0, inr=1.7, creatinine_mg_dl=2.0, sodium_mmol_l=129.0)
    )
    assert type(result.meld) is int
    assert type(result.meld_na) is int
    assert type(result.meld_3_0) is int
    assert type(result.working.classic.meld_i_unrounded) is float
    assert type(result.working.classic.meld_i) is int
    with pytest.raises(FrozenInstanceError):
        result.meld = 7  # type: ignore[misc]


def _walk(value: object) -> list[object]:
    if isinstance(value, dict):
        return [value, *(x for v in value.values() for x in _walk(v))]
    if isinstance(value, list):
        return [value, *(x for v in value for x in _walk(v))]
    return [value]


def test_working_as_dict_is_json_ready() -> None:
    result = compute_meld(
        labs(
            bilirubin_mg_dl=4.2,
            inr=1.2,
            creatinine_mg_dl=1.9,
            sodium_mmol_l=125.0,
            albumin_g_dl=2.5,
            sex=Sex.FEMALE,
        )
    )
    data = working_as_dict(result)
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    for leaf in _walk(data):
        assert type(leaf) in (dict, list, str, int, float, bool, type(None))
        assert not isinstance(leaf, Enum)
    assert data["sex"] == "female"
    assert data["classic"]["meld_i"] == 20
    assert data["meld_na"]["meld_na"] == 28
    assert data["meld_3_0"]["meld_3_0"] == 29
    assert data["classic"]["terms"][0]["label"] == "0.957 × ln(creatinine)"


@pytest.mark.parametrize(
    ("extra", "meld_na_given", "missing"),
    [
        ({}, False, "sodium, albumin, sex"),
        ({"sodium_mmol_l": 130.0}, True, "albumin, sex"),
        ({"sodium_mmol_l": 130.0, "albumin_g_dl": 3.0}, True, "sex"),
        ({"albumin_g_dl": 3.0, "sex": Sex.FEMALE}, False, "sodium"),
    ],
    ids=["labs-only", "with-sodium", "no-sex", "no-sodium"],
)
def test_missing_optional_values_give_none_not_error(
    extra: dict[str, Any], meld_na_given: bool, missing: str
) -> None:
    result = compute_meld(labs(bilirubin_mg_dl=2.0, **extra))
    assert result.meld == 9  # hand: 6.43 + 3.78 x 0.693147 = 9.050096 -> 0.9 -> 9
    assert (result.meld_na is not None) is meld_na_given
    assert result.meld_3_0 is None
    assert result.working.meld_3_0 is None
    assert result.working.not_calculated[-1] == (
        f"MELD 3.0 not calculated: needs sodium, albumin and sex (missing: {missing})."
    )
    assert ("MELD-Na not calculated: needs sodium." in result.working.not_calculated) is (
        not meld_na_given
    )


# ---------------------------------------------------------------------------
# LabInputs and unit conversion
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("convert", "value", "unit", "expected"),
    [
        (bilirubin_to_mg_dl, 71.82, TbilUnit.UMOL_L, 4.2),  # 4.2 x 17.1 = 71.82
        (bilirubin_to_mg_dl, 1710.0, TbilUnit.UMOL_L, 100.0),
        (bilirubin_to_mg_dl, 4.2, TbilUnit.MG_DL, 4.2),
        (creatinine_to_mg_dl, 167.96, CreatinineUnit.UMOL_L, 1.9),  # 1.9 x 88.4 = 167.96
        (creatinine_to_mg_dl, 88.4, CreatinineUnit.UMOL_L, 1.0),
        (creatinine_to_mg_dl, 1.9, CreatinineUnit.MG_DL, 1.9),
        (albumin_to_g_dl, 25.0, AlbuminUnit.G_L, 2.5),
        (albumin_to_g_dl, 2.5, AlbuminUnit.G_DL, 2.5),
    ],
    ids=[
        "bili-umol",
        "bili-umol-max",
        "bili-mg",
        "crea-umol",
        "crea-umol-1",
        "crea-mg",
        "alb-g_l",
        "alb-g_dl",
    ],
)
def test_unit_conversion_to_canonical(
    convert: Any, value: float, unit: Any, expected: float
) -> None:
    # Exact decimal conversion: the float equals the decimal result, no 4.199999….
    assert convert(value, unit) == expected


@given(
    mg_dl=st.decimals(min_value="0.1", max_value="50", places=2),
    crea=st.decimals(min_value="0.11", max_value="25", places=2),
    alb=st.decimals(min_value="0.5", max_value="7", places=1),
)
def test_unit_conversion_round_trip(mg_dl: Decimal, crea: Decimal, alb: Decimal) -> None:
    # mg/dL -> μmol/L by hand (exact decimal), then validate_labs back to mg/dL.
    inputs = validate_labs(
        raw_labs(
            bilirubin=float(mg_dl * Decimal("17.1")),
            bilirubin_unit="umol/L",
            creatinine=float(crea * Decimal("88.4")),
            creatinine_unit="umol/L",
            albumin=float(alb * 10),
            albumin_unit="g/L",
        ),
        allow_text=False,
    )
    assert inputs.bilirubin_mg_dl == pytest.approx(float(mg_dl), rel=1e-12)
    assert inputs.creatinine_mg_dl == pytest.approx(float(crea), rel=1e-12)
    assert inputs.albumin_g_dl == pytest.approx(float(alb), rel=1e-12)


@pytest.mark.parametrize("spelling", ["umol/L", "μmol/L", "µmol/L", "UMOL/L", " umol/l "], ids=repr)
def test_micro_spellings_accepted(spelling: str) -> None:
    inputs = validate_labs(raw_labs(bilirubin=71.82, bilirubin_unit=spelling), allow_text=False)
    assert inputs.bilirubin_mg_dl == 4.2
    assert inputs.bilirubin_as_entered == Quantity(71.82, "umol/L")


def test_lab_inputs_refuses_impossible_canonical_values() -> None:
    with pytest.raises(InputError) as info:
        labs(bilirubin_mg_dl=0.0, inr=math.inf, creatinine_mg_dl=-1.0, sodium_mmol_l=math.nan)
    assert set(info.value.errors) == {"bilirubin_mg_dl", "inr", "creatinine_mg_dl", "sodium_mmol_l"}
    assert (
        "Bilirubin must be a number from 0.05 to 100 mg/dL." in info.value.errors["bilirubin_mg_dl"]
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"dialysis": "no"}, "dialysis"),
        ({"sex": "female"}, "sex"),
        ({"bilirubin_as_entered": Quantity(1.0, "umol/L")}, "bilirubin"),
        ({"creatinine_as_entered": Quantity(1.0, "furlongs")}, "creatinine"),
        ({"albumin_as_entered": Quantity(25.0, "g/L")}, "albumin"),  # albumin_g_dl missing
    ],
    ids=["dialysis-text", "sex-text", "entered-mismatch", "entered-bad-unit", "entered-orphan"],
)
def test_lab_inputs_refuses_inconsistent_fields(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as info:
        labs(**kwargs)
    assert list(info.value.errors) == [field]


def test_lab_inputs_is_frozen() -> None:
    inputs = labs()
    with pytest.raises(FrozenInstanceError):
        inputs.inr = 2.0  # type: ignore[misc]
    assert replace(inputs, inr=2.0).inr == 2.0


# ---------------------------------------------------------------------------
# Validation: ranges, guard, text, dialysis, optional fields
# ---------------------------------------------------------------------------


def test_ranges_are_exposed_for_every_field_and_unit() -> None:
    described = {
        field: {unit: rng.describe() for unit, rng in units.items()}
        for field, units in LAB_RANGES.items()
    }
    assert described == {
        "bilirubin": {"mg/dL": "0.05 to 50 mg/dL", "umol/L": "1 to 1710 μmol/L"},
        "inr": {"": "0.5 to 20"},
        "creatinine": {"mg/dL": "0.1 to 25 mg/dL", "umol/L": "9 to 2210 μmol/L"},
        "sodium": {"mmol/L": "90 to 200 mmol/L"},
        "albumin": {"g/dL": "0.5 to 7 g/dL", "g/L": "5 to 70 g/L"},
    }


@pytest.mark.parametrize(
    ("ranges", "factor", "canonical"),
    [
        (BILIRUBIN_RANGES, {"mg/dL": 1.0, "umol/L": 17.1}, CANONICAL_RANGES["bilirubin_mg_dl"]),
        (CREATININE_RANGES, {"mg/dL": 1.0, "umol/L": 88.4}, CANONICAL_RANGES["creatinine_mg_dl"]),
        (ALBUMIN_RANGES, {"g/dL": 1.0, "g/L": 10.0}, CANONICAL_RANGES["albumin_g_dl"]),
    ],
    ids=["bilirubin", "creatinine", "albumin"],
)
def test_every_entry_range_converts_inside_the_canonical_range(
    ranges: Mapping[str, Any], factor: Mapping[str, float], canonical: Any
) -> None:
    # Rounded inwards: both ends of every unit's range convert inside the canonical range.
    for unit, rng in ranges.items():
        assert canonical.contains(rng.low / factor[unit])
        assert canonical.contains(rng.high / factor[unit])


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"bilirubin": 0}, "bilirubin", ["Bilirubin", "mg/dL", "0.05 to 50"]),
        (
            {"bilirubin": -2, "bilirubin_unit": "umol/L"},
            "bilirubin",
            ["Bilirubin", "μmol/L", "1 to 1710"],
        ),
        (
            {"bilirubin": 2000, "bilirubin_unit": "umol/L"},
            "bilirubin",
            ["Bilirubin", "μmol/L", "1 to 1710"],
        ),
        ({"inr": 0.4}, "inr", ["INR", "0.5 to 20"]),
        ({"creatinine": 0}, "creatinine", ["Creatinine", "mg/dL", "0.1 to 25"]),
        (
            {"creatinine": 3000, "creatinine_unit": "umol/L"},
            "creatinine",
            ["Creatinine", "μmol/L", "9 to 2210"],
        ),
        ({"sodium": 80}, "sodium", ["Sodium", "mmol/L", "90 to 200"]),
        ({"sodium": 13.5}, "sodium", ["Sodium", "mmol/L", "90 to 200"]),
        ({"albumin": 0.4, "albumin_unit": "g/dL"}, "albumin", ["Albumin", "g/dL", "0.5 to 7"]),
        ({"albumin": 71, "albumin_unit": "g/L"}, "albumin", ["Albumin", "g/L", "5 to 70"]),
    ],
    ids=[
        "bili-0",
        "bili-negative",
        "bili-umol-high",
        "inr-low",
        "crea-0",
        "crea-umol-high",
        "na-low",
        "na-typo",
        "alb-low",
        "alb-g_l-high",
    ],
)
def test_range_errors_name_field_unit_and_range(
    overrides: dict[str, object], field: str, words: list[str]
) -> None:
    errors = errors_of(raw_labs(**overrides), allow_text=False)
    assert list(errors) == [field]
    (message,) = errors[field]
    for word in words:
        assert word in message
    assert "looks like" not in message


GUARD_CASES = [
    # (field, value, unit, suggested unit or None, accepted?)
    ("bilirubin", 85, "mg/dL", "μmol/L", False),
    ("bilirubin", 50, "mg/dL", None, True),
    ("bilirubin", 50.01, "mg/dL", "μmol/L", False),
    ("bilirubin", 1710, "mg/dL", "μmol/L", False),
    ("bilirubin", 1710.1, "mg/dL", None, False),
    ("bilirubin", 0.8, "umol/L", "mg/dL", False),
    ("bilirubin", 1, "umol/L", None, True),
    ("bilirubin", 0.04, "umol/L", None, False),
    ("creatinine", 150, "mg/dL", "μmol/L", False),
    ("creatinine", 25, "mg/dL", None, True),
    ("creatinine", 25.1, "mg/dL", "μmol/L", False),
    ("creatinine", 2211, "mg/dL", None, False),
    ("creatinine", 1.2, "umol/L", "mg/dL", False),
    ("creatinine", 8.9, "umol/L", "mg/dL", False),
    ("creatinine", 9, "umol/L", None, True),
    ("creatinine", 0.09, "umol/L", None, False),
    ("albumin", 35, "g/dL", "g/L", False),
    ("albumin", 7, "g/dL", None, True),
    ("albumin", 7.1, "g/dL", "g/L", False),
    ("albumin", 70.1, "g/dL", None, False),
    ("albumin", 3.2, "g/L", "g/dL", False),
    ("albumin", 4.9, "g/L", "g/dL", False),
    ("albumin", 5, "g/L", None, True),
    ("albumin", 0.4, "g/L", None, False),
]


@pytest.mark.parametrize(
    ("field", "value", "unit", "suggested", "accepted"),
    GUARD_CASES,
    ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in GUARD_CASES],
)
def test_unit_mislabel_guard(
    field: str, value: float, unit: str, suggested: str | None, accepted: bool
) -> None:
    raw = raw_labs(**{field: value, f"{field}_unit": unit})
    if accepted:
        inputs = validate_labs(raw, allow_text=False)
        assert getattr(inputs, f"{field}_as_entered") == Quantity(float(value), unit)
        return
    errors = errors_of(raw, allow_text=False)
    (message,) = errors[field]
    if suggested is None:
        assert "looks like" not in message
        assert message.endswith("must be a number from " + LAB_RANGES[field][unit].describe() + ".")
    else:
        assert f"looks like {suggested}" in message
        assert "check the unit" in message
        assert LAB_RANGES[field][unit].describe() in message  # names the range too


def test_guard_message_offers_the_true_value_in_the_other_unit() -> None:
    errors = errors_of(raw_labs(bilirubin=85), allow_text=False)
    assert errors["bilirubin"] == [
        "Bilirubin 85 mg/dL looks like μmol/L (85 μmol/L = 4.97 mg/dL): check the unit."
        " Bilirubin must be a number from 0.05 to 50 mg/dL."
        " If it really is 85 mg/dL, enter it as 1453.5 μmol/L."
    ]
    # And that value is accepted: 1453.5 / 17.1 = 85 mg/dL.
    inputs = validate_labs(raw_labs(bilirubin=1453.5, bilirubin_unit="umol/L"), allow_text=False)
    assert inputs.bilirubin_mg_dl == 85.0


def test_inr_above_range_hints_at_prothrombin_time_or_quick() -> None:
    errors = errors_of(raw_labs(inr=45), allow_text=False)
    (message,) = errors["inr"]
    assert message.startswith("INR must be a number from 0.5 to 20.")
    assert "prothrombin time in seconds or a Quick value in %" in message


@pytest.mark.parametrize(
    "text",
    ["nan", "NaN", "inf", "-inf", "Infinity", "1e309", "1e2", "1_000", "2,5", "0x10", "½"],
    ids=repr,
)
def test_text_that_is_not_a_plain_decimal_is_refused(text: str) -> None:
    errors = errors_of(raw_labs(bilirubin=text, inr=text, sodium=text), allow_text=True)
    assert set(errors) == {"bilirubin", "inr", "sodium"}
    for field in errors:
        (message,) = errors[field]
        assert "must be a plain number" in message
    if "," in text:
        assert "with a point for decimals" in errors["bilirubin"][0]


def test_text_1000_is_parsed_then_guarded() -> None:
    # "1000" is a plain decimal: it parses, and 1000 mg/dL bilirubin looks like μmol/L.
    errors = errors_of(raw_labs(bilirubin="1000"), allow_text=True)
    assert "looks like μmol/L" in errors["bilirubin"][0]


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, float("1e309"), 10**400, True, [], {}], ids=repr
)
def test_json_values_that_are_not_finite_numbers_are_refused(value: object) -> None:
    errors = errors_of(raw_labs(bilirubin=value, inr=value), allow_text=False)
    assert set(errors) == {"bilirubin", "inr"}
    assert "looks like" not in errors["bilirubin"][0]


def test_json_refuses_text_numbers() -> None:
    errors = errors_of(raw_labs(bilirubin="4.2"), allow_text=False)
    assert errors == {"bilirubin": ["Bilirubin must be a JSON number (0.05 to 50 mg/dL)."]}


def test_text_numbers_accepted_with_allow_text() -> None:
    inputs = validate_labs(
        {
            "bilirubin": " 4.2 ",
            "bilirubin_unit": "mg/dL",
            "inr": "1.2",
            "creatinine": "1.9",
            "creatinine_unit": "mg/dL",
            "dialysis": "no",
            "sodium": "125",
            "albumin": "",
            "albumin_unit": "g/dL",
            "sex": "",
        },
        allow_text=True,
    )
    assert (inputs.bilirubin_mg_dl, inputs.inr, inputs.creatinine_mg_dl) == (4.2, 1.2, 1.9)
    assert (inputs.sodium_mmol_l, inputs.albumin_g_dl, inputs.sex) == (125.0, None, None)
    result = compute_meld(inputs)
    assert (result.meld, result.meld_na, result.meld_3_0) == (20, 28, None)


@pytest.mark.parametrize(
    ("value", "allow_text", "expected"),
    [
        (True, False, True),
        (False, False, False),
        (True, True, True),
        ("yes", True, True),
        ("YES", True, True),
        (" true ", True, True),
        ("no", True, False),
        ("False", True, False),
    ],
    ids=repr,
)
def test_dialysis_accepted(value: object, allow_text: bool, expected: bool) -> None:
    inputs = validate_labs(raw_labs(dialysis=value), allow_text=allow_text)
    assert inputs.dialysis is expected


@pytest.mark.parametrize(
    ("value", "allow_text", "start"),
    [
        (None, False, "Dialysis is required"),
        ("", True, "Dialysis is required"),
        ("yes", False, "Dialysis must be true or false"),
        (1, False, "Dialysis must be true or false"),
        ("y", True, "Dialysis must be yes or no"),
        ("1", True, "Dialysis must be yes or no"),
        ("maybe", True, "Dialysis must be yes or no"),
    ],
    ids=repr,
)
def test_dialysis_refused(value: object, allow_text: bool, start: str) -> None:
    raw = raw_labs(dialysis=value)
    errors = errors_of(raw, allow_text=allow_text)
    assert list(errors) == ["dialysis"]
    assert errors["dialysis"][0].startswith(start)
    assert "CVVHD" in errors["dialysis"][0]


def test_all_errors_are_collected_at_once() -> None:
    errors = errors_of({}, allow_text=False)
    assert errors == {
        "bilirubin_unit": ['Bilirubin unit is required: "mg/dL" or "umol/L" (μmol/L).'],
        "inr": ["INR is required: enter 0.5 to 20."],
        "creatinine_unit": ['Creatinine unit is required: "mg/dL" or "umol/L" (μmol/L).'],
        "dialysis": [
            "Dialysis is required: answer true or false. Yes means dialysis at least twice"
            " in the past week, or 24 hours of continuous veno-venous haemodialysis (CVVHD)."
        ],
    }


@pytest.mark.parametrize(
    ("overrides", "field", "start"),
    [
        ({"bilirubin_unit": "mmol/L"}, "bilirubin_unit", "Bilirubin unit must be"),
        ({"creatinine_unit": 3}, "creatinine_unit", "Creatinine unit must be"),
        ({"albumin": 3.0}, "albumin_unit", "Albumin unit is required"),
        ({"albumin_unit": "mg/dL"}, "albumin_unit", "Albumin unit must be"),
        ({"sex": "f"}, "sex", 'Sex must be "female" or "male"'),
        ({"sex": 1}, "sex", 'Sex must be "female" or "male"'),
        ({"sodium": "130"}, "sodium", "Sodium must be a JSON number"),
        ({"bilirubin": None}, "bilirubin", "Bilirubin is required"),
    ],
    ids=[
        "bili-unit",
        "crea-unit-number",
        "alb-no-unit",
        "alb-bad-unit-alone",
        "sex-f",
        "sex-number",
        "na-text-json",
        "bili-missing",
    ],
)
def test_field_errors(overrides: dict[str, object], field: str, start: str) -> None:
    errors = errors_of(raw_labs(**overrides), allow_text=False)
    assert list(errors) == [field]
    assert errors[field][0].startswith(start)


@pytest.mark.parametrize("sex", ["female", "Female", " MALE "], ids=repr)
def test_sex_accepted_case_insensitive(sex: str) -> None:
    inputs = validate_labs(raw_labs(sex=sex), allow_text=False)
    assert inputs.sex is Sex(sex.strip().lower())


# ---------------------------------------------------------------------------
# Properties (Hypothesis)
# ---------------------------------------------------------------------------


def _canonical(name: str) -> st.SearchStrategy[float]:
    rng = CANONICAL_RANGES[name]
    return st.floats(min_value=rng.low, max_value=rng.high, allow_nan=False, allow_infinity=False)


@st.composite
def lab_inputs(draw: st.DrawFn) -> LabInputs:
    return LabInputs(
        bilirubin_mg_dl=draw(_canonical("bilirubin_mg_dl")),
        inr=draw(_canonical("inr")),
        creatinine_mg_dl=draw(_canonical("creatinine_mg_dl")),
        dialysis=draw(st.booleans()),
        sodium_mmol_l=draw(st.none() | _canonical("sodium_mmol_l")),
        albumin_g_dl=draw(st.none() | _canonical("albumin_g_dl")),
        sex=draw(st.none() | st.sampled_from(Sex)),
    )


def _scores(result: MeldResult) -> list[int]:
    return [s for s in (result.meld, result.meld_na, result.meld_3_0) if s is not None]


@settings(max_examples=300, deadline=None)
@given(lab_inputs())
def test_every_score_is_an_int_from_6_to_40(inputs: LabInputs) -> None:
    result = compute_meld(inputs)
    assert (result.meld_na is None) is (inputs.sodium_mmol_l is None)
    complete = None not in (inputs.sodium_mmol_l, inputs.albumin_g_dl, inputs.sex)
    assert (result.meld_3_0 is not None) is complete
    for score in _scores(result):
        assert type(score) is int
        assert 6 <= score <= 40
    # MELD-Na never lies below MELD: the sodium term is >= 0 while MELD(i) <= 40.
    if result.meld_na is not None:
        assert result.meld_na >= result.meld
    json.dumps(working_as_dict(result), allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(
    base=lab_inputs(),
    field=st.sampled_from(["bilirubin_mg_dl", "inr", "creatinine_mg_dl"]),
    data=st.data(),
)
def test_scores_never_decrease_when_bilirubin_inr_or_creatinine_rise(
    base: LabInputs, field: str, data: st.DataObject
) -> None:
    higher = data.draw(
        st.floats(
            min_value=getattr(base, field),
            max_value=CANONICAL_RANGES[field].high,
            allow_nan=False,
        )
    )
    before = compute_meld(base)
    changes: dict[str, Any] = {field: higher}
    after = compute_meld(replace(base, **changes))
    assert after.meld >= before.meld
    if before.meld_na is not None:
        assert after.meld_na is not None
        assert after.meld_na >= before.meld_na
    # MELD 3.0 too: d/d ln(bili) = 4.56 - 0.24 (137 - Na) >= 1.68 and
    # d/d ln(Cr) = 11.14 - 1.83 (3.5 - alb) >= 7.48 inside the bounds.
    if before.meld_3_0 is not None:
        assert after.meld_3_0 is not None
        assert after.meld_3_0 >= before.meld_3_0


@settings(max_examples=200, deadline=None)
@given(base=lab_inputs(), data=st.data())
def test_meld_na_never_increases_when_sodium_rises(base: LabInputs, data: st.DataObject) -> None:
    low = data.draw(_canonical("sodium_mmol_l"))
    high = data.draw(st.floats(min_value=low, max_value=CANONICAL_RANGES["sodium_mmol_l"].high))
    at_low = compute_meld(replace(base, sodium_mmol_l=low))
    at_high = compute_meld(replace(base, sodium_mmol_l=high))
    assert at_low.meld_na is not None and at_high.meld_na is not None
    assert at_high.meld_na <= at_low.meld_na


_GUARDED = [
    ("bilirubin", "mg/dL", "umol/L"),
    ("bilirubin", "umol/L", "mg/dL"),
    ("creatinine", "mg/dL", "umol/L"),
    ("creatinine", "umol/L", "mg/dL"),
    ("albumin", "g/dL", "g/L"),
    ("albumin", "g/L", "g/dL"),
]


@settings(max_examples=400, deadline=None)
@given(
    case=st.sampled_from(_GUARDED),
    value=st.floats(min_value=1e-4, max_value=1e5, allow_nan=False) | st.integers(1, 10**5),
)
def test_guard_and_ranges_leave_no_gap_or_contradiction(
    case: tuple[str, str, str], value: float
) -> None:
    field, unit, other = case
    in_this = LAB_RANGES[field][unit].contains(value)
    in_other = LAB_RANGES[field][other].contains(value)
    raw = raw_labs(**{field: value, f"{field}_unit": unit})
    if field == "albumin":
        raw.update(sodium=130, sex="male")
    try:
        validate_labs(raw, allow_text=False)
    except InputError as exc:
        (message,) = exc.errors[field]
        assert not in_this
        # The guard fires exactly when the other unit would accept the number.
        other_label = LAB_RANGES[field][other].unit_label
        assert (f"looks like {other_label}" in message) is in_other
        if in_other:
            validate_labs(raw_labs(**{field: value, f"{field}_unit": other}), allow_text=False)
    else:
        assert in_this


_FIELDS = (
    "bilirubin",
    "bilirubin_unit",
    "inr",
    "creatinine",
    "creatinine_unit",
    "dialysis",
    "sodium",
    "albumin",
    "albumin_unit",
    "sex",
)
_ANY_JSON = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=40)
    | st.lists(st.integers(), max_size=2)
)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional=dict.fromkeys(_FIELDS, _ANY_JSON),
    ),
    st.booleans(),
)
def test_any_input_gives_labs_or_an_input_error(raw: dict[str, object], allow_text: bool) -> None:
    try:
        inputs = validate_labs(raw, allow_text=allow_text)
    except InputError as exc:
        assert exc.errors
        assert all(isinstance(m, str) and m for ms in exc.errors.values() for m in ms)
    else:
        for score in _scores(compute_meld(inputs)):
            assert 6 <= score <= 40


# ---------------------------------------------------------------------------
# One table of coefficients and bounds
# ---------------------------------------------------------------------------

CALC_DIR = Path(calc.__file__).parent

# Numbers that are written once elsewhere and must not be written again: the unit
# factors (the table converts nothing; calc.core.inputs and calc.core.meld define these).
UNIT_FACTOR_TEXTS = (repr(UMOL_L_PER_MG_DL), str(CREATININE_UMOL_L_PER_MG_DL))

# (file, number as written): (how many times, why). Every other occurrence of a
# number of the table (or of a unit factor) in the code of calc/ is a duplicate.
ALLOWED_LITERALS: dict[tuple[str, str], tuple[int, str]] = {
    ("inputs.py", "17.1"): (1, "the bilirubin unit factor, defined here once"),
    ("meld.py", "88.4"): (1, "the creatinine unit factor, defined here once"),
    ("meld.py", "10"): (1, "the albumin unit factor (1 g/dL = 10 g/L), defined here once"),
    ("inputs.py", "6"): (
        2,
        "MELD_RANGE (see 40 below), and the significant digits of a unit-guard message",
    ),
    ("inputs.py", "10"): (1, "the largest integer the unit guard converts, 10**15"),
    ("inputs.py", "40"): (
        1,
        "MELD_RANGE, the typed baseline MELD (6-40): calc.core.meld imports calc.core.inputs, so"
        " calc.core.inputs cannot read the table; test_meld_range_agrees_with_the_table checks it",
    ),
    ("meld.py", "6"): (1, "significant digits of a lab value in a note"),
    ("meld.py", "0.1"): (1, "the lowest creatinine accepted, 0.1 mg/dL"),
    ("cohort.py", "10"): (8, "decimal digits, byte 10 (line feed) and powers of ten"),
    ("cohort.py", "6"): (2, "a character position in YYYY-MM-DD"),
    ("cohort.py", "1.0"): (3, "unit factor of a canonical unit and placeholders of refused rows"),
    ("rules.py", "10"): (2, "the plausibility threshold MELD < 10 and powers of ten"),
    ("figure.py", "10"): (5, "axis steps, powers of ten and a tick at MELD 10"),
    ("figure.py", "0.1"): (1, "the smallest axis magnitude"),
    ("followup.py", "10"): (1, "a tenfold change that looks like a unit error"),
    ("forms.py", "40"): (1, "the longest patient reference, in characters"),
    ("results.py", "10"): (1, "the warning code meld_below_10 (MELD < 10)"),
    ("server.py", "6"): (2, "IP version 6"),
    ("server.py", "10"): (1, "the server's graceful timeout, in seconds"),
    ("worker.py", "10"): (3, "the head, body and send deadlines, in seconds"),
    ("csvread.py", "10"): (1, "byte 10, the line feed"),
    ("i18n.py", "1.0"): (1, "the default quality of a language in Accept-Language"),
    ("ehr.py", "10"): (1, "the length of a YYYY-MM-DD date"),
    ("fhir.py", "6"): (4, "the check digit of LOINC codes (1742-6, 14631-6, 6301-6, 34714-6)"),
    ("fhir.py", "3.0"): (1, "the local code of MELD 3.0, meld-3.0"),
    ("fhir.py", "40"): (1, "the characters of an unknown field name echoed in a message"),
    ("openapi.py", "3.0"): (2, "the OpenAPI version, 3.0"),
    ("worker.py", "1.0"): (1, "a wait at shutdown, in seconds"),
}


def _number_pattern(text: str) -> re.Pattern[str]:
    """The number ``text`` in every spelling of the same value ("1.120", "1.12", "4.0",
    "4.", "137", "137.0"), on word boundaries: not inside another number (14.0, 4.05,
    4.0.3) nor a name; "MELD 3.0" is the score's name, not a number."""
    whole, _, fraction = format(Decimal(text).normalize(), "f").partition(".")
    if "." in text:
        body = rf"{whole}\.{fraction}0*" if fraction else rf"{whole}\.0*"
    else:
        body = rf"{whole}(?:\.0*)?"
    return re.compile(rf"(?<![\w.])(?<!MELD ){body}(?!\w|\.\d)")


def _table_texts() -> set[str]:
    return {str(getattr(table, f.name)) for table in MELD_TABLE for f in fields(table)}


def _code_lines(path: Path) -> list[str]:
    """The lines of ``path`` with comments, docstrings and the table's classes blanked."""
    source = path.read_text(encoding="utf-8")
    lines = [list(line) for line in source.splitlines(keepends=True)]

    def blank(first: int, start: int, last: int, end: int) -> None:  # 1-based lines
        for n in range(first, last + 1):
            row = lines[n - 1]
            for j in range(start if n == first else 0, end if n == last else len(row)):
                if row[j] != "\n":
                    row[j] = " "

    def column(line: int, utf8_offset: int) -> int:  # ast gives UTF-8 byte offsets
        return len("".join(lines[line - 1]).encode()[:utf8_offset].decode())

    table_classes = {type(table).__name__ for table in MELD_TABLE}
    for node in ast.walk(ast.parse(source)):
        docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if docstring or (isinstance(node, ast.ClassDef) and node.name in table_classes):
            assert node.end_lineno is not None and node.end_col_offset is not None
            start = column(node.lineno, node.col_offset)
            end = column(node.end_lineno, node.end_col_offset)
            if isinstance(node, ast.ClassDef):
                start, end = 0, len(lines[node.end_lineno - 1])
            blank(node.lineno, start, node.end_lineno, end)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            blank(token.start[0], token.start[1], token.end[0], token.end[1])
    return ["".join(row) for row in lines]


def test_table_numbers_are_written_nowhere_else_in_calc() -> None:
    """Every coefficient, floor, cap and bound of the three formulas is written once, in
    calc.core.meld's table; the decimal and the float64 evaluators read it. The code of
    calc/*.py (comments and docstrings aside, which explain the formulas) must not write
    any of them again, except the uses listed in ALLOWED_LITERALS with their reason."""
    texts = _table_texts() | set(UNIT_FACTOR_TEXTS)
    patterns = {text: _number_pattern(text) for text in sorted(texts)}
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(CALC_DIR.rglob("*.py")):
        for n, line in enumerate(_code_lines(path), start=1):
            for text, pattern in patterns.items():
                for _ in pattern.finditer(line):
                    found.setdefault((path.name, text), []).append(f"{n}: {line.strip()}")
    unexpected = {
        f"calc/{name} writes {text} {len(where)}x: " + " | ".join(where)
        for (name, text), where in found.items()
        if len(where) != ALLOWED_LITERALS.get((name, text), (0, ""))[0]
    }
    missing = {key for key in ALLOWED_LITERALS if key not in found}
    assert not unexpected, sorted(unexpected)
    assert not missing, f"allowed uses that no longer exist: {sorted(missing)}"


def test_number_pattern_matches_every_spelling_on_word_boundaries() -> None:
    assert _number_pattern("1.120").search("x = 1.12 * y")
    assert _number_pattern("4.0").search("np.clip(c, one, 4.0)")
    assert _number_pattern("4.0").search("np.clip(c, one, 4.)")
    assert _number_pattern("137").search("137.0 - na")
    assert not _number_pattern("4.0").search("14.0 + 4.05 + 1.4.0.3 + x4.0")
    assert not _number_pattern("3.0").search('"MELD 3.0 (context)"')
    assert not _number_pattern("6").search("6.43 + x6 + 16")


def test_table_gives_the_decimal_and_the_float_from_one_text() -> None:
    for table in MELD_TABLE:
        for f in fields(table):
            value = getattr(table, f.name)
            if isinstance(value, str):
                assert float(Decimal(value)) == float(value), (type(table).__name__, f.name)
            else:
                assert isinstance(value, int), (type(table).__name__, f.name)
    with pytest.raises(FrozenInstanceError):
        CLASSIC_MELD.creatinine = "0.96"  # type: ignore[misc]


def test_meld_range_agrees_with_the_table() -> None:
    assert (MELD_RANGE.low, MELD_RANGE.high) == (CLASSIC_MELD.score_min, CLASSIC_MELD.score_max)
