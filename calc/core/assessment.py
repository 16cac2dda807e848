"""One request, validated as a whole: baseline values, MELD labs and follow-up (pure).

The form, the JSON API and the command line all pass their raw values here,
keyed by the API's field names (``labs`` and ``followup`` as nested objects),
and get either a complete, validated :class:`AssessmentRequest` or one
:class:`InputError` listing every problem, keyed ``field``, ``labs.<field>`` or
``followup.<marker>``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .engine import assess
from .evidence import Evidence
from .fields import FIELDS, Adapter, Field, Kind, fields_of
from .followup import FollowupInputs, assess_followup, validate_followup
from .inputs import InputError, PatientInputs, parse_date, validate_inputs
from .meld import CLASSIC_MELD, LabInputs, compute_meld, validate_labs
from .quickinit import quick_init
from .results import Assessment

# The request's fields, from the field table: the top-level names (labs and followup
# are objects), and the fields of a ``labs`` object in the order the API documents them.
ASSESS_FIELDS = frozenset(f.api.split(".")[0] for f in FIELDS)
LAB_FIELD_ORDER = tuple(f.api.removeprefix("labs.") for f in FIELDS if f.api.startswith("labs."))
LAB_FIELDS = frozenset(LAB_FIELD_ORDER)
# Labs are given when any lab value is: a unit, dialysis or sex alone is not. One rule
# for the form, the command line and cohort files, so a lone sodium is refused (INR
# and creatinine missing) everywhere rather than silently ignored by one adapter.
LAB_VALUE_FIELDS = tuple(
    f.api.removeprefix("labs.")
    for f in FIELDS
    if f.api.startswith("labs.") and f.kind is Kind.NUMBER
)


@quick_init
@dataclass(frozen=True)
class AssessmentRequest:
    """A validated request: nothing computed yet (:func:`run` computes).

    When ``meld_from_labs``, no MELD was typed and ``inputs.meld`` holds a
    placeholder until :func:`run` puts the classic MELD of the labs in its place.
    """

    inputs: PatientInputs
    labs: LabInputs | None
    followup: FollowupInputs
    meld_from_labs: bool = False


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def labs_given(values: Mapping[str, object]) -> bool:
    """Whether ``values`` (keyed as the API's ``labs``) hold any lab value."""
    return any(not _is_blank(values.get(f)) for f in LAB_VALUE_FIELDS)


def assemble(adapter: Adapter, value_of: Callable[[Field], object]) -> dict[str, Any]:
    """The API's request from the values an adapter took, by the field table.

    ``value_of`` gives the adapter's value of a field it takes (None or blank: not
    given; a yes/no answer is given either way). One rule for the form and the command
    line: the labs are given when a lab value is (:func:`labs_given`); a follow-up
    marker is given when its value, day or date is, and then carries its value even
    if blank, so the core refuses a day without a value rather than an adapter
    dropping it.
    """
    taken = {f.api: value_of(f) for f in fields_of(adapter)}
    raw: dict[str, Any] = {}
    labs: dict[str, Any] = {}
    markers: dict[str, dict[str, Any]] = {}
    for api, value in taken.items():
        group, _, name = api.rpartition(".")
        if group == "labs":
            if not _is_blank(value):
                labs[name] = value
        elif group.startswith("followup."):
            marker = group.removeprefix("followup.")
            if not _is_blank(value):
                markers.setdefault(marker, {})[name] = value
        elif not _is_blank(value):
            raw[api] = value
    if labs_given(labs):
        raw["labs"] = labs
    followup = {
        marker: {"value": None, **given}
        for marker, given in markers.items()
        if given.keys() - {"unit"}
    }
    if followup:
        raw["followup"] = followup
    return raw


def validate_labs_object(raw: object, *, allow_text: bool) -> LabInputs:
    """A ``labs`` object -> the validated labs (canonical units); errors keyed ``labs.*``."""
    if not isinstance(raw, Mapping):
        raise InputError({"labs": ["Labs must be an object of laboratory values."]})
    unknown = sorted(set(raw) - LAB_FIELDS)
    if unknown:
        allowed = ", ".join(sorted(LAB_FIELDS))
        raise InputError(
            {f"labs.{k}": [f"Unknown lab {k!r}; allowed: {allowed}."] for k in unknown}
        )
    try:
        return validate_labs(raw, allow_text=allow_text)
    except InputError as exc:
        raise InputError({f"labs.{k}": v for k, v in exc.errors.items()}) from None


def validate_request(raw: Mapping[str, object], *, allow_text: bool) -> AssessmentRequest:
    """Validate everything at once; MELD may come typed, from labs, or both."""
    errors: dict[str, list[str]] = {}
    raw_labs = raw.get("labs")
    labs: LabInputs | None = None
    bilirubin_is_tbil = False
    if raw_labs is not None:
        if isinstance(raw_labs, Mapping) and "bilirubin" not in raw_labs:
            # Total bilirubin is the assessment's TBIL: use it, in the TBIL's own unit
            # (a lone labs.bilirubin_unit cannot re-label the TBIL's number).
            bilirubin_is_tbil = True
            raw_labs = {
                **raw_labs,
                "bilirubin": raw.get("tbil"),
                "bilirubin_unit": raw.get("tbil_unit") or "umol/L",
            }
        try:
            labs = validate_labs_object(raw_labs, allow_text=allow_text)
        except InputError as exc:
            lab_errors = dict(exc.errors)
            if bilirubin_is_tbil:
                # The TBIL's own errors are reported once, under "tbil".
                lab_errors.pop("labs.bilirubin", None)
                lab_errors.pop("labs.bilirubin_unit", None)
            errors.update(lab_errors)

    base = dict(raw)
    meld_from_labs = _is_blank(raw.get("meld")) and raw_labs is not None
    if meld_from_labs:
        # Classic MELD from the labs stands in for the typed one (run computes it);
        # if the labs are invalid their errors say why, and no MELD error is added.
        base["meld"] = MELD_PLACEHOLDER
    try:
        inputs = validate_inputs(base, allow_text=allow_text)
    except InputError as exc:
        errors.update(exc.errors)
        inputs = None

    followup = FollowupInputs()
    transplant_date_valid = True
    try:
        transplant_date = parse_date(raw.get("transplant_date"))
    except ValueError:
        transplant_date, transplant_date_valid = None, False  # reported by validate_inputs
    try:
        followup = validate_followup(
            _mapping_or_none(raw.get("followup")),
            transplant_date,
            allow_text=allow_text,
            transplant_date_valid=transplant_date_valid,
            default_units={"alt": raw.get("alt_unit"), "tbil": raw.get("tbil_unit")},
        )
    except InputError as exc:
        errors.update(exc.errors)
    if errors or inputs is None:
        raise InputError(errors)
    return AssessmentRequest(
        inputs=inputs, labs=labs, followup=followup, meld_from_labs=meld_from_labs
    )


# A valid MELD that stands in while the request is validated when the MELD comes from
# the labs; run() replaces it with the labs' classic MELD before anything is assessed.
MELD_PLACEHOLDER = CLASSIC_MELD.score_min


def _mapping_or_none(value: object) -> Mapping[str, object] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return value
    raise InputError({"followup": ["Follow-up must be an object."]})


def run(request: AssessmentRequest, evidence: Evidence) -> Assessment:
    """Compute: the MELD of the labs (if any), the follow-up, then the assessment."""
    labs = compute_meld(request.labs) if request.labs is not None else None
    inputs = request.inputs
    if request.meld_from_labs and labs is not None:
        inputs = replace(inputs, meld=labs.meld, meld_source="labs")
    followup = (
        None if request.followup.is_empty() else assess_followup(inputs, evidence, request.followup)
    )
    return assess(inputs, evidence, labs=labs, followup=followup)
