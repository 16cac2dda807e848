"""MELD, MELD-Na and MELD 3.0 from laboratory values (pure: numpy and the standard library).

Every formula and bound follows the sources below. The assessment uses **classic
MELD**; MELD-Na and MELD 3.0 are given beside it for context only.

Sources
    Classic MELD: Kamath PS et al., Hepatology 2001;33:464-70, with the OPTN/UNOS
    rules (labs below 1.0 set to 1.0, creatinine capped at 4.0 mg/dL and set to 4.0
    on dialysis, score capped at 40). MELD-Na: OPTN policy from January 2016 (the
    137 form; the older 140 form is not used). MELD 3.0: Kim WR et al.,
    Gastroenterology 2021;161:1887-95 (doi:10.1053/j.gastro.2021.08.050).

How numbers are rounded (the decisions, and why)
    * The formulas are evaluated in :mod:`decimal` arithmetic (34 significant
      digits, ``Decimal.ln``), starting from the shortest decimal that round-trips
      each input float (``repr``), so ``4.2`` is exactly 4.2 and ``71.82`` μmol/L is
      exactly 4.2 mg/dL. Binary float arithmetic would put values that are exact
      ties on paper a hair either side of the tie.
    * Ties round half up (``ROUND_HALF_UP``): the rounding a clinician does by hand,
      and what spreadsheet ``ROUND`` and SAS ``round`` do, so a hand check agrees.
      Python's ``round`` rounds ties to even and would turn an exact MELD 3.0 of
      16.50 into 16 instead of 17.
    * Classic MELD: OPTN rounds the formula value (0.957 ln Cr + 0.378 ln bili
      + 1.120 ln INR + 0.643) to the tenth, then multiplies by 10; this integer is
      MELD(i). Because every ln term is zero or transcendental, the exact formula
      value is never a tie, so the half-up rule only matters in principle here.
    * MELD-Na: the MELD(i) that enters the sodium formula, and that is tested
      against the threshold "MELD(i) > 11", is that **rounded integer** (OPTN: "round
      to the tenth decimal place and multiply by 10. If MELD(i) > 11 ..."). The
      result is rounded half up to an integer and capped at 40. Using the integer
      MELD(i) makes the sodium formula exact decimal arithmetic.
    * MELD 3.0: rounded half up to an integer, then capped at 40. Exact ties do
      occur when bilirubin, INR and creatinine are at or below 1.0 (all ln terms
      vanish), e.g. a man with sodium 126 and albumin 2.7: 6 + 0.82 x 11 + 1.85 x 0.8
      = 16.50 -> 17.

Minimum of 6 (checked, not imposed)
    With the floors applied every term of classic MELD is >= 0, so MELD(i) >= 6.43
    -> 6. In MELD-Na the sodium term is added only when MELD(i) >= 12, and
    MELD(i) + d(1.32 - 0.033 MELD(i)) >= MELD(i) while MELD(i) <= 40 (for a larger
    MELD(i) the value is >= 0.604 x 40 + 15.84 = 40). In MELD 3.0, with d = 137 - Na
    in 0..12 and a = 3.5 - albumin in 0..2, ln(bili)(4.56 - 0.24 d) >= 1.68 ln(bili)
    >= 0 and ln(Cr)(11.14 - 1.83 a) >= 7.48 ln(Cr) >= 0, so MELD 3.0 >= 6. No score
    can fall below 6, so no floor is applied (the tests check this property).

Two properties of the published MELD 3.0 formula (not errors here)
    Because of its interaction terms, MELD 3.0 *rises* with albumin when creatinine
    is above e^(1.85/1.83) ~ 2.75 mg/dL, and *rises* with sodium when bilirubin is
    above e^(0.82/0.24) ~ 30.4 mg/dL. All three scores never decrease when
    bilirubin, INR or creatinine rise (in MELD 3.0, inside the bounds, the
    coefficient of ln(bili) is >= 1.68 and that of ln(Cr) >= 7.48), and MELD-Na
    never increases when sodium rises.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from enum import StrEnum
from typing import Any, Final, TypeVar

import numpy as np

from .i18n import N_, gettext
from .inputs import (
    TBIL_RANGES,
    UMOL_L_PER_MG_DL,
    InputError,
    Range,
    TbilUnit,
    check_in_unit,
    check_number,
)
from .inputs import approx_number as _approx
from .inputs import decimal_of as _dec
from .inputs import number_or_none as _number_or_none
from .inputs import show_number as _show

check_lab = check_in_unit  # the mislabel guard lives in calc.core.inputs, shared with TBIL

_T = TypeVar("_T")

# ---------------------------------------------------------------------------
# Units (standard SI conversion factors)
# ---------------------------------------------------------------------------

# Bilirubin 1 mg/dL = 17.1 μmol/L (standard SI factor; the same constant as calc.core.inputs).
BILIRUBIN_UMOL_L_PER_MG_DL = Decimal(repr(UMOL_L_PER_MG_DL))
# Creatinine 1 mg/dL = 88.4 μmol/L (standard SI conversion factor).
CREATININE_UMOL_L_PER_MG_DL = Decimal("88.4")
# Albumin 1 g/dL = 10 g/L (standard SI conversion factor).
ALBUMIN_G_L_PER_G_DL = Decimal("10")

# Bilirubin is total bilirubin, the same quantity as the assessment's TBIL, so it
# shares the unit enum of calc.core.inputs ("mg/dL" | "umol/L").
BilirubinUnit = TbilUnit


class CreatinineUnit(StrEnum):
    MG_DL = "mg/dL"
    UMOL_L = "umol/L"


class AlbuminUnit(StrEnum):
    G_DL = "g/dL"
    G_L = "g/L"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"


SODIUM_UNIT = "mmol/L"  # = mEq/L (sodium is monovalent)
INR_UNIT = ""  # INR is a ratio

# ---------------------------------------------------------------------------
# Allowed ranges and the unit-mislabel guard
#
# The canonical (mg/dL, g/dL) ranges admit every real patient and refuse
# non-positive and physiologically impossible values. The other unit's range is
# the canonical one converted and rounded inwards, so every accepted value
# converts inside the canonical range. A value outside the range of its stated
# unit but inside the range of the other unit is refused with a message that
# suggests the other unit (the guard). Because the guard thresholds *are* the
# range edges, there is no value that the range accepts but the guard refuses,
# nor one that the guard sends to a unit whose range would refuse it.
# ---------------------------------------------------------------------------

# Bilirubin is the TBIL of the assessment, with the same bounds and the same mislabel
# guard (calc.core.inputs.TBIL_RANGES): 0.05-50 mg/dL, 1-1710 μmol/L. Its canonical
# range reaches 1710 μmol/L = 100 mg/dL through the μmol/L entry range.

INR_MIN = 0.5  # an INR below 0.5 is not a real measurement
# Above 20 analysers report the clot as unmeasurable; a larger number is usually a
# prothrombin time in seconds or a Quick value in %.
INR_MAX = 20.0

# Severe sarcopenia can give 0.1-0.2 mg/dL; MELD sets values below 1.0 to 1.0 anyway.
CREATININE_MIN_MG_DL = 0.1
# Guard: creatinine above 25 mg/dL (2210 μmol/L) is beyond untreated end-stage
# kidney disease, while 25-2210 is the everyday μmol/L range.
CREATININE_MG_DL_LOOKS_LIKE_UMOL_L_ABOVE = 25.0
# Guard: 0.1 mg/dL = 8.84 μmol/L rounded inwards; a creatinine below 9 μmol/L is not
# seen in adults, so such a value was typed in mg/dL.
CREATININE_UMOL_L_LOOKS_LIKE_MG_DL_BELOW = 9.0
# 25 mg/dL x 88.4.
CREATININE_MAX_UMOL_L = 2210.0

# Admits extreme but reported hypo- and hypernatraemia; MELD-Na and MELD 3.0 bound
# sodium to 125-137 mmol/L anyway.
SODIUM_MIN_MMOL_L = 90.0
SODIUM_MAX_MMOL_L = 200.0

# Below the lowest measurable serum albumin (severe nephrotic or protein-losing states).
ALBUMIN_MIN_G_DL = 0.5
# Guard: albumin above 7 g/dL is beyond any serum (haemoconcentration reaches
# about 6), while 7-70 is the everyday g/L range.
ALBUMIN_G_DL_LOOKS_LIKE_G_L_ABOVE = 7.0
# Guard: 0.5 g/dL = 5 g/L; a serum albumin below 5 g/L is not seen, so such a
# value was typed in g/dL.
ALBUMIN_G_L_LOOKS_LIKE_G_DL_BELOW = 5.0
# 7 g/dL x 10.
ALBUMIN_MAX_G_L = 70.0

BILIRUBIN_RANGES: dict[TbilUnit, Range] = {
    unit: replace(TBIL_RANGES[unit], label=N_("Bilirubin"))
    for unit in (TbilUnit.MG_DL, TbilUnit.UMOL_L)
}
INR_RANGE = Range(N_("INR"), INR_UNIT, INR_MIN, INR_MAX)
CREATININE_RANGES: dict[CreatinineUnit, Range] = {
    CreatinineUnit.MG_DL: Range(
        N_("Creatinine"), "mg/dL", CREATININE_MIN_MG_DL, CREATININE_MG_DL_LOOKS_LIKE_UMOL_L_ABOVE
    ),
    CreatinineUnit.UMOL_L: Range(
        N_("Creatinine"), "umol/L", CREATININE_UMOL_L_LOOKS_LIKE_MG_DL_BELOW, CREATININE_MAX_UMOL_L
    ),
}
SODIUM_RANGE = Range(N_("Sodium"), SODIUM_UNIT, SODIUM_MIN_MMOL_L, SODIUM_MAX_MMOL_L)
ALBUMIN_RANGES: dict[AlbuminUnit, Range] = {
    AlbuminUnit.G_DL: Range(
        N_("Albumin"), "g/dL", ALBUMIN_MIN_G_DL, ALBUMIN_G_DL_LOOKS_LIKE_G_L_ABOVE
    ),
    AlbuminUnit.G_L: Range(
        N_("Albumin"), "g/L", ALBUMIN_G_L_LOOKS_LIKE_G_DL_BELOW, ALBUMIN_MAX_G_L
    ),
}

# Every accepted value, by field and unit spelling, for the README, the form and the API.
LAB_RANGES: dict[str, dict[str, Range]] = {
    "bilirubin": {str(u): r for u, r in BILIRUBIN_RANGES.items()},
    "inr": {INR_UNIT: INR_RANGE},
    "creatinine": {str(u): r for u, r in CREATININE_RANGES.items()},
    "sodium": {SODIUM_UNIT: SODIUM_RANGE},
    "albumin": {str(u): r for u, r in ALBUMIN_RANGES.items()},
}

# What LabInputs accepts in canonical units: the union of the entry ranges
# (bilirubin reaches 100 mg/dL through the μmol/L range).
CANONICAL_RANGES: dict[str, Range] = {
    "bilirubin_mg_dl": replace(
        BILIRUBIN_RANGES[TbilUnit.MG_DL],
        high=float(_dec(BILIRUBIN_RANGES[TbilUnit.UMOL_L].high) / BILIRUBIN_UMOL_L_PER_MG_DL),
    ),
    "inr": INR_RANGE,
    "creatinine_mg_dl": CREATININE_RANGES[CreatinineUnit.MG_DL],
    "sodium_mmol_l": SODIUM_RANGE,
    "albumin_g_dl": ALBUMIN_RANGES[AlbuminUnit.G_DL],
}

# ---------------------------------------------------------------------------
# Formula constants: the one table of MELD coefficients and bounds
#
# Every evaluator reads these: classic_meld, meld_na and meld_3_0 below (decimal)
# and calc.cli.cohort (float64 over whole columns). Each coefficient is kept as the
# decimal text its source prints, so the decimal and the binary value come from
# the same text: ``Decimal(text)`` and ``float(text)``. Whole-number rules (the
# x 10, the threshold, the score limits) are ints.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassicMeldCoefficients:
    """Classic MELD: Kamath PS et al., Hepatology 2001;33:464-70, with the OPTN/UNOS rules.

    MELD(i) = creatinine x ln(Cr) + bilirubin x ln(bili) + inr x ln(INR) + constant,
    rounded to the tenth, x 10; MELD = MELD(i) capped at ``score_max``.
    """

    creatinine: str = "0.957"  # x ln(creatinine, mg/dL); Kamath 2001
    bilirubin: str = "0.378"  # x ln(bilirubin, mg/dL); Kamath 2001
    inr: str = "1.120"  # x ln(INR); Kamath 2001, as OPTN/UNOS policy prints it
    constant: str = "0.643"  # Kamath 2001's aetiology term, applied to all by OPTN/UNOS
    lab_floor: str = "1.0"  # bilirubin, INR, creatinine below 1.0 set to 1.0 (OPTN/UNOS)
    creatinine_cap_mg_dl: str = "4.0"  # above 4.0 mg/dL, or on dialysis, set to 4.0 (OPTN/UNOS)
    rounding_quantum: str = "0.1"  # MELD(i): "round to the tenth decimal place" (OPTN/UNOS)
    scale: int = 10  # "... and multiply by 10" (OPTN/UNOS)
    # The lowest score: with the floors every ln term is >= 0, so MELD(i) >= 6.43 -> 6
    # (Kamath 2001 with the OPTN/UNOS floors; a consequence, not imposed).
    score_min: int = 6
    score_max: int = 40  # MELD capped at 40 (OPTN/UNOS)


@dataclass(frozen=True)
class MeldNaCoefficients:
    """MELD-Na: OPTN policy, January 2016 (the 137 form).

    If MELD(i) > ``threshold``: MELD(i) + sodium x (137 - Na) - interaction x MELD(i)
    x (137 - Na), sodium bounded to 125-137 mmol/L, rounded to an integer; capped at 40.
    """

    threshold: int = 11  # "If MELD(i) > 11" the sodium term applies (OPTN 2016)
    sodium: str = "1.32"  # x (137 - Na); OPTN 2016
    interaction: str = "0.033"  # x MELD(i) x (137 - Na); OPTN 2016
    sodium_reference_mmol_l: str = "137"  # the 137 in (137 - Na); OPTN 2016
    sodium_low_mmol_l: str = "125"  # sodium below 125 set to 125 (OPTN 2016)
    sodium_high_mmol_l: str = "137"  # sodium above 137 set to 137 (OPTN 2016)
    score_max: int = 40  # MELD-Na capped at 40 (OPTN 2016)


@dataclass(frozen=True)
class Meld3Coefficients:
    """MELD 3.0: Kim WR et al., Gastroenterology 2021;161:1887-95.

    doi:10.1053/j.gastro.2021.08.050.

    female x [female] + bilirubin x ln(bili) + sodium x (137 - Na) - sodium_bilirubin
    x (137 - Na) x ln(bili) + inr x ln(INR) + creatinine x ln(Cr) + albumin x (3.5 - alb)
    - albumin_creatinine x (3.5 - alb) x ln(Cr) + constant, rounded to the nearest
    integer, capped at 40.
    """

    female: str = "1.33"  # x 1 for a woman; Kim 2021
    bilirubin: str = "4.56"  # x ln(bilirubin, mg/dL); Kim 2021
    sodium: str = "0.82"  # x (137 - Na); Kim 2021
    sodium_bilirubin: str = "0.24"  # - 0.24 x (137 - Na) x ln(bilirubin); Kim 2021
    inr: str = "9.09"  # x ln(INR); Kim 2021
    creatinine: str = "11.14"  # x ln(creatinine, mg/dL); Kim 2021
    albumin: str = "1.85"  # x (3.5 - albumin); Kim 2021
    albumin_creatinine: str = "1.83"  # - 1.83 x (3.5 - albumin) x ln(creatinine); Kim 2021
    constant: str = "6"  # Kim 2021
    lab_floor: str = "1.0"  # bilirubin, INR, creatinine below 1.0 set to 1.0 (Kim 2021)
    creatinine_cap_mg_dl: str = "3.0"  # above 3.0 mg/dL, or on dialysis, set to 3.0 (Kim 2021)
    sodium_reference_mmol_l: str = "137"  # the 137 in (137 - Na); Kim 2021
    sodium_low_mmol_l: str = "125"  # sodium bounded to 125-137 mmol/L (Kim 2021)
    sodium_high_mmol_l: str = "137"
    albumin_reference_g_dl: str = "3.5"  # the 3.5 in (3.5 - albumin); Kim 2021
    albumin_low_g_dl: str = "1.5"  # albumin bounded to 1.5-3.5 g/dL (Kim 2021)
    albumin_high_g_dl: str = "3.5"
    score_max: int = 40  # MELD 3.0 capped at 40 (Kim 2021)


CLASSIC_MELD: Final = ClassicMeldCoefficients()
MELD_NA: Final = MeldNaCoefficients()
MELD_3_0: Final = Meld3Coefficients()
MELD_TABLE: Final = (CLASSIC_MELD, MELD_NA, MELD_3_0)

# 34 significant digits: errors ~1e-33, far below any rounding boundary that matters.
_CONTEXT = Context(prec=34)

CLASSIC_SOURCE = "Classic MELD: Kamath PS et al., Hepatology 2001;33:464-70, with OPTN/UNOS rules"
MELD_NA_SOURCE = f"MELD-Na: OPTN policy, January 2016, {MELD_NA.sodium_reference_mmol_l} form"
MELD3_SOURCE = (
    "MELD 3.0: Kim WR et al., Gastroenterology 2021;161:1887-95, doi:10.1053/j.gastro.2021.08.050"
)
DIALYSIS_DEFINITION = N_(
    "Yes means dialysis at least twice in the past week, or 24 hours of continuous"
    " veno-venous haemodialysis (CVVHD)."
)

# ---------------------------------------------------------------------------
# Rounding and conversion
# ---------------------------------------------------------------------------


def round_half_up(value: Decimal, quantum: Decimal = Decimal("1")) -> Decimal:
    """Round ``value`` to the multiple of ``quantum`` (e.g. ``Decimal("0.1")``), ties up.

    The one rounding rule for all MELD scores (see the module docstring): OPTN's
    "round to the tenth" for MELD(i), and "rounded to the nearest integer" for
    MELD-Na and MELD 3.0. The scores are positive, so "half up" and "half away from
    zero" agree.
    """
    return value.quantize(quantum, rounding=ROUND_HALF_UP)


def _note_number(value: Decimal) -> str:
    """A lab value in a note on the bounds applied: 6 significant digits, as a lab prints."""
    return _approx(value, _NOTE_DIGITS)


_NOTE_DIGITS = 6


def bilirubin_to_mg_dl(value: float, unit: TbilUnit) -> float:
    """Bilirubin in mg/dL (1 mg/dL = 17.1 μmol/L)."""
    if unit is TbilUnit.MG_DL:
        return float(value)
    with localcontext(_CONTEXT):
        return float(_dec(value) / BILIRUBIN_UMOL_L_PER_MG_DL)


def creatinine_to_mg_dl(value: float, unit: CreatinineUnit) -> float:
    """Creatinine in mg/dL (1 mg/dL = 88.4 μmol/L)."""
    if unit is CreatinineUnit.MG_DL:
        return float(value)
    with localcontext(_CONTEXT):
        return float(_dec(value) / CREATININE_UMOL_L_PER_MG_DL)


def albumin_to_g_dl(value: float, unit: AlbuminUnit) -> float:
    """Albumin in g/dL (1 g/dL = 10 g/L)."""
    if unit is AlbuminUnit.G_DL:
        return float(value)
    with localcontext(_CONTEXT):
        return float(_dec(value) / ALBUMIN_G_L_PER_G_DL)


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Quantity:
    """A value with the unit it was entered in (API spelling, "" for INR)."""

    value: float
    unit: str


# An entered value and its canonical value agree to float precision (same conversion).
_CONVERSION_REL_TOL = 1e-12


@dataclass(frozen=True)
class LabInputs:
    """Validated MELD labs; canonical units live in the field names.

    ``*_as_entered`` keep the value and unit the clinician typed, for the working;
    when absent the value was entered in the canonical unit. Construction checks
    the canonical values against :data:`CANONICAL_RANGES` and that each entered
    value converts to its canonical value, raising :class:`InputError`.
    """

    bilirubin_mg_dl: float
    inr: float
    creatinine_mg_dl: float
    dialysis: bool
    sodium_mmol_l: float | None = None
    albumin_g_dl: float | None = None
    sex: Sex | None = None
    bilirubin_as_entered: Quantity | None = None
    creatinine_as_entered: Quantity | None = None
    albumin_as_entered: Quantity | None = None

    def __post_init__(self) -> None:
        errors: dict[str, list[str]] = {}
        for name, rng in CANONICAL_RANGES.items():
            value = getattr(self, name)
            if value is None and name in ("sodium_mmol_l", "albumin_g_dl"):
                continue
            try:
                check_number(value, rng, allow_text=False)
            except ValueError as exc:
                errors.setdefault(name, []).append(str(exc))
        if not isinstance(self.dialysis, bool):
            errors.setdefault("dialysis", []).append("Dialysis must be true or false.")
        if self.sex is not None and not isinstance(self.sex, Sex):
            errors.setdefault("sex", []).append('Sex must be "female" or "male".')
        entered: list[tuple[str, str, Quantity | None, Callable[[Quantity], float]]] = [
            (
                "bilirubin",
                "bilirubin_mg_dl",
                self.bilirubin_as_entered,
                lambda q: bilirubin_to_mg_dl(q.value, TbilUnit(q.unit)),
            ),
            (
                "creatinine",
                "creatinine_mg_dl",
                self.creatinine_as_entered,
                lambda q: creatinine_to_mg_dl(q.value, CreatinineUnit(q.unit)),
            ),
            (
                "albumin",
                "albumin_g_dl",
                self.albumin_as_entered,
                lambda q: albumin_to_g_dl(q.value, AlbuminUnit(q.unit)),
            ),
        ]
        for field, canonical_name, quantity, convert in entered:
            canonical = getattr(self, canonical_name)
            if quantity is None or canonical_name in errors:
                continue
            try:
                converted = convert(quantity)
            except ValueError:
                errors.setdefault(field, []).append(
                    f"Unknown {field} unit {quantity.unit!r} for the value as entered."
                )
                continue
            if canonical is None or not math.isclose(
                converted, canonical, rel_tol=_CONVERSION_REL_TOL
            ):
                errors.setdefault(field, []).append(
                    f"The {field} as entered ({quantity.value} {quantity.unit}) does not"
                    f" convert to {canonical_name} = {canonical}."
                )
        if errors:
            raise InputError(errors)


def _canonical_unit_text(text: str) -> str:
    """Accept the micro sign and the Greek mu for the ASCII 'u'; ignore case."""
    return text.strip().replace("μ", "u").replace("µ", "u").lower()


_E = TypeVar("_E", bound=StrEnum)


def _parse_unit(value: object, enum: type[_E], label: str, allowed: str) -> _E:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(
            gettext("{label} unit is required: {allowed}.").format(
                label=gettext(label), allowed=allowed
            )
        )
    if isinstance(value, str):
        wanted = _canonical_unit_text(value)
        for member in enum:
            if member.value.lower() == wanted:
                return member
    raise ValueError(
        gettext("{label} unit must be {allowed}.").format(label=gettext(label), allowed=allowed)
    )


def parse_bilirubin_unit(value: object) -> TbilUnit:
    """ "mg/dL" or "umol/L" (also μmol/L, µmol/L; case ignored); required."""
    return _parse_unit(value, TbilUnit, N_("Bilirubin"), _either('"mg/dL"', '"umol/L" (μmol/L)'))


def parse_creatinine_unit(value: object) -> CreatinineUnit:
    """ "mg/dL" or "umol/L" (also μmol/L, µmol/L; case ignored); required."""
    return _parse_unit(
        value, CreatinineUnit, N_("Creatinine"), _either('"mg/dL"', '"umol/L" (μmol/L)')
    )


def parse_albumin_unit(value: object) -> AlbuminUnit:
    """ "g/dL" or "g/L" (case ignored); required when albumin is given."""
    return _parse_unit(value, AlbuminUnit, N_("Albumin"), _either('"g/dL"', '"g/L"'))


def _either(first: str, second: str) -> str:
    return gettext("{first} or {second}").format(first=first, second=second)


_YES = frozenset({"yes", "true"})
_NO = frozenset({"no", "false"})


def parse_dialysis(value: object, *, allow_text: bool) -> bool:
    """A required yes/no: JSON true/false; with ``allow_text`` also yes/no/true/false."""
    if isinstance(value, bool):
        return value
    if allow_text and isinstance(value, str):
        text = value.strip().lower()
        if text in _YES:
            return True
        if text in _NO:
            return False
    answer = _either("yes", "no") if allow_text else _either("true", "false")
    definition = gettext(DIALYSIS_DEFINITION)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(
            gettext("Dialysis is required: answer {answer}. {definition}").format(
                answer=answer, definition=definition
            )
        )
    raise ValueError(
        gettext("Dialysis must be {answer}. {definition}").format(
            answer=answer, definition=definition
        )
    )


def parse_sex(value: object) -> Sex:
    """ "female" or "male" (case ignored)."""
    if isinstance(value, str):
        try:
            return Sex(value.strip().lower())
        except ValueError:
            pass
    raise ValueError(gettext('Sex must be "female" or "male" (used only by MELD 3.0).'))


def _is_missing(value: object, *, allow_text: bool) -> bool:
    """An optional field left out (None), or left blank in a text form."""
    return value is None or (allow_text and isinstance(value, str) and not value.strip())


# Larger integers are far outside every range; float() of a huge int would overflow.
def check_inr(value: object, *, allow_text: bool) -> float:
    """INR inside :data:`INR_RANGE`; a value above it gets a hint about PT and Quick."""
    try:
        return check_number(value, INR_RANGE, allow_text=allow_text)
    except ValueError as exc:
        number = _number_or_none(value, INR_RANGE, allow_text=allow_text)
        if number is not None and number > INR_RANGE.high:
            hint = gettext(
                "A value above {high} may be a prothrombin time in seconds or a Quick value in %:"
                " enter the INR, which has no unit."
            ).format(high=_show(INR_RANGE.high))
            raise ValueError(f"{exc} {hint}") from None
        raise


_BILIRUBIN_FACTORS: dict[TbilUnit, Decimal] = {
    TbilUnit.MG_DL: Decimal(1),
    TbilUnit.UMOL_L: BILIRUBIN_UMOL_L_PER_MG_DL,
}
_CREATININE_FACTORS: dict[CreatinineUnit, Decimal] = {
    CreatinineUnit.MG_DL: Decimal(1),
    CreatinineUnit.UMOL_L: CREATININE_UMOL_L_PER_MG_DL,
}
_ALBUMIN_FACTORS: dict[AlbuminUnit, Decimal] = {
    AlbuminUnit.G_DL: Decimal(1),
    AlbuminUnit.G_L: ALBUMIN_G_L_PER_G_DL,
}


def validate_labs(raw: Mapping[str, object], *, allow_text: bool) -> LabInputs:
    """Validate raw MELD labs keyed by the API's field names.

    Mirrors :func:`calc.core.inputs.validate_inputs`: every problem is collected before
    raising one :class:`InputError` mapping field -> messages. ``allow_text`` admits
    strings (form and command line): plain decimals only (no ``nan``, ``inf``,
    ``1e309``, ``1_000``, ``2,5``) and yes/no/true/false for dialysis.

    Required: ``bilirubin`` + ``bilirubin_unit``, ``inr``, ``creatinine`` +
    ``creatinine_unit``, ``dialysis``. Units have no default: a silently assumed
    unit is the commonest way to get MELD wrong. Optional: ``sodium`` (MELD-Na,
    MELD 3.0), ``albumin`` + ``albumin_unit`` and ``sex`` (MELD 3.0); a missing
    one gives no score for that version, not an error.
    """
    errors: dict[str, list[str]] = {}

    def attempt(field: str, fn: Callable[[], _T]) -> _T | None:
        try:
            return fn()
        except ValueError as exc:
            errors.setdefault(field, []).append(str(exc))
            return None

    bilirubin_unit = attempt(
        "bilirubin_unit", lambda: parse_bilirubin_unit(raw.get("bilirubin_unit"))
    )
    bilirubin = None
    if bilirubin_unit is not None:
        bu = bilirubin_unit
        bilirubin = attempt(
            "bilirubin",
            lambda: check_lab(
                raw.get("bilirubin"),
                BILIRUBIN_RANGES,
                bu,
                _BILIRUBIN_FACTORS,
                allow_text=allow_text,
            ),
        )
    inr = attempt("inr", lambda: check_inr(raw.get("inr"), allow_text=allow_text))
    creatinine_unit = attempt(
        "creatinine_unit", lambda: parse_creatinine_unit(raw.get("creatinine_unit"))
    )
    creatinine = None
    if creatinine_unit is not None:
        cu = creatinine_unit
        creatinine = attempt(
            "creatinine",
            lambda: check_lab(
                raw.get("creatinine"),
                CREATININE_RANGES,
                cu,
                _CREATININE_FACTORS,
                allow_text=allow_text,
            ),
        )
    dialysis = attempt(
        "dialysis", lambda: parse_dialysis(raw.get("dialysis"), allow_text=allow_text)
    )

    sodium = None
    raw_sodium = raw.get("sodium")
    if not _is_missing(raw_sodium, allow_text=allow_text):
        sodium = attempt(
            "sodium", lambda: check_number(raw_sodium, SODIUM_RANGE, allow_text=allow_text)
        )

    albumin = None
    albumin_unit = None
    raw_albumin = raw.get("albumin")
    raw_albumin_unit = raw.get("albumin_unit")
    albumin_given = not _is_missing(raw_albumin, allow_text=allow_text)
    if albumin_given or not _is_missing(raw_albumin_unit, allow_text=allow_text):
        albumin_unit = attempt("albumin_unit", lambda: parse_albumin_unit(raw_albumin_unit))
    if albumin_given and albumin_unit is not None:
        au = albumin_unit
        albumin = attempt(
            "albumin",
            lambda: check_lab(
                raw_albumin, ALBUMIN_RANGES, au, _ALBUMIN_FACTORS, allow_text=allow_text
            ),
        )

    sex = None
    raw_sex = raw.get("sex")
    if not _is_missing(raw_sex, allow_text=allow_text):
        sex = attempt("sex", lambda: parse_sex(raw_sex))

    if errors:
        raise InputError(errors)
    assert bilirubin is not None and bilirubin_unit is not None
    assert creatinine is not None and creatinine_unit is not None
    assert inr is not None and dialysis is not None
    return LabInputs(
        bilirubin_mg_dl=bilirubin_to_mg_dl(bilirubin, bilirubin_unit),
        inr=inr,
        creatinine_mg_dl=creatinine_to_mg_dl(creatinine, creatinine_unit),
        dialysis=dialysis,
        sodium_mmol_l=sodium,
        albumin_g_dl=(
            albumin_to_g_dl(albumin, albumin_unit)
            if albumin is not None and albumin_unit is not None
            else None
        ),
        sex=sex,
        bilirubin_as_entered=Quantity(bilirubin, str(bilirubin_unit)),
        creatinine_as_entered=Quantity(creatinine, str(creatinine_unit)),
        albumin_as_entered=(
            Quantity(albumin, str(albumin_unit))
            if albumin is not None and albumin_unit is not None
            else None
        ),
    )


# ---------------------------------------------------------------------------
# Working (what the clinician sees: values as entered, converted and used)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EnteredLab:
    """One lab as entered and as converted to the canonical unit."""

    field: str
    value: float
    unit: str
    value_canonical: float
    unit_canonical: str


@dataclass(frozen=True)
class Term:
    """One term of a formula, e.g. ``("4.56 × ln(bilirubin)", 6.544)``."""

    label: str
    value: float


@dataclass(frozen=True)
class ClassicMeldWorking:
    """Classic MELD: the labs used (after floors and caps) and the steps."""

    bilirubin_mg_dl: float
    inr: float
    creatinine_mg_dl: float
    terms: tuple[Term, ...]
    formula_value: float  # 0.957 ln Cr + 0.378 ln bili + 1.120 ln INR + 0.643, unrounded
    meld_i_unrounded: float  # formula_value x 10 (20.039… for Cr 1.9, bili 4.2, INR 1.2)
    meld_i: int  # formula_value rounded to the tenth, x 10 (OPTN)
    meld: int  # MELD(i) capped at 40
    bounds_applied: tuple[str, ...]
    source: str = CLASSIC_SOURCE


@dataclass(frozen=True)
class MeldNaWorking:
    """MELD-Na: the MELD(i) and sodium used and the unrounded value."""

    meld_i: int
    sodium_mmol_l: float | None  # after bounding; None when the sodium term does not apply
    sodium_term_applied: bool
    unrounded: float
    meld_na: int
    bounds_applied: tuple[str, ...]
    source: str = MELD_NA_SOURCE


@dataclass(frozen=True)
class Meld30Working:
    """MELD 3.0: the labs used (after floors, caps and bounds) and the terms."""

    female: bool
    bilirubin_mg_dl: float
    inr: float
    creatinine_mg_dl: float
    sodium_mmol_l: float
    albumin_g_dl: float
    terms: tuple[Term, ...]
    unrounded: float
    meld_3_0: int
    bounds_applied: tuple[str, ...]
    source: str = MELD3_SOURCE


@dataclass(frozen=True)
class MeldWorking:
    entered: tuple[EnteredLab, ...]
    dialysis: bool
    sex: Sex | None
    classic: ClassicMeldWorking
    meld_na: MeldNaWorking | None
    meld_3_0: Meld30Working | None
    not_calculated: tuple[str, ...]
    bounds_applied: tuple[str, ...]  # every score's, each prefixed with the score's name


@dataclass(frozen=True)
class MeldResult:
    meld: int
    meld_na: int | None
    meld_3_0: int | None
    working: MeldWorking


# ---------------------------------------------------------------------------
# The scores
# ---------------------------------------------------------------------------


def _require_canonical(**values: float) -> dict[str, Decimal]:
    """Check canonical values (the score functions are public) and make them Decimal."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Decimal] = {}
    for name, value in values.items():
        try:
            out[name] = _dec(check_number(value, CANONICAL_RANGES[name], allow_text=False))
        except ValueError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise InputError(errors)
    return out


