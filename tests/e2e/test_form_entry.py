"""Entering values in a real browser: the unit system, follow-up units, dates.

The page's script sets every unit select from one choice at the top of the form,
remembers that choice (only it) in the browser, never applies it over a form that
carries values, lets a follow-up unit follow its baseline unit, and stops a
submit with a date that is not a real YYYY-MM-DD date, with the message next to
the field and in a summary at the top.
"""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

pytestmark = pytest.mark.e2e

AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
    "resultTypes": ["violations"],
}
SYSTEM_SELECTS = ["tbil_unit", "lab_creatinine_unit", "lab_albumin_unit", "fu_tbil60_unit",
                  "fu_tbil90_unit"]  # fmt: skip
SI = dict(zip(SYSTEM_SELECTS, ["umol/L", "umol/L", "g/L", "umol/L", "umol/L"], strict=True))
US = dict(zip(SYSTEM_SELECTS, ["mg/dL", "mg/dL", "g/dL", "mg/dL", "mg/dL"], strict=True))
MIXED = "The units below are mixed"
SUBMIT = ".assessment-form button[type=submit]"


def _assert_accessible(page: Any, label: str) -> None:
    results = Axe().run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, f"{label}:\n{results.generate_report()}"


def _units(page: Any) -> dict[str, str]:
    return {name: page.input_value(f"#{name}") for name in SYSTEM_SELECTS}


def _system(page: Any) -> str | None:
    """The unit system shown as chosen at the top of the form (None: neither)."""
    checked = [v for v in ("si", "us") if page.is_checked(f"#unit_system-{v}")]
    assert len(checked) <= 1
    return checked[0] if checked else None


def _stored(page: Any) -> dict[str, str]:
    return dict(page.evaluate("Object.entries(window.localStorage)"))


def _open_section(page: Any, title: str) -> None:
    summary = page.locator(f"summary:has-text('{title}')")
    if summary.evaluate("s => !s.parentElement.open"):
        summary.click()


def _fill_baseline(page: Any) -> None:
    page.check("#failure_type-0")  # ACLF
    page.fill("#meld", "28")
    page.fill("#alt", "240")
    page.fill("#tbil", "320")


def _submit(page: Any) -> None:
    with page.expect_navigation():
        page.click(SUBMIT)


@pytest.mark.hazard("H-11")
def test_h11_the_unit_system_sets_every_unit_select_and_is_remembered(
    page: Any, server_url: str, browser: Any
) -> None:
    page.goto(server_url + "/")
    assert page.is_visible("#unit-system")
    assert _units(page) == SI and _system(page) == "si"
    assert _stored(page) == {}  # nothing kept until a choice is made
    # By keyboard: Tab reaches the choice before the form, arrows change it.
    page.focus("#unit_system-si")
    page.keyboard.press("ArrowDown")
    assert _system(page) == "us"
    assert _units(page) == US
    # ALT stays U/L in both systems.
    assert page.input_value("#alt_unit") == page.input_value("#fu_alt_unit") == "U/L"
    assert _stored(page) == {"calc.unitSystem": "us"}
    _assert_accessible(page, "form, US units")

    # Remembered by this browser: a fresh load and a reload show US units.
    page.goto(server_url + "/")
    assert _units(page) == US and _system(page) == "us"
    page.reload()
    assert _units(page) == US and _system(page) == "us"
    # Back to SI, and remembered too.
    page.click("label[for=unit_system-si]")
    assert _units(page) == SI and _stored(page) == {"calc.unitSystem": "si"}
    page.goto(server_url + "/")
    assert _units(page) == SI

    # Kept in the browser, not on the server: another browser profile starts at SI.
    other = browser.new_context()
    try:
        fresh = other.new_page()
        page.click("label[for=unit_system-us]")
        fresh.goto(server_url + "/")
        assert _units(fresh) == SI and _system(fresh) == "si"
    finally:
        other.close()


@pytest.mark.parametrize("how", ["edit-inputs", "errors"])
@pytest.mark.hazard("H-11")
def test_h11_the_remembered_units_are_not_applied_over_a_form_with_values(
    page: Any, server_url: str, how: str
) -> None:
    page.goto(server_url + "/")
    page.click("label[for=unit_system-us]")
    assert _stored(page) == {"calc.unitSystem": "us"}
    # TBIL in μmol/L, typed against the remembered US system.
    page.select_option("#tbil_unit", "umol/L")
    assert _system(page) is None
    if how == "edit-inputs":
        _fill_baseline(page)
        _submit(page)
        assert page.is_visible("#result")
        with page.expect_navigation():
            page.click("button[value=edit]")
    else:
        page.fill("#meld", "nan")
        _submit(page)
        assert page.is_visible("#error-summary")
    assert page.get_attribute("form.assessment-form", "data-filled") == "true"
    # The units as entered, not the remembered choice.
    assert _units(page) == {**US, "tbil_unit": "umol/L", "fu_tbil60_unit": "umol/L",
                            "fu_tbil90_unit": "umol/L"}  # fmt: skip
    assert _system(page) is None
    assert MIXED in page.inner_text("#unit-system-status")
    assert _stored(page) == {"calc.unitSystem": "us"}  # the choice itself is unchanged


