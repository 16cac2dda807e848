"""Patient inputs: units, allowed ranges, strict parsing and validation (pure).

One table of ranges serves the engine, the JSON API, the command line and the
form, so every adapter refuses the same values with the same words: each
message names the field, its unit and the allowed range.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Context, Decimal, localcontext
from enum import StrEnum
from typing import TypeVar

from .evidence import FailureType
from .i18n import N_, gettext
from .quickinit import quick_init

# 1 μkat/L = 60 U/L by the SI definition (1 μmol/s = 60 μmol/min).
U_L_PER_UKAT_L = 60.0
# Bilirubin 1 mg/dL = 17.1 μmol/L, the standard SI conversion factor.
UMOL_L_PER_MG_DL = 17.1

MAX_TEXT_LENGTH = 32


class AltUnit(StrEnum):
    U_L = "U/L"
    UKAT_L = "ukat/L"


class TbilUnit(StrEnum):
    UMOL_L = "umol/L"
    MG_DL = "mg/dL"


UNIT_LABELS: dict[str, str] = {
    "U/L": "U/L",
    "ukat/L": "μkat/L",
    "umol/L": "μmol/L",
    "mg/dL": "mg/dL",
}

FAILURE_TYPE_DEFINITIONS: dict[FailureType, str] = {
    FailureType.ACLF: N_(
        "Acute-on-chronic liver failure: acute worsening of a known chronic liver disease"
        " with organ failure."
    ),
    FailureType.CLF: N_(
        "Chronic liver failure: progressive failure of liver function in chronic liver"
        " disease (decompensated cirrhosis)."
    ),
    FailureType.ALF: N_(
        "Acute liver failure: severe liver injury with coagulopathy and encephalopathy"
        " within 2 weeks of onset, in a patient without prior liver disease."
    ),
    FailureType.SALF: N_(
        "Subacute liver failure: liver failure developing 2 to 26 weeks after onset,"
        " without prior liver disease (Chinese Medical Association guideline, 2024)."
    ),
}


def _canonical_unit(text: str) -> str:
    """Accept the micro sign and the Greek mu for the ASCII 'u', in any case."""
    return text.strip().replace("μ", "u").replace("µ", "u").lower()


def _unit_of(enum: type[_U], text: str) -> _U:
    """The member of a unit enum whose value matches ``text`` (case and μ ignored)."""
    wanted = _canonical_unit(text)
    for member in enum:
        if member.value.lower() == wanted:
            return member
    raise ValueError(text)


@dataclass(frozen=True)
class Range:
    """An allowed closed range in one unit."""

    label: str
    unit: str  # the API spelling, e.g. "umol/L"
    low: float
    high: float
    whole: bool = False

    @property
    def unit_label(self) -> str:
        return UNIT_LABELS.get(self.unit, self.unit)

    @property
    def name(self) -> str:
        """The label in the current language (calc.core.i18n)."""
        return gettext(self.label)

    def describe(self) -> str:
        unit = f" {self.unit_label}" if self.unit_label else ""
        return gettext("{low} to {high}").format(low=_fmt(self.low), high=_fmt(self.high)) + unit

    def message(self) -> str:
        if self.whole:
            text = gettext("{label} must be a whole number from {range}.")
        else:
            text = gettext("{label} must be a number from {range}.")
        return text.format(label=self.name, range=self.describe())

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def show_bound(x: float) -> str:
    """A bound as the messages write it: 6, 0.05, 50000."""
    return _fmt(x)


def _fmt(x: float) -> str:
    return f"{x:g}" if abs(x) < 1e6 else str(int(x))


# Classic MELD is a whole number from 6 to 40 by definition (Kamath 2001 with the OPTN/UNOS rules).
MELD_RANGE = Range(N_("Baseline MELD"), "", 6, 40, whole=True)
# ALT: positive, and high enough for acute liver failure (ALT can exceed 10,000 U/L).
# The μkat/L bounds are the U/L bounds rounded inwards, so every accepted value
# converts to a value inside the U/L range.
ALT_RANGES: dict[AltUnit, Range] = {
    AltUnit.U_L: Range(N_("ALT"), "U/L", 1, 50000),
    AltUnit.UKAT_L: Range(N_("ALT"), "ukat/L", 0.02, 833),
}
# TBIL: positive, and high enough for deep jaundice (TBIL can exceed 800 μmol/L):
# up to 1710 μmol/L (100 mg/dL). In mg/dL the range stops at 50 (855 μmol/L):
# above that a value is far likelier to be μmol/L typed against the wrong unit,
# and is refused by the mislabel guard (a true value that high is entered in
# μmol/L). Below 1 μmol/L no assay reports bilirubin; 0.05 mg/dL = 0.855 μmol/L.
# The same bounds serve the MELD labs (calc.core.meld).
TBIL_RANGES: dict[TbilUnit, Range] = {
    TbilUnit.UMOL_L: Range(N_("Total bilirubin (TBIL)"), "umol/L", 1, 1710),
    TbilUnit.MG_DL: Range(N_("Total bilirubin (TBIL)"), "mg/dL", 0.05, 50),
}
# How many of each unit make one μmol/L (for the guard's conversions).
TBIL_PER_UMOL_L: dict[TbilUnit, Decimal] = {
    TbilUnit.UMOL_L: Decimal(1),
    TbilUnit.MG_DL: Decimal(1) / Decimal(repr(UMOL_L_PER_MG_DL)),
}
# Follow-up days are counted from the day of MSCT (day 0).
DAY_RANGE = Range(N_("Day after MSCT"), "", 0, 365, whole=True)
DATE_LOW = date(2000, 1, 1)
DATE_HIGH = date(2099, 12, 31)


class InputError(ValueError):
    """One or more inputs are invalid; ``errors`` maps field -> messages."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors = {k: list(v) for k, v in errors.items()}
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in self.errors.items()))