# The notes of the bounds applied are words, in the language of the request, like every
# message; their numbers are the labs' and the table's. The labs are named by these
# marked words (INR is INR in every language).
_BOUND_NAMES: Final = {
    "bilirubin": N_("bilirubin"),
    "creatinine": N_("creatinine"),
    "sodium": N_("sodium"),
    "albumin": N_("albumin"),
}


def _lab_name(name: str) -> str:
    return gettext(_BOUND_NAMES[name]) if name in _BOUND_NAMES else name


def _floor(name: str, value: Decimal, floor: Decimal, unit: str, notes: list[str]) -> Decimal:
    if value < floor:
        unit_text = f" {unit}" if unit else ""
        notes.append(
            gettext("{name} {value}{unit} below {floor}, set to {floor}{unit}").format(
                name=_lab_name(name), value=_note_number(value), unit=unit_text, floor=floor
            )
        )
        return floor
    return value


def _creatinine_used(
    value: Decimal, cap: Decimal, floor: Decimal, *, dialysis: bool, notes: list[str]
) -> Decimal:
    if dialysis:
        notes.append(gettext("creatinine set to {cap} mg/dL (dialysis)").format(cap=cap))
        return cap
    if value > cap:
        notes.append(
            gettext("creatinine {value} mg/dL above {cap}, set to {cap} mg/dL").format(
                value=_note_number(value), cap=cap
            )
        )
        return cap
    return _floor("creatinine", value, floor, "mg/dL", notes)


