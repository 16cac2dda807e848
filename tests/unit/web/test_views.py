"""The HTML pages through Flask's test client: form, errors, result, headers."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from flask.testing import FlaskClient

from calc.core import savefile
from calc.web.app import CSP, NO_STORE

GOOD = {
    "failure_type": "ACLF",
    "meld": "28",
    "alt": "240",
    "alt_unit": "U/L",
    "tbil": "320",
    "tbil_unit": "umol/L",
    "transplant_date": "2026-01-10",
    "patient_ref": "REF-77",
}


class _Tags(HTMLParser):
    """Collects every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _assert_csp_clean(html: str) -> None:
    """Nothing the CSP would block: no inline script, style, handler or style attribute."""
    for tag, attrs in _tags(html):
        assert "style" not in attrs, tag
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/"), attrs  # type: ignore[union-attr]
        assert tag != "style"
        for name in ("src", "href", "action"):
            value = attrs.get(name) or ""
            assert not value.startswith("//"), value
            if value.startswith("http"):
                assert tag == "a", (tag, value)  # only links out (the DOI), never a resource


def test_form_page(client: FlaskClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    _assert_csp_clean(html)
    for words in [
        "Baseline MELD (classic MELD, points)",
        "Whole number, 6 to 40.",
        "1 to 50000 U/L or 0.02 to 833 μkat/L",
        "1 to 1710 μmol/L or 0.05 to 50 mg/dL",
        "Acute-on-chronic liver failure",
        "never stored or logged",
    ]:
        assert words in html
    inputs = {a.get("name"): a for tag, a in _tags(html) if tag == "input"}
    for name in ("meld", "alt", "tbil"):
        assert inputs[name]["type"] == "text"
        assert inputs[name]["inputmode"] in {"decimal", "numeric"}
    forms = [a for tag, a in _tags(html) if tag == "form"]
    assert [f["method"] for f in forms] == ["post", "post"]  # the form, and "open saved"


HEADLINE = 'Expected MELD after MSCT:</span> <strong class="headline-value">'


@pytest.mark.parametrize(
    ("failure_type", "meld", "expected"),
    [
        # Cao 2018 abstract: ACLF 14.93 ± 1.24, CLF 4.6 ± 5.66; exact decimal subtraction,
        # shown as a whole MELD: 28 − 14.93 = 13.07 -> 13; 28 − 4.6 = 23.4 -> 23.
        ("ACLF", "28", f"{HEADLINE}about 13</strong>"),
        ("CLF", "28", f"{HEADLINE}about 23</strong>"),
        ("ALF", "28", '<strong class="headline-value">No estimate</strong> for ALF'),
        ("SALF", "28", '<strong class="headline-value">No estimate</strong> for SALF'),
    ],
    ids=["ACLF", "CLF", "ALF", "SALF"],
)
def test_result_page(client: FlaskClient, failure_type: str, meld: str, expected: str) -> None:
    r = client.post("/", data={**GOOD, "failure_type": failure_type, "meld": meld})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    _assert_csp_clean(html)
    assert expected in html
    text = _text(html)
    assert "REF-77" in text
    # 2026-01-10 + 15, 60, 90 days (hand calculation), in words
    assert "25 January 2026" in text  # day 15
    assert "11 March 2026" in text and "10 April 2026" in text  # days 60 and 90
    assert "doi:10.1155/2018/9231710" in text
    assert "cao2018-abstract-v2" in text
    assert "ding2024-abstract-v1" in text
    assert "aria-live" in html
    if failure_type in ("ALF", "SALF"):
        assert "14.93" not in text and "4.6 ±" not in text  # never another group's number


def test_result_shows_the_spread_as_printed_and_no_ci(client: FlaskClient) -> None:
    text = _text(client.post("/", data=GOOD).get_data(as_text=True))
    assert "14.93 ± 1.24" in text
    assert "without saying whether it is a standard deviation (SD) or a standard error" in text
    assert "Scenario range" not in text  # no range from a ± of unreported kind
    assert "confidence interval of the mean" not in text


def test_warnings_are_in_words(client: FlaskClient) -> None:
    r = client.post("/", data={**GOOD, "meld": "15", "tbil": "4", "tbil_unit": "mg/dL"})
    html = r.get_data(as_text=True)
    # 4 mg/dL = 68.4 μmol/L: below the APASL 85 μmol/L and the pooled 78.57 μmol/L.
    for code in (
        "tbil_below_type_definition",
        "meld_after_floor",
        "baseline_meld_below_20",
        "tbil_at_or_below_pooled",
    ):
        assert f'data-code="{code}"' in html
    assert "MELD cannot fall below 6" in _text(html)


def test_errors_rerender_the_form_with_values_and_links(client: FlaskClient) -> None:
    r = client.post("/", data={**GOOD, "meld": "1e309", "alt": "2,5", "tbil": ""})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    _assert_csp_clean(html)
    assert 'id="error-summary"' in html
    for field in ("meld", "alt", "tbil"):
        assert f'href="#{field}"' in html
        assert f'id="{field}-error"' in html
    assert 'value="1e309"' in html and 'value="2,5"' in html  # kept as entered
    assert "with a point for decimals" in html
    assert "Expected MELD after" not in html  # no number from refused input


def test_edit_inputs_returns_the_form_filled(client: FlaskClient) -> None:
    result = client.post("/", data=GOOD).get_data(as_text=True)
    hidden = {
        a["name"]: a["value"]
        for tag, a in _tags(result)
        if tag == "input" and a.get("type") == "hidden"
    }
    assert hidden["meld"] == "28" and hidden["patient_ref"] == "REF-77"
    r = client.post("/", data={**hidden, "action": "edit"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'id="meld"' in html and 'value="28"' in html
    radios = [a for tag, a in _tags(html) if tag == "input" and a.get("type") == "radio"]
    assert [a["value"] for a in radios if "checked" in a] == ["ACLF"]
    assert "error-summary" not in html


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/", None),
        ("post", "/", GOOD),
        ("post", "/", {"meld": "x"}),
        ("get", "/healthz", None),
        ("get", "/nowhere", None),
    ],
    ids=["form", "result", "errors", "healthz", "404"],
)
def test_headers_on_dynamic_responses(
    client: FlaskClient, method: str, path: str, data: dict[str, Any] | None
) -> None:
    r = getattr(client, method)(path, data=data)
    assert r.headers["Content-Security-Policy"] == CSP
    assert r.headers["Cache-Control"] == NO_STORE
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in r.headers
    assert "Set-Cookie" not in r.headers
    assert r.location is None  # no redirect carries a value


@pytest.mark.parametrize("asset", ["calc.css", "calc.js", "favicon.svg"])
def test_static_files_have_the_headers(client: FlaskClient, asset: str) -> None:
    r = client.get(f"/static/{asset}")
    assert r.status_code == 200
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Security-Policy"] == CSP
    assert "no-store" not in r.headers.get("Cache-Control", "")
    r.close()


def test_hsts_only_when_https_is_set() -> None:
    from calc import create_app

    client = create_app({"TESTING": True, "HTTPS": True}).test_client()
    assert client.get("/").headers["Strict-Transport-Security"].startswith("max-age=")


def test_error_page_is_generic(client: FlaskClient) -> None:
    r = client.get("/nowhere")
    assert r.status_code == 404
    html = r.get_data(as_text=True)
    assert "There is no page at this address." in html
    assert "Traceback" not in html


# --------------------------------------------------------------------------
# MELD from labs, follow-up, save and open

LABS = {"lab_inr": "1.2", "lab_creatinine": "1.9", "lab_creatinine_unit": "mg/dL"}


def test_meld_from_labs_is_used_when_no_meld_is_typed(client: FlaskClient) -> None:
    # Classic MELD worked example: bilirubin 4.2 mg/dL, INR 1.2, creatinine 1.9 mg/dL -> MELD 20.
    data = {**GOOD, "meld": "", "tbil": "4.2", "tbil_unit": "mg/dL", **LABS, "lab_sodium": "125"}
    r = client.post("/", data=data)
    assert r.status_code == 200
    text = _text(r.get_data(as_text=True))
    assert "20 points (classic MELD from labs)" in text
    assert "Classic MELD 20" in text and "MELD-Na 28" in text  # with Na 125: MELD-Na 28
    # 20 − 14.93 = 5.07, bounded at the MELD floor of 6.
    assert "Expected MELD after MSCT: 6" in text


def test_typed_and_lab_meld_disagreeing_is_a_warning(client: FlaskClient) -> None:
    data = {**GOOD, "meld": "28", "tbil": "4.2", "tbil_unit": "mg/dL", **LABS}
    html = client.post("/", data=data).get_data(as_text=True)
    assert 'data-code="meld_labs_disagree"' in html
    assert f"{HEADLINE}about 13</strong>" in html  # typed 28 used: 28 − 14.93 = 13.07


def test_lab_errors_show_next_to_the_lab_fields(client: FlaskClient) -> None:
    data = {**GOOD, "meld": "", "lab_inr": "nan", "lab_creatinine": "150",
            "lab_creatinine_unit": "mg/dL"}  # fmt: skip
    r = client.post("/", data=data)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="lab_inr-error"' in html and 'id="lab_creatinine-error"' in html
    assert "looks like μmol/L" in html
    assert 'href="#lab_inr"' in html
    assert '<details class="section" open>' in html  # the section with errors is open


def test_follow_up_is_shown_with_status_words(client: FlaskClient) -> None:
    data = {**GOOD, "fu_alt": "139", "fu_alt_date": "2026-01-26", "fu_tbil60": "90",
            "fu_tbil60_day": "40"}  # fmt: skip
    html = client.post("/", data=data).get_data(as_text=True)
    text = _text(html)
    # (240 − 139) / 240 = 42.1 % fall (hand calculation).
    assert "ALT has fallen 42 % from baseline" in text
    assert 'data-status="fallen"' in html and 'data-status="above_pooled"' in html
    assert "above pooled" in text  # in words, not by colour
    assert 'data-code="tbil_day60_off_marker_day"' in html
    assert "Follow-up values over the days after MSCT" in html  # the trajectory figure


def test_save_downloads_the_inputs_and_open_restores_them(client: FlaskClient) -> None:
    data = {**GOOD, "fu_alt": "139", "fu_alt_day": "15"}
    r = client.post("/save", data=data)
    assert r.status_code == 200
    assert r.mimetype == "application/json"
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "REF-77" not in disposition
    assert r.headers["Cache-Control"] == NO_STORE
    saved = r.get_data()
    opened = client.post(
        "/open", data={"saved": (io.BytesIO(saved), "a.json")}, content_type="multipart/form-data"
    )
    assert opened.status_code == 200
    html = opened.get_data(as_text=True)
    assert "Opened the assessment of \u2068REF-77\u2069 saved on" in html
    inputs = {
        a["name"]: a.get("value") or ""
        for tag, a in _tags(html)
        if tag == "input" and a.get("name") and (a.get("type") != "checkbox" or "checked" in a)
    }
    assert inputs["meld"] == "28" and inputs["fu_alt"] == "139"
    assert inputs["patient_ref"] == "REF-77"
    # The round trip gives the same inputs as used, hence the same result.
    again = client.post("/", data={**inputs, "failure_type": "ACLF"})
    first = client.post("/", data=data)
    assert again.status_code == first.status_code == 200

    def used(html: str) -> dict[str, str | None]:
        return {a["name"]: a["value"] for t, a in _tags(html) if a.get("type") == "hidden"}

    assert used(again.get_data(as_text=True)) == used(first.get_data(as_text=True))
    assert used(first.get_data(as_text=True))["fu_alt"] == "139"


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"{", "not JSON"),
        (b'{"format": "calc-assessment", "format_version": 9}', "format version 9"),
    ],
    ids=["not-json", "wrong-version"],
)
def test_bad_saved_files_are_refused(client: FlaskClient, payload: bytes, words: str) -> None:
    r = client.post(
        "/open", data={"saved": (io.BytesIO(payload), "a.json")}, content_type="multipart/form-data"
    )
    assert r.status_code == 422
    assert words in r.get_data(as_text=True)


