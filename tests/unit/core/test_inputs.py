"""Patient inputs: unit conversion, ranges, strict parsing, one message per problem.

Sources: standard SI unit factors (1 mg/dL = 17.1 μmol/L; 1 μkat/L = 60 U/L,
the SI definition); ranges from the range table in calc/core/inputs.py (the
README's "allowed ranges"). Every message names the field, its unit and the
allowed range.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calc.core.evidence import FailureType
from calc.core.inputs import (
    ALT_RANGES,
    MELD_RANGE,
    TBIL_RANGES,
    U_L_PER_UKAT_L,
    UMOL_L_PER_MG_DL,
    AltUnit,
    InputError,
    PatientInputs,
    TbilUnit,
    alt_to_u_l,
    check_number,
    parse_date,
    tbil_to_umol_l,
    umol_l_to_tbil_unit,
    validate_inputs,
)

MICRO_SIGN = "\u00b5"  # µ, the micro sign (what most keyboards type)
GREEK_MU = "\u03bc"  # μ, the Greek small letter mu (what the abstract prints)

REFERENCE = {"failure_type": "ACLF", "meld": 28, "alt": 240, "tbil": 320}


def validate(*, allow_text: bool = False, **overrides: Any) -> PatientInputs:
    return validate_inputs({**REFERENCE, **overrides}, allow_text=allow_text)


def errors_of(*, allow_text: bool = False, **overrides: Any) -> dict[str, list[str]]:
    with pytest.raises(InputError) as exc:
        validate(allow_text=allow_text, **overrides)
    return exc.value.errors


def test_reference_patient_is_valid() -> None:
    """Control: the tables below change one field of this valid patient."""
    inputs = validate()
    assert inputs == PatientInputs(
        failure_type=FailureType.ACLF,
        meld=28,
        alt_u_l=240.0,
        tbil_umol_l=320.0,
        alt_entered=240.0,
        alt_unit=AltUnit.U_L,
        tbil_entered=320.0,
        tbil_unit=TbilUnit.UMOL_L,
        transplant_date=None,
    )
    assert type(inputs.meld) is int


# --------------------------------------------------------------------------
# Unit conversion (standard SI factors)


def test_conversion_factors() -> None:
    assert U_L_PER_UKAT_L == 60.0  # 1 μkat/L = 60 U/L (1 μmol/s = 60 μmol/min)
    assert UMOL_L_PER_MG_DL == 17.1  # bilirubin 1 mg/dL = 17.1 μmol/L


CONVERSIONS: list[Any] = [
    # (function, value, unit, expected); hand calculation, tolerance 1e-12
    pytest.param(alt_to_u_l, 1.0, AltUnit.UKAT_L, 60.0, id="alt-1-ukat-is-60-U"),
    pytest.param(alt_to_u_l, 4.0, AltUnit.UKAT_L, 240.0, id="alt-4-ukat-is-240-U"),
    pytest.param(alt_to_u_l, 0.02, AltUnit.UKAT_L, 1.2, id="alt-0.02-ukat-is-1.2-U"),
    pytest.param(alt_to_u_l, 240.0, AltUnit.U_L, 240.0, id="alt-U-unchanged"),
    pytest.param(tbil_to_umol_l, 1.0, TbilUnit.MG_DL, 17.1, id="tbil-1-mg-is-17.1-umol"),
    pytest.param(tbil_to_umol_l, 10.0, TbilUnit.MG_DL, 171.0, id="tbil-10-mg-is-171-umol"),
    pytest.param(tbil_to_umol_l, 320.0, TbilUnit.UMOL_L, 320.0, id="tbil-umol-unchanged"),
    pytest.param(umol_l_to_tbil_unit, 17.1, TbilUnit.MG_DL, 1.0, id="tbil-17.1-umol-is-1-mg"),
    # 78.57 / 17.1 = 4.5947368421052... (the pooled level in mg/dL)
    pytest.param(
        umol_l_to_tbil_unit, 78.57, TbilUnit.MG_DL, 4.594736842105263, id="tbil-pooled-in-mg"
    ),
    pytest.param(umol_l_to_tbil_unit, 78.57, TbilUnit.UMOL_L, 78.57, id="tbil-umol-back-same"),
]


@pytest.mark.parametrize(("convert", "value", "unit", "expected"), CONVERSIONS)
def test_conversion(convert: Any, value: float, unit: Any, expected: float) -> None:
    assert convert(value, unit) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("value", [0.1, 1.0, 4.59, 18.7, 100.0], ids=str)
def test_tbil_round_trip(value: float) -> None:
    there = tbil_to_umol_l(value, TbilUnit.MG_DL)
    assert umol_l_to_tbil_unit(there, TbilUnit.MG_DL) == pytest.approx(value, rel=1e-15)


def test_alt_round_trip() -> None:
    # There is no U/L -> μkat/L function: the reverse is the same factor.
    assert alt_to_u_l(240.0 / U_L_PER_UKAT_L, AltUnit.UKAT_L) == pytest.approx(240.0, abs=1e-12)


def test_validate_converts_to_canonical_units_and_keeps_what_was_entered() -> None:
    inputs = validate(alt=4, alt_unit="ukat/L", tbil=5, tbil_unit="mg/dL")
    assert inputs.alt_u_l == 240.0  # 4 × 60, exact
    assert inputs.tbil_umol_l == pytest.approx(85.5, abs=1e-12)  # 5 × 17.1
    assert (inputs.alt_entered, inputs.alt_unit) == (4.0, AltUnit.UKAT_L)
    assert (inputs.tbil_entered, inputs.tbil_unit) == (5.0, TbilUnit.MG_DL)


# --------------------------------------------------------------------------
# Ranges: at, just below and just above each bound, in each unit

# The allowed ranges, pinned: (field, unit option, low, high, just-outside texts, the range
# sentence of the message). Source: the range table in calc/core/inputs.py (the README's allowed
# ranges); a deliberate change of a range changes this one table.
BOUNDS: list[Any] = [
    pytest.param(
        "meld", {}, 6, 40, ("5", "41"),
        "Baseline MELD must be a whole number from 6 to 40.",
        id="meld",
    ),
    pytest.param(
        "alt", {"alt_unit": "U/L"}, 1, 50000, ("0.999", "50000.001"),
        "ALT must be a number from 1 to 50000 U/L.",
        id="alt-U/L",
    ),
    pytest.param(
        "alt", {"alt_unit": "ukat/L"}, 0.02, 833, ("0.019", "833.001"),
        "ALT must be a number from 0.02 to 833 μkat/L.",
        id="alt-ukat/L",
    ),
    pytest.param(
        "tbil", {"tbil_unit": "umol/L"}, 1, 1710, ("0.999", "1710.001"),
        "Total bilirubin (TBIL) must be a number from 1 to 1710 μmol/L.",
        id="tbil-umol/L",
    ),
    pytest.param(
        "tbil", {"tbil_unit": "mg/dL"}, 0.05, 50, ("0.049", "50.001"),
        "Total bilirubin (TBIL) must be a number from 0.05 to 50 mg/dL.",
        id="tbil-mg/dL",
    ),
]  # fmt: skip
BOUND_ARGS = ("field", "unit", "low", "high", "outside_text", "message")


def test_ranges_are_as_pinned() -> None:
    actual = [
        MELD_RANGE,
        ALT_RANGES[AltUnit.U_L],
        ALT_RANGES[AltUnit.UKAT_L],
        TBIL_RANGES[TbilUnit.UMOL_L],
        TBIL_RANGES[TbilUnit.MG_DL],
    ]
    assert [(r.low, r.high) for r in actual] == [(b.values[2], b.values[3]) for b in BOUNDS]
    assert [r.message() for r in actual] == [b.values[5] for b in BOUNDS]


def assert_one_range_message(errors: dict[str, list[str]], field: str, message: str) -> None:
    """One message for the field, holding the range sentence (field, range, unit).

    Containment, not equality: a value that fits the other unit's range may get a
    unit-mislabel hint around the same sentence.
    """
    assert set(errors) == {field}
    (text,) = errors[field]
    assert message in text


@pytest.mark.parametrize(BOUND_ARGS, BOUNDS)
@pytest.mark.parametrize("mode", ["json", "text"])
def test_value_at_each_bound_is_accepted(
    field: str,
    unit: dict[str, str],
    low: float,
    high: float,
    outside_text: tuple[str, str],
    message: str,
    mode: str,
) -> None:
    for bound in (low, high):
        value: Any = f"{bound:g}" if mode == "text" else bound
        inputs = validate(allow_text=mode == "text", **unit, **{field: value})
        entered = inputs.meld if field == "meld" else getattr(inputs, f"{field}_entered")
        assert entered == bound


@pytest.mark.parametrize(BOUND_ARGS, BOUNDS)
def test_value_just_outside_each_bound_is_refused(
    field: str,
    unit: dict[str, str],
    low: float,
    high: float,
    outside_text: tuple[str, str],
    message: str,
) -> None:
    # JSON: the nearest floats outside the closed range.
    for value in (math.nextafter(low, -math.inf), math.nextafter(high, math.inf)):
        assert_one_range_message(errors_of(**unit, **{field: value}), field, message)
    # Text: one step of the last printed decimal (or one MELD point) outside.
    for text in outside_text:
        errors = errors_of(allow_text=True, **unit, **{field: text})
        assert_one_range_message(errors, field, message)


def test_ukat_bounds_convert_inside_the_u_l_range() -> None:
    u_l = ALT_RANGES[AltUnit.U_L]
    ukat = ALT_RANGES[AltUnit.UKAT_L]
    assert u_l.contains(alt_to_u_l(ukat.low, AltUnit.UKAT_L))  # 1.2 U/L
    assert u_l.contains(alt_to_u_l(ukat.high, AltUnit.UKAT_L))  # 49980 U/L


# --------------------------------------------------------------------------
# Text parsing (forms and CLI): only plain decimals

TEXT_REFUSED: list[Any] = [
    pytest.param("nan", id="nan"),
    pytest.param("NaN", id="NaN"),
    pytest.param("inf", id="inf"),
    pytest.param("-inf", id="minus-inf"),
    pytest.param("Infinity", id="Infinity"),
    pytest.param("1e309", id="1e309"),
    pytest.param("2.4e2", id="exponent"),
    pytest.param("1_000", id="underscore"),
    pytest.param("2,5", id="decimal-comma"),
    pytest.param("1,000", id="thousands-comma"),
    pytest.param("1 000", id="inner-space"),
    pytest.param("1.2.3", id="two-points"),
    pytest.param("--5", id="double-minus"),
    pytest.param("+-5", id="plus-minus"),
    pytest.param("0x10", id="hex"),
    pytest.param("240 U/L", id="with-unit"),
    pytest.param("½", id="vulgar-fraction"),
    pytest.param(".", id="lone-point"),
    pytest.param("1" * 33, id="33-digits"),
    pytest.param("0" * 1000 + "240", id="very-long"),
]


@pytest.mark.hazard("H-12")
def test_h12_thousands_separator_is_refused_with_the_right_spelling() -> None:
    """ALT "1,200" (a thousands separator) is refused and the message shows 1200."""
    (message,) = errors_of(allow_text=True, alt="1,200")["alt"]
    assert "1200, not 1,200" in message
    assert "12.5, not 12,5" in message


@pytest.mark.hazard("H-12")
def test_h12_thousands_separator_as_a_point_reads_as_a_decimal() -> None:
    """ALT "1.200" is a valid decimal, 1.2 U/L: accepted (the engine warns, alt_below_5)."""
    inputs = validate(allow_text=True, alt="1.200")
    assert (inputs.alt_entered, inputs.alt_u_l) == (1.2, 1.2)


@pytest.mark.parametrize("text", TEXT_REFUSED)
def test_text_that_is_not_a_plain_number_is_refused(text: str) -> None:
    assert errors_of(allow_text=True, alt=text) == {
        "alt": ["ALT must be a plain number such as 240 or 12.5 (allowed 1 to 50000 U/L)."]
        if "," not in text
        else [
            "ALT must be a plain number such as 240 or 12.5 (allowed 1 to 50000 U/L). "
            "Write it without a thousands separator (1200, not 1,200) and with a point for "
            "decimals (12.5, not 12,5)."
        ]
    }


@pytest.mark.parametrize("text", ["", "  ", "\t\n"], ids=["empty", "spaces", "whitespace"])
def test_blank_text_is_required(text: str) -> None:
    assert errors_of(allow_text=True, alt=text) == {
        "alt": ["ALT is required: enter 1 to 50000 U/L."]
    }


TEXT_ACCEPTED: list[Any] = [
    # (text, TBIL in mg/dL) — exact: the decimal is parsed, then converted to the nearest float
    pytest.param("12", 12.0, id="integer"),
    pytest.param(" 12.5 ", 12.5, id="padded"),
    pytest.param("+12.5", 12.5, id="plus-sign"),
    pytest.param("12.", 12.0, id="trailing-point"),
    pytest.param(".5", 0.5, id="leading-point"),
    pytest.param("0012.50", 12.5, id="leading-zeros"),
    pytest.param("0.1", 0.1, id="one-tenth"),
]


@pytest.mark.parametrize(("text", "expected"), TEXT_ACCEPTED)
def test_plain_decimal_text_is_accepted(text: str, expected: float) -> None:
    inputs = validate(allow_text=True, tbil=text, tbil_unit="mg/dL")
    assert inputs.tbil_entered == expected


@given(st.text(max_size=40))
def test_any_text_is_a_number_in_range_or_a_value_error(text: str) -> None:
    rng = TBIL_RANGES[TbilUnit.UMOL_L]
    try:
        number = check_number(text, rng, allow_text=True)
    except ValueError as exc:
        assert rng.label in str(exc)
        assert rng.describe() in str(exc)
    else:
        assert type(number) is float
        assert math.isfinite(number)
        assert rng.low <= number <= rng.high


# --------------------------------------------------------------------------
# JSON mode (API): numbers must be JSON numbers

JSON_REFUSED: list[Any] = [
    # (value, the message for ALT in U/L)
    pytest.param("240", "ALT must be a JSON number (1 to 50000 U/L).", id="string"),
    pytest.param(True, "ALT must be a number (1 to 50000 U/L).", id="true"),
    pytest.param(False, "ALT must be a number (1 to 50000 U/L).", id="false"),
    pytest.param([240], "ALT must be a number (1 to 50000 U/L).", id="list"),
    pytest.param({"value": 240}, "ALT must be a number (1 to 50000 U/L).", id="object"),
    pytest.param(None, "ALT is required: enter 1 to 50000 U/L.", id="null"),
    pytest.param(10**400, "ALT must be a number from 1 to 50000 U/L.", id="huge-int"),
    pytest.param(-(10**400), "ALT must be a number from 1 to 50000 U/L.", id="huge-negative-int"),
    pytest.param(math.nan, "ALT must be a number from 1 to 50000 U/L.", id="nan"),
    pytest.param(math.inf, "ALT must be a number from 1 to 50000 U/L.", id="inf"),
    pytest.param(-math.inf, "ALT must be a number from 1 to 50000 U/L.", id="minus-inf"),
    pytest.param(0, "ALT must be a number from 1 to 50000 U/L.", id="zero"),
    pytest.param(-240, "ALT must be a number from 1 to 50000 U/L.", id="negative"),
]


@pytest.mark.parametrize(("value", "message"), JSON_REFUSED)
def test_json_value_that_is_not_an_allowed_number_is_refused(value: Any, message: str) -> None:
    # pytest.raises(InputError) inside errors_of: an OverflowError would fail the test.
    assert errors_of(alt=value) == {"alt": [message]}


def test_missing_field_is_required() -> None:
    raw = {"failure_type": "ACLF"}
    with pytest.raises(InputError) as exc:
        validate_inputs(raw, allow_text=False)
    assert exc.value.errors == {
        "meld": ["Baseline MELD is required: enter 6 to 40."],
        "alt": ["ALT is required: enter 1 to 50000 U/L."],
        "tbil": ["Total bilirubin (TBIL) is required: enter 1 to 1710 μmol/L."],
    }


@pytest.mark.parametrize(
    ("meld", "allow_text"),
    [(28.5, False), ("28.5", True), (6.5, False), (39.999, False)],
    ids=["28.5", "text-28.5", "6.5", "39.999"],
)
def test_meld_must_be_whole(meld: Any, allow_text: bool) -> None:
    assert errors_of(allow_text=allow_text, meld=meld) == {
        "meld": ["Baseline MELD must be a whole number from 6 to 40."]
    }


@pytest.mark.parametrize(
    ("meld", "allow_text"),
    [(28.0, False), ("28.0", True), (28, False)],
    ids=["28.0", "text", "int"],
)
def test_whole_meld_is_accepted_as_int(meld: Any, allow_text: bool) -> None:
    inputs = validate(allow_text=allow_text, meld=meld)
    assert inputs.meld == 28
    assert type(inputs.meld) is int


# --------------------------------------------------------------------------
# Failure types and units


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ACLF", FailureType.ACLF),
        ("CLF", FailureType.CLF),
        ("ALF", FailureType.ALF),
        ("SALF", FailureType.SALF),
        (" aclf ", FailureType.ACLF),
        ("Clf", FailureType.CLF),
        (" salf", FailureType.SALF),
    ],
    ids=["ACLF", "CLF", "ALF", "SALF", "padded-lower", "mixed-case", "salf"],
)
def test_failure_type_is_accepted(text: str, expected: FailureType) -> None:
    assert validate(failure_type=text).failure_type is expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("HCC", "Type of liver failure must be one of ACLF, CLF, ALF, SALF."),
        ("ACLF CLF", "Type of liver failure must be one of ACLF, CLF, ALF, SALF."),
        ("AC LF", "Type of liver failure must be one of ACLF, CLF, ALF, SALF."),
        ("", "Type of liver failure is required: one of ACLF, CLF, ALF, SALF."),
        ("  ", "Type of liver failure is required: one of ACLF, CLF, ALF, SALF."),
        (None, "Type of liver failure is required: one of ACLF, CLF, ALF, SALF."),
        (1, "Type of liver failure must be one of ACLF, CLF, ALF, SALF."),
        (["ACLF"], "Type of liver failure must be one of ACLF, CLF, ALF, SALF."),
    ],
    ids=["unknown", "two-types", "inner-space", "empty", "blank", "null", "number", "list"],
)
def test_failure_type_is_refused(value: Any, message: str) -> None:
    assert errors_of(failure_type=value) == {"failure_type": [message]}


UNITS_ACCEPTED: list[Any] = [
    pytest.param("alt_unit", None, AltUnit.U_L, id="alt-default"),
    pytest.param("alt_unit", "U/L", AltUnit.U_L, id="alt-U/L"),
    pytest.param("alt_unit", "ukat/L", AltUnit.UKAT_L, id="alt-ukat"),
    pytest.param("alt_unit", f"{GREEK_MU}kat/L", AltUnit.UKAT_L, id="alt-greek-mu"),
    pytest.param("alt_unit", f"{MICRO_SIGN}kat/L", AltUnit.UKAT_L, id="alt-micro-sign"),
    pytest.param("tbil_unit", None, TbilUnit.UMOL_L, id="tbil-default"),
    pytest.param("tbil_unit", "umol/L", TbilUnit.UMOL_L, id="tbil-umol"),
    pytest.param("tbil_unit", f"{GREEK_MU}mol/L", TbilUnit.UMOL_L, id="tbil-greek-mu"),
    pytest.param("tbil_unit", f"{MICRO_SIGN}mol/L", TbilUnit.UMOL_L, id="tbil-micro-sign"),
    pytest.param("tbil_unit", " mg/dL ", TbilUnit.MG_DL, id="tbil-mg-padded"),
]


@pytest.mark.parametrize(("field", "text", "expected"), UNITS_ACCEPTED)
def test_unit_is_accepted(field: str, text: str | None, expected: Any) -> None:
    # Small values so that the same ALT / TBIL fit every unit's range.
    inputs = validate(alt=10, tbil=10, **{field: text})
    assert getattr(inputs, field) is expected


UNITS_REFUSED: list[Any] = [
    pytest.param("alt_unit", "IU/L", 'ALT unit must be "U/L" or "ukat/L" (μkat/L).', id="alt-IU"),
    pytest.param("alt_unit", "", 'ALT unit must be "U/L" or "ukat/L" (μkat/L).', id="alt-empty"),
    pytest.param("alt_unit", 60, 'ALT unit must be "U/L" or "ukat/L" (μkat/L).', id="alt-number"),
    pytest.param(
        "tbil_unit", "mmol/L", 'TBIL unit must be "umol/L" (μmol/L) or "mg/dL".', id="tbil-mmol"
    ),
    pytest.param(
        "tbil_unit", "mg/L", 'TBIL unit must be "umol/L" (μmol/L) or "mg/dL".', id="tbil-mg/L"
    ),
    pytest.param(
        "tbil_unit", ["mg/dL"], 'TBIL unit must be "umol/L" (μmol/L) or "mg/dL".', id="tbil-list"
    ),
]


@pytest.mark.parametrize(("field", "value", "message"), UNITS_REFUSED)
def test_unknown_unit_is_refused_and_its_value_not_judged(
    field: str, value: Any, message: str
) -> None:
    # A value far outside every range draws no second message: its unit is unknown.
    value_field = field.removesuffix("_unit")
    assert errors_of(**{field: value, value_field: 10**9}) == {field: [message]}


# --------------------------------------------------------------------------
# Dates


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-01", date(2026, 3, 1)),
        (" 2026-03-01 ", date(2026, 3, 1)),
        ("2024-02-29", date(2024, 2, 29)),
        ("2000-01-01", date(2000, 1, 1)),
        ("2099-12-31", date(2099, 12, 31)),
        (date(2026, 3, 1), date(2026, 3, 1)),
        (None, None),
        ("", None),
        ("  ", None),
    ],
    ids=["iso", "padded", "leap-day", "low-bound", "high-bound", "date", "null", "empty", "blank"],
)
def test_date_is_accepted(value: Any, expected: date | None) -> None:
    assert parse_date(value) == expected
    assert validate(transplant_date=value).transplant_date == expected


NOT_A_DATE = "Transplant date is not a real calendar date (YYYY-MM-DD)."
WRONG_FORMAT = "Transplant date must be a date written YYYY-MM-DD."
OUT_OF_RANGE = "Transplant date must be from 2000-01-01 to 2099-12-31."


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-02-30", NOT_A_DATE),
        ("2023-02-29", NOT_A_DATE),
        ("2026-13-01", NOT_A_DATE),
        ("2026-04-31", NOT_A_DATE),
        ("2026-00-10", NOT_A_DATE),
        ("01/03/2026", WRONG_FORMAT),
        ("2026-3-1", WRONG_FORMAT),
        ("20260301", WRONG_FORMAT),
        ("2026-03-01T10:00", WRONG_FORMAT),
        ("2026-W09-7", WRONG_FORMAT),
        ("yesterday", WRONG_FORMAT),
        (20260301, WRONG_FORMAT),
        (["2026-03-01"], WRONG_FORMAT),
        ("1999-12-31", OUT_OF_RANGE),
        ("2100-01-01", OUT_OF_RANGE),
        ("0001-01-01", OUT_OF_RANGE),
    ],
    ids=[
        "feb-30",
        "feb-29-not-leap",
        "month-13",
        "april-31",
        "month-0",
        "dd/mm/yyyy",
        "no-zero-padding",
        "compact",
        "with-time",
        "iso-week",
        "word",
        "number",
        "list",
        "before-2000",
        "after-2099",
        "year-1",
    ],
)
def test_date_is_refused(value: Any, message: str) -> None:
    assert errors_of(transplant_date=value) == {"transplant_date": [message]}


# --------------------------------------------------------------------------
# All problems at once


def test_every_problem_is_reported_at_once() -> None:
    errors = errors_of(
        failure_type="HCC", meld=41, alt="x", tbil=-1, tbil_unit="mg/dL", transplant_date="x"
    )
    assert set(errors) == {"failure_type", "meld", "alt", "tbil", "transplant_date"}
    assert all(len(messages) == 1 for messages in errors.values())


def test_input_error_text_names_each_field() -> None:
    with pytest.raises(InputError) as exc:
        validate(meld=41, alt=0)
    assert str(exc.value) == (
        "meld: Baseline MELD must be a whole number from 6 to 40.; "
        "alt: ALT must be a number from 1 to 50000 U/L."
    )
    assert isinstance(exc.value, ValueError)