def _bounded(
    name: str, value: Decimal, low: Decimal, high: Decimal, unit: str, notes: list[str]
) -> Decimal:
    if value < low:
        text = gettext("{name} {value} {unit} below {bound}, bounded to {bound} {unit}")
        bound = low
    elif value > high:
        text = gettext("{name} {value} {unit} above {bound}, bounded to {bound} {unit}")
        bound = high
    else:
        return value
    notes.append(
        text.format(name=_lab_name(name), value=_note_number(value), unit=unit, bound=bound)
    )
    return bound


def _cap(name: str, value: int, cap: int, notes: list[str]) -> int:
    if value > cap:
        notes.append(
            gettext("{name} {value} capped at {cap}").format(name=name, value=value, cap=cap)
        )
        return cap
    return value


# ---------------------------------------------------------------------------
# The formulas, written once for two arithmetics
# ---------------------------------------------------------------------------


class _Exact:
    """Decimal arithmetic (34 digits) for one patient, noting each bound it applies.

    Call inside ``localcontext(_CONTEXT)``.
    """

    def __init__(self) -> None:
        self.notes: list[str] = []

    num = staticmethod(Decimal)  # a number of the table, from its text

    @staticmethod
    def ln(x: Decimal) -> Decimal:
        return x.ln()

    def at_least(self, name: str, x: Decimal, floor: Decimal, unit: str) -> Decimal:
        return _floor(name, x, floor, unit, self.notes)

    def creatinine(self, x: Decimal, cap: Decimal, floor: Decimal, dialysis: bool) -> Decimal:
        return _creatinine_used(x, cap, floor, dialysis=dialysis, notes=self.notes)

    def bounded(self, name: str, x: Decimal, low: Decimal, high: Decimal, unit: str) -> Decimal:
        return _bounded(name, x, low, high, unit, self.notes)

    @staticmethod
    def female(female: bool, coefficient: Decimal) -> Decimal:
        return coefficient if female else Decimal(0)


