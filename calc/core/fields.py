"""The request's input fields, one table for every adapter (pure).

Each :class:`Field` is one value of the JSON API's request (``labs`` and
``followup`` nested, written with dots: ``labs.inr``,
``followup.tbil_day60.unit``), with what the form, the command line
(``calc assess``) and cohort files call it, its label, kind, unit choices,
default and help text. Bounds are never written here: a field refers to the
range table it is checked against (calc.core.inputs, calc.core.meld), so the words an
adapter shows come from the same numbers the core checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .evidence import FailureType
from .i18n import N_, gettext
from .inputs import (
    ALT_RANGES,
    DATE_HIGH,
    DATE_LOW,
    DAY_RANGE,
    FAILURE_TYPE_DEFINITIONS,
    MELD_RANGE,
    TBIL_RANGES,
    AltUnit,
    Range,
    TbilUnit,
    show_bound,
)
from .meld import (
    ALBUMIN_RANGES,
    BILIRUBIN_RANGES,
    CREATININE_RANGES,
    INR_RANGE,
    SODIUM_RANGE,
    AlbuminUnit,
    CreatinineUnit,
    Sex,
)


class Kind(StrEnum):
    NUMBER = "number"
    UNIT = "unit"
    CHOICE = "choice"
    DATE = "date"
    FLAG = "flag"


class Adapter(StrEnum):
    FORM = "form"
    API = "api"
    CLI = "cli"  # the options of ``calc assess``
    COHORT = "cohort"


@dataclass(frozen=True)
class Field:
    """One input field of the request and its name in each adapter (None: not taken)."""

    api: str  # the request's name, dotted for nested fields
    label: str
    kind: Kind
    form: str | None
    cli: str | None
    cohort: str | None
    # The form's description under the field: a marked message (N_), or a function
    # that words it in the current language (calc.core.i18n); "" for none.
    hint: str | Callable[[], str] = ""
    # The command line's help: a marked message (N_), or a function that words it.
    cli_help: str | Callable[[], str] = ""
    api_help: str = ""  # the description in the OpenAPI document
    # The allowed values by unit (one unit: keyed by the range's own unit).
    ranges: Mapping[str, Range] | None = None
    choices: tuple[str, ...] = ()  # the accepted spellings of a unit or choice field
    default: str | None = None  # the value taken when the field is absent (API, command line)
    preselected: str | None = None  # the choice the form shows before one is made
    required: bool = False  # the request needs it (API, command line)
    # An adapter without a name for this field takes its value (and shows its errors)
    # through the field named here: the labs' bilirubin is the TBIL.
    stands_in: str | None = None

    def name(self, adapter: Adapter) -> str | None:
        return self.api if adapter is Adapter.API else getattr(self, adapter.value)


def span(rng: Range) -> str:
    """A range as the command line's help writes it: ``6–40``."""
    return f"{show_bound(rng.low)}–{show_bound(rng.high)}"


def hint_text(field: Field) -> str:
    """A field's hint in the current language."""
    return field.hint() if callable(field.hint) else gettext(field.hint) if field.hint else ""


def cli_help_text(field: Field) -> str:
    """A field's command-line help in the current language."""
    if callable(field.cli_help):
        return field.cli_help()
    return gettext(field.cli_help) if field.cli_help else ""


def ranges_hint(ranges: Mapping[str, Range]) -> str:
    return (" " + gettext("or") + " ").join(r.describe() for r in ranges.values())


def allowed(ranges: Mapping[str, Range]) -> str:
    """The API's words for the allowed values: ``Allowed: 0.5 to 20.``."""
    return "Allowed: " + "; ".join(r.describe() for r in ranges.values()) + "."


def _by_unit(ranges: Mapping[Any, Range]) -> dict[str, Range]:
    return {unit.value: rng for unit, rng in ranges.items()}


def _one(rng: Range) -> dict[str, Range]:
    return {rng.unit: rng}


