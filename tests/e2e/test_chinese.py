"""The Chinese pages in Debian's chromium: keyboard entry, accessibility, the printout.

The browser asks for Chinese as a browser in China does (``Accept-Language: zh-CN``).
The densest input (every warning at once) must still print on one A4 and one Letter
page, with its Chinese words, the MELD, the expected value and the DOIs in the PDF's
text; the CJK glyphs come from Debian's fonts-noto-cjk (installed by tests/run.sh).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.e2e.test_result_safety import DENSE, _pages, _pdf_text, _result

pytestmark = pytest.mark.e2e

ZH = {"Accept-Language": "zh-CN"}
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
    "resultTypes": ["violations"],
}


def _assert_accessible(page: Any, label: str) -> None:
    results = Axe().run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, f"{label}:\n{results.generate_report()}"


def _english_fragments_are_marked(page: Any) -> None:
    """DOIs and citations stay in English inside the Chinese page, and say so (lang="en")."""
    unmarked = page.evaluate(
        """() => [...document.querySelectorAll('a[href^="https://doi.org/"]')]
              .filter(a => a.closest('[lang]').getAttribute('lang') !== 'en')
              .map(a => a.textContent)"""
    )
    assert unmarked == [], f"DOI links without lang=en: {unmarked}"


def test_chinese_form_by_keyboard_to_result(browser: Any, server_url: str, artefacts: Path) -> None:
    context = browser.new_context(extra_http_headers=ZH, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(server_url + "/")
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        assert "肝衰竭 MSCT 后的预期病程" in page.inner_text("h1")
        _assert_accessible(page, "empty form, zh-CN")
        _english_fragments_are_marked(page)
        # Keyboard only: to the type, Space picks ACLF, then each value.
        for _ in range(12):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.name") == "failure_type":
                break
        assert page.evaluate("document.activeElement.name") == "failure_type"
        page.keyboard.press("Space")
        values = {"meld": "28", "alt": "240", "tbil": "320", "transplant_date": "2026-03-05"}
        for name, value in values.items():
            for _ in range(6):
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.name") == name:
                    break
            assert page.evaluate("document.activeElement.name") == name
            page.keyboard.type(value)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        text = page.inner_text("#result")
        assert "MSCT 后的预期病程：慢加急性肝衰竭 (ACLF)" in text
        assert "MSCT 后预期 MELD： 约 13" in text or "MSCT 后预期 MELD：约 13" in text
        assert "28 − 14.93 = 13.07" in text and "14.93 ± 1.24" in text
        assert "2026年3月20日" in text  # day 15 after 2026-03-05, in the locale's words
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        _assert_accessible(page, "result, zh-CN")
        _english_fragments_are_marked(page)
        page.screenshot(path=str(artefacts / "result-zh-CN.png"), full_page=True)
        page.emulate_media(media="print")
        _assert_accessible(page, "result, zh-CN, print media")
    finally:
        context.close()


@pytest.mark.parametrize(
    ("paper", "content_width_px"),
    [pytest.param("A4", 680, id="A4"), pytest.param("Letter", 703, id="Letter")],
)
@pytest.mark.hazard("H-24")
def test_h24_the_densest_chinese_printout_is_one_page_with_its_numbers(
    browser: Any, server_url: str, artefacts: Path, paper: str, content_width_px: int
) -> None:
    context = browser.new_context(
        extra_http_headers=ZH, viewport={"width": content_width_px, "height": 900}
    )
    page = context.new_page()
    try:
        _result(page, server_url, DENSE)
        count = page.locator(".warnings li").count()
        assert count >= 15
        page.emulate_media(media="print")
        pdf = artefacts / f"summary-densest-zh-CN-{paper}.pdf"
        page.pdf(path=str(pdf), format=paper, print_background=False)
        assert _pages(pdf) == 1, f"the densest Chinese printout runs over one {paper} page"
        text = _pdf_text(pdf)
        for expected in [
            "慢加急性肝衰竭",  # the type, by its Chinese name
            "(ACLF)",
            "MELD",
            "MSCT 后预期 MELD：",
            "6（MELD 最低值）",  # the expected value (the floor, for this input)
            "14.93 ± 1.24",
            "10.1155/2018/9231710",
            "10.12449/JCH240822",
            "解读与计划",
            f"{count} 条警示",
        ]:
            assert expected in text, f"{expected!r} missing from the Chinese {paper} printout"
        if shutil.which("pdftoppm"):
            subprocess.run(
                ["pdftoppm", "-png", "-r", "60", "-singlefile", str(pdf), str(pdf.with_suffix(""))],
                check=True,
            )
    finally:
        context.close()


def test_the_page_scripts_words_are_chinese_too(browser: Any, server_url: str) -> None:
    """The date check before submitting speaks the page's language (its words come from
    the server as data-msg-* attributes; the script holds only English fallbacks)."""
    context = browser.new_context(extra_http_headers=ZH)
    page = context.new_page()
    try:
        page.goto(server_url + "/")
        page.check("#failure_type-0")
        page.fill("#meld", "28")
        page.fill("#alt", "240")
        page.fill("#tbil", "320")
        page.fill("#transplant_date", "2026-02-30")
        page.click("form.assessment-form button[type=submit]")
        summary = page.locator("#error-summary")
        summary.wait_for()
        assert page.url.rstrip("/") == server_url  # not submitted
        assert summary.locator("h2").inner_text() == "有 1 个日期存在问题"
        message = "MSCT 日期必须是按 YYYY-MM-DD 填写的有效日期，例如 2026-03-05。"
        assert message in summary.inner_text()
        assert "错误：" in page.locator("#transplant_date-error").inner_text()
        _assert_accessible(page, "client-side date error, zh-CN")
    finally:
        context.close()
