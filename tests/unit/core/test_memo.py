"""calc.core.memo: built once per owner and key, never per patient."""

from __future__ import annotations

from calc.core import jsonview as jv
from calc.core import memo
from calc.core.assessment import run, validate_request
from calc.core.evidence import Evidence
from calc.core.i18n import LANGUAGES, language
from calc.core.report import assessment_view, summary_text


class Owner:
    """An object compared by identity, like a loaded evidence."""


def test_built_once_for_an_owner_and_key_then_reused() -> None:
    owner, calls = Owner(), []
    build = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert memo.once(owner, ("k",), build) == 1
    assert memo.once(owner, ("k",), build) == 1
    assert memo.once(owner, ("other",), build) == 2
    assert memo.once(Owner(), ("k",), build) == 3  # another owner: built again
    assert len(calls) == 3


def test_a_new_owner_at_a_reused_address_is_not_served_the_old_value() -> None:
    first = Owner()
    memo.once(first, ("k",), lambda: "first")
    address = id(first)
    # Stand in for an owner that reuses a freed address: same id, another object.
    impostor = Owner()
    memo._HELD[(address, "k")] = (impostor, "stale")
    assert memo.once(first, ("k",), lambda: "rebuilt") == "rebuilt"


def test_the_store_is_bounded() -> None:
    owner = Owner()
    for i in range(memo._LIMIT * 3):
        memo.once(owner, (i,), lambda: None)
    assert len(memo._HELD) <= memo._LIMIT


def test_no_patient_value_is_a_key(evidence: Evidence) -> None:
    """Many different patients add nothing to the store once each type and language is seen."""

    def assess_all(offset: int) -> None:
        for lang in LANGUAGES:
            with language(lang):
                for i, failure_type in enumerate(("ACLF", "CLF", "ALF", "SALF") * 10):
                    raw = {"failure_type": failure_type, "meld": 10 + (i + offset) % 30,
                           "alt": 100 + i + offset, "tbil": 90 + 3 * i + offset,
                           "transplant_date": f"2026-03-{1 + (i + offset) % 28:02d}"}  # fmt: skip
                    result = run(validate_request(raw, allow_text=False), evidence)
                    assessment_view(result)
                    summary_text(result)

    memo._HELD.clear()
    assess_all(0)
    held = set(memo._HELD)
    assert held  # the assessment does keep what no patient changes
    assess_all(7)  # other patients, the same types and languages
    assert set(memo._HELD) == held
    for key in held:
        assert not any(isinstance(part, int) and 10 <= part <= 40 for part in key[1:])


def test_what_is_kept_is_what_would_be_built(evidence: Evidence) -> None:
    """Patient after patient, the body and the summary served from the store equal those
    built from an empty store: every key names all that its words depend on (type,
    stratum, whether the TBIL is above the pooled level, date or none, language)."""
    patients = [
        {"failure_type": t, "meld": meld, "alt": 240, "tbil": tbil, **date}
        for t in ("ACLF", "CLF", "ALF", "SALF")
        for meld in (12, 28)  # each side of the baseline-MELD threshold (20, Cao 2018)
        for tbil in (40, 320)  # each side of the pooled TBIL level (78.57 μmol/L, Cao 2018)
        for date in ({}, {"transplant_date": "2026-03-01"})
    ]
    memo._HELD.clear()
    for lang in LANGUAGES:
        with language(lang):
            for raw in patients:  # the store keeps filling: each patient is served from it
                result = run(validate_request(raw, allow_text=False), evidence)
                served = (jv.plain(assessment_view(result)), summary_text(result))
                kept = dict(memo._HELD)
                memo._HELD.clear()  # the same patient from an empty store
                fresh = run(validate_request(raw, allow_text=False), evidence)
                built = (jv.plain(assessment_view(fresh)), summary_text(fresh))
                memo._HELD.clear()
                memo._HELD.update(kept)
                assert served == built, (lang, raw)
