"""Every valid set of labs can be shown: the working, the scores and the summary, in
every language (hazard H-25).

A crash here is a result page the clinician never sees: MELD(i) at or below 11
with a sodium once did that (the MELD-Na line formatted a sodium that its
branch does not use, and the working holds None for it).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calc.core.assessment import run, validate_labs_object, validate_request
from calc.core.evidence import Evidence
from calc.core.i18n import LANGUAGES, language
from calc.core.meld import MELD_NA, compute_meld
from calc.core.report import assessment_view, meld_text, meld_working_lines, summary_text
from tests.strategies import any_labs


@pytest.mark.hazard("H-25")
@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(raw=any_labs(), lang=st.sampled_from(LANGUAGES))
def test_h25_the_working_of_any_valid_labs_can_be_shown(raw: dict[str, Any], lang: str) -> None:
    result = compute_meld(validate_labs_object(raw, allow_text=False))
    with language(lang):
        lines = meld_working_lines(result)
        text = meld_text(result)
    assert lines and all(line.strip() for line in lines)
    assert f"{result.meld}" in text.splitlines()[0]


@pytest.mark.hazard("H-25")
@settings(max_examples=150, derandomize=True, database=None, deadline=None)
@given(raw=any_labs(), lang=st.sampled_from(LANGUAGES))
def test_h25_any_valid_labs_give_a_whole_summary(
    raw: dict[str, Any], lang: str, evidence: Evidence
) -> None:
    labs = {k: v for k, v in raw.items() if k not in ("bilirubin", "bilirubin_unit")}
    request = {"failure_type": "ACLF", "alt": 240, "tbil": raw["bilirubin"],
               "tbil_unit": raw.get("bilirubin_unit", "umol/L"), "labs": labs}  # fmt: skip
    result = run(validate_request(request, allow_text=False), evidence)
    with language(lang):
        summary = summary_text(result)
        view = assessment_view(result)
    assert result.labs is not None
    assert view.meld_used is not None
    assert summary.count("\n") >= 8


@pytest.mark.hazard("H-25")
def test_h25_meld_na_at_and_below_its_threshold_with_a_sodium_is_worded() -> None:
    """The case that crashed: MELD(i) 11 (≤ 11, OPTN 2016: no sodium term) with sodium 140.

    Classic MELD of bilirubin 0.3 → 1.0, creatinine 0.5 → 1.0 mg/dL and INR 1.5:
    MELD(i) = 10 × (0.957 ln 1 + 0.378 ln 1 + 1.120 ln 1.5 + 0.643) = 10.971 → 11
    (Kamath 2001 with the OPTN/UNOS rules; exact to 0.001).
    """
    raw = {"bilirubin": 0.3, "bilirubin_unit": "mg/dL", "inr": 1.5, "creatinine": 0.5,
           "creatinine_unit": "mg/dL", "dialysis": False, "sodium": 140}  # fmt: skip
    result = compute_meld(validate_labs_object(raw, allow_text=False))
    assert result.working.meld_na is not None
    assert result.working.meld_na.meld_i == MELD_NA.threshold == 11
    lines = meld_working_lines(result)
    assert "MELD-Na: MELD(i) 11 ≤ 11, sodium term not applied → 11" in lines
    with language("zh_Hans_CN"):
        assert "MELD-Na：MELD(i) 11 ≤ 11，不计血钠项 → 11" in meld_working_lines(result)