@pytest.mark.hazard("H-11")
def test_h11_a_follow_up_unit_follows_the_baseline_unit(page: Any, server_url: str) -> None:
    page.goto(server_url + "/")
    page.select_option("#tbil_unit", "mg/dL")
    assert page.input_value("#fu_tbil60_unit") == page.input_value("#fu_tbil90_unit") == "mg/dL"
    assert page.input_value("#lab_creatinine_unit") == "umol/L"  # another analyte: unchanged
    assert _system(page) is None and MIXED in page.inner_text("#unit-system-status")
    page.select_option("#alt_unit", "ukat/L")
    assert page.input_value("#fu_alt_unit") == "ukat/L"

    # A follow-up unit changed by hand no longer follows.
    _open_section(page, "Follow-up values")
    page.select_option("#fu_tbil90_unit", "umol/L")
    page.select_option("#tbil_unit", "umol/L")
    page.select_option("#tbil_unit", "mg/dL")
    assert page.input_value("#fu_tbil60_unit") == "mg/dL"
    assert page.input_value("#fu_tbil90_unit") == "umol/L"
    _assert_accessible(page, "form, mixed units")

    # Choosing a system sets every select again, that one included.
    page.click("label[for=unit_system-us]")
    assert _units(page) == US and _system(page) == "us"
    assert page.inner_text("#unit-system-status") == ""


@pytest.mark.parametrize(
    ("field", "typed"),
    [
        ("transplant_date", "2026-03"),
        ("transplant_date", "2026-02-30"),
        ("transplant_date", "05/03/2026"),
        ("fu_tbil60_date", "2026-3-5"),
    ],
)
@pytest.mark.hazard("H-14")
def test_h14_a_partial_date_is_refused_before_submitting(
    page: Any, server_url: str, field: str, typed: str
) -> None:
    page.goto(server_url + "/")
    _fill_baseline(page)
    if field.startswith("fu_"):
        page.fill("#transplant_date", "2026-01-10")
        _open_section(page, "Follow-up values")
        page.fill("#fu_tbil60", "70")
    page.fill(f"#{field}", typed)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    url = page.url

    page.click(SUBMIT)
    summary = page.locator("#error-summary")
    summary.wait_for(state="visible")
    assert posts == [] and page.url == url  # nothing was sent: the browser stopped it
    assert page.evaluate("document.activeElement.id") == "error-summary"
    message = "must be a real calendar date written YYYY-MM-DD, e.g. 2026-03-05"
    assert message in summary.inner_text()
    # The message is in text next to the field, as the server writes its own.
    error = page.locator(f".field-error:has(#{field}) > #{field}-error")
    assert error.count() == 1 and message in error.inner_text()
    assert error.inner_text().startswith("Error:")
    assert page.get_attribute(f"#{field}", "aria-invalid") == "true"
    assert f"{field}-error" in (page.get_attribute(f"#{field}", "aria-describedby") or "")
    assert page.input_value(f"#{field}") == typed  # kept as typed
    _assert_accessible(page, "form, date refused in the browser")
    page.click(f"#error-summary a[href='#{field}']")
    assert page.evaluate("document.activeElement.id") == field

    # Corrected, it is sent.
    page.fill(f"#{field}", "2026-03-05")
    _submit(page)
    assert len(posts) == 1
    assert page.is_visible("#result")


def test_only_the_unit_choice_is_kept_in_the_browser(page: Any, server_url: str) -> None:
    page.goto(server_url + "/")
    page.click("label[for=unit_system-us]")
    _fill_baseline(page)
    page.fill("#tbil", "18.7")
    page.fill("#patient_ref", "SENTINEL-REF")
    page.fill("#clinician", "Dr Sentinel")
    _submit(page)
    assert page.is_visible("#result")
    assert _stored(page) == {"calc.unitSystem": "us"}
    assert page.evaluate("window.sessionStorage.length") == 0
    assert page.context.cookies() == []
