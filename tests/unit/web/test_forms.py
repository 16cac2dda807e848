"""The form on its own, from MultiDict data (no app, no request)."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from calc.core.inputs import AltUnit, TbilUnit
from calc.web.forms import FOLLOWS, UNIT_SYSTEMS, AssessmentForm

GOOD = {
    "failure_type": "ACLF",
    "meld": "28",
    "alt": "240",
    "alt_unit": "U/L",
    "tbil": "320",
    "tbil_unit": "umol/L",
    "transplant_date": "",
    "patient_ref": "",
}


def _form(**changes: str) -> AssessmentForm:
    return AssessmentForm(MultiDict({**GOOD, **changes}))


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"failure_type": "CLF", "meld": "6"},
        {"failure_type": "ALF", "meld": "40"},
        {"meld": "28.0"},
        {"alt": "0.02", "alt_unit": "ukat/L"},
        {"alt": "50000"},
        {"tbil": "0.05", "tbil_unit": "mg/dL"},
        {"tbil": "1710"},
        {"tbil": " 320 "},
        {"transplant_date": "2024-02-29"},
        {"patient_ref": "x" * 40},
    ],
    ids=[
        "typical",
        "clf-meld-floor",
        "alf-meld-cap",
        "meld-written-28.0",
        "alt-ukat-low-bound",
        "alt-high-bound",
        "tbil-mgdl-low-bound",
        "tbil-high-bound",
        "spaces-around",
        "leap-day",
        "ref-40-chars",
    ],
)
def test_valid_input_passes(changes: dict[str, str]) -> None:
    form = _form(**changes)
    assert form.validate(), form.errors
    assert form.request is not None
    assert form.request.inputs.meld == int(float(form.meld.data))


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("failure_type", "", "Type of liver failure is required"),
        ("failure_type", "HRS", "Type of liver failure must be one of ACLF, CLF, ALF, SALF."),
        ("meld", "", "Baseline MELD is required"),
        ("meld", "nan", "plain number"),
        ("meld", "inf", "plain number"),
        ("meld", "1e309", "plain number"),
        ("meld", "5", "6 to 40"),
        ("meld", "41", "6 to 40"),
        ("meld", "28.5", "whole number"),
        ("alt", "1_000", "plain number"),
        ("alt", "2,5", "with a point for decimals"),
        ("alt", "0", "1 to 50000 U/L"),
        ("alt", "-3", "1 to 50000 U/L"),
        ("alt", "50000.1", "1 to 50000 U/L"),
        ("tbil", "", "Total bilirubin (TBIL) is required"),
        ("tbil", "1710.5", "1 to 1710 μmol/L"),
        ("tbil", "0.5", "1 to 1710 μmol/L"),
        ("transplant_date", "2026-02-30", "real calendar date"),
        ("transplant_date", "10/01/2026", "YYYY-MM-DD"),
        ("transplant_date", "1999-12-31", "2000-01-01 to 2099-12-31"),
        ("patient_ref", "x" * 41, "at most 40 characters"),
        ("alt_unit", "IU", 'ALT unit must be "U/L" or "ukat/L"'),
    ],
    ids=lambda v: str(v)[:20],
)
def test_invalid_input_is_refused_with_a_message(field: str, value: str, words: str) -> None:
    form = _form(**{field: value})
    assert not form.validate()
    assert list(form.errors) == [field]
    assert words in " ".join(form.errors[field])


@pytest.mark.parametrize(
    ("unit", "value", "words"),
    [
        ("ukat/L", "834", "0.02 to 833 μkat/L"),
        ("ukat/L", "0.01", "0.02 to 833 μkat/L"),
    ],
)
def test_alt_range_follows_the_chosen_unit(unit: str, value: str, words: str) -> None:
    form = _form(alt=value, alt_unit=unit)
    assert not form.validate()
    assert words in form.errors["alt"][0]


def test_tbil_in_the_wrong_unit_is_refused_with_a_hint() -> None:
    # 85 "mg/dL" (1453.5 μmol/L) is a typical μmol/L value typed against mg/dL.
    form = _form(tbil="85", tbil_unit="mg/dL")
    assert not form.validate()
    message = form.errors["tbil"][0]
    assert "looks like μmol/L" in message and "0.05 to 50 mg/dL" in message


def test_units_are_converted_in_the_inputs() -> None:
    form = _form(alt="4", alt_unit="ukat/L", tbil="5", tbil_unit="mg/dL")
    assert form.validate()
    assert form.request is not None
    inputs = form.request.inputs
    # 1 μkat/L = 60 U/L (SI definition); 1 mg/dL = 17.1 μmol/L (SI factor); exact to 1e-12.
    assert inputs.alt_u_l == pytest.approx(240.0, abs=1e-12)
    assert inputs.tbil_umol_l == pytest.approx(85.5, abs=1e-12)
    assert inputs.alt_unit is AltUnit.UKAT_L and inputs.tbil_unit is TbilUnit.MG_DL


def test_every_error_at_once() -> None:
    form = AssessmentForm(MultiDict({}))
    assert not form.validate()
    assert set(form.errors) == {"failure_type", "meld", "alt", "tbil"}


@pytest.mark.parametrize(
    "partial", ["2026-03", "2026", "2026-03-", "2026-3-5", "26-03-05", "2026-03-05T10", "20260305"]
)
@pytest.mark.hazard("H-14")
def test_h14_a_partly_typed_date_is_refused_not_read_as_not_given(partial: str) -> None:
    form = _form(transplant_date=partial)
    assert not form.validate()
    assert list(form.errors) == ["transplant_date"]
    assert "Transplant date" in form.errors["transplant_date"][0]
    assert "YYYY-MM-DD" in form.errors["transplant_date"][0]


def test_clinician_name_is_optional_and_at_most_60_characters() -> None:
    assert _form(clinician="").validate()
    assert _form(clinician="x" * 60).validate()
    form = _form(clinician="x" * 61)
    assert not form.validate()
    assert form.errors == {"clinician": ["Clinician name must be at most 60 characters."]}


@pytest.mark.hazard("H-15")
def test_h15_the_saved_fields_leave_out_the_clinician_name() -> None:
    form = _form(clinician="Dr Sentinel", patient_ref="REF-9")
    assert form.validate()
    assert form.as_fields()["clinician"] == "Dr Sentinel"  # carried to "Edit inputs"
    saved = form.saved_fields()
    assert "clinician" not in saved
    assert saved["patient_ref"] == "REF-9"
    assert set(saved) == set(form.as_fields()) - {"clinician"}


@pytest.mark.hazard("H-15")
def test_h15_the_patient_reference_hint_says_it_goes_into_a_saved_file() -> None:
    hint = AssessmentForm().patient_ref.description
    assert "written into a saved file if you save one" in hint
    assert "never stored or logged by the server" in hint
    assert "summary only" not in hint
    assert "patient reference" in AssessmentForm().save_notice


@pytest.mark.hazard("H-11")
def test_h11_each_unit_system_sets_every_unit_but_alt_to_a_choice_of_its_select() -> None:
    form = AssessmentForm()
    expected = {"tbil_unit", "lab_creatinine_unit", "lab_albumin_unit", "fu_tbil60_unit",
                "fu_tbil90_unit"}  # fmt: skip
    for system, units in UNIT_SYSTEMS.items():
        assert set(units) == expected, system
        for name, unit in units.items():
            assert unit in {c.value for c in form[name].choices}, (system, name)
    # Without the script the form is SI: the server's default of each select.
    assert {name: form[name].data for name in expected} == UNIT_SYSTEMS["si"]
    assert UNIT_SYSTEMS["us"]["tbil_unit"] == "mg/dL"
    assert UNIT_SYSTEMS["us"]["lab_albumin_unit"] == "g/dL"


@pytest.mark.hazard("H-11")
def test_h11_a_follow_up_unit_starts_at_and_follows_its_baseline_unit() -> None:
    form = AssessmentForm()
    assert FOLLOWS == {"fu_alt_unit": "alt_unit", "fu_tbil60_unit": "tbil_unit",
                       "fu_tbil90_unit": "tbil_unit"}  # fmt: skip
    for follower, baseline in FOLLOWS.items():
        assert form[follower].data == form[baseline].data
        assert form[follower].choices == form[baseline].choices


@pytest.mark.hazard("H-11")
def test_h11_a_form_carries_values_once_posted_or_refused() -> None:
    assert not AssessmentForm().carries_values()
    assert not AssessmentForm(MultiDict({})).carries_values()
    assert AssessmentForm(MultiDict({"tbil_unit": "mg/dL"})).carries_values()
    form = AssessmentForm(MultiDict({}))
    form.validate()
    assert form.carries_values()  # shown with errors