_DECIMAL_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)


def is_plain_decimal(text: str) -> bool:
    """Whether ``text`` is, as it stands, a plain decimal such as ``240``, ``-1.5``, ``+2``."""
    return _DECIMAL_TEXT.fullmatch(text) is not None


def parse_decimal_text(text: str, rng: Range) -> float:
    """Parse a plain decimal such as ``240`` or ``12.5``; raise ValueError otherwise.

    ``float()`` is too lenient for clinical input: it accepts ``nan``, ``inf``,
    ``1e309`` and ``1_000``. Only digits, one optional point and a sign pass.
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError(_required(rng))
    if len(stripped) > MAX_TEXT_LENGTH or not _DECIMAL_TEXT.fullmatch(stripped):
        hint = (
            " "
            + gettext(
                "Write it without a thousands separator (1200, not 1,200) and with a point"
                " for decimals (12.5, not 12,5)."
            )
            if "," in stripped
            else ""
        )
        raise ValueError(
            gettext("{label} must be a plain number such as 240 or 12.5 (allowed {range}).").format(
                label=rng.name, range=rng.describe()
            )
            + hint
        )
    return float(Decimal(stripped))


def _required(rng: Range) -> str:
    return gettext("{label} is required: enter {range}.").format(
        label=rng.name, range=rng.describe()
    )


def check_number(value: object, rng: Range, *, allow_text: bool) -> float:
    """Return ``value`` as a float inside ``rng`` or raise ValueError with the message."""
    if value is None:
        raise ValueError(_required(rng))
    if isinstance(value, str):
        if not allow_text:
            raise ValueError(
                gettext("{label} must be a JSON number ({range}).").format(
                    label=rng.name, range=rng.describe()
                )
            )
        number = parse_decimal_text(value, rng)
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(
            gettext("{label} must be a number ({range}).").format(
                label=rng.name, range=rng.describe()
            )
        )
    elif isinstance(value, int):
        # Compare big integers exactly: float() of a huge int would overflow.
        if not rng.low <= value <= rng.high:
            raise ValueError(rng.message())
        number = float(value)
    else:
        number = value
    if not math.isfinite(number) or not rng.contains(number):
        raise ValueError(rng.message())
    if rng.whole and not number.is_integer():
        raise ValueError(rng.message())
    return number


def parse_failure_type(value: object) -> FailureType:
    if isinstance(value, str):
        try:
            return FailureType(value.strip().upper())
        except ValueError:
            pass
    allowed = ", ".join(ft.value for ft in FailureType)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(
            gettext("Type of liver failure is required: one of {allowed}.").format(allowed=allowed)
        )
    raise ValueError(
        gettext("Type of liver failure must be one of {allowed}.").format(allowed=allowed)
    )


def parse_alt_unit(value: object) -> AltUnit:
    if value is None:
        return AltUnit.U_L
    if isinstance(value, str):
        try:
            return _unit_of(AltUnit, value)
        except ValueError:
            pass
    raise ValueError(gettext('ALT unit must be "U/L" or "ukat/L" (μkat/L).'))


def parse_tbil_unit(value: object) -> TbilUnit:
    if value is None:
        return TbilUnit.UMOL_L
    if isinstance(value, str):
        try:
            return _unit_of(TbilUnit, value)
        except ValueError:
            pass
    raise ValueError(gettext('TBIL unit must be "umol/L" (μmol/L) or "mg/dL".'))


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def parse_date(value: object) -> date | None:
    """An optional ISO date (YYYY-MM-DD) from 2000-01-01 to 2099-12-31."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, date):
        parsed = value
    elif isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            parsed = date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                gettext("Transplant date is not a real calendar date (YYYY-MM-DD).")
            ) from None
    else:
        raise ValueError(gettext("Transplant date must be a date written YYYY-MM-DD."))
    if not DATE_LOW <= parsed <= DATE_HIGH:
        raise ValueError(
            gettext("Transplant date must be from {low} to {high}.").format(
                low=DATE_LOW.isoformat(), high=DATE_HIGH.isoformat()
            )
        )
    return parsed