class Float64:
    """float64 arithmetic over numpy arrays, one element per patient (no notes).

    Float and decimal can part only at a rounding tie: see :func:`near_tie`.
    """

    @staticmethod
    def num(text: str) -> float:
        return float(text)

    ln = staticmethod(np.log)

    @staticmethod
    def at_least(name: str, x: Any, floor: float, unit: str) -> Any:
        return np.maximum(x, floor)

    @staticmethod
    def creatinine(x: Any, cap: float, floor: float, dialysis: Any) -> Any:
        return np.where(dialysis, cap, np.clip(x, floor, cap))

    @staticmethod
    def bounded(name: str, x: Any, low: float, high: float, unit: str) -> Any:
        return np.clip(x, low, high)

    @staticmethod
    def female(female: Any, coefficient: float) -> Any:
        return np.where(female, coefficient, 0.0)


_Terms = tuple[tuple[str, Any], ...]


def _total(terms: _Terms) -> Any:
    """The sum of the terms, left to right (the same order in both arithmetics)."""
    total = terms[0][1]
    for _, value in terms[1:]:
        total = total + value
    return total


def classic_formula(a: Any, bili: Any, inr: Any, cr: Any, dialysis: Any) -> tuple[Any, _Terms]:
    """Classic MELD's formula value (before rounding), and the labs as used and its terms.

    ``a`` is the arithmetic (decimal for one patient, :class:`Float64` for arrays);
    labs in mg/dL.
    """
    k = CLASSIC_MELD
    floor = a.num(k.lab_floor)
    b = a.at_least("bilirubin", bili, floor, "mg/dL")
    i = a.at_least("INR", inr, floor, "")
    c = a.creatinine(cr, a.num(k.creatinine_cap_mg_dl), floor, dialysis)
    terms = (
        (f"{k.creatinine} × ln(creatinine)", a.num(k.creatinine) * a.ln(c)),
        (f"{k.bilirubin} × ln(bilirubin)", a.num(k.bilirubin) * a.ln(b)),
        (f"{k.inr} × ln(INR)", a.num(k.inr) * a.ln(i)),
        (k.constant, a.num(k.constant)),
    )
    return (b, i, c), terms


