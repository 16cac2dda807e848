"""FHIR R4 labs in, FHIR R4 resources out (calc.core.fhir).

Sources: HL7 FHIR R4 (Observation, ObservationStatus, Quantity, dateTime,
RiskAssessment, Bundle); LOINC codes as listed in calc.core.fhir; UCUM unit codes.
The FHIR shapes are validated with the ``fhir.resources`` R4B models, which check
structure and types but not code values: those are asserted here.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calc.core import fhir
from calc.core.assessment import run, validate_request
from calc.core.evidence import load_evidence
from calc.core.fields import BY_API, FIELDS
from calc.core.report import assessment_view

EVIDENCE = load_evidence()
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
TAKEN = "2026-12-05T08:00:00Z"
PATIENT = "Patient/p1"


def obs(
    rid: str,
    code: str,
    value: Any,
    unit: str,
    *,
    when: str = TAKEN,
    status: str = "final",
    system: str = fhir.UCUM,
    subject: str | None = PATIENT,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": rid,
        "status": status,
        "code": {"coding": [{"system": fhir.LOINC, "code": code}]},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": unit, "system": system, "code": unit},
    }
    if subject is not None:
        resource["subject"] = {"reference": subject}
    return {"fullUrl": f"https://ehr.test/fhir/Observation/{rid}", "resource": resource}


def reference_entries() -> list[dict[str, Any]]:
    """The reference patient's labs: ALT 240 U/L, TBIL 320 umol/L, INR 2.1, creatinine 1.9 mg/dL."""
    return [
        obs("alt", "1742-6", 240, "U/L"),
        obs("tbil", "14631-6", 320, "umol/L"),
        obs("inr", "6301-6", 2.1, "{INR}"),
        obs("cr", "2160-0", 1.9, "mg/dL"),
    ]