def _open(client: FlaskClient, body: bytes) -> Any:
    return client.post(
        "/open", data={"saved": (io.BytesIO(body), "a.json")}, content_type="multipart/form-data"
    )


SAVED_AT = datetime(2026, 12, 6, 11, 21, 31, tzinfo=UTC)
SAVED_NAME = re.compile(r'attachment; filename="(calc-assessment-\d{8}-\d{6}-[0-9a-f]{4}\.json)"')


def _file(fields: dict[str, str], saved_at: datetime = SAVED_AT) -> bytes:
    return savefile.dump(fields, saved_at=saved_at, app_version="0", evidence_version="x")


def test_a_saved_file_with_out_of_range_values_is_refused(client: FlaskClient) -> None:
    r = _open(client, _file({**GOOD, "alt": "99999"}))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "values that are not allowed" in html and "1 to 50000 U/L" in html
    assert 'value="99999"' not in html  # the form is not filled from a refused file


def test_open_without_a_file(client: FlaskClient) -> None:
    r = client.post("/open", data={}, content_type="multipart/form-data")
    assert r.status_code == 422
    assert "The file is empty." in r.get_data(as_text=True)


@pytest.mark.hazard("H-15")
def test_h15_each_save_has_a_file_name_of_its_own_with_no_patient_value(
    client: FlaskClient,
) -> None:
    names = []
    for _ in range(2):
        r = client.post("/save", data=GOOD)
        assert r.status_code == 200
        match = SAVED_NAME.fullmatch(r.headers["Content-Disposition"])
        assert match, r.headers["Content-Disposition"]
        names.append(match.group(1))
        document = json.loads(r.get_data())
        # The name's date and time are the file's saved time (with its UTC offset).
        saved_at = datetime.fromisoformat(document["saved_at"])
        assert saved_at.utcoffset() is not None
        assert match.group(1).startswith(f"calc-assessment-{saved_at:%Y%m%d-%H%M%S}-")
    assert names[0] != names[1]
    for value in GOOD.values():
        if len(value) > 3:  # "REF-77", "2026-01-10", "umol/L": none is in a name
            assert all(value not in name for name in names)