def meld_na_formula(a: Any, meld_i: Any, sodium: Any) -> tuple[Any, Any]:
    """MELD-Na's value before rounding, where the sodium term applies; and the sodium used."""
    k = MELD_NA
    na = a.bounded(
        "sodium", sodium, a.num(k.sodium_low_mmol_l), a.num(k.sodium_high_mmol_l), "mmol/L"
    )
    deficit = a.num(k.sodium_reference_mmol_l) - na
    return na, meld_i + a.num(k.sodium) * deficit - a.num(k.interaction) * meld_i * deficit


def meld_3_0_formula(
    a: Any, bili: Any, inr: Any, cr: Any, sodium: Any, albumin: Any, female: Any, dialysis: Any
) -> tuple[Any, _Terms]:
    """MELD 3.0's formula value (before rounding): the labs as used, and its terms."""
    k = MELD_3_0
    floor = a.num(k.lab_floor)
    na_ref, alb_ref = k.sodium_reference_mmol_l, k.albumin_reference_g_dl
    b = a.at_least("bilirubin", bili, floor, "mg/dL")
    i = a.at_least("INR", inr, floor, "")
    c = a.creatinine(cr, a.num(k.creatinine_cap_mg_dl), floor, dialysis)
    na = a.bounded(
        "sodium", sodium, a.num(k.sodium_low_mmol_l), a.num(k.sodium_high_mmol_l), "mmol/L"
    )
    alb = a.bounded(
        "albumin", albumin, a.num(k.albumin_low_g_dl), a.num(k.albumin_high_g_dl), "g/dL"
    )
    sodium_deficit = a.num(na_ref) - na
    albumin_deficit = a.num(alb_ref) - alb
    ln_bili, ln_inr, ln_cr = a.ln(b), a.ln(i), a.ln(c)
    terms = (
        (f"{k.female} × female", a.female(female, a.num(k.female))),
        (f"{k.bilirubin} × ln(bilirubin)", a.num(k.bilirubin) * ln_bili),
        (f"{k.sodium} × ({na_ref} − sodium)", a.num(k.sodium) * sodium_deficit),
        (
            f"−{k.sodium_bilirubin} × ({na_ref} − sodium) × ln(bilirubin)",
            -a.num(k.sodium_bilirubin) * sodium_deficit * ln_bili,
        ),
        (f"{k.inr} × ln(INR)", a.num(k.inr) * ln_inr),
        (f"{k.creatinine} × ln(creatinine)", a.num(k.creatinine) * ln_cr),
        (f"{k.albumin} × ({alb_ref} − albumin)", a.num(k.albumin) * albumin_deficit),
        (
            f"−{k.albumin_creatinine} × ({alb_ref} − albumin) × ln(creatinine)",
            -a.num(k.albumin_creatinine) * albumin_deficit * ln_cr,
        ),
        (k.constant, a.num(k.constant)),
    )
    return (b, i, c, na, alb), terms