def alt_to_u_l(value: float, unit: AltUnit) -> float:
    return value * U_L_PER_UKAT_L if unit is AltUnit.UKAT_L else value


def tbil_to_umol_l(value: float, unit: TbilUnit) -> float:
    return value * UMOL_L_PER_MG_DL if unit is TbilUnit.MG_DL else value


def umol_l_to_tbil_unit(value_umol_l: float, unit: TbilUnit) -> float:
    return value_umol_l / UMOL_L_PER_MG_DL if unit is TbilUnit.MG_DL else value_umol_l


# --------------------------------------------------------------------------
# The unit-mislabel guard (shared by the baseline TBIL and the MELD labs)

_GUARD_CONTEXT = Context(prec=34)
_U = TypeVar("_U", bound=StrEnum)


def decimal_of(value: float) -> Decimal:
    """The shortest decimal that round-trips ``value`` (what a person reads)."""
    return Decimal(repr(value))


def show_number(value: float) -> str:
    """A number as entered or as a bound: plain decimal, no exponent, no trailing zeros."""
    return format(decimal_of(value).normalize(), "f")


def approx_number(value: Decimal, significant: int) -> str:
    """A converted number for a message, to ``significant`` digits."""
    return f"{float(value):.{significant}g}"


_LARGEST_INT_FOR_GUARD = 10**15


def number_or_none(value: object, rng: Range, *, allow_text: bool) -> float | None:
    """The value as a finite float if it is one (for the guard), else None."""
    number: float
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if abs(value) > _LARGEST_INT_FOR_GUARD:
            return None
        number = float(value)
    elif isinstance(value, float):
        number = value
    elif isinstance(value, str) and allow_text:
        try:
            number = parse_decimal_text(value, rng)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def check_in_unit(
    value: object,
    ranges: Mapping[_U, Range],
    unit: _U,
    factors: Mapping[_U, Decimal],
    *,
    allow_text: bool,
) -> float:
    """Return ``value`` inside ``ranges[unit]`` or raise ValueError with a clinician's message.

    ``factors`` gives, per unit, how many of that unit make one canonical unit
    (canonical: 1). A value outside the range of ``unit`` but inside the range of
    the other unit is refused with a message naming the likely unit.
    """
    rng = ranges[unit]
    try:
        return check_number(value, rng, allow_text=allow_text)
    except ValueError:
        number = number_or_none(value, rng, allow_text=allow_text)
        if number is None:
            raise
        for other, other_rng in ranges.items():
            if other != unit and other_rng.contains(number):
                raise ValueError(
                    _mislabel_message(number, rng, other_rng, factors[unit], factors[other])
                ) from None
        raise