@pytest.mark.hazard("H-15")
def test_h15_the_clinician_name_is_not_written_into_the_saved_file(client: FlaskClient) -> None:
    r = client.post("/save", data={**GOOD, "clinician": "Dr Sentinel-Clinician"})
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "Sentinel-Clinician" not in body
    assert "clinician" not in json.loads(body)["fields"]
    assert json.loads(body)["fields"]["patient_ref"] == "REF-77"  # the reference is
    # A file that holds one anyway (written by hand) is refused, not half-opened.
    r = _open(client, _file({**GOOD, "clinician": "Dr Sentinel-Clinician"}))
    assert r.status_code == 422
    assert "unknown input &#39;clinician&#39;" in r.get_data(as_text=True)


@pytest.mark.hazard("H-15")
def test_h15_opening_says_whose_assessment_and_when_in_words(client: FlaskClient) -> None:
    r = _open(client, _file(GOOD))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert (
        "Opened the assessment of \u2068REF-77\u2069 saved on 6 December 2026 at 11:21 (UTC+00:00)."
        in html
    )
    r = _open(client, _file({**GOOD, "patient_ref": ""}))
    assert "Opened the assessment with no patient reference, saved on 6 December 2026" in _text(
        r.get_data(as_text=True)
    )


@pytest.mark.hazard("H-15")
def test_h15_a_version_1_file_opens_saying_its_date_is_not_covered(client: FlaskClient) -> None:
    kept = {k: v for k, v in GOOD.items() if v}
    document = {
        "format": "calc-assessment",
        "format_version": 1,
        "saved_on": "2026-01-10",
        "app_version": "0.1.0",
        "evidence_version": "x",
        "fields": kept,
        "checksum": savefile._checksum(kept),
    }
    r = _open(client, json.dumps(document).encode())
    assert r.status_code == 200
    text = _text(r.get_data(as_text=True))
    assert "Opened the assessment of \u2068REF-77\u2069 saved on 10 January 2026." in text
    assert "its saved date is not covered by its checksum" in text