#: A float value this close (relative) to a rounding tie may round otherwise than the
#: exact decimal: the float error is below 1e-13 (|value| < 110, a few ulp per term).
ROUNDING_MARGIN: Final = 1e-9


def near_tie(value: Any) -> Any:
    """Within ROUNDING_MARGIN of a ``k + 0.5`` rounding boundary."""
    return np.abs(value - np.floor(value) - 0.5) <= ROUNDING_MARGIN * np.abs(value)


def float_scores(
    bili: Any,
    inr: Any,
    cr: Any,
    dialysis: Any,
    sodium: Any,
    albumin: Any,
    female: Any,
    has_3_0: Any,
) -> tuple[Any, Any, Any, Any]:
    """Classic MELD, MELD-Na and MELD 3.0 of arrays of patients, in float64.

    Labs in mg/dL, mmol/L and g/dL; ``sodium`` NaN where not given (MELD-Na 0);
    ``has_3_0`` where sodium, albumin and sex are given (else MELD 3.0 is 0).
    Returns the three scores and ``near``: the rows whose unrounded value lies
    within ROUNDING_MARGIN of a tie, which the caller recomputes with
    :func:`compute_meld` (decimal arithmetic decides the tie exactly). Bounds,
    caps and floors are continuous (min, max) and the MELD-Na threshold is tested
    on the integer MELD(i), so rounding is the only place where they can part.
    """
    a = Float64()
    k, kn, k3 = CLASSIC_MELD, MELD_NA, MELD_3_0
    _, terms = classic_formula(a, bili, inr, cr, dialysis)
    meld_i_unrounded = _total(terms) * k.scale  # to the tenth, x 10: one rounding
    meld_i = np.floor(meld_i_unrounded + 0.5).astype(np.int64)
    near = near_tie(meld_i_unrounded)
    meld = np.minimum(meld_i, k.score_max)

    has_na = ~np.isnan(sodium)
    filled = np.where(has_na, sodium, a.num(kn.sodium_reference_mmol_l))
    _, na_value = meld_na_formula(a, meld_i, filled)
    applies = has_na & (meld_i > kn.threshold)
    near |= applies & near_tie(na_value)
    meld_na = np.where(applies, np.floor(na_value + 0.5).astype(np.int64), meld_i)
    meld_na = np.where(has_na, np.minimum(meld_na, kn.score_max), 0)

    alb = np.where(has_3_0, albumin, a.num(k3.albumin_reference_g_dl))
    _, terms_3 = meld_3_0_formula(a, bili, inr, cr, filled, alb, female, dialysis)
    value_3 = _total(terms_3)
    near |= has_3_0 & near_tie(value_3)
    meld_3_0 = np.where(
        has_3_0, np.minimum(np.floor(value_3 + 0.5).astype(np.int64), k3.score_max), 0
    )
    return meld, meld_na, meld_3_0, near