def _units(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(u.value for u in enum)


# "ACLF, CLF, ALF or SALF": the types the input accepts, from the one list.
FAILURE_TYPES_TEXT = (
    ", ".join(ft.value for ft in list(FailureType)[:-1]) + f" or {list(FailureType)[-1].value}"
)
DATE_HINT = N_("YYYY-MM-DD, e.g. 2026-03-05")

_BASELINE = (
    Field(
        "failure_type", N_("Type of liver failure"), Kind.CHOICE,
        form="failure_type", cli="--failure-type", cohort="failure_type",
        cli_help=lambda: gettext("Type of liver failure: {types}.").format(
            types=", ".join(ft.value for ft in list(FailureType)[:-1])
            + " " + gettext("or") + " " + list(FailureType)[-1].value
        ),
        api_help="; ".join(f"{ft.value}: {text}" for ft, text in FAILURE_TYPE_DEFINITIONS.items()),
        choices=_units(FailureType), required=True,
    ),
    Field(
        "meld", N_("Baseline MELD (classic MELD, points)"), Kind.NUMBER,
        form="meld", cli="--meld", cohort="meld",
        hint=lambda: gettext("Whole number, {range}. Or compute it from labs below.").format(
            range=MELD_RANGE.describe()
        ),
        cli_help=lambda: gettext("Baseline classic MELD, whole number {range} (or labs).").format(
            range=span(MELD_RANGE)
        ),
        api_help="Baseline classic MELD, a whole number.",
        ranges=_one(MELD_RANGE),
    ),
    Field(
        "alt", N_("ALT (alanine aminotransferase)"), Kind.NUMBER,
        form="alt", cli="--alt", cohort="alt",
        hint=lambda: gettext(
            "Greater than zero: {ranges}. U/L in both unit systems "
            "(laboratories report ALT in U/L in both)."
        ).format(ranges=ranges_hint(_by_unit(ALT_RANGES))),
        cli_help=N_("ALT, in --alt-unit."),
        api_help=f"ALT in alt_unit. {allowed(_by_unit(ALT_RANGES))}",
        ranges=_by_unit(ALT_RANGES), required=True,
    ),
    Field(
        "alt_unit", N_("ALT unit"), Kind.UNIT,
        form="alt_unit", cli="--alt-unit", cohort="alt_unit",
        cli_help=N_("U/L or ukat/L."), api_help=f"Absent or null: {AltUnit.U_L.value}.",
        choices=_units(AltUnit), default=AltUnit.U_L.value, preselected=AltUnit.U_L.value,
    ),
    Field(
        "tbil", N_("Total bilirubin (TBIL)"), Kind.NUMBER,
        form="tbil", cli="--tbil", cohort="tbil",
        hint=lambda: gettext("Greater than zero: {ranges}.").format(
            ranges=ranges_hint(_by_unit(TBIL_RANGES))
        ),
        cli_help=N_("Total bilirubin, in --tbil-unit."),
        api_help=f"Total bilirubin in tbil_unit. {allowed(_by_unit(TBIL_RANGES))}",
        ranges=_by_unit(TBIL_RANGES), required=True,
    ),
    Field(
        "tbil_unit", N_("TBIL unit"), Kind.UNIT,
        form="tbil_unit", cli="--tbil-unit", cohort="tbil_unit",
        cli_help=N_("umol/L or mg/dL."), api_help=f"Absent or null: {TbilUnit.UMOL_L.value}.",
        choices=_units(TbilUnit), default=TbilUnit.UMOL_L.value,
        preselected=TbilUnit.UMOL_L.value,
    ),
    Field(
        "transplant_date", N_("Date of MSCT (optional)"), Kind.DATE,
        form="transplant_date", cli="--transplant-date", cohort="transplant_date",
        hint=lambda: gettext("{date_format}. Gives the calendar date of each check.").format(
            date_format=gettext(DATE_HINT)
        ),
        cli_help=N_("Date of MSCT, YYYY-MM-DD (optional)."),
        api_help=f"Optional date of MSCT, YYYY-MM-DD, {DATE_LOW} to {DATE_HIGH}.",
    ),
)  # fmt: skip

# The labs of MELD, in the order the API documents them (calc.core.assessment.LAB_FIELD_ORDER).
# Lab units have no default, as in the API: creatinine 20 reads as MELD 27 in mg/dL
# and MELD 14 in μmol/L, both valid, so a guessed unit is a silent slip. The form
# pre-selects the SI unit (its unit systems switch it).
_LABS = (
    Field(
        "labs.bilirubin", N_("Bilirubin"), Kind.NUMBER,
        form=None, cli=None, cohort="labs_bilirubin",
        api_help=allowed(_by_unit(BILIRUBIN_RANGES)),
        ranges=_by_unit(BILIRUBIN_RANGES), stands_in="tbil",
    ),
    Field(
        "labs.bilirubin_unit", N_("Bilirubin unit"), Kind.UNIT,
        form=None, cli=None, cohort="labs_bilirubin_unit",
        choices=tuple(_by_unit(BILIRUBIN_RANGES)), stands_in="tbil_unit",
    ),
    Field(
        "labs.inr", N_("INR"), Kind.NUMBER,
        form="lab_inr", cli="--inr", cohort="labs_inr",
        hint=lambda: gettext("No unit, {range}.").format(range=INR_RANGE.describe()),
        cli_help=lambda: gettext("INR (no unit), {range}.").format(range=span(INR_RANGE)),
        api_help=allowed(_one(INR_RANGE)),
        ranges=_one(INR_RANGE),
    ),
    Field(
        "labs.creatinine", N_("Creatinine"), Kind.NUMBER,
        form="lab_creatinine", cli="--creatinine", cohort="labs_creatinine",
        hint=lambda: f"{ranges_hint(_by_unit(CREATININE_RANGES))}.",
        cli_help=N_("Creatinine, in --creatinine-unit."),
        api_help=allowed(_by_unit(CREATININE_RANGES)),
        ranges=_by_unit(CREATININE_RANGES),
    ),
    Field(
        "labs.creatinine_unit", N_("Creatinine unit"), Kind.UNIT,
        form="lab_creatinine_unit", cli="--creatinine-unit", cohort="labs_creatinine_unit",
        cli_help=N_("mg/dL or umol/L (required with --creatinine)."),
        choices=tuple(_by_unit(CREATININE_RANGES)), preselected=CreatinineUnit.UMOL_L.value,
    ),
    Field(
        "labs.dialysis", N_("Dialysis at least twice in the past week (or 24 h of CVVHD)"),
        Kind.FLAG,
        form="lab_dialysis", cli="--dialysis", cohort="labs_dialysis",
        hint=N_("Sets creatinine to the formula's cap."),
        cli_help=N_("Dialysis at least twice in the past week (or 24 h of CVVHD)."),
        api_help="Dialysis at least twice in the past week, or 24 h of CVVHD.",
    ),
    Field(
        "labs.sodium", N_("Sodium (mmol/L, optional)"), Kind.NUMBER,
        form="lab_sodium", cli="--sodium", cohort="labs_sodium",
        hint=lambda: gettext("{range}. For MELD-Na and MELD 3.0.").format(
            range=SODIUM_RANGE.describe()
        ),
        cli_help=N_("Sodium, mmol/L (for MELD-Na, MELD 3.0)."),
        api_help=allowed(_one(SODIUM_RANGE)),
        ranges=_one(SODIUM_RANGE),
    ),
    Field(
        "labs.albumin", N_("Albumin (optional)"), Kind.NUMBER,
        form="lab_albumin", cli="--albumin", cohort="labs_albumin",
        hint=lambda: gettext("{ranges}. For MELD 3.0.").format(
            ranges=ranges_hint(_by_unit(ALBUMIN_RANGES))
        ),
        cli_help=N_("Albumin, in --albumin-unit (MELD 3.0)."),
        api_help=allowed(_by_unit(ALBUMIN_RANGES)),
        ranges=_by_unit(ALBUMIN_RANGES),
    ),
    Field(
        "labs.albumin_unit", N_("Albumin unit"), Kind.UNIT,
        form="lab_albumin_unit", cli="--albumin-unit", cohort="labs_albumin_unit",
        cli_help=N_("g/dL or g/L (required with --albumin)."),
        choices=tuple(_by_unit(ALBUMIN_RANGES)), preselected=AlbuminUnit.G_L.value,
    ),
    Field(
        "labs.sex", N_("Sex (optional, for MELD 3.0)"), Kind.CHOICE,
        form="lab_sex", cli="--sex", cohort="labs_sex",
        cli_help=N_("female or male (MELD 3.0)."),
        choices=_units(Sex), preselected="",
    ),
)  # fmt: skip


def _followup(
    key: str,
    labels: tuple[str, str, str, str],
    form: str,
    cli: str,
    ranges: Mapping[str, Range],
    units: tuple[str, ...],
    cli_help: str,
) -> tuple[Field, ...]:
    """A follow-up marker's value, unit, day and date (cohort files carry no follow-up).

    A value without a unit takes the unit of the same analyte at baseline: the
    command line has no follow-up unit options (it passes ``--alt-unit`` or
    ``--tbil-unit``), and the form pre-selects the first unit (the baseline's default).
    """
    prefix = f"followup.{key}"
    label, unit_label, day_label, date_label = labels
    whole = next(iter(ranges.values())).whole
    fields = [
        Field(
            f"{prefix}.value", label, Kind.NUMBER, form=form, cli=cli, cohort=None,
            hint=(
                (lambda: gettext("Whole number, {ranges}.").format(ranges=ranges_hint(ranges)))
                if whole
                else (lambda: f"{ranges_hint(ranges)}.")
            ),
            cli_help=cli_help, ranges=ranges,
        ),
    ]  # fmt: skip
    if units:
        unit = Field(
            f"{prefix}.unit", unit_label, Kind.UNIT,
            form=f"{form}_unit", cli=None, cohort=None, choices=units, preselected=units[0],
        )  # fmt: skip
        fields.append(unit)
    fields += [
        Field(
            f"{prefix}.day", day_label, Kind.NUMBER,
            form=f"{form}_day", cli=f"{cli}-day", cohort=None,
            hint=DAY_RANGE.describe,
            cli_help=lambda: gettext("Its day after MSCT ({range}).").format(range=span(DAY_RANGE)),
            ranges=_one(DAY_RANGE),
        ),
        Field(
            f"{prefix}.date", date_label, Kind.DATE,
            form=f"{form}_date", cli=f"{cli}-date", cohort=None,
            hint=lambda: gettext("{date_format} (needs the date of MSCT)").format(
                date_format=gettext(DATE_HINT)
            ),
            cli_help=N_("Or its date, YYYY-MM-DD."),
        ),
    ]  # fmt: skip
    return tuple(fields)


_FOLLOWUP = (
    *_followup(
        "alt_day15",
        (
            N_("Follow-up ALT (about day 15)"), N_("Follow-up ALT unit"),
            N_("Follow-up ALT: day after MSCT"), N_("Follow-up ALT: or date taken"),
        ),
        "fu_alt", "--alt-day15",
        _by_unit(ALT_RANGES), _units(AltUnit), N_("Follow-up ALT at about day 15, in --alt-unit."),
    ),
    *_followup(
        "tbil_day60",
        (
            N_("Follow-up TBIL (about day 60)"), N_("Follow-up TBIL (day 60) unit"),
            N_("Follow-up TBIL (day 60): day after MSCT"),
            N_("Follow-up TBIL (day 60): or date taken"),
        ),
        "fu_tbil60",
        "--tbil-day60", _by_unit(TBIL_RANGES), _units(TbilUnit),
        N_("Follow-up TBIL at about day 60, in --tbil-unit."),
    ),
    *_followup(
        "tbil_day90",
        (
            N_("Follow-up TBIL (about day 90)"), N_("Follow-up TBIL (day 90) unit"),
            N_("Follow-up TBIL (day 90): day after MSCT"),
            N_("Follow-up TBIL (day 90): or date taken"),
        ),
        "fu_tbil90",
        "--tbil-day90", _by_unit(TBIL_RANGES), _units(TbilUnit),
        N_("Follow-up TBIL at about day 90, in --tbil-unit."),
    ),
    *_followup(
        "meld",
        (
            N_("Follow-up MELD (classic MELD, points)"), N_("Follow-up MELD unit"),
            N_("Follow-up MELD: day after MSCT"), N_("Follow-up MELD: or date taken"),
        ),
        "fu_meld",
        "--meld-followup", _one(MELD_RANGE), (), N_("Follow-up MELD (classic MELD points)."),
    ),
)  # fmt: skip

FIELDS: tuple[Field, ...] = (*_BASELINE, *_LABS, *_FOLLOWUP)
BY_API: dict[str, Field] = {f.api: f for f in FIELDS}


_FIELDS_OF: dict[Adapter, tuple[Field, ...]] = {
    adapter: tuple(f for f in FIELDS if f.name(adapter) is not None) for adapter in Adapter
}


def fields_of(adapter: Adapter) -> tuple[Field, ...]:
    """The fields an adapter takes, in the table's order."""
    return _FIELDS_OF[adapter]


def names(adapter: Adapter) -> list[str]:
    return [name for f in FIELDS if (name := f.name(adapter)) is not None]


def error_target(key: str, adapter: Adapter) -> str:
    """The adapter's name for the field that shows an error of the core.

    ``key`` is a field (``labs.inr``), a follow-up marker (``followup.meld``: its
    value) or a group (``labs``, ``followup``, or an unknown name inside one: the
    group's first field). A field the adapter does not take shows its errors on
    the field it stands in for (``labs.bilirubin`` on ``tbil``).
    """
    field = BY_API.get(key) or BY_API.get(f"{key}.value")
    if field is not None and field.name(adapter) is None and field.stands_in:
        field = BY_API[field.stands_in]
    if field is None or field.name(adapter) is None:
        group = key.split(".")[0]
        field = next(
            (f for f in fields_of(adapter) if f.api.startswith(f"{group}.")),
            BY_API.get(key),
        )
    name = field.name(adapter) if field is not None else None
    return name if name is not None else key
