"""The clinician's form (WTForms) and its adapter to the engine's inputs.

Numbers are text fields parsed by the core's strict parser rather than
WTForms' DecimalField/FloatField: those go through ``Decimal()``/``float()``,
which accept ``nan``, ``inf``, ``1e309`` and ``1_000``. ``validate()`` passes
the whole form to the core's ``validate_request`` (the same call the API and
the command line make) and shows each message next to its field, so a value
is refused with the same words everywhere.
"""

from __future__ import annotations

from typing import Any

from babel.support import LazyProxy
from wtforms import BooleanField, Form, RadioField, SelectChoice, SelectField, StringField
from wtforms.i18n import get_translations
from wtforms.validators import Length, Optional

from ..core import i18n
from ..core.assessment import (
    LAB_VALUE_FIELDS,
    AssessmentRequest,
    assemble,
    labs_given,
    validate_request,
)
from ..core.fields import BY_API, FIELDS, Adapter, Field, error_target, hint_text
from ..core.i18n import N_, gettext, lazy_gettext
from ..core.inputs import FAILURE_TYPE_DEFINITIONS, UNIT_LABELS, InputError, TbilUnit
from ..core.meld import AlbuminUnit, CreatinineUnit
from ..core.savefile import SAVE_NOTICE

NUMBER_ATTRS = {"inputmode": "decimal", "autocomplete": "off", "spellcheck": "false"}
PATIENT_REF_MAX = 40
CLINICIAN_MAX = 60
# Dates are text, not type=date: the browser's date control shows the locale's order
# (not the YYYY-MM-DD of the hint) and posts a partly typed date as "", which would read
# as "not given". The page's script checks data-date fields before submitting.
# No inputmode: a numeric keypad has no "-" on some phones, and a date needs it.
DATE_ATTRS = {"autocomplete": "off", "spellcheck": "false"}
# Fields of the form that are not values of the request (calc.core.fields).
NOT_IN_REQUEST = ("patient_ref", "clinician")
# Fields printed on the summary but never written into a saved file.
NOT_SAVED = ("clinician",)

# The form's unit systems: the unit each select takes when one is chosen at the top of
# the form (rendered as data-unit-si / data-unit-us; the page's script reads them).
# ALT is not among them: laboratories report it in U/L in both systems, so it stays
# U/L, and μkat/L stays choosable beside the field.
UNIT_SYSTEMS: dict[str, dict[str, str]] = {
    "si": {
        "tbil_unit": TbilUnit.UMOL_L.value,
        "lab_creatinine_unit": CreatinineUnit.UMOL_L.value,
        "lab_albumin_unit": AlbuminUnit.G_L.value,
        "fu_tbil60_unit": TbilUnit.UMOL_L.value,
        "fu_tbil90_unit": TbilUnit.UMOL_L.value,
    },
    "us": {
        "tbil_unit": TbilUnit.MG_DL.value,
        "lab_creatinine_unit": CreatinineUnit.MG_DL.value,
        "lab_albumin_unit": AlbuminUnit.G_DL.value,
        "fu_tbil60_unit": TbilUnit.MG_DL.value,
        "fu_tbil90_unit": TbilUnit.MG_DL.value,
    },
}
# A follow-up unit follows the unit of the same analyte at baseline (data-follows).
FOLLOWS = {
    "fu_alt_unit": "alt_unit",
    "fu_tbil60_unit": "tbil_unit",
    "fu_tbil90_unit": "tbil_unit",
}


def _label(field: Field) -> Any:
    """The field's label, in the language of the request that shows it."""
    return lazy_gettext(field.label)


def _hint(field: Field) -> Any:
    """The field's hint, in the language of the request that shows it."""
    return LazyProxy(hint_text, field, enable_cache=False)


def _choices(values: tuple[str, ...]) -> list[Any]:
    return [SelectChoice(v, UNIT_LABELS.get(v, v)) for v in values]


def _unit_field(api: str) -> Any:
    """A unit select, marked with its unit in each system and the baseline unit it follows."""
    field = BY_API[api]
    name = field.form
    render = {
        f"data-unit-{system}": chosen[name]
        for system, chosen in UNIT_SYSTEMS.items()
        if name in chosen
    }
    if name in FOLLOWS:
        render["data-follows"] = FOLLOWS[name]
    return SelectField(
        _label(field),
        validate_choice=False,
        choices=_choices(field.choices),
        default=field.preselected,
        render_kw=render or None,
    )