def classic_meld(
    bilirubin_mg_dl: float, inr: float, creatinine_mg_dl: float, *, dialysis: bool
) -> ClassicMeldWorking:
    """Classic MELD (Kamath 2001; OPTN/UNOS rules).

    MELD(i) = 0.957 ln(Cr) + 0.378 ln(bili) + 1.120 ln(INR) + 0.643, rounded half
    up to the tenth, x 10. Bilirubin, INR and creatinine below 1.0 are set to 1.0;
    creatinine above 4.0 mg/dL, or any creatinine with dialysis (at least twice in
    the past week or 24 h CVVHD), is set to 4.0. MELD = MELD(i) capped at 40; the
    floors make MELD(i) at least 6.
    """
    labs = _require_canonical(
        bilirubin_mg_dl=bilirubin_mg_dl, inr=inr, creatinine_mg_dl=creatinine_mg_dl
    )
    k = CLASSIC_MELD
    exact = _Exact()
    notes = exact.notes
    with localcontext(_CONTEXT):
        (bili, inr_used, cr), terms = classic_formula(
            exact, labs["bilirubin_mg_dl"], labs["inr"], labs["creatinine_mg_dl"], dialysis
        )
        formula_value = _total(terms)
        meld_i = int(round_half_up(formula_value, Decimal(k.rounding_quantum)) * k.scale)
        meld_i_unrounded = formula_value * k.scale
    meld = _cap("MELD(i)", meld_i, k.score_max, notes)
    return ClassicMeldWorking(
        bilirubin_mg_dl=float(bili),
        inr=float(inr_used),
        creatinine_mg_dl=float(cr),
        terms=tuple(Term(label, float(value)) for label, value in terms),
        formula_value=float(formula_value),
        meld_i_unrounded=float(meld_i_unrounded),
        meld_i=meld_i,
        meld=meld,
        bounds_applied=tuple(notes),
    )


def meld_na(meld_i: int, sodium_mmol_l: float) -> MeldNaWorking:
    """MELD-Na (OPTN policy, January 2016, 137 form).

    ``meld_i`` is classic MELD(i) as OPTN defines it: the formula rounded to the
    tenth, x 10 (an integer, :attr:`ClassicMeldWorking.meld_i`). If MELD(i) > 11:
    MELD-Na = MELD(i) + 1.32 (137 - Na) - 0.033 MELD(i) (137 - Na), with sodium
    bounded to 125-137 mmol/L, rounded half up to an integer; otherwise MELD-Na =
    MELD(i). Capped at 40. (Whether the uncapped or the capped MELD(i) enters makes
    no difference: for MELD(i) >= 40 both give at least 40.)
    """
    k = MELD_NA
    lowest = CLASSIC_MELD.score_min
    if isinstance(meld_i, bool) or not isinstance(meld_i, int) or meld_i < lowest:
        raise ValueError(f"MELD(i) must be a whole number of at least {lowest}.")
    sodium = _require_canonical(sodium_mmol_l=sodium_mmol_l)["sodium_mmol_l"]
    notes: list[str] = []
    if meld_i <= k.threshold:
        notes.append(
            gettext(
                "MELD(i) {meld_i} ≤ {threshold}, sodium term not applied (MELD-Na = MELD)"
            ).format(meld_i=meld_i, threshold=k.threshold)
        )
        return MeldNaWorking(
            meld_i=meld_i,
            sodium_mmol_l=None,
            sodium_term_applied=False,
            unrounded=float(meld_i),
            meld_na=_cap("MELD-Na", meld_i, k.score_max, notes),
            bounds_applied=tuple(notes),
        )
    exact = _Exact()
    with localcontext(_CONTEXT):
        na, value = meld_na_formula(exact, meld_i, sodium)
        rounded = int(round_half_up(value))
    notes += exact.notes
    return MeldNaWorking(
        meld_i=meld_i,
        sodium_mmol_l=float(na),
        sodium_term_applied=True,
        unrounded=float(value),
        meld_na=_cap("MELD-Na", rounded, k.score_max, notes),
        bounds_applied=tuple(notes),
    )


