"""Hypothesis strategies shared by the tests of more than one layer."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import strategies as st

from calc.core.evidence import FailureType
from calc.core.inputs import (
    ALT_RANGES,
    DAY_RANGE,
    MELD_RANGE,
    TBIL_RANGES,
    AltUnit,
    Range,
    TbilUnit,
)
from calc.core.meld import LAB_RANGES


def _value(rng: Range) -> st.SearchStrategy[float]:
    """A value in the range: its ends, the MELD floor of 1.0 where inside, or any between."""
    edges = [rng.low, rng.high] + ([1.0] if rng.low <= 1.0 <= rng.high else [])
    between = st.floats(rng.low, rng.high, allow_nan=False).map(lambda x: round(x, 2))
    return st.one_of(st.sampled_from(edges), between).filter(rng.contains)


@st.composite
def any_labs(draw: st.DrawFn) -> dict[str, Any]:
    """A ``labs`` object the API accepts: every lab in any unit, the optional ones or not."""
    raw: dict[str, Any] = {"dialysis": draw(st.booleans())}
    for lab, by_unit in LAB_RANGES.items():
        required = lab in ("bilirubin", "inr", "creatinine")
        if not required and not draw(st.booleans()):
            continue
        unit = draw(st.sampled_from(sorted(by_unit)))
        raw[lab] = draw(_value(by_unit[unit]))
        if len(by_unit) > 1:
            raw[f"{lab}_unit"] = unit
    if draw(st.booleans()):
        raw["sex"] = draw(st.sampled_from(["female", "male"]))
    return raw


def _text(x: float) -> str:
    """A number as a clinician types it (no exponent, no trailing ".0")."""
    return f"{x:.15g}" if "e" not in f"{x:.15g}" else f"{x:f}".rstrip("0").rstrip(".")


@st.composite
def any_entry(draw: st.DrawFn) -> dict[str, str]:
    """The form's fields for any entry within the ranges: a type, a typed MELD or labs
    (or both), ALT and TBIL in any unit, a date of MSCT or not, and any follow-up values
    with a day or a date. (Cross-field checks may still refuse some: a follow-up date
    before the MSCT, for instance.)"""
    fields = {"failure_type": draw(st.sampled_from([t.value for t in FailureType]))}
    alt_unit = draw(st.sampled_from(sorted(u.value for u in AltUnit)))
    tbil_unit = draw(st.sampled_from(sorted(u.value for u in TbilUnit)))
    fields |= {"alt": _text(draw(_value(ALT_RANGES[AltUnit(alt_unit)]))), "alt_unit": alt_unit,
               "tbil": _text(draw(_value(TBIL_RANGES[TbilUnit(tbil_unit)]))),
               "tbil_unit": tbil_unit}  # fmt: skip
    with_labs = draw(st.booleans())
    if not with_labs or draw(st.booleans()):
        fields["meld"] = str(draw(st.integers(int(MELD_RANGE.low), int(MELD_RANGE.high))))
    if with_labs:
        labs = draw(any_labs())
        for name, value in labs.items():
            if name in ("bilirubin", "bilirubin_unit"):
                continue  # the TBIL above is the labs' bilirubin
            if name == "dialysis":
                fields["lab_dialysis"] = "y" if value else ""
            else:
                fields[f"lab_{name}"] = value if isinstance(value, str) else _text(value)
    msct = draw(st.one_of(st.none(), st.dates(date(2020, 1, 1), date(2026, 12, 31))))
    if msct is not None:
        fields["transplant_date"] = msct.isoformat()
    day = st.integers(int(DAY_RANGE.low), int(DAY_RANGE.high))
    markers = {"fu_alt": ALT_RANGES, "fu_tbil60": TBIL_RANGES, "fu_tbil90": TBIL_RANGES}
    for name, ranges in markers.items():
        if draw(st.booleans()):
            unit = draw(st.sampled_from(sorted(ranges)))
            fields[name] = _text(draw(_value(ranges[unit])))
            fields[f"{name}_unit"] = unit.value
            fields[f"{name}_day"] = str(draw(day))
    if draw(st.booleans()):
        fields["fu_meld"] = str(draw(st.integers(int(MELD_RANGE.low), int(MELD_RANGE.high))))
        fields["fu_meld_day"] = str(draw(day))
    return fields


def as_api_request(fields: dict[str, str]) -> dict[str, Any]:
    """The form's fields as the JSON API's request (numbers as JSON numbers), by the field
    table: the same entry through the other way in."""
    from calc.core.assessment import assemble
    from calc.core.fields import Adapter, Field, Kind

    def value_of(field: Field) -> object:
        assert field.form is not None
        text = fields.get(field.form, "")
        if field.kind is Kind.FLAG:
            return text == "y"
        if field.kind is Kind.NUMBER and text.strip():
            number = float(text)
            return int(number) if number.is_integer() else number
        return text

    return assemble(Adapter.FORM, value_of)