def bundle(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def params(entries: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"failure_type": "ACLF", "dialysis": False, "bundle": bundle(entries), **extra}


def refused(entries: list[dict[str, Any]], **extra: Any) -> dict[str, list[str]]:
    with pytest.raises(fhir.FhirInputError) as info:
        fhir.assess_bundle(params(entries, **extra), EVIDENCE, NOW)
    return info.value.errors


# --------------------------------------------------------------------------
# The mapping table


@pytest.mark.hazard("H-23")
def test_h23_every_code_maps_to_a_field_of_the_table_and_units_of_its_enum() -> None:
    api_names = {f.api for f in FIELDS}
    for code in fhir.LAB_CODES:
        assert code.field.api in api_names
        unit_field = code.unit_field
        if unit_field is None:
            # INR and sodium have one unit, the range table's own.
            assert set(code.units.values()) == set(code.field.ranges or {}), code.loinc
        else:
            assert set(code.units.values()) <= set(unit_field.choices), code.loinc
    # Mass and molar codes of one analyte never share a unit (the unit guard below).
    assert set(fhir.BY_LOINC["1975-2"].units) == {"mg/dL"}
    assert set(fhir.BY_LOINC["14631-6"].units) == {"umol/L"}
    assert set(fhir.BY_LOINC["2160-0"].units) == {"mg/dL"}
    assert set(fhir.BY_LOINC["14682-9"].units) == {"umol/L"}


CASES = [
    ("1742-6", 240, "U/L", "alt", "U/L"),
    ("1743-4", 240, "U/L", "alt", "U/L"),
    ("1744-2", 4, "ukat/L", "alt", "ukat/L"),
    ("1975-2", 18.7, "mg/dL", "tbil", "mg/dL"),
    ("14631-6", 320, "umol/L", "tbil", "umol/L"),
    ("6301-6", 2.1, "{INR}", "labs.inr", None),
    ("34714-6", 2.1, "1", "labs.inr", None),
    ("2160-0", 1.9, "mg/dL", "labs.creatinine", "mg/dL"),
    ("14682-9", 168, "umol/L", "labs.creatinine", "umol/L"),
    ("2951-2", 130, "mmol/L", "labs.sodium", None),
    ("2951-2", 130, "meq/L", "labs.sodium", None),
    ("1751-7", 2.8, "g/dL", "labs.albumin", "g/dL"),
    ("1751-7", 28, "g/L", "labs.albumin", "g/L"),
]


@pytest.mark.hazard("H-23")
@pytest.mark.parametrize(("loinc", "value", "ucum", "field", "core_unit"), CASES)
def test_h23_each_code_and_unit_fills_its_field_and_unit(
    loinc: str, value: float, ucum: str, field: str, core_unit: str | None
) -> None:
    entries = [
        e
        for e in reference_entries()
        if fhir.BY_LOINC[e["resource"]["code"]["coding"][0]["code"]].field.api != field
    ]
    entries.append(obs("x", loinc, value, ucum))
    result = fhir.assess_bundle(params(entries), EVIDENCE, NOW)
    [used] = [u for u in result.used if u.field == field]
    assert (used.observation_id, used.loinc, used.value, used.unit) == ("x", loinc, value, ucum)
    flat = {**result.request, **{f"labs.{k}": v for k, v in result.request["labs"].items()}}
    assert flat[field] == value
    unit_field = BY_API.get(f"{field}_unit")
    if core_unit is not None:
        assert unit_field is not None and flat[unit_field.api] == core_unit
    else:
        assert unit_field is None


@pytest.mark.hazard("H-23")
def test_h23_the_bundle_gives_the_same_assessment_as_the_typed_request() -> None:
    result = fhir.assess_bundle(params(reference_entries()), EVIDENCE, NOW)
    typed = {
        "failure_type": "ACLF",
        "alt": 240,
        "alt_unit": "U/L",
        "tbil": 320,
        "tbil_unit": "umol/L",
        "labs": {"inr": 2.1, "creatinine": 1.9, "creatinine_unit": "mg/dL", "dialysis": False},
    }
    assert result.request == typed
    direct = run(validate_request(typed, allow_text=False), EVIDENCE)
    assert assessment_view(result.assessment) == assessment_view(direct)
    assert result.assessment.labs is not None and result.assessment.inputs.meld == 32


# --------------------------------------------------------------------------
# Refusals: unit, value, status, time, ambiguity


@pytest.mark.hazard("H-23")
@pytest.mark.parametrize(
    ("loinc", "unit", "system"),
    [
        ("1975-2", "umol/L", fhir.UCUM),  # a mass code in a molar unit
        ("14631-6", "mg/dL", fhir.UCUM),
        ("14631-6", "mmol/L", fhir.UCUM),
        ("14631-6", "umol/L", "http://example.org/units"),  # not UCUM
        ("14631-6", "µmol/L", fhir.UCUM),  # UCUM is case- and letter-exact
    ],
)
def test_h23_a_unit_not_read_for_the_code_is_refused_naming_the_observation(
    loinc: str, unit: str, system: str
) -> None:
    entries = [*reference_entries()[:1], obs("b1", loinc, 320, unit, system=system),
               *reference_entries()[2:]]  # fmt: skip
    errors = refused(entries)
    assert list(errors) == ["Observation/b1"]
    [message] = errors["Observation/b1"]
    assert loinc in message and "never converted" in message
    assert unit not in message.replace("umol/L", "")  # what was sent is not echoed


@pytest.mark.hazard("H-23")
@pytest.mark.parametrize("status", ["preliminary", "entered-in-error", "cancelled", "registered"])
def test_h23_a_result_that_is_not_final_is_refused(status: str) -> None:
    entries = reference_entries()
    entries[2] = obs("inr9", "6301-6", 2.1, "{INR}", status=status)
    errors = refused(entries)
    assert list(errors) == ["Observation/inr9"]
    assert f"status '{status}'" in errors["Observation/inr9"][0]


@pytest.mark.parametrize("status", ["final", "amended", "corrected"])
def test_final_amended_and_corrected_results_are_used(status: str) -> None:
    entries = reference_entries()
    entries[2] = obs("inr9", "6301-6", 2.1, "{INR}", status=status)
    result = fhir.assess_bundle(params(entries), EVIDENCE, NOW)
    assert any(u.observation_id == "inr9" for u in result.used)


@pytest.mark.hazard("H-23")
def test_h23_a_value_older_than_the_window_is_refused_and_the_edge_is_kept() -> None:
    edge = (NOW - fhir.WINDOW).isoformat().replace("+00:00", "Z")
    entries = reference_entries()
    entries[3] = obs("cr-edge", "2160-0", 1.9, "mg/dL", when=edge)
    assert fhir.assess_bundle(params(entries), EVIDENCE, NOW).used
    old = (NOW - fhir.WINDOW - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    entries[3] = obs("cr-old", "2160-0", 1.9, "mg/dL", when=old)
    errors = refused(entries)
    assert list(errors) == ["Observation/cr-old"]
    assert "more than 7 days" in errors["Observation/cr-old"][0]
    # A date alone: the day seven days back is in, the day before is out.
    entries[3] = obs("cr-day", "2160-0", 1.9, "mg/dL", when="2026-11-29")
    assert fhir.assess_bundle(params(entries), EVIDENCE, NOW).used
    entries[3] = obs("cr-day", "2160-0", 1.9, "mg/dL", when="2026-11-28")
    assert list(refused(entries)) == ["Observation/cr-day"]


@pytest.mark.hazard("H-23")
def test_h23_the_latest_result_is_used_and_never_replaced_by_an_older_one() -> None:
    entries = reference_entries()
    entries.append(obs("alt-new", "1744-2", 480, "U/L", when="2026-12-06T07:00:00Z"))
    entries.append(obs("alt-older", "1742-6", 120, "U/L", when="2026-12-02T07:00:00Z"))
    result = fhir.assess_bundle(params(entries), EVIDENCE, NOW)
    [alt] = [u for u in result.used if u.field == "alt"]
    assert (alt.observation_id, alt.value) == ("alt-new", 480)
    # The latest is preliminary: refused, although older final results are there.
    entries.append(obs("alt-prelim", "1742-6", 900, "U/L", when="2026-12-06T10:00:00Z",
                       status="preliminary"))  # fmt: skip
    assert list(refused(entries)) == ["Observation/alt-prelim"]


@pytest.mark.hazard("H-23")
def test_h23_offsets_are_compared_as_instants() -> None:
    # 09:00+02:00 is 07:00Z: earlier than 08:00Z, although it reads later.
    entries = reference_entries()
    entries.append(obs("alt-tz", "1742-6", 999, "U/L", when="2026-12-05T09:00:00+02:00"))
    result = fhir.assess_bundle(params(entries), EVIDENCE, NOW)
    assert [u.observation_id for u in result.used if u.field == "alt"] == ["alt"]


@pytest.mark.hazard("H-23")
def test_h23_two_results_of_the_same_time_are_refused() -> None:
    entries = [*reference_entries(), obs("alt-2", "1742-6", 24, "U/L")]
    [(key, [message])] = refused(entries).items()
    assert key in ("Observation/alt", "Observation/alt-2")
    assert "Observation/alt," in message and "Observation/alt-2" in message
    assert "cannot be told" in message


@pytest.mark.hazard("H-23")
@pytest.mark.parametrize(
    "when", ["2026-12-06T12:06:00Z", "2026-12-07", "2026-12", "2026", "2026-12-05T08:00:00", None]
)
def test_h23_a_future_or_unplaceable_time_is_refused(when: str | None) -> None:
    entries = reference_entries()
    entries[0] = obs("alt-t", "1742-6", 240, "U/L", when=when or "")
    if when is None:
        del entries[0]["resource"]["effectiveDateTime"]
    assert list(refused(entries)) == ["Observation/alt-t"]


def test_a_few_minutes_of_clock_difference_are_allowed() -> None:
    entries = reference_entries()
    entries[0] = obs("alt-t", "1742-6", 240, "U/L", when="2026-12-06T12:04:00Z")
    assert fhir.assess_bundle(params(entries), EVIDENCE, NOW).used


@pytest.mark.hazard("H-23")
def test_h23_observations_of_different_patients_are_refused() -> None:
    entries = reference_entries()
    entries[2] = obs("inr", "6301-6", 2.1, "{INR}", subject="Patient/other")
    errors = refused(entries)
    assert "different subjects" in errors["bundle"][0]
    # And the patient of a CDS Hooks context is checked.
    with pytest.raises(fhir.FhirInputError):
        fhir.map_bundle(bundle(reference_entries()), NOW, patient="someone-else")
    assert fhir.map_bundle(bundle(reference_entries()), NOW, patient="p1").used
    # A reference is compared by type and id, relative or absolute.
    entries = reference_entries()
    entries[2] = obs("inr", "6301-6", 2.1, "{INR}", subject="https://ehr.test/fhir/Patient/p1")
    assert fhir.map_bundle(bundle(entries), NOW, patient="p1").used
    entries[2] = obs("inr", "6301-6", 2.1, "{INR}", subject="https://ehr.test/fhir/Group/p1")
    with pytest.raises(fhir.FhirInputError):
        fhir.map_bundle(bundle(entries), NOW)


@pytest.mark.parametrize(
    "change",
    [
        lambda q: q.pop("value"),
        lambda q: q.update(value="240"),
        lambda q: q.update(value=True),
        lambda q: q.update(comparator="<"),
    ],
    ids=["no value", "text", "boolean", "comparator"],
)
def test_a_missing_or_bounded_value_is_refused(change: Any) -> None:
    entries = reference_entries()
    change(entries[0]["resource"]["valueQuantity"])
    assert list(refused(entries)) == ["Observation/alt"]


def test_a_data_absent_reason_is_no_value() -> None:
    entries = reference_entries()
    resource = entries[0]["resource"]
    del resource["valueQuantity"]
    resource["dataAbsentReason"] = {"text": "not performed"}
    assert list(refused(entries)) == ["Observation/alt"]


def test_an_observation_without_id_is_named_by_its_full_url_or_place() -> None:
    entries = reference_entries()
    del entries[0]["resource"]["id"]
    entries[0]["resource"]["status"] = "preliminary"
    assert list(refused(entries)) == ["https://ehr.test/fhir/Observation/alt"]
    del entries[0]["fullUrl"]
    errors = refused(entries)
    assert list(errors) == ["bundle.entry[0]"]


def test_other_resources_and_codes_are_ignored() -> None:
    entries = [
        *reference_entries(),
        {"resource": {"resourceType": "Patient", "id": "p1"}},
        obs("hb", "718-7", 9.1, "g/dL"),  # haemoglobin: not read
    ]
    result = fhir.assess_bundle(params(entries), EVIDENCE, NOW)
    assert {u.observation_id for u in result.used} == {"alt", "tbil", "inr", "cr"}


# --------------------------------------------------------------------------
# Errors of the core, keyed by what the caller sent


@pytest.mark.hazard("H-23")
def test_h23_an_out_of_range_value_is_refused_naming_its_observation() -> None:
    entries = reference_entries()
    entries[2] = obs("inr-pt", "6301-6", 25, "{INR}")  # a prothrombin time in seconds
    errors = refused(entries)
    assert list(errors) == ["Observation/inr-pt"]
    assert "prothrombin time" in errors["Observation/inr-pt"][0]
    assert "LOINC 6301-6" in errors["Observation/inr-pt"][0]


def test_missing_labs_and_parameters_say_what_is_needed() -> None:
    errors = refused(reference_entries()[2:], failure_type=None)
    assert set(errors) == {"alt", "tbil", "failure_type"}
    assert "1742-6, 1743-4 or 1744-2" in errors["alt"][0]
    errors = refused(reference_entries()[:2])
    assert "6301-6" in errors["meld"][0]
    p = params(reference_entries())
    del p["dialysis"]
    with pytest.raises(fhir.FhirInputError) as info:
        fhir.assess_bundle(p, EVIDENCE, NOW)
    assert list(info.value.errors) == ["dialysis"]


def test_unknown_parameters_and_a_missing_bundle_are_refused() -> None:
    with pytest.raises(fhir.FhirInputError) as info:
        fhir.assess_bundle({"failure_type": "ACLF", "meld": 28}, EVIDENCE, NOW)
    assert set(info.value.errors) == {"meld"}
    with pytest.raises(fhir.FhirInputError) as info:
        fhir.assess_bundle({"failure_type": "ACLF"}, EVIDENCE, NOW)
    assert set(info.value.errors) == {"bundle"}


# --------------------------------------------------------------------------
# FHIR out


def _ids() -> Any:
    counter = iter(range(1, 1000))
    return lambda: str(uuid.UUID(int=next(counter)))


def full_result(**extra: Any) -> fhir.FhirAssessment:
    entries = [
        *reference_entries(),
        obs("na", "2951-2", 130, "mmol/L"),
        obs("alb", "1751-7", 28, "g/L"),
    ]
    return fhir.assess_bundle(params(entries, sex="female", **extra), EVIDENCE, NOW)


def test_the_output_is_a_collection_of_the_scores_and_the_course() -> None:
    out = fhir.output_bundle(full_result(), NOW, _ids())
    assert (out["resourceType"], out["type"]) == ("Bundle", "collection")
    resources = [e["resource"] for e in out["entry"]]
    codes = [r["code"]["coding"][0] for r in resources[:3]]
    assert [(c["system"], c["code"]) for c in codes] == [
        (fhir.LOINC, "44760-7"),
        (fhir.LOINC, "100348-2"),
        (fhir.CALC_CODE_SYSTEM, "meld-3.0"),
    ]
    meld, meld_na, meld3 = resources[:3]
    assert [r["valueQuantity"]["value"] for r in resources[:3]] == [32, 34, 36]
    for r in resources[:3]:
        assert r["status"] == "final" and r["subject"] == {"reference": PATIENT}
        assert r["valueQuantity"]["system"] == fhir.UCUM
        assert "calc 0.1.0" in r["method"]["text"]
    refs = lambda r: [d["reference"] for d in r["derivedFrom"]]  # noqa: E731
    assert refs(meld) == ["Observation/tbil", "Observation/inr", "Observation/cr"]
    assert refs(meld_na) == [*refs(meld), "Observation/na"]
    assert refs(meld3) == [*refs(meld_na), "Observation/alb"]
    assert "Kamath" in meld["method"]["text"] and "Kim" in meld3["method"]["text"]
    course = resources[3]
    assert course["resourceType"] == "RiskAssessment" and course["status"] == "final"
    text = course["text"]["div"]
    for needed in ("10.1155/2018/9231710", "10.12449/JCH240822", "cao2018-abstract-v2",
                   "ding2024-abstract-v1", "about 17", "no control group"):  # fmt: skip
        assert needed in text, needed
    assert "probability" not in str(course["prediction"])  # no probability: H-01
    assert course["basis"][0]["reference"] == out["entry"][0]["fullUrl"]


def test_alf_has_no_estimate_in_the_course() -> None:
    out = fhir.output_bundle(full_result(failure_type="ALF"), NOW, _ids())
    course = out["entry"][-1]["resource"]
    assert "no estimate" in course["prediction"][0]["outcome"]["text"]


def test_the_output_validates_against_the_fhir_r4b_models() -> None:
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.observation import Observation
    from fhir.resources.R4B.riskassessment import RiskAssessment

    out = fhir.output_bundle(full_result(), NOW, _ids())
    Bundle.model_validate(copy.deepcopy(out))
    for entry in out["entry"]:
        model = (
            Observation if entry["resource"]["resourceType"] == "Observation" else (RiskAssessment)
        )
        model.model_validate(copy.deepcopy(entry["resource"]))
    broken = copy.deepcopy(out["entry"][0]["resource"])
    del broken["status"]  # the check can fail
    with pytest.raises(ValueError):
        Observation.model_validate(broken)


def test_parse_effective() -> None:
    e = fhir.parse_effective("2026-12-05T08:00:00.123456789+01:00")
    assert e.instant == datetime(2026, 12, 5, 7, 0, 0, 123456, tzinfo=UTC) and not e.date_only
    assert fhir.parse_effective("2026-12-05").date_only
    for bad in ["2026-13-01", "2026-02-30T00:00:00Z", "2026-12-05T25:00:00Z", "x", 5]:
        with pytest.raises(ValueError):
            fhir.parse_effective(bad)


# --------------------------------------------------------------------------
# No input makes it fail other than by refusing

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def _mutated(draw_value: Any, path: list[Any], entries: list[dict[str, Any]]) -> Any:
    node: Any = entries
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = draw_value
    return entries


PATHS = [
    [0, "resource"],
    [0, "resource", "status"],
    [0, "resource", "code"],
    [0, "resource", "code", "coding"],
    [0, "resource", "code", "coding", 0],
    [0, "resource", "code", "coding", 0, "code"],
    [0, "resource", "effectiveDateTime"],
    [0, "resource", "valueQuantity"],
    [0, "resource", "valueQuantity", "value"],
    [0, "resource", "valueQuantity", "code"],
    [0, "resource", "subject"],
    [0, "resource", "id"],
    [0, "fullUrl"],
    [1],
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values, path=st.sampled_from(PATHS), whole=json_values)
def test_any_shape_is_assessed_or_refused(value: Any, path: list[Any], whole: Any) -> None:
    entries = _mutated(value, path, reference_entries())
    for p in (params(entries), {"failure_type": "ACLF", "dialysis": False, "bundle": whole}):
        try:
            fhir.assess_bundle(p, EVIDENCE, NOW)
        except fhir.FhirInputError as exc:
            assert exc.errors and all(
                isinstance(k, str) and m and all(isinstance(x, str) for x in m)
                for k, m in exc.errors.items()
            )