def meld_3_0(
    bilirubin_mg_dl: float,
    inr: float,
    creatinine_mg_dl: float,
    sodium_mmol_l: float,
    albumin_g_dl: float,
    *,
    female: bool,
    dialysis: bool,
) -> Meld30Working:
    """MELD 3.0 (Kim WR et al., Gastroenterology 2021;161:1887-95).

    1.33 (female) + 4.56 ln(bili) + 0.82 (137 - Na) - 0.24 (137 - Na) ln(bili)
    + 9.09 ln(INR) + 11.14 ln(Cr) + 1.85 (3.5 - alb) - 1.83 (3.5 - alb) ln(Cr) + 6,
    rounded half up to an integer, capped at 40. Bilirubin, INR, creatinine below
    1.0 set to 1.0; creatinine above 3.0 mg/dL, or with dialysis, set to 3.0; sodium
    bounded 125-137 mmol/L; albumin bounded 1.5-3.5 g/dL. The female term is the
    adult rule (age 18 and over): this product is for adults.
    """
    labs = _require_canonical(
        bilirubin_mg_dl=bilirubin_mg_dl,
        inr=inr,
        creatinine_mg_dl=creatinine_mg_dl,
        sodium_mmol_l=sodium_mmol_l,
        albumin_g_dl=albumin_g_dl,
    )
    k = MELD_3_0
    exact = _Exact()
    notes = exact.notes
    with localcontext(_CONTEXT):
        (bili, inr_used, cr, na, alb), terms = meld_3_0_formula(
            exact,
            labs["bilirubin_mg_dl"],
            labs["inr"],
            labs["creatinine_mg_dl"],
            labs["sodium_mmol_l"],
            labs["albumin_g_dl"],
            female,
            dialysis,
        )
        value = _total(terms)
        rounded = int(round_half_up(value))
    return Meld30Working(
        female=female,
        bilirubin_mg_dl=float(bili),
        inr=float(inr_used),
        creatinine_mg_dl=float(cr),
        sodium_mmol_l=float(na),
        albumin_g_dl=float(alb),
        terms=tuple(Term(label, float(term)) for label, term in terms),
        unrounded=float(value),
        meld_3_0=_cap("MELD 3.0", rounded, k.score_max, notes),
        bounds_applied=tuple(notes),
    )


def _entered(labs: LabInputs) -> tuple[EnteredLab, ...]:
    def lab(field: str, quantity: Quantity | None, canonical: float, unit: str) -> EnteredLab:
        shown = quantity if quantity is not None else Quantity(canonical, unit)
        return EnteredLab(field, shown.value, shown.unit, canonical, unit)

    rows = [
        lab("bilirubin", labs.bilirubin_as_entered, labs.bilirubin_mg_dl, "mg/dL"),
        lab("inr", None, labs.inr, INR_UNIT),
        lab("creatinine", labs.creatinine_as_entered, labs.creatinine_mg_dl, "mg/dL"),
    ]
    if labs.sodium_mmol_l is not None:
        rows.append(lab("sodium", None, labs.sodium_mmol_l, SODIUM_UNIT))
    if labs.albumin_g_dl is not None:
        rows.append(lab("albumin", labs.albumin_as_entered, labs.albumin_g_dl, "g/dL"))
    return tuple(rows)


def compute_meld(labs: LabInputs) -> MeldResult:
    """Classic MELD always; MELD-Na when sodium is given; MELD 3.0 when sodium,
    albumin and sex are given. Every value as entered, converted and used, every
    bound applied and the unrounded values are in ``result.working``."""
    classic = classic_meld(
        labs.bilirubin_mg_dl, labs.inr, labs.creatinine_mg_dl, dialysis=labs.dialysis
    )
    not_calculated: list[str] = []
    na_working: MeldNaWorking | None = None
    if labs.sodium_mmol_l is not None:
        na_working = meld_na(classic.meld_i, labs.sodium_mmol_l)
    else:
        not_calculated.append(gettext("MELD-Na not calculated: needs sodium."))
    m3_working: Meld30Working | None = None
    if labs.sodium_mmol_l is not None and labs.albumin_g_dl is not None and labs.sex is not None:
        m3_working = meld_3_0(
            labs.bilirubin_mg_dl,
            labs.inr,
            labs.creatinine_mg_dl,
            labs.sodium_mmol_l,
            labs.albumin_g_dl,
            female=labs.sex is Sex.FEMALE,
            dialysis=labs.dialysis,
        )
    else:
        missing = [
            gettext(name)
            for name, value in (
                (N_("sodium"), labs.sodium_mmol_l),
                (N_("albumin"), labs.albumin_g_dl),
                (N_("sex"), labs.sex),
            )
            if value is None
        ]
        not_calculated.append(
            gettext(
                "MELD 3.0 not calculated: needs sodium, albumin and sex (missing: {missing})."
            ).format(missing=gettext(", ").join(missing))
        )
    bounds = [f"MELD: {note}" for note in classic.bounds_applied]
    if na_working is not None:
        bounds += [f"MELD-Na: {note}" for note in na_working.bounds_applied]
    if m3_working is not None:
        bounds += [f"MELD 3.0: {note}" for note in m3_working.bounds_applied]
    working = MeldWorking(
        entered=_entered(labs),
        dialysis=labs.dialysis,
        sex=labs.sex,
        classic=classic,
        meld_na=na_working,
        meld_3_0=m3_working,
        not_calculated=tuple(not_calculated),
        bounds_applied=tuple(bounds),
    )
    return MeldResult(
        meld=classic.meld,
        meld_na=None if na_working is None else na_working.meld_na,
        meld_3_0=None if m3_working is None else m3_working.meld_3_0,
        working=working,
    )


def _plain(value: Any) -> Any:
    """Tuples -> lists and enums -> their plain string values, recursively."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, StrEnum):
        return str(value.value)
    return value


def working_as_dict(result: MeldResult) -> dict[str, Any]:
    """``result.working`` as a JSON-ready dict (plain str, int, float, bool, None,
    lists and dicts; floats are finite)."""
    plain: dict[str, Any] = _plain(asdict(result.working))
    return plain
