"""The clinician's form (WTForms) and its adapter to the engine's inputs.

Numbers are text fields parsed by the core's strict parser rather than
WTForms' DecimalField/FloatField: those go through ``Decimal()``/``float()``,
which accept ``nan``, ``inf``, ``1e309`` and ``1_000``. The validators below
call the same range table as the API and the command line, so a value is
refused with the same message everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from wtforms import Form, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from .evidence import FailureType
from .inputs import (
    ALT_RANGES,
    FAILURE_TYPE_DEFINITIONS,
    MELD_RANGE,
    TBIL_PER_UMOL_L,
    TBIL_RANGES,
    UNIT_LABELS,
    AltUnit,
    PatientInputs,
    Range,
    TbilUnit,
    check_in_unit,
    check_number,
    parse_date,
    validate_inputs,
)

NUMBER_ATTRS = {"inputmode": "decimal", "autocomplete": "off", "spellcheck": "false"}
PATIENT_REF_MAX = 40


def _number(range_for: Callable[[Form], Range]) -> Callable[[Form, Any], None]:
    def validate(form: Form, field: Any) -> None:
        try:
            check_number(field.data or "", range_for(form), allow_text=True)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    return validate


def _alt_range(form: Form) -> Range:
    unit = form.alt_unit.data if form.alt_unit.data in set(AltUnit) else AltUnit.U_L
    return ALT_RANGES[AltUnit(unit)]


def _tbil(form: Form, field: Any) -> None:
    """TBIL in its unit, with the mislabel guard (85 "mg/dL" looks like μmol/L)."""
    unit = form.tbil_unit.data if form.tbil_unit.data in set(TbilUnit) else TbilUnit.UMOL_L
    try:
        check_in_unit(
            field.data or "", TBIL_RANGES, TbilUnit(unit), TBIL_PER_UMOL_L, allow_text=True
        )
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def _date(form: Form, field: Any) -> None:
    try:
        parse_date(field.data)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def _ranges_hint(ranges: Mapping[Any, Range]) -> str:
    return " or ".join(r.describe() for r in ranges.values())


class AssessmentForm(Form):  # type: ignore[misc]  # WTForms ships no type hints
    """Baseline values of one patient. Nothing here is stored or logged."""

    failure_type = RadioField(
        "Type of liver failure",
        choices=[SelectChoice(ft.value, ft.value) for ft in FailureType],
        validators=[InputRequired("Type of liver failure is required: choose ACLF, CLF or ALF.")],
    )
    meld = StringField(
        "Baseline MELD (classic MELD, points)",
        validators=[_number(lambda form: MELD_RANGE)],
        render_kw={**NUMBER_ATTRS, "inputmode": "numeric"},
        description=f"Whole number, {MELD_RANGE.describe()}.",
    )
    alt = StringField(
        "ALT (alanine aminotransferase)",
        validators=[_number(_alt_range)],
        render_kw=NUMBER_ATTRS,
        description=f"Greater than zero: {_ranges_hint(ALT_RANGES)}.",
    )
    alt_unit = SelectField(
        "ALT unit",
        choices=[SelectChoice(u.value, UNIT_LABELS[u.value]) for u in AltUnit],
        default=AltUnit.U_L.value,
        validate_choice=True,
    )
    tbil = StringField(
        "Total bilirubin (TBIL)",
        validators=[_tbil],
        render_kw=NUMBER_ATTRS,
        description=f"Greater than zero: {_ranges_hint(TBIL_RANGES)}.",
    )
    tbil_unit = SelectField(
        "TBIL unit",
        choices=[SelectChoice(u.value, UNIT_LABELS[u.value]) for u in TbilUnit],
        default=TbilUnit.UMOL_L.value,
        validate_choice=True,
    )
    transplant_date = StringField(
        "Date of MSCT (optional)",
        validators=[_date],
        render_kw={"type": "date", "autocomplete": "off"},
        description="YYYY-MM-DD. Gives the calendar date of each check.",
    )
    patient_ref = StringField(
        "Patient reference (optional)",
        validators=[
            Optional(),
            Length(
                max=PATIENT_REF_MAX,
                message=f"Patient reference must be at most {PATIENT_REF_MAX} characters.",
            ),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
        description=(
            f"Up to {PATIENT_REF_MAX} characters. Printed on the summary only; "
            "never stored or logged."
        ),
    )

    def to_inputs(self) -> PatientInputs:
        """The validated form as engine inputs (call after ``validate()``)."""
        return validate_inputs(
            {
                "failure_type": self.failure_type.data,
                "meld": self.meld.data,
                "alt": self.alt.data,
                "alt_unit": self.alt_unit.data,
                "tbil": self.tbil.data,
                "tbil_unit": self.tbil_unit.data,
                "transplant_date": self.transplant_date.data,
            },
            allow_text=True,
        )


FAILURE_TYPE_HINTS = {ft.value: text for ft, text in FAILURE_TYPE_DEFINITIONS.items()}
