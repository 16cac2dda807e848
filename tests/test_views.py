"""The HTML pages through Flask's test client: form, errors, result, headers."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from flask.testing import FlaskClient

from calc.app import CSP, NO_STORE

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


@pytest.mark.parametrize(
    ("failure_type", "meld", "expected"),
    [
        # Cao 2018 abstract: ACLF 14.93 ± 1.24, CLF 4.6 ± 5.66; exact decimal subtraction.
        ("ACLF", "28", "Expected MELD after MSCT:</span> <strong>13.07</strong>"),
        ("CLF", "28", "Expected MELD after MSCT:</span> <strong>23.4</strong>"),
        ("ALF", "28", "<strong>No estimate</strong> for ALF"),
    ],
    ids=["ACLF", "CLF", "ALF"],
)
def test_result_page(client: FlaskClient, failure_type: str, meld: str, expected: str) -> None:
    r = client.post("/", data={**GOOD, "failure_type": failure_type, "meld": meld})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    _assert_csp_clean(html)
    assert expected in html
    text = _text(html)
    assert "REF-77" in text
    assert "2026-01-25" in text  # day 15
    assert "2026-03-11" in text and "2026-04-10" in text  # days 60 and 90
    assert "doi:10.1155/2018/9231710" in text
    assert "cao2018-abstract-v1" in text
    assert "aria-live" in html
    if failure_type == "ALF":
        assert "14.93" not in text and "4.6 ±" not in text  # never another group's number


def test_result_shows_the_spread_as_printed_and_no_ci(client: FlaskClient) -> None:
    text = _text(client.post("/", data=GOOD).get_data(as_text=True))
    assert "14.93 ± 1.24" in text
    assert "Scenario range (not a confidence interval)" in text
    assert "confidence interval of the mean" not in text


def test_warnings_are_in_words(client: FlaskClient) -> None:
    r = client.post("/", data={**GOOD, "meld": "15", "tbil": "4", "tbil_unit": "mg/dL"})
    html = r.get_data(as_text=True)
    for code in ("meld_after_floor", "aclf_meld_below_20", "tbil_at_or_below_pooled"):
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
    assert "Use a point, not a comma" in html
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
    # meld.md worked example: bilirubin 4.2 mg/dL, INR 1.2, creatinine 1.9 mg/dL -> MELD 20.
    data = {**GOOD, "meld": "", "tbil": "4.2", "tbil_unit": "mg/dL", **LABS, "lab_sodium": "125"}
    r = client.post("/", data=data)
    assert r.status_code == 200
    text = _text(r.get_data(as_text=True))
    assert "20 points (classic MELD from labs)" in text
    assert "Classic MELD 20" in text and "MELD-Na 28" in text  # meld.md: MELD-Na 28
    # 20 − 14.93 = 5.07, bounded at the MELD floor of 6.
    assert "Expected MELD after MSCT: 6" in text


def test_typed_and_lab_meld_disagreeing_is_a_warning(client: FlaskClient) -> None:
    data = {**GOOD, "meld": "28", "tbil": "4.2", "tbil_unit": "mg/dL", **LABS}
    html = client.post("/", data=data).get_data(as_text=True)
    assert 'data-code="meld_labs_disagree"' in html
    assert "Expected MELD after MSCT:</span> <strong>13.07</strong>" in html  # typed 28 used


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
    assert "ALT and TBIL over the days after MSCT" in html  # the trajectory figure


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
    assert "Opened the assessment saved on" in html
    inputs = {
        a["name"]: a.get("value") or ""
        for tag, a in _tags(html)
        if tag == "input" and a.get("name") and (a.get("type") != "checkbox" or "checked" in a)
    }
    assert inputs["meld"] == "28" and inputs["fu_alt"] == "139"
    assert inputs["patient_ref"] == "REF-77"
    # The round trip gives the same result as the original inputs.
    again = client.post("/", data={**inputs, "failure_type": "ACLF"}).get_data(as_text=True)
    first = client.post("/", data=data).get_data(as_text=True)
    summary = re.compile(r"<textarea[^>]*>(.*?)</textarea>", re.S)
    assert summary.search(again).group(1) == summary.search(first).group(1)  # type: ignore[union-attr]
    assert "ALT has fallen" in summary.search(first).group(1)  # type: ignore[union-attr]


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


def test_a_saved_file_with_out_of_range_values_is_refused(client: FlaskClient) -> None:
    from datetime import date

    from calc import savefile

    body = savefile.dump(
        {**GOOD, "alt": "99999"}, saved_on=date(2026, 1, 1), app_version="0", evidence_version="x"
    )
    r = client.post(
        "/open", data={"saved": (io.BytesIO(body), "a.json")}, content_type="multipart/form-data"
    )
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "values that are not allowed" in html and "1 to 50000 U/L" in html
    assert 'value="99999"' not in html  # the form is not filled from a refused file


def test_open_without_a_file(client: FlaskClient) -> None:
    r = client.post("/open", data={}, content_type="multipart/form-data")
    assert r.status_code == 422
    assert "The file is empty." in r.get_data(as_text=True)
