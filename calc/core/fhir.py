"""Labs from the record as FHIR R4, and the result back as FHIR R4 (pure).

In: a FHIR R4 ``Bundle`` of ``Observation`` resources (any Bundle type: a
``collection`` built by the caller, or a ``searchset`` as a FHIR server or a CDS
Hooks prefetch returns it). Each Observation is recognised by its LOINC code and
read only in the UCUM unit its code is defined for: a mass-concentration code
(bilirubin 1975-2, mg/dL) in a molar unit, or any unit not in the table below,
is refused rather than converted by guess. The values then go into the same
request the JSON API takes (:func:`calc.core.assessment.validate_request`), so
the same ranges, unit-mislabel guard and formulas apply as for a typed value.

Which value is used: for each lab, the Observation with the latest effective
time. It must be ``final``, ``amended`` or ``corrected`` (FHIR R4
ObservationStatus), carry a ``valueQuantity`` with a plain value (no
comparator such as ``<``), a UCUM unit of the table, and an effective time no
more than :data:`WINDOW` before the assessment time. If the latest one fails
any of these, the request is refused naming it: an older value is never used
in its place, because a silent fall-back would assess the patient as they were
days ago (hazard H-23).

Out: the MELD scores as ``Observation`` resources (LOINC 44760-7 classic MELD,
100348-2 MELD-Na, MELD 3.0 under this calculator's own code system, which LOINC
does not yet cover) with ``derivedFrom`` the labs used and ``method`` the
formula and the calculator's version; the expected course as a
``RiskAssessment`` whose narrative carries the basis, the versions and DOIs of
both sources of evidence. No probability is given: the evidence does not
support one (hazards H-01, H-02).

Standards: HL7 FHIR R4 (4.0.1): Bundle, Observation, RiskAssessment, Quantity,
dateTime; LOINC; UCUM (case-sensitive unit codes, system
``http://unitsofmeasure.org``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any, Final

from .assessment import run, validate_request
from .evidence import Evidence
from .fields import BY_API, Field
from .inputs import AltUnit, InputError, TbilUnit
from .meld import SODIUM_UNIT, AlbuminUnit, CreatinineUnit, MeldResult
from .results import Assessment

LOINC: Final = "http://loinc.org"
UCUM: Final = "http://unitsofmeasure.org"
# MELD 3.0 has no LOINC code yet: this calculator's own code system (a URI it owns).
CALC_CODE_SYSTEM: Final = "urn:calc:fhir:CodeSystem:score"
MELD_3_0_CODE: Final = "meld-3.0"

# FHIR R4 ObservationStatus: results that may be acted on. "preliminary",
# "registered", "entered-in-error", "cancelled" and "unknown" are refused.
USABLE_STATUSES: Final = frozenset({"final", "amended", "corrected"})
OBSERVATION_STATUSES: Final = USABLE_STATUSES | {
    "registered",
    "preliminary",
    "cancelled",
    "entered-in-error",
    "unknown",
}
# A lab older than this before the assessment time is not "the patient now".
WINDOW: Final = timedelta(days=7)
# Clocks of the record and of this server differ by a little: a result stamped up
# to this far after "now" is taken as now, further is refused.
CLOCK_SKEW: Final = timedelta(minutes=5)


class FhirInputError(InputError):
    """The Bundle or its Observations cannot be used; errors keyed as the response shows them."""


# --------------------------------------------------------------------------
# The mapping table: LOINC code and UCUM unit -> the request's field and unit


@dataclass(frozen=True)
class LabCode:
    """One LOINC code: which field of the request it fills, and in which units.

    ``units`` maps each UCUM code accepted for this LOINC code to the value of the
    request's unit field (a member of the core's unit enum), or to the core's
    fixed unit when the field has no unit field (INR, sodium).
    """

    loinc: str
    display: str
    field: Field
    units: Mapping[str, str]

    @property
    def unit_field(self) -> Field | None:
        return BY_API.get(f"{self.field.api}_unit")


def _lab(loinc: str, display: str, api: str, units: Mapping[str, str]) -> LabCode:
    return LabCode(loinc, display, BY_API[api], units)


_ALT_UNITS = {"U/L": AltUnit.U_L.value, "ukat/L": AltUnit.UKAT_L.value}
# INR is a ratio: UCUM writes it "{INR}" (an annotation of the unity) or "1".
_INR_UNITS = {"{INR}": "", "1": ""}

LAB_CODES: Final[tuple[LabCode, ...]] = (
    _lab("1742-6", "ALT [Enzymatic activity/volume] in Serum or Plasma", "alt", _ALT_UNITS),
    _lab(
        "1743-4",
        "ALT [Enzymatic activity/volume] in Serum or Plasma by With P-5'-P",
        "alt",
        _ALT_UNITS,
    ),
    _lab(
        "1744-2",
        "ALT [Enzymatic activity/volume] in Serum or Plasma by No addition of P-5'-P",
        "alt",
        _ALT_UNITS,
    ),
    _lab(
        "1975-2",
        "Bilirubin.total [Mass/volume] in Serum or Plasma",
        "tbil",
        {"mg/dL": TbilUnit.MG_DL.value},
    ),
    _lab(
        "14631-6",
        "Bilirubin.total [Moles/volume] in Serum or Plasma",
        "tbil",
        {"umol/L": TbilUnit.UMOL_L.value},
    ),
    _lab("6301-6", "INR in Platelet poor plasma by Coagulation assay", "labs.inr", _INR_UNITS),
    _lab("34714-6", "INR in Blood by Coagulation assay", "labs.inr", _INR_UNITS),
    _lab(
        "2160-0",
        "Creatinine [Mass/volume] in Serum or Plasma",
        "labs.creatinine",
        {"mg/dL": CreatinineUnit.MG_DL.value},
    ),
    _lab(
        "14682-9",
        "Creatinine [Moles/volume] in Serum or Plasma",
        "labs.creatinine",
        {"umol/L": CreatinineUnit.UMOL_L.value},
    ),
    # Sodium is monovalent: 1 mEq/L is 1 mmol/L, so UCUM "meq/L" passes unchanged.
    _lab(
        "2951-2",
        "Sodium [Moles/volume] in Serum or Plasma",
        "labs.sodium",
        {"mmol/L": SODIUM_UNIT, "meq/L": SODIUM_UNIT},
    ),
    _lab(
        "1751-7",
        "Albumin [Mass/volume] in Serum or Plasma",
        "labs.albumin",
        {"g/dL": AlbuminUnit.G_DL.value, "g/L": AlbuminUnit.G_L.value},
    ),
)
BY_LOINC: Final = {c.loinc: c for c in LAB_CODES}
# The fields the Bundle can fill, in the table's order, with their codes.
LAB_FIELDS: Final = tuple(dict.fromkeys(c.field.api for c in LAB_CODES))
CODES_OF: Final = {f: tuple(c for c in LAB_CODES if c.field.api == f) for f in LAB_FIELDS}

# The request parameters beside the Bundle: what standard labs do not carry.
FAILURE_TYPE: Final = BY_API["failure_type"].api
TRANSPLANT_DATE: Final = BY_API["transplant_date"].api
DIALYSIS_FIELD: Final = BY_API["labs.dialysis"]
SEX_FIELD: Final = BY_API["labs.sex"]
DIALYSIS: Final = DIALYSIS_FIELD.api.removeprefix("labs.")
SEX: Final = SEX_FIELD.api.removeprefix("labs.")
BUNDLE: Final = "bundle"
PARAMETERS: Final = frozenset({FAILURE_TYPE, TRANSPLANT_DATE, DIALYSIS, SEX, BUNDLE})

# LOINC codes of the output.
MELD_LOINC: Final = ("44760-7", "MELD score")
MELD_NA_LOINC: Final = ("100348-2", "MELD-Na score")


def codes_text(field: str) -> str:
    """``1742-6, 1743-4 or 1744-2``: the LOINC codes read for a field."""
    codes = [c.loinc for c in CODES_OF[field]]
    return codes[0] if len(codes) == 1 else ", ".join(codes[:-1]) + f" or {codes[-1]}"


# --------------------------------------------------------------------------
# FHIR dateTime (R4 primitive types)

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})", re.ASCII
)


@dataclass(frozen=True, order=True)
class Effective:
    """When a result applies: the instant (UTC), or a whole day when only a date is given."""

    instant: datetime
    text: str
    date_only: bool


def parse_effective(text: object) -> Effective:
    """A FHIR ``dateTime`` or ``instant`` to the day or the second, with its time zone.

    FHIR allows ``2026`` and ``2026-12``; a lab stamped so loosely cannot be placed
    in the window and is refused. A time must carry its zone (FHIR R4 dateTime).
    """
    if not isinstance(text, str):
        raise ValueError("has no effective time (effectiveDateTime or effectiveInstant)")
    if _DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValueError("has an effective date that is not a real date") from None
        return Effective(datetime.combine(day, time(), UTC), text, True)
    match = _DATETIME.fullmatch(text)
    if match is None:
        raise ValueError(
            "has an effective time that is not a full date, or a date and time with its time"
            " zone (FHIR dateTime)"
        )
    day_text, clock, fraction, zone = match.groups()
    fraction = (fraction or "")[:7]  # seconds to the microsecond
    try:
        moment = datetime.fromisoformat(
            f"{day_text}T{clock}{fraction}{zone.replace('Z', '+00:00')}"
        )
    except ValueError:
        raise ValueError("has an effective time that is not a real time") from None
    return Effective(moment.astimezone(UTC), text, False)


def _effective_of(resource: Mapping[str, Any]) -> Effective:
    return parse_effective(resource.get("effectiveDateTime", resource.get("effectiveInstant")))


def within_window(effective: Effective, now: datetime) -> bool:
    """Taken no more than WINDOW before ``now`` (a date alone: on or after that day)."""
    if effective.date_only:
        return effective.instant.date() >= (now - WINDOW).astimezone(UTC).date()
    return effective.instant >= now - WINDOW


def in_the_future(effective: Effective, now: datetime) -> bool:
    if effective.date_only:
        return effective.instant.date() > now.astimezone(UTC).date()
    return effective.instant > now + CLOCK_SKEW


# --------------------------------------------------------------------------
# Reading the Bundle


@dataclass(frozen=True)
class UsedLab:
    """One value taken from the record, as it was mapped (echoed in the response).

    ``reference`` is how the output refers to the Observation (``Observation/<id>``,
    or the entry's ``fullUrl``); ``unit`` is the UCUM code as received, ``core_unit``
    the request's unit it was mapped to.
    """

    field: str
    observation_id: str
    reference: str
    loinc: str
    effective: str
    value: float
    unit: str
    core_unit: str
    subject: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "observation_id": self.observation_id,
            "loinc": self.loinc,
            "effective": self.effective,
            "value": self.value,
            "unit": self.unit,
        }


@dataclass(frozen=True)
class _Candidate:
    codes: tuple[LabCode, ...]  # of one field; more than one when the result carries several
    name: str  # the error key: "Observation/<id>", or the entry's place
    observation_id: str
    reference: str | None
    effective: Effective
    resource: Mapping[str, Any]


# FHIR R4 id; a fullUrl as a UUID URN or a plain URL. Anything else is not echoed.
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}", re.ASCII)
_FULL_URL = re.compile(r"urn:uuid:[0-9a-fA-F-]{36}|https?://[A-Za-z0-9.\-:/_]{1,200}", re.ASCII)


def _name(resource: Mapping[str, Any], entry: Mapping[str, Any], where: str) -> tuple[str, str]:
    """(error key, id shown): the resource id when it has a valid one, else its place."""
    rid = resource.get("id")
    if isinstance(rid, str) and _FHIR_ID.fullmatch(rid):
        return f"Observation/{rid}", rid
    full = entry.get("fullUrl")
    if isinstance(full, str) and _FULL_URL.fullmatch(full):
        return full, full
    return where, where


def _lab_codes(resource: Mapping[str, Any]) -> tuple[tuple[LabCode, ...], str | None]:
    """The table's code for this Observation (None: not a lab this calculator reads)."""
    code = resource.get("code")
    codings = code.get("coding") if isinstance(code, Mapping) else None
    if not isinstance(codings, list):
        return (), None
    found = {
        c["code"]: BY_LOINC[c["code"]]
        for c in codings
        if isinstance(c, Mapping)
        and c.get("system") == LOINC
        and isinstance(c.get("code"), str)
        and c["code"] in BY_LOINC
    }
    if not found:
        return (), None
    fields = {c.field.api for c in found.values()}
    if len(fields) > 1:
        return (), "carries LOINC codes of different labs: " + ", ".join(sorted(found))
    # Two codes of one lab (1975-2 and 14631-6, mass and molar) on one result: the
    # unit decides which of them applies (see _read_value).
    return tuple(found[k] for k in sorted(found)), None


def _candidates(bundle: object) -> tuple[list[_Candidate], dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        raise FhirInputError({BUNDLE: ['Must be a FHIR R4 Bundle ("resourceType": "Bundle").']})
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise FhirInputError({BUNDLE: ["Bundle.entry must be an array of entries."]})
    found: list[_Candidate] = []
    for i, entry in enumerate(entries):
        where = f"bundle.entry[{i}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("resource"), Mapping):
            errors.setdefault(where, []).append("Each entry must hold a resource (an object).")
            continue
        resource = entry["resource"]
        if resource.get("resourceType") != "Observation":
            continue  # a Patient, an OperationOutcome of a search: not a lab
        codes, problem = _lab_codes(resource)
        name, shown = _name(resource, entry, where)
        if problem is not None:
            errors.setdefault(name, []).append(f"{_label(name)} {problem}.")
            continue
        if not codes:
            continue  # a lab this calculator does not read
        try:
            effective = _effective_of(resource)
        except ValueError as exc:
            errors.setdefault(name, []).append(f"{_label(name)} {exc}.")
            continue
        reference = name if name != where else None
        found.append(_Candidate(codes, name, shown, reference, effective, resource))
    return found, errors


def _label(name: str) -> str:
    return name if name.startswith("Observation/") else f"The Observation at {name}"


def _read_value(c: _Candidate, now: datetime) -> tuple[float, str, LabCode]:
    """(value, UCUM code, the code matched) of the Observation used; ValueError says why not."""
    r, label = c.resource, _label(c.name)
    status = r.get("status")
    status = status if isinstance(status, str) else ""
    if status not in USABLE_STATUSES:
        # Only a status of FHIR's own value set is named: nothing else sent is echoed.
        shown = f"status {status!r}" if status in OBSERVATION_STATUSES else "no valid status"
        raise ValueError(
            f"{label} has {shown}: only final, amended or corrected results are used, and an"
            " older result is not used in its place."
        )
    if in_the_future(c.effective, now):
        raise ValueError(f"{label} is dated after the time of the assessment.")
    if not within_window(c.effective, now):
        days = WINDOW.days
        raise ValueError(
            f"{label} was taken more than {days} days before the assessment: a value older"
            f" than {days} days is not used. Send a recent result."
        )
    quantity = r.get("valueQuantity")
    if "dataAbsentReason" in r or not isinstance(quantity, Mapping) or "value" not in quantity:
        raise ValueError(f"{label} has no value (valueQuantity.value).")
    value = quantity["value"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{label} has a value that is not a number.")
    if quantity.get("comparator") is not None:
        raise ValueError(f"{label} is a bound (it has a comparator such as <), not a value.")
    system, code = quantity.get("system"), quantity.get("code")
    lab = next((k for k in c.codes if isinstance(code, str) and code in k.units), None)
    if system != UCUM or lab is None or not isinstance(code, str):
        accepted = " or ".join(dict.fromkeys(u for k in c.codes for u in k.units))
        loinc = ", ".join(k.loinc for k in c.codes)
        why = "a unit not read for this code" if system == UCUM else "no UCUM unit"
        raise ValueError(
            f"{label} (LOINC {loinc}) has {why}: for this code only the UCUM unit"
            f" {accepted} is read ({UCUM}), never converted by guess."
        )
    return value, code, lab


@dataclass(frozen=True)
class MappedLabs:
    """The values for the request keyed by the API's dotted field names, and what was used."""

    values: dict[str, object]
    used: tuple[UsedLab, ...]
    subject: str | None


def map_bundle(bundle: object, now: datetime, *, patient: str | None = None) -> MappedLabs:
    """The latest usable value of each lab in the Bundle, or FhirInputError naming why not.

    ``patient``: the id every Observation's subject must name (CDS Hooks context).
    """
    candidates, errors = _candidates(bundle)
    values: dict[str, object] = {}
    used: list[UsedLab] = []
    for field in LAB_FIELDS:
        mine = sorted(
            (c for c in candidates if c.codes[0].field.api == field),
            key=lambda c: c.effective.instant,
            reverse=True,
        )
        if not mine:
            continue
        latest = mine[0]
        tied = [c for c in mine[1:] if c.effective.instant == latest.effective.instant]
        if tied:
            names = ", ".join(c.name for c in [latest, *tied])
            errors.setdefault(latest.name, []).append(
                f"{names} are {short_label(field)} results of the same time: which one holds"
                " cannot be told."
            )
            continue
        if latest.reference is None:
            errors.setdefault(latest.name, []).append(
                f"{_label(latest.name)} has neither an id nor a fullUrl: the result could"
                " not name the lab it used."
            )
            continue
        try:
            value, ucum, lab = _read_value(latest, now)
        except ValueError as exc:
            errors.setdefault(latest.name, []).append(str(exc))
            continue
        subject = latest.resource.get("subject")
        ref = subject.get("reference") if isinstance(subject, Mapping) else None
        used.append(
            UsedLab(
                field=field,
                observation_id=latest.observation_id,
                reference=latest.reference,
                loinc=lab.loinc,
                effective=latest.effective.text,
                value=value,
                unit=ucum,
                core_unit=lab.units[ucum],
                subject=ref if isinstance(ref, str) else None,
            )
        )
        values[field] = value
        unit_field = lab.unit_field
        if unit_field is not None:
            values[unit_field.api] = lab.units[ucum]
    subjects = {subject_key(u.subject) for u in used if u.subject is not None}
    if len(subjects) > 1:
        errors.setdefault(BUNDLE, []).append(
            "The Observations used are of different subjects: "
            + ", ".join(f"Observation/{u.observation_id}" for u in used)
            + ". Send the labs of one patient."
        )
    if patient is not None and subjects - {f"Patient/{patient}"}:
        errors.setdefault(BUNDLE, []).append(
            "An Observation's subject is not the patient of the request's context."
        )
    if errors:
        raise FhirInputError(errors)
    first = next((u.subject for u in used if u.subject is not None), None)
    return MappedLabs(values, tuple(used), first)


def subject_key(reference: str) -> str:
    """A reference compared by type and id: ``https://ehr/fhir/Patient/1/_history/2`` is
    ``Patient/1``, as a relative reference to the same server is (FHIR R4 References)."""
    path = reference.split("/_history/")[0].rstrip("/")
    parts = path.split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else path


# --------------------------------------------------------------------------
# The request, the assessment


def nest(flat: Mapping[str, object]) -> dict[str, Any]:
    """``{"labs.inr": 1.2}`` -> ``{"labs": {"inr": 1.2}}`` (the API's request shape)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        group, _, name = key.rpartition(".")
        (out.setdefault(group, {}) if group else out)[name] = value
    return out


@dataclass(frozen=True)
class FhirAssessment:
    request: dict[str, Any]
    assessment: Assessment
    used: tuple[UsedLab, ...]
    subject: str | None


def request_of(params: Mapping[str, object], labs: MappedLabs) -> dict[str, Any]:
    """The JSON API's request: the parameters beside the Bundle, the values from it."""
    raw = nest(labs.values)
    for name in (FAILURE_TYPE, TRANSPLANT_DATE):
        if params.get(name) is not None:
            raw[name] = params[name]
    if "labs" in raw:
        for name in (DIALYSIS, SEX):
            if params.get(name) is not None:
                raw["labs"][name] = params[name]
    return raw


def rekey_errors(errors: Mapping[str, list[str]], used: Sequence[UsedLab]) -> dict[str, list[str]]:
    """The core's errors, keyed by what the caller sent: the Observation, or the parameter."""
    by_field = {u.field: u for u in used}
    out: dict[str, list[str]] = {}
    for key, messages in errors.items():
        unit_of = key.removesuffix("_unit")
        if key in by_field or unit_of in by_field:
            lab = by_field.get(key) or by_field[unit_of]
            where = f"Observation/{lab.observation_id}"
            suffix = f" (LOINC {lab.loinc}, read in {lab.unit})"
            out.setdefault(where, []).extend(m + suffix for m in messages)
        elif key in CODES_OF:
            out.setdefault(key, []).append(
                f"No usable {short_label(key)} result in the Bundle: an Observation with LOINC"
                f" {codes_text(key)} is needed."
            )
        elif key == "meld":
            out.setdefault("meld", []).append(
                "The MELD is computed from the labs: the Bundle needs INR (LOINC"
                f" {codes_text('labs.inr')}) and creatinine (LOINC"
                f" {codes_text('labs.creatinine')}) with the total bilirubin."
            )
        elif key == DIALYSIS_FIELD.api:
            out.setdefault(DIALYSIS, []).extend(
                m + f' Give "{DIALYSIS}" beside the Bundle: the record\'s labs do not say it.'
                for m in messages
            )
        elif key == SEX_FIELD.api:
            out.setdefault(SEX, []).extend(messages)
        else:
            out.setdefault(key, []).extend(messages)
    return out


def assess_bundle(
    params: Mapping[str, object], evidence: Evidence, now: datetime
) -> FhirAssessment:
    """Map the Bundle, then validate and assess exactly as the JSON API does."""
    unknown = sorted(set(params) - PARAMETERS)
    if unknown:
        allowed = ", ".join(sorted(PARAMETERS))
        raise FhirInputError(
            {k: [f"Unknown field {k[:40]!r}; allowed: {allowed}."] for k in unknown}
        )
    if BUNDLE not in params:
        raise FhirInputError({BUNDLE: ["A FHIR R4 Bundle of Observations is required."]})
    labs = map_bundle(params[BUNDLE], now)
    raw = request_of(params, labs)
    try:
        request = validate_request(raw, allow_text=False)
    except InputError as exc:
        raise FhirInputError(rekey_errors(exc.errors, labs.used)) from None
    return FhirAssessment(raw, run(request, evidence), labs.used, labs.subject)


# --------------------------------------------------------------------------
# FHIR out


def _coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _narrative(lines: Sequence[str]) -> dict[str, Any]:
    """FHIR Narrative: generated XHTML, every line escaped."""
    body = "".join(f"<p>{html.escape(line, quote=False)}</p>" for line in lines)
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def short_label(field: str) -> str:
    """The field table's label without its note: "Sodium (mmol/L, optional)" -> "Sodium"."""
    return BY_API[field].label.split(" (")[0]


def _ref(lab: UsedLab) -> dict[str, Any]:
    label = short_label(lab.field)
    return {"reference": lab.reference, "display": f"{label} {lab.value} {lab.unit}"}


# The labs each score is computed from, by the request's field.
_CLASSIC_INPUTS = ("tbil", "labs.inr", "labs.creatinine")
_NA_INPUTS = (*_CLASSIC_INPUTS, "labs.sodium")
_MELD3_INPUTS = (*_NA_INPUTS, "labs.albumin")


def _subject(subject: str | None) -> dict[str, Any]:
    # RiskAssessment.subject is required (R4): a display stands in when the labs name none.
    if subject is not None:
        return {"reference": subject}
    return {"display": "the patient of the Observations sent"}


def score_observation(
    *,
    resource_id: str,
    coding: dict[str, Any],
    value: int,
    source: str,
    bounds: Sequence[str],
    inputs: Sequence[str],
    used: Sequence[UsedLab],
    subject: str | None,
    issued: datetime,
    app_version: str,
) -> dict[str, Any]:
    """One MELD score as an Observation, derived from the labs it was computed from."""
    labs = [u for u in used if u.field in inputs]
    effective = max(labs, key=lambda u: parse_effective(u.effective).instant).effective
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": resource_id,
        "status": "final",
        "code": coding,
        "effectiveDateTime": effective,
        "issued": issued.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "valueQuantity": {"value": value, "unit": "{score}", "system": UCUM, "code": "{score}"},
        "method": {"text": f"{source}; computed by calc {app_version}"},
        "derivedFrom": [_ref(u) for u in labs],
    }
    if subject is not None:
        obs["subject"] = {"reference": subject}
    if bounds:
        obs["note"] = [{"text": "Bounds applied: " + "; ".join(bounds) + "."}]
    return obs


def meld_observations(
    result: MeldResult,
    used: Sequence[UsedLab],
    subject: str | None,
    issued: datetime,
    app_version: str,
    new_id: Callable[[], str],
) -> list[dict[str, Any]]:
    """Classic MELD (LOINC 44760-7), MELD-Na (100348-2), MELD 3.0 (local code) when computed."""
    w = result.working
    score = partial(
        score_observation, used=used, subject=subject, issued=issued, app_version=app_version
    )
    out = [
        score(
            resource_id=new_id(),
            coding=_coding(LOINC, *MELD_LOINC),
            value=result.meld,
            source=w.classic.source
            + (" (dialysis: creatinine set to the cap)" if w.dialysis else ""),
            bounds=w.classic.bounds_applied,
            inputs=_CLASSIC_INPUTS,
        )
    ]
    if result.meld_na is not None and w.meld_na is not None:
        out.append(
            score(
                resource_id=new_id(),
                coding=_coding(LOINC, *MELD_NA_LOINC),
                value=result.meld_na,
                source=w.meld_na.source,
                bounds=w.meld_na.bounds_applied,
                inputs=_NA_INPUTS,
            )
        )
    if result.meld_3_0 is not None and w.meld_3_0 is not None:
        out.append(
            score(
                resource_id=new_id(),
                coding=_coding(CALC_CODE_SYSTEM, MELD_3_0_CODE, "MELD 3.0 score"),
                value=result.meld_3_0,
                source=w.meld_3_0.source,
                bounds=w.meld_3_0.bounds_applied,
                inputs=_MELD3_INPUTS,
            )
        )
    return out


def course_lines(a: Assessment) -> list[str]:
    """The RiskAssessment's narrative: the expectation, its basis, warnings, versions."""
    mr, s = a.meld_reduction, a.stamp
    if mr.available:
        head = (
            f"Expected MELD after MSCT: about {mr.expected_meld_after_display}"
            f" (baseline {a.inputs.meld} minus the pooled fall {mr.as_printed}; full precision"
            f" {mr.expected_meld_after}). This is the fall from baseline seen in treated"
            " patients (before/after, no control group); the time point was not reported."
            " It is not a prediction for this patient."
        )
    else:
        head = f"No estimate for {a.inputs.failure_type.value}: {mr.unavailable_reason}"
    lines = [head, f"Intended use: {a.intended_use}"]
    lines += [f"Derivation: {step}" for step in a.derivation]
    lines += [f"Limit: {limit}" for limit in a.limits]
    lines += [f"Warning ({w.title}): {w.message}" for w in a.warnings]
    lines.append(
        f"Evidence used: {s.citation} (doi:{s.doi}), version {s.evidence_version},"
        f" read from the {s.document_read}."
    )
    if s.context_evidence_version is not None:
        lines.append(
            f"Controlled evidence shown as context, never used in the calculation:"
            f" doi:{s.context_doi}, version {s.context_evidence_version}."
        )
    lines.append(f"Computed by calc {s.app_version}.")
    return lines


def risk_assessment(
    a: Assessment,
    basis: Sequence[dict[str, Any]],
    subject: str | None,
    occurrence: datetime,
    resource_id: str,
) -> dict[str, Any]:
    """The expected course after MSCT as a RiskAssessment: words and references, no probability."""
    mr, s = a.meld_reduction, a.stamp
    outcome = (
        f"MELD after MSCT: about {mr.expected_meld_after_display}"
        if mr.available
        else f"MELD after MSCT: no estimate for {a.inputs.failure_type.value}"
    )
    resource: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "id": resource_id,
        "text": _narrative(course_lines(a)),
        "status": "final",
        "subject": _subject(subject),
        "occurrenceDateTime": occurrence.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "method": {
            "text": (
                f"Pooled before/after MELD decrease, {s.short_citation} (doi:{s.doi}, evidence"
                f" {s.evidence_version}); calc {s.app_version}"
            )
        },
        "basis": list(basis),
        "prediction": [
            {
                "outcome": {"text": outcome},
                "rationale": (mr.as_printed and f"Pooled fall {mr.as_printed} (as printed)")
                or (mr.unavailable_reason or "No pooled estimate for this type."),
            }
        ],
        "note": [{"text": line} for line in course_lines(a)],
    }
    return resource


def output_bundle(
    fa: FhirAssessment,
    now: datetime,
    new_id: Callable[[], str],
) -> dict[str, Any]:
    """A ``collection`` Bundle: the MELD Observations, then the RiskAssessment."""
    a = fa.assessment
    entries: list[dict[str, Any]] = []
    if a.labs is not None:
        for obs in meld_observations(a.labs, fa.used, fa.subject, now, a.stamp.app_version, new_id):
            entries.append({"fullUrl": f"urn:uuid:{obs['id']}", "resource": obs})
    basis = [
        {"reference": e["fullUrl"], "display": e["resource"]["code"]["text"]} for e in entries
    ] + [_ref(u) for u in fa.used]
    course = risk_assessment(a, basis, fa.subject, now, new_id())
    entries.append({"fullUrl": f"urn:uuid:{course['id']}", "resource": course})
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "entry": entries,
    }