def _number_field(api: str, **render: str) -> Any:
    field = BY_API[api]
    return StringField(
        _label(field), render_kw={**NUMBER_ATTRS, **render}, description=_hint(field)
    )


def _day_field(api: str) -> Any:
    return _number_field(api, inputmode="numeric")


# A date field's name in the page script's message ("Follow-up ALT: date taken must be ...").
DATE_NAMES = {
    "transplant_date": N_("Date of MSCT"),
    "followup.alt_day15.date": N_("Follow-up ALT: date taken"),
    "followup.tbil_day60.date": N_("Follow-up TBIL (day 60): date taken"),
    "followup.tbil_day90.date": N_("Follow-up TBIL (day 90): date taken"),
    "followup.meld.date": N_("Follow-up MELD: date taken"),
}


def _date_field(api: str) -> Any:
    field = BY_API[api]
    taken = lazy_gettext(DATE_NAMES[api])
    return StringField(
        _label(field), render_kw={**DATE_ATTRS, "data-date": taken}, description=_hint(field)
    )


def _optional_text(label: str, max_length: int, what: str) -> Any:
    """An optional free-text field (never a clinical value): its length is all that is checked.

    ``label`` and ``what`` are marked messages (N_), worded in the request's language.
    """

    def words(text: str, **values: object) -> Any:
        def word() -> str:
            return gettext(text).format(label=gettext(label), max=max_length, what=gettext(what))

        return LazyProxy(word, enable_cache=False)

    return StringField(
        words(N_("{label} (optional)")),
        validators=[
            Optional(),
            # WTForms formats the message with %: no % in the words (they come from .format).
            Length(max=max_length, message=words(N_("{label} must be at most {max} characters."))),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
        description=words(N_("Up to {max} characters. {what}")),
    )


class AssessmentForm(Form):  # type: ignore[misc]  # WTForms ships no type hints
    """Baseline values of one patient. Nothing here is stored or logged."""

    class Meta:
        def get_translations(self, form: Any) -> Any:
            """WTForms' own messages (its built-in validators) in the request's language:
            WTForms ships them in Simplified Chinese as its ``zh`` catalog."""
            if i18n.get_language() == i18n.CHINESE:
                return get_translations(["zh"])
            return None

    failure_type = RadioField(
        _label(BY_API["failure_type"]),
        validate_choice=False,
        choices=[SelectChoice(v, v) for v in BY_API["failure_type"].choices],
    )
    meld = _number_field("meld", inputmode="numeric")
    alt = _number_field("alt")
    alt_unit = _unit_field("alt_unit")
    tbil = _number_field("tbil")
    tbil_unit = _unit_field("tbil_unit")
    transplant_date = StringField(
        _label(BY_API["transplant_date"]),
        render_kw={**DATE_ATTRS, "data-date": lazy_gettext(DATE_NAMES["transplant_date"])},
        description=_hint(BY_API["transplant_date"]),
    )
    patient_ref = _optional_text(
        N_("Patient reference"),
        PATIENT_REF_MAX,
        N_(
            "Printed on the summary and written into a saved file if you save one; never "
            "stored or logged by the server."
        ),
    )
    clinician = _optional_text(
        N_("Clinician name"),
        CLINICIAN_MAX,
        N_("Printed on the summary; not written into a saved file, never stored or logged."),
    )

    # MELD from labs (bilirubin is the TBIL above).
    lab_inr = _number_field("labs.inr")
    lab_creatinine = _number_field("labs.creatinine")
    lab_creatinine_unit = _unit_field("labs.creatinine_unit")
    lab_dialysis = BooleanField(
        _label(BY_API["labs.dialysis"]), description=_hint(BY_API["labs.dialysis"])
    )
    lab_sodium = _number_field("labs.sodium")
    lab_albumin = _number_field("labs.albumin")
    lab_albumin_unit = _unit_field("labs.albumin_unit")
    lab_sex = SelectField(
        _label(BY_API["labs.sex"]),
        validate_choice=False,
        choices=[
            SelectChoice("", lazy_gettext(N_("Not given"))),
            *(SelectChoice(v, v) for v in BY_API["labs.sex"].choices),
        ],
        default=BY_API["labs.sex"].preselected,
    )

    # Follow-up values (all optional).
    fu_alt = _number_field("followup.alt_day15.value")
    fu_alt_unit = _unit_field("followup.alt_day15.unit")
    fu_alt_day = _day_field("followup.alt_day15.day")
    fu_alt_date = _date_field("followup.alt_day15.date")
    fu_tbil60 = _number_field("followup.tbil_day60.value")
    fu_tbil60_unit = _unit_field("followup.tbil_day60.unit")
    fu_tbil60_day = _day_field("followup.tbil_day60.day")
    fu_tbil60_date = _date_field("followup.tbil_day60.date")
    fu_tbil90 = _number_field("followup.tbil_day90.value")
    fu_tbil90_unit = _unit_field("followup.tbil_day90.unit")
    fu_tbil90_day = _day_field("followup.tbil_day90.day")
    fu_tbil90_date = _date_field("followup.tbil_day90.date")
    fu_meld = _number_field("followup.meld.value", inputmode="numeric")
    fu_meld_day = _day_field("followup.meld.day")
    fu_meld_date = _date_field("followup.meld.date")

    request: AssessmentRequest | None = None
    # What a saved file holds, in words (for the form and the result page).
    save_notice = lazy_gettext(SAVE_NOTICE)

    def _text(self, name: str) -> str:
        value = self[name].data
        return value.strip() if isinstance(value, str) else ""

    def labs_given(self) -> bool:
        return labs_given(
            {f: self._text(f"lab_{f}") for f in LAB_VALUE_FIELDS if f"lab_{f}" in self}
        )

    def followup_given(self) -> bool:
        return any(self._text(n) for group in FOLLOWUP_FIELDS.values() for n in group if n)

    def raw(self) -> dict[str, Any]:
        """The entered values keyed as the API's request (labs and follow-up nested)."""

        def value_of(field: Field) -> object:
            assert field.form is not None
            data = self[field.form].data
            return data.strip() if isinstance(data, str) else data

        return assemble(Adapter.FORM, value_of)

    def as_fields(self) -> dict[str, str]:
        """Every field as the text a browser would post (for hidden fields and the save file)."""
        out = {}
        for field in self:
            if isinstance(field, BooleanField):
                out[field.name] = "y" if field.data else ""
            else:
                out[field.name] = field.data if isinstance(field.data, str) else ""
        return out

    def saved_fields(self) -> dict[str, str]:
        """The fields a saved file holds: every field but those printed only (the clinician)."""
        return {k: v for k, v in self.as_fields().items() if k not in NOT_SAVED}

    def carries_values(self) -> bool:
        """Whether the form shows posted values (re-posted, refused or opened from a file).

        Such a form shows its units as entered: the page's script does not apply the
        remembered unit system to it (``data-filled`` on the form).
        """
        return bool(self.errors) or any(field.raw_data for field in self)

    def section_open(self, prefix: str) -> bool:
        """Whether the labs ("lab_") or follow-up ("fu_") section has a value or an error."""
        return any(
            f.name.startswith(prefix) and (f.errors or (isinstance(f.data, str) and f.data.strip()))
            for f in self
            if not f.name.endswith("_unit") and f.name != "lab_sex"
        )

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields' own checks, then the whole request through the core's validation."""
        valid = bool(super().validate(extra_validators))
        self.request = None
        try:
            self.request = validate_request(self.raw(), allow_text=True)
        except InputError as exc:
            for key, messages in exc.errors.items():
                field = self[error_field(key)]
                if not field.errors:  # one message per field: the first problem found
                    field.errors = list(field.errors) + messages
            self._errors = None  # WTForms caches form.errors
            valid = False
        return valid and self.request is not None


def _followup_names(key: str) -> tuple[str, str | None, str, str]:
    def name(part: str) -> str | None:
        field = BY_API.get(f"followup.{key}.{part}")
        return field.form if field is not None else None

    value, day, taken = name("value"), name("day"), name("date")
    assert value is not None and day is not None and taken is not None
    return value, name("unit"), day, taken


# Form field names of each follow-up marker: value, unit, day, date (calc.core.fields).
FOLLOWUP_FIELDS: dict[str, tuple[str, str | None, str, str]] = {
    key: _followup_names(key)
    for key in dict.fromkeys(f.api.split(".")[1] for f in FIELDS if f.api.startswith("followup."))
}


def error_field(key: str) -> str:
    """The form field that shows an error of the core (``labs.inr`` -> ``lab_inr``)."""
    return error_target(key, Adapter.FORM)


FAILURE_TYPE_HINTS = {ft.value: text for ft, text in FAILURE_TYPE_DEFINITIONS.items()}