@pytest.mark.hazard("H-15")
def test_h15_a_file_too_large_is_reported_with_its_real_size(client: FlaskClient) -> None:
    r = _open(client, b" " * 12_000)
    assert r.status_code == 422
    assert "(12,000 bytes; at most 8,192 bytes)" in r.get_data(as_text=True)


@pytest.mark.hazard("H-15")
def test_h15_the_form_says_what_a_saved_file_holds(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert savefile.SAVE_NOTICE in html
    assert "written into a saved file if you save one; never stored or logged by the server" in (
        html
    )
    assert "Printed on the summary only" not in html
    # The notice is read with the patient reference field.
    described = {a.get("id"): a.get("aria-describedby") for tag, a in _tags(html)}
    assert "patient_ref-note" in (described["patient_ref"] or "")
    assert 'id="patient_ref-note"' in html


@pytest.mark.parametrize(
    ("field", "words"),
    [
        ("transplant_date", "Transplant date must be a date written YYYY-MM-DD."),
        ("fu_alt_date", "Follow-up ALT (about day 15): the date must be a date written YYYY-MM-DD"),
    ],
)
@pytest.mark.parametrize("partial", ["2026-03", "2026", "2026-03-", "2026-3-5"])
@pytest.mark.hazard("H-14")
def test_h14_a_partly_typed_date_is_refused_by_the_server(
    client: FlaskClient, field: str, words: str, partial: str
) -> None:
    data = {**GOOD, field: partial}
    if field.startswith("fu_alt"):
        data["fu_alt"] = "139"
    r = client.post("/", data=data)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert words in html
    assert 'id="error-summary"' in html
    assert f'value="{partial}"' in html  # kept as typed, not silently dropped


@pytest.mark.hazard("H-14")
def test_h14_dates_are_text_fields_with_the_format_in_the_hint(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    names = ["transplant_date", "fu_alt_date", "fu_tbil60_date", "fu_tbil90_date", "fu_meld_date"]
    inputs = {a.get("name"): a for tag, a in _tags(html) if tag == "input"}
    for name in names:
        attrs = inputs[name]
        assert attrs["type"] == "text", name  # not type=date: see calc/web/forms.py
        # A text keyboard: a numeric keypad has no "-" on some phones.
        assert "inputmode" not in attrs and attrs["autocomplete"] == "off"
        assert attrs.get("data-date"), name  # checked by the page's script before submitting
        hint = re.search(rf'id="{name}-hint">([^<]*)<', html)
        assert hint and "YYYY-MM-DD, e.g. 2026-03-05" in hint.group(1), name
    assert 'type="date"' not in html


UNIT_SELECTS = ["tbil_unit", "lab_creatinine_unit", "lab_albumin_unit", "fu_tbil60_unit",
                "fu_tbil90_unit"]  # fmt: skip


@pytest.mark.hazard("H-11")
def test_h11_every_unit_select_carries_its_unit_in_each_system(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    selects = {a.get("name"): a for tag, a in _tags(html) if tag == "select"}
    si = {name: selects[name]["data-unit-si"] for name in UNIT_SELECTS}
    us = {name: selects[name]["data-unit-us"] for name in UNIT_SELECTS}
    assert si == {"tbil_unit": "umol/L", "lab_creatinine_unit": "umol/L",
                  "lab_albumin_unit": "g/L", "fu_tbil60_unit": "umol/L",
                  "fu_tbil90_unit": "umol/L"}  # fmt: skip
    assert us == {"tbil_unit": "mg/dL", "lab_creatinine_unit": "mg/dL",
                  "lab_albumin_unit": "g/dL", "fu_tbil60_unit": "mg/dL",
                  "fu_tbil90_unit": "mg/dL"}  # fmt: skip
    # ALT is U/L in both systems: its selects are not set by the choice.
    assert (
        "data-unit-si" not in selects["alt_unit"] and "data-unit-si" not in selects["fu_alt_unit"]
    )
    # A follow-up unit follows the unit of the same analyte at baseline.
    follows = {name: a.get("data-follows") for name, a in selects.items() if a.get("data-follows")}
    assert follows == {"fu_alt_unit": "alt_unit", "fu_tbil60_unit": "tbil_unit",
                       "fu_tbil90_unit": "tbil_unit"}  # fmt: skip
    # Without the script the server's default is SI: every select starts at its SI unit.
    for name in UNIT_SELECTS:
        selected = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S)
        assert selected and f'selected value="{si[name]}"' in selected.group(0), name


@pytest.mark.hazard("H-11")
def test_h11_the_unit_system_choice_is_never_posted(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    form = re.search(r'<form[^>]*class="assessment-form".*?</form>', html, re.S)
    assert form and 'name="unit_system"' not in form.group(0)
    assert html.count('name="unit_system"') == 2  # SI and US, outside the form
    # A client that posts it anyway is answered as if it had not.
    r = client.post("/", data={**GOOD, "unit_system": "us"})
    assert r.status_code == 200
    assert 'name="unit_system"' not in r.get_data(as_text=True)  # not carried on


@pytest.mark.hazard("H-11")
def test_h11_a_form_with_values_is_marked_so_its_units_stay_as_entered(
    client: FlaskClient,
) -> None:
    def filled(html: str) -> str:
        match = re.search(r'class="assessment-form" data-filled="(\w+)"', html)
        assert match, "no data-filled on the form"
        return match.group(1)

    assert filled(client.get("/").get_data(as_text=True)) == "false"
    edit = client.post("/", data={**GOOD, "tbil_unit": "mg/dL", "tbil": "5", "action": "edit"})
    assert filled(edit.get_data(as_text=True)) == "true"
    errors = client.post("/", data={"tbil_unit": "mg/dL"})
    assert errors.status_code == 422 and filled(errors.get_data(as_text=True)) == "true"
    opened = _open(client, _file(GOOD))
    assert opened.status_code == 200 and filled(opened.get_data(as_text=True)) == "true"
    refused = _open(client, b"{")
    assert refused.status_code == 422 and filled(refused.get_data(as_text=True)) == "false"


def test_when_to_use_and_pitfalls_are_on_the_form(client: FlaskClient) -> None:
    text = _text(client.get("/").get_data(as_text=True))
    for words in [
        "When to use",
        "Adults with ACLF or CLF",
        "before/after change reported by Cao et al. 2018",
        "Not for: transplant allocation or listing decisions; children; an estimate in ALF or SALF",
        "Pitfalls",
        "A fall from baseline in treated patients is not an effect against control",
        "MELD is a surrogate, not survival",
        "classic MELD (Kamath et al. 2001), not MELD-Na or MELD 3.0",
        "Unit slips (mg/dL vs μmol/L) change the result: check the units",
    ]:
        assert words in text, words
    assert "three types" not in text


# --------------------------------------------------------------------------
# Hazards, on the page

ALL_TYPES = ["ACLF", "CLF", "ALF", "SALF"]


def _page(client: FlaskClient, **changes: str) -> str:
    r = client.post("/", data={**GOOD, **changes})
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    html: str = r.get_data(as_text=True)
    return html


def _headline(html: str) -> str:
    match = re.search(r'<section class="block headline[^"]*".*?</section>', html, re.S)
    assert match, "no headline block"
    return match.group(0)


@pytest.mark.parametrize("failure_type", ALL_TYPES)
@pytest.mark.hazard("H-01")
def test_h01_no_chance_of_improvement_on_the_page(client: FlaskClient, failure_type: str) -> None:
    text = _text(_page(client, failure_type=failure_type))
    assert "chance" not in text.lower()
    assert "> 99.9 %" not in text and "&gt; 99.9 %" not in text
    assert "79 %" not in text  # CLF: norm.sf(0, 4.6, 5.66) = 0.7918, the old "chance"


@pytest.mark.parametrize("failure_type", ["ACLF", "CLF"])
@pytest.mark.hazard("H-02")
def test_h02_the_plus_minus_as_printed_and_no_range_on_the_page(
    client: FlaskClient, failure_type: str
) -> None:
    html = _page(client, failure_type=failure_type)
    text = _text(html)
    printed = {"ACLF": "14.93 ± 1.24", "CLF": "4.6 ± 5.66"}[failure_type]  # Cao 2018 abstract
    assert printed in text
    assert (
        "the source prints ± without saying whether it is a standard deviation (SD) or a "
        "standard error (SE)" in text
    )
    assert "scenario" not in text.lower()
    assert "95% of patients" not in text and "95 % of patients" not in text
    assert 'fill="url(#hatch)"' not in html  # the hatched band of the old range
    # ACLF: 14.93 ± 1.96 × 1.24 gave MELD after 10.6 to 15.5: gone.
    assert "10.6 to 15.5" not in text


@pytest.mark.parametrize("failure_type", ALL_TYPES)
@pytest.mark.hazard("H-03")
def test_h03_no_implied_tbil_decline_on_the_page(client: FlaskClient, failure_type: str) -> None:
    text = _text(_page(client, failure_type=failure_type, tbil="320"))
    assert "implied decline" not in text.lower()
    assert "241.4" not in text  # 320 − 78.57 = 241.43 μmol/L, the old implied decline


@pytest.mark.hazard("H-04")
def test_h04_the_headline_says_what_the_number_is(client: FlaskClient) -> None:
    block = _headline(_page(client))
    words = _text(block)
    # Cao 2018 abstract: 28 − 14.93 = 13.07 -> about 13.
    assert '<strong class="headline-value">about 13</strong>' in block
    assert "13.07" not in words  # the exact working is below, not in the headline
    for phrase in ("before/after", "no control group", "time point not reported"):
        assert phrase in words, phrase
    assert "Read the warnings first" not in words


@pytest.mark.hazard("H-04")
def test_h04_the_floor_warning_comes_before_the_number(client: FlaskClient) -> None:
    # ACLF baseline MELD 14: 14 − 14.93 = −0.93, bounded at the floor of 6.
    block = _headline(_page(client, meld="14"))
    lead = block.find("Read the warnings first")
    number = block.find('class="headline-value"')
    assert 0 <= lead < number
    assert '<strong class="headline-value">6 (the lowest MELD)</strong>' in block
    assert "Limited by the MELD floor" in _text(block)


@pytest.mark.hazard("H-05")
def test_h05_the_page_shows_the_controlled_evidence_apart(client: FlaskClient) -> None:
    html = _page(client)
    text = _text(html)
    # Ding et al. 2024 abstract (J Clin Hepatol 2024;40(8):1646-1652), as printed.
    assert "Controlled evidence (context, not used in the calculation)" in text
    assert "11 articles, 803 participants" in text
    assert "doi:10.12449/JCH240822" in text
    for printed in (
        "OR = 2.71, 95%CI: 1.58~4.67",
        "OR = 2.24, 95%CI: 1.36~3.69",
        "OR = 2.09, 95%CI: 1.37~3.17",
        "OR = 2.09, 95%CI: 1.29~3.40",
        "MD = -3.27, 95%CI: -6.07~-0.48",
        "MD = -2.24, 95%CI: -3.16~-1.33",
    ):
        assert printed in text, printed
    for p_value in ("P = 0.000 3", "P = 0.001", "P = 0.000 6", "P = 0.003", "P = 0.02",
                    "P &lt; 0.000 01"):  # fmt: skip
        assert p_value in html, p_value
    assert "never added, subtracted or merged" in text
    assert "evidence cao2018-abstract-v2 · context evidence ding2024-abstract-v1" in text
    # The headline is Cao's before/after fall alone: 28 − 14.93, not a Ding difference.
    assert '<strong class="headline-value">about 13</strong>' in _headline(html)


@pytest.mark.parametrize("failure_type", ["CLF", "ALF", "SALF"])
@pytest.mark.hazard("H-05")
def test_h05_no_controlled_estimate_on_the_page_outside_aclf(
    client: FlaskClient, failure_type: str
) -> None:
    text = _text(_page(client, failure_type=failure_type))
    message = f"No controlled MELD estimate (MSC versus control) was found for {failure_type}."
    assert message in text
    for number in ("2.71", "-3.27", "-2.24", "-36.86"):
        assert number not in text
    assert "context evidence ding2024-abstract-v1" in text  # the version is still named


@pytest.mark.hazard("H-06")
def test_h06_the_form_offers_salf(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    radios = [
        a.get("value")
        for tag, a in _tags(html)
        if tag == "input" and a.get("type") == "radio" and a.get("name") == "failure_type"
    ]
    assert radios == ["ACLF", "CLF", "ALF", "SALF"]
    assert "Subacute liver failure" in _text(html)


@pytest.mark.parametrize("failure_type", ["ALF", "SALF"])
@pytest.mark.hazard("H-06")
def test_h06_no_estimate_types_on_the_page(client: FlaskClient, failure_type: str) -> None:
    html = _page(client, failure_type=failure_type)
    text = _text(html)
    assert '<strong class="headline-value">No estimate</strong>' in _headline(html)
    assert "Baseline MELD ≥ 20" not in text and "Baseline MELD &lt; 20" not in text
    assert "urgent liver transplantation" in text
    assert f"there are no {failure_type}-specific data" in text
    # No number, so no "where the number comes from": the scope note stands instead.
    assert "What this result does not address" in text
    assert "Where the number comes from" not in text


@pytest.mark.hazard("H-08")
def test_h08_the_page_gives_the_alt_finding_not_a_forecast(client: FlaskClient) -> None:
    for failure_type in ALL_TYPES:
        data = {"failure_type": failure_type, "fu_alt": "139", "fu_alt_day": "15"}
        text = _text(_page(client, **data))
        assert "In the pooled patients, ALT had fallen at about day 15" in text
        assert "expected to fall" not in text.lower()
        assert "expected below baseline" not in text.lower()


@pytest.mark.parametrize(
    "changes",
    [{}, {"tbil": "50"}, {"tbil": "78.57"}, {"fu_tbil60": "90", "fu_tbil60_day": "60"},
     {"fu_tbil60": "70", "fu_tbil60_day": "60"}],
    ids=["320", "50", "78.57", "fu-90", "fu-70"],
)  # fmt: skip
@pytest.mark.hazard("H-09")
def test_h09_the_pooled_tbil_is_78_57_never_78_6(
    client: FlaskClient, changes: dict[str, str]
) -> None:
    # Cao 2018 abstract: "78.57 μmol/L", as printed.
    text = _text(_page(client, **changes))
    assert "78.57 μmol/L" in text
    assert not re.search(r"(?<![\d.])78\.6(?!\d)", text)


@pytest.mark.hazard("H-12")
def test_h12_a_thousands_separator_is_refused_in_words(client: FlaskClient) -> None:
    r = client.post("/", data={**GOOD, "alt": "1,200"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "1200, not 1,200" in html
    assert 'value="1,200"' in html  # kept as typed


@pytest.mark.hazard("H-12")
def test_h12_a_thousands_point_is_read_as_a_decimal_and_warned(client: FlaskClient) -> None:
    html = _page(client, alt="1.200")  # 1200 typed with a point: 1.2 U/L
    assert 'data-code="alt_below_5"' in html
    assert "ALT 1.2 U/L is below 5 U/L" in _text(html)


@pytest.mark.hazard("H-13")
def test_h13_worsening_is_warned_first_on_the_page(client: FlaskClient) -> None:
    # ACLF MELD 27 → 33, TBIL 320 → 464 μmol/L (+45 %), ALT 240 → 139 U/L.
    html = _page(client, meld="27", fu_alt="139", fu_alt_day="15", fu_tbil60="464",
                 fu_tbil60_day="60", fu_meld="33", fu_meld_day="60")  # fmt: skip
    codes = re.findall(r'data-code="([a-z0-9_]+)"', html)
    assert codes[:3] == ["meld_rose", "tbil_rose", "alt_fall_with_worsening"]
    assert "MELD has risen from 27 to 33" in _text(html)


@pytest.mark.hazard("H-14")
def test_h14_every_result_date_is_also_written_in_words(client: FlaskClient) -> None:
    """A swapped day and month shows: 2026-03-05 is "5 March 2026", never only digits."""
    html = _page(
        client,
        transplant_date="2026-03-05",
        fu_alt="120",
        fu_alt_date="2026-03-20",
    )
    text = _text(html)
    assert "2026-03-05 (5 March 2026)" in text  # the date of MSCT as used
    assert "20 March 2026" in text  # day 15: the check date and the follow-up date
    assert "4 May 2026" in text and "3 June 2026" in text  # days 60 and 90


@pytest.mark.hazard("H-08")
def test_h08_the_day_windows_are_marked_as_the_calculators_own(client: FlaskClient) -> None:
    text = _text(_page(client))
    assert (
        'Reading "half a month" as day 15 and "2 and 3 months" as days 60 and 90 is this '
        "calculator's own" in text
    )
    assert "±5 days for ALT, ±15 days for TBIL" in text


@pytest.mark.hazard("H-08")
def test_h08_the_printout_lists_dates_to_check_not_expected_results(
    client: FlaskClient,
) -> None:
    html = _page(client)
    match = re.search(r'<section class="block markers-print print-only".*?</section>', html, re.S)
    assert match, "no printed markers block"
    printed = _text(match.group(0))
    # 2026-01-10 + 15, + 60, + 90 days.
    assert "Dates to check" in printed
    assert "ALT day 15, 25 January 2026" in printed
    assert "TBIL days 60 and 90, 11 March 2026 and 10 April 2026" in printed
    assert "In the pooled patients, ALT had fallen" in printed
    assert "expected" not in printed.lower()
    assert "checkbox" not in html and "[ ]" not in html


def test_the_empty_form_is_rendered_once_and_served_the_same(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import calc.web.views

    calls: list[str] = []
    real = calc.web.views.render_template

    def counting(name: str, **context: Any) -> str:
        calls.append(name)
        return real(name, **context)

    monkeypatch.setattr(calc.web.views, "render_template", counting)
    first = client.get("/")
    second = client.get("/")
    assert first.status_code == second.status_code == 200
    assert first.data == second.data and b'name="failure_type"' in first.data
    assert calls == ["form.html"]  # a new app: rendered for the first visit only
    # A form with values is never served from the cache.
    posted = client.post("/", data={**GOOD, "action": "edit"})
    assert b'value="REF-77"' in posted.data and b'value="REF-77"' not in first.data
    # Under another root the form is rendered, not cached (a client-sent SCRIPT_NAME must
    # not grow the cache).
    other = client.get("/", environ_overrides={"SCRIPT_NAME": "/elsewhere"})
    assert other.status_code == 200 and b"/elsewhere/static/calc.css" in other.data
    assert list(client.application.extensions["calc_empty_form"]) == [""]


@pytest.mark.hazard("H-15")
def test_h15_the_result_says_what_a_saved_file_holds(client: FlaskClient) -> None:
    text = _text(_page(client))
    assert "The saved file contains the patient reference and the values entered" in text
    assert "never stored" not in text


# --------------------------------------------------------------------------
# The sections no patient changes, rendered once


def _section(html: str, css_class: str) -> str:
    start = html.index(f'<section class="block {css_class}"')
    return html[start : html.index("</section>", start)]


def test_the_sections_kept_once_are_the_same_for_other_patients_and_hold_none_of_them(
    client: FlaskClient,
) -> None:
    """The controlled evidence and the basis are kept per evidence, type and language: two
    patients of a type get the same bytes, and neither patient's values are in them."""
    # Values found nowhere in the evidence's words or numbers.
    first = {**GOOD, "meld": "28", "alt": "7777", "tbil": "654.3", "patient_ref": "REF-QX"}
    second = {**GOOD, "meld": "17", "alt": "8989", "tbil": "432.1", "patient_ref": "REF-ZW",
              "transplant_date": "2025-07-04"}  # fmt: skip
    pages = [client.post("/", data=p).get_data(as_text=True) for p in (first, second)]
    for css_class in ("context", "basis"):
        kept = [_section(page, css_class) for page in pages]
        assert kept[0] == kept[1]
        for patient in (first, second):
            for value in (patient["patient_ref"], patient["alt"], patient["tbil"]):
                assert value not in kept[0]
    assert "doi:10.12449/JCH240822" in _section(pages[0], "context")  # Ding 2024, ACLF
    assert "How each number is derived" in _section(pages[0], "basis")
    assert "Controlled evidence (context" in pages[0] and "Basis of this result" in pages[0]


def test_the_sections_kept_once_follow_the_type_and_the_language(client: FlaskClient) -> None:
    aclf = client.post("/", data=GOOD).get_data(as_text=True)
    clf = client.post("/", data={**GOOD, "failure_type": "CLF"}).get_data(as_text=True)
    zh = client.post("/", data=GOOD, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    # Ding 2024 covers ACLF only; the derivation names the type's pooled decrease.
    assert "doi:10.12449/JCH240822" in _section(aclf, "context")
    assert "No controlled MELD estimate" in _section(clf, "context")
    assert "14.93" in _section(aclf, "basis") and "4.6" in _section(clf, "basis")
    assert "对照证据" in _section(zh, "context") and "本结果的依据" in _section(zh, "basis")
