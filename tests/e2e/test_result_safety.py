"""What a clinician sees first, and what the chart keeps: in a real browser.

The headline, what it is and every warning must be in the first viewport on a
laptop (1280×800) and a phone (375×667); the densest possible input must print
on one page of A4 and of US Letter, as a chart document, with body text of at
least 9 pt and figure labels of at least 7 pt.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

PT_PER_CSS_PX = 0.75  # 1 CSS px = 1/96 in = 0.75 pt
BODY_MIN_PT = 9.0
FIGURE_LABEL_MIN_PT = 7.0

# ACLF with a bilirubin unit slip (12.5 meaning mg/dL, left on μmol/L) and a low
# baseline MELD: four warnings, one of which demotes the headline.
SLIP = {
    "failure_type": "ACLF",
    "meld": "14",
    "alt": "240",
    "tbil": "12.5",
    "tbil_unit": "umol/L",
}
SLIP_TITLES = [
    "TBIL low for this type: check the unit",
    "Limited by the MELD floor",
    "Baseline MELD below 20",
    "TBIL already at or below the pooled level",
]

# Every optional field, labs with dialysis, all four follow-ups with dates, a
# 40-character reference and every warning that can fire at once for ACLF (the
# type with the most to print: the controlled evidence too).
DENSE_REF = "ŴREF-" + "0123456789" * 3 + "-ABCD"
DENSE = {
    "failure_type": "ACLF",
    "meld": "8",
    "alt": "1.2",
    "alt_unit": "U/L",
    "tbil": "12.5",
    "tbil_unit": "umol/L",
    "transplant_date": "2026-01-10",
    "patient_ref": DENSE_REF,
    "clinician": "Dr Alexandra Example-Clinician",
    "lab_inr": "2.6",
    "lab_creatinine": "100",
    "lab_creatinine_unit": "umol/L",
    "lab_dialysis": "y",
    "lab_sodium": "128",
    "lab_albumin": "28",
    "lab_albumin_unit": "g/L",
    "lab_sex": "female",
    "fu_alt": "1",
    "fu_alt_unit": "U/L",
    "fu_alt_date": "2026-02-04",
    "fu_tbil60": "400",
    "fu_tbil60_unit": "umol/L",
    "fu_tbil60_date": "2026-02-19",
    "fu_tbil90": "500",
    "fu_tbil90_unit": "umol/L",
    "fu_tbil90_date": "2026-04-30",
    "fu_meld": "20",
    "fu_meld_date": "2026-01-24",
}

_FILL = """(values) => {
  const form = document.querySelector("form.assessment-form");
  for (const [name, value] of Object.entries(values)) {
    const field = form.elements[name];
    if (!field) throw new Error("no field " + name);
    if (field instanceof RadioNodeList) {
      for (const radio of field) radio.checked = radio.value === value;
    } else if (field.type === "checkbox") {
      field.checked = value === "y";
    } else {
      field.value = value;
    }
  }
}"""


def _result(page: Any, server_url: str, values: dict[str, str]) -> None:
    page.goto(server_url + "/")
    page.evaluate(_FILL, values)
    with page.expect_navigation():
        page.click("form.assessment-form button[type=submit]")
    page.wait_for_selector("#result-title")


def _bottom(page: Any, selector: str) -> float:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not displayed"
    return float(box["y"] + box["height"])


@pytest.mark.parametrize(
    "size",
    [pytest.param((1280, 800), id="laptop-1280x800"), pytest.param((375, 667), id="phone-375x667")],
)
@pytest.mark.hazard("H-04")
def test_h04_headline_what_it_is_and_every_warning_in_the_first_viewport(
    browser: Any, server_url: str, artefacts: Path, size: tuple[int, int]
) -> None:
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        _result(page, server_url, SLIP)
        page.evaluate("window.scrollTo(0, 0)")
        headline = page.inner_text(".headline")
        assert "Expected MELD after MSCT: 6 (the lowest MELD)" in headline
        for words in ("before/after", "no control group", "time point not reported"):
            assert words in headline, f"{words!r} is not beside the number"
        # The floor and the unit warning demote the number: the warning comes first.
        lead = page.locator(".demote-lead")
        assert lead.count() == 1
        assert lead.bounding_box()["y"] < page.locator(".headline-value").bounding_box()["y"]
        titles = page.locator(".warning-title").all_inner_texts()
        assert titles == SLIP_TITLES
        for selector in (".demote-lead", ".headline-value", ".headline-what", ".warning-titles"):
            assert _bottom(page, selector) <= height, f"{selector} is below the first screen"
        # The full warnings come right after the headline, before figures and basis.
        order = page.evaluate(
            """() => [...document.querySelectorAll('#result > section, #result > div')]
                 .map(e => e.className)"""
        )
        assert (
            order.index("block warnings screen-only")
            == order.index("block headline headline-demoted") + 1
        )
        page.screenshot(path=str(artefacts / f"first-screen-{width}x{height}.png"))
    finally:
        context.close()


def _pdf_text(pdf: Path) -> str:
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "poppler-utils is missing: run the README's test command"
    raw = subprocess.run([pdftotext, str(pdf), "-"], capture_output=True, text=True, check=True)
    return " ".join(raw.stdout.split())


def _pages(pdf: Path) -> int:
    pdfinfo = shutil.which("pdfinfo")
    assert pdfinfo, "poppler-utils is missing: run the README's test command"
    info = subprocess.run([pdfinfo, str(pdf)], capture_output=True, text=True, check=True)
    line = next(x for x in info.stdout.splitlines() if x.startswith("Pages:"))
    return int(line.split()[1])


_PRINT_SIZES = """() => {
  const out = {body: [], figure: []};
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim()) continue;
    const el = node.parentElement;
    if (!el || el.closest("svg")) continue;
    if (el.getClientRects().length === 0) continue;  // not printed
    const size = parseFloat(getComputedStyle(el).fontSize);
    out.body.push([size, node.textContent.trim().slice(0, 40)]);
  }
  for (const t of document.querySelectorAll("svg text")) {
    if (t.getClientRects().length === 0) continue;
    const scale = t.ownerSVGElement.getScreenCTM().a;
    out.figure.push([parseFloat(getComputedStyle(t).fontSize) * scale, t.textContent.trim()]);
  }
  return out;
}"""


@pytest.mark.parametrize(
    ("paper", "content_width_px"),
    # The printable width (paper − 2 × 15 mm) in CSS px, so sizes measured on screen
    # in print media are the printed ones.
    [pytest.param("A4", 680, id="A4"), pytest.param("Letter", 703, id="Letter")],
)
@pytest.mark.hazard("H-16")
def test_h16_densest_printout_is_one_page_chart_document(
    browser: Any, server_url: str, artefacts: Path, paper: str, content_width_px: int
) -> None:
    context = browser.new_context(viewport={"width": content_width_px, "height": 900})
    page = context.new_page()
    try:
        _result(page, server_url, DENSE)
        codes = page.evaluate(
            "() => [...document.querySelectorAll('.warnings li')].map(li => li.dataset.code)"
        )
        # Every warning that can fire together for ACLF (follow-up, plausibility,
        # evidence limits, labs): if one stops firing, the densest case is not dense.
        assert set(codes) >= {
            "meld_rose",
            "tbil_rose",
            "alt_fall_with_worsening",
            "alt_day15_off_marker_day",
            "tbil_day60_off_marker_day",
            "tbil_day90_off_marker_day",
            "tbil_day60_check_unit",
            "tbil_day90_check_unit",
            "tbil_below_type_definition",
            "meld_below_10",
            "alt_below_5",
            "meld_after_floor",
            "baseline_meld_below_20",
            "tbil_at_or_below_pooled",
            "meld_labs_disagree",
        }, codes
        titles = page.locator(".warning-title").all_inner_texts()
        page.emulate_media(media="print")
        sizes = page.evaluate(_PRINT_SIZES)
        small = [
            (px * PT_PER_CSS_PX, t) for px, t in sizes["body"] if px * PT_PER_CSS_PX < BODY_MIN_PT
        ]
        assert not small, f"printed text below {BODY_MIN_PT} pt: {small[:5]}"
        assert sizes["figure"], "no figure printed"
        tiny = [
            (px * PT_PER_CSS_PX, t)
            for px, t in sizes["figure"]
            if px * PT_PER_CSS_PX < FIGURE_LABEL_MIN_PT
        ]
        assert not tiny, f"figure labels below {FIGURE_LABEL_MIN_PT} pt: {tiny[:5]}"
        # The reference is isolated, so right-to-left characters cannot reorder the line.
        assert page.locator(".print-meta bdi.patient-ref").inner_text() == DENSE_REF

        pdf = artefacts / f"summary-densest-{paper}.pdf"
        page.pdf(path=str(pdf), format=paper, print_background=False)
        assert _pages(pdf) == 1, f"the densest printout runs over one {paper} page"
        text = _pdf_text(pdf)
        for expected in [
            DENSE_REF,
            "Assessed",
            "after MSCT",
            "Dr Alexandra Example-Clinician",
            "Expected MELD after MSCT: 6 (the lowest MELD)",
            "14.93 ± 1.24",
            "MD = -3.27, 95%CI: -6.07~-0.48",  # Ding et al. 2024 abstract, as printed
            "10.1155/2018/9231710",
            "10.12449/JCH240822",
            "cao2018-abstract-v2",
            "ding2024-abstract-v1",
            "Interpretation and plan",
            "Signature",
            f"{len(codes)} warnings",
            *titles,
        ]:
            assert expected in text, f"{expected!r} missing from the {paper} printout"
        for removed in ("chance of any", "Scenario range", "implied decline", "Edit inputs"):
            assert removed not in text, f"{removed!r} printed on the {paper} summary"
        if shutil.which("pdftoppm"):
            subprocess.run(
                ["pdftoppm", "-png", "-r", "70", "-singlefile", str(pdf), str(pdf.with_suffix(""))],
                check=True,
            )
    finally:
        context.close()


@pytest.mark.parametrize("failure_type", ["ACLF", "CLF", "ALF", "SALF"])
@pytest.mark.hazard("H-01")
def test_h01_no_chance_range_or_implied_decline_on_the_printout(
    page: Any, server_url: str, artefacts: Path, failure_type: str
) -> None:
    """The numbers the source cannot support are absent from the printed PDF too."""
    _result(page, server_url, {**SLIP, "failure_type": failure_type, "meld": "28", "tbil": "320"})
    pdf = artefacts / f"summary-{failure_type}.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=False)
    text = _pdf_text(pdf).lower()
    assert "cao2018-abstract-v2" in text  # the printout was read
    for removed in ("chance", "scenario", "95% of patients", "implied decline", "probab"):
        assert removed not in text, f"{removed!r} on the {failure_type} printout"
    if failure_type in ("ALF", "SALF"):
        assert "no estimate" in text and "urgent liver transplantation" in text
        assert "baseline meld ≥ 20" not in text
    else:
        assert "expected meld after msct: about" in text


def test_another_sites_page_cannot_post_the_form(page: Any, server_url: str) -> None:
    """A page that is not the app's own posts the form: the browser says so, and the
    server refuses before computing anything (no result renders on the app's origin)."""
    page.set_content(
        f'<form method="post" action="{server_url}/">'
        '<input name="failure_type" value="ACLF"><input name="meld" value="28">'
        '<input name="alt" value="240"><input name="tbil" value="320">'
        '<button type="submit">go</button></form>'
    )
    with page.expect_navigation():
        page.click("button")
    assert "only accepts requests from its own pages" in page.inner_text("body")
    assert "Expected MELD after MSCT" not in page.content()