def _mislabel_message(
    number: float, rng: Range, other: Range, factor: Decimal, other_factor: Decimal
) -> str:
    with localcontext(_GUARD_CONTEXT):
        read_as_other = decimal_of(number) * factor / other_factor  # in this unit
        true_in_other = decimal_of(number) * other_factor / factor  # in the other unit
    message = gettext(
        "{label} {value} {unit} looks like {other_unit} ({value} {other_unit} = {as_this}"
        " {unit}): check the unit. {range_message}"
    ).format(
        label=rng.name,
        value=show_number(number),
        unit=rng.unit_label,
        other_unit=other.unit_label,
        as_this=approx_number(read_as_other, 3),
        range_message=rng.message(),
    )
    if other.contains(float(true_in_other)):
        message += " " + gettext(
            "If it really is {value} {unit}, enter it as {as_other} {other_unit}."
        ).format(
            value=show_number(number),
            unit=rng.unit_label,
            as_other=approx_number(true_in_other, 6),
            other_unit=other.unit_label,
        )
    return message


@quick_init
@dataclass(frozen=True)
class PatientInputs:
    """Validated inputs; canonical units live in the field names."""

    failure_type: FailureType
    meld: int
    alt_u_l: float
    tbil_umol_l: float
    alt_entered: float
    alt_unit: AltUnit
    tbil_entered: float
    tbil_unit: TbilUnit
    transplant_date: date | None = None
    meld_source: str = "entered"  # "entered", or "labs" (classic MELD computed from labs)


def validate_inputs(raw: Mapping[str, object], *, allow_text: bool) -> PatientInputs:
    """Validate raw values keyed by the API's field names.

    Collects every problem before raising, so a clinician sees them all at once.
    """
    errors: dict[str, list[str]] = {}

    def attempt(field: str, fn: object) -> object:
        try:
            return fn() if callable(fn) else fn
        except ValueError as exc:
            errors.setdefault(field, []).append(str(exc))
            return None

    failure_type = attempt("failure_type", lambda: parse_failure_type(raw.get("failure_type")))
    meld = attempt("meld", lambda: check_number(raw.get("meld"), MELD_RANGE, allow_text=allow_text))
    alt_unit = attempt("alt_unit", lambda: parse_alt_unit(raw.get("alt_unit")))
    tbil_unit = attempt("tbil_unit", lambda: parse_tbil_unit(raw.get("tbil_unit")))
    alt = tbil = None
    if isinstance(alt_unit, AltUnit):
        rng = ALT_RANGES[alt_unit]
        alt = attempt("alt", lambda: check_number(raw.get("alt"), rng, allow_text=allow_text))
    if isinstance(tbil_unit, TbilUnit):
        tbil = attempt(
            "tbil",
            lambda: check_in_unit(
                raw.get("tbil"), TBIL_RANGES, tbil_unit, TBIL_PER_UMOL_L, allow_text=allow_text
            ),
        )
    transplant_date = attempt("transplant_date", lambda: parse_date(raw.get("transplant_date")))
    if errors:
        raise InputError(errors)
    assert isinstance(failure_type, FailureType)
    assert isinstance(meld, float) and isinstance(alt, float) and isinstance(tbil, float)
    assert isinstance(alt_unit, AltUnit) and isinstance(tbil_unit, TbilUnit)
    assert transplant_date is None or isinstance(transplant_date, date)
    return PatientInputs(
        failure_type=failure_type,
        meld=int(meld),
        alt_u_l=alt_to_u_l(alt, alt_unit),
        tbil_umol_l=tbil_to_umol_l(tbil, tbil_unit),
        alt_entered=alt,
        alt_unit=alt_unit,
        tbil_entered=tbil,
        tbil_unit=tbil_unit,
        transplant_date=transplant_date,
    )
