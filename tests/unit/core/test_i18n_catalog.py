"""The Chinese catalog is complete and keeps every number, unit and placeholder.

The messages are extracted here with Babel's own API, from the Python sources and
the templates, with the methods and keywords of ``babel.cfg``: a string marked in
the code but missing from the catalog (or only fuzzy, or empty) fails, and so does a
translation that drops, adds or changes a placeholder (``{meld}``, ``%(count)s``), a
digit, or a unit (H-24).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pytest
from babel.messages.catalog import Message

from calc.core import i18n
from tests.catalog import PO, ROOT, catalog, extracted


def test_extraction_finds_the_templates_and_the_core() -> None:
    ids = extracted()
    # One from each kind of source: a template, a form label, a validation message,
    # a warning title, a plural in a template.
    for msgid in (
        "Skip to main content",
        "Baseline MELD (classic MELD, points)",
        "{label} must be a whole number from {range}.",
        "Baseline MELD below 10",
        "There is a problem with %(count)s input",
    ):
        assert msgid in ids, msgid
    assert len(ids) > 200


def test_every_marked_message_has_a_chinese_translation() -> None:
    cat = catalog()
    missing, fuzzy, empty = [], [], []
    for msgid in extracted():
        message = cat.get(msgid)
        if message is None:
            missing.append(msgid)
        elif message.fuzzy:
            fuzzy.append(msgid)
        elif not _strings(message) or not all(_strings(message)):
            empty.append(msgid)
    assert not missing, f"not in {PO.name}: {missing}"
    assert not fuzzy, f"fuzzy: {fuzzy}"
    assert not empty, f"not translated: {empty}"


def test_the_catalog_holds_no_message_the_code_no_longer_marks() -> None:
    ids = set(extracted())
    stale = [m.id for m in catalog() if m.id and _first(m.id) not in ids]
    assert not stale, f"in the catalog but not marked in the code: {stale}"


# --------------------------------------------------------------------------
# Numbers, units and placeholders survive translation (H-24)

_PLACEHOLDER = re.compile(r"\{[a-z_0-9]+(?:![rsa])?\}|%\([a-z_0-9]+\)s")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
UNITS = ("U/L", "μkat/L", "ukat/L", "μmol/L", "umol/L", "mg/dL", "g/dL", "g/L", "mmol/L", "KiB")


def problems(msgid: str, msgstr: str) -> list[str]:
    """How ``msgstr`` changes a placeholder, a number or a unit of ``msgid`` (none: [])."""
    found = []
    for what, pattern in (("placeholders", _PLACEHOLDER), ("numbers", _NUMBER)):
        if sorted(pattern.findall(msgid)) != sorted(pattern.findall(msgstr)):
            found.append(f"{what} {pattern.findall(msgid)} -> {pattern.findall(msgstr)}")
    for unit in UNITS:
        if msgid.count(unit) != msgstr.count(unit):
            found.append(f"unit {unit}")
    return found


def _first(msgid: str | Iterable[str]) -> str:
    return msgid if isinstance(msgid, str) else next(iter(msgid))


def _strings(message: Message) -> list[str]:
    s = message.string
    return [s] if isinstance(s, str) else list(s)


def _pairs() -> list[tuple[str, str]]:
    out = []
    for m in catalog():
        if not m.id:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        for msgstr in _strings(m):
            # Chinese has one plural form: it is checked against the plural msgid.
            out.append((ids[-1], msgstr))
    return out


@pytest.mark.hazard("H-24")
@pytest.mark.parametrize(("msgid", "msgstr"), _pairs(), ids=lambda v: v[:40])
def test_h24_a_translation_keeps_every_placeholder_number_and_unit(msgid: str, msgstr: str) -> None:
    assert not problems(msgid, msgstr), problems(msgid, msgstr)


@pytest.mark.hazard("H-24")
@pytest.mark.parametrize(
    ("msgid", "bad"),
    [
        # A dropped placeholder: the baseline MELD would vanish from the sentence.
        ("{label} must be a whole number from {range}.", "{label} 必须是整数。"),
        # A renamed placeholder: .format() would fail, or fill the wrong value.
        ("Baseline MELD %(meld)s", "基线 MELD %(score)s"),
        # A changed number: 5 U/L typed as 50.
        ("ALT below 5 U/L: check the value", "ALT 低于 50 U/L：请核对数值"),
        # A changed unit.
        ("ALT below 5 U/L: check the value", "ALT 低于 5 μkat/L：请核对数值"),
        # A dropped number.
        ("day %(day)s after MSCT (±5 days)", "MSCT 后第 %(day)s 天"),
    ],
)
def test_h24_the_check_fails_a_translation_that_changes_a_number_or_placeholder(
    msgid: str, bad: str
) -> None:
    """Control: each of these mistranslations is caught by the check above."""
    assert problems(msgid, bad)


@pytest.mark.hazard("H-24")
def test_h24_every_chinese_message_formats_with_the_english_values() -> None:
    """Each translation formats with exactly the values its English formats with."""
    for msgid, msgstr in _pairs():
        names = set(re.findall(r"\{([a-z_0-9]+)(?:![rsa])?\}", msgid))
        if names:
            values = {n: f"<{n}>" for n in names}
            assert msgid.format(**values).count("<") == msgstr.format(**values).count("<")
        percent = set(re.findall(r"%\(([a-z_0-9]+)\)s", msgid))
        if percent:
            values = {n: f"<{n}>" for n in percent}
            assert (msgid % values).count("<") == (msgstr % values).count("<")


def test_clinical_terms_follow_the_glossary() -> None:
    """The terms of docs/glossary-zh.md, with their abbreviations kept beside them."""
    cat = catalog()
    expected = {
        "Acute-on-chronic liver failure: acute worsening of a known chronic liver disease"
        " with organ failure.": "慢加急性肝衰竭(ACLF)",
        "Chronic liver failure: progressive failure of liver function in chronic liver"
        " disease (decompensated cirrhosis).": "慢性肝衰竭(CLF)",
        "Acute liver failure: severe liver injury with coagulopathy and encephalopathy"
        " within 2 weeks of onset, in a patient without prior liver disease.": "急性肝衰竭(ALF)",
        "Subacute liver failure: liver failure developing 2 to 26 weeks after onset, without"
        " prior liver disease (Chinese Medical Association guideline, 2024).": "亚急性肝衰竭(SALF)",
        "Baseline MELD (classic MELD, points)": "终末期肝病模型(MELD)评分",
        "ALT (alanine aminotransferase)": "丙氨酸氨基转移酶(ALT)",
        "Total bilirubin (TBIL)": "总胆红素(TBil)",
    }
    for msgid, term in expected.items():
        message = cat.get(msgid)
        assert message is not None and term in message.string, (msgid, term)
    glossary = (ROOT / "docs" / "glossary-zh.md").read_text("utf-8")
    for term in expected.values():
        assert term.split("(")[0] in glossary, term


def test_the_runtime_reads_the_po_when_no_mo_is_built() -> None:
    """An editable install has no .mo: the .po is compiled in memory, and it says the same."""
    i18n.translations.cache_clear()
    try:
        with i18n.language(i18n.CHINESE):
            assert i18n.gettext("Type of liver failure") == "肝衰竭类型"
            plural = "There is a problem with %(count)s inputs"
            assert i18n.ngettext("There is a problem with %(count)s input", plural, 3) == (
                "有 %(count)s 项输入存在问题"
            )
        assert i18n.gettext("Type of liver failure") == "Type of liver failure"
    finally:
        i18n.translations.cache_clear()


# --------------------------------------------------------------------------
# Words of the evidence files shown translated


def test_every_word_the_catalog_translates_from_the_evidence_files_is_in_them() -> None:
    """A sentence of the files marked for translation (calc.core.engine.EVIDENCE_WORDS) that
    the files no longer hold would leave the new sentence in English without a failure."""
    import json

    from calc.core.engine import EVIDENCE_WORDS

    strings: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, str):
            strings.add(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for name in ("evidence.json", "ding2024.json"):
        walk(json.loads((ROOT / "calc" / "core" / "data" / name).read_text("utf-8")))
    assert [w for w in EVIDENCE_WORDS if w not in strings] == []


def test_the_limits_of_the_evidence_are_worded_in_chinese() -> None:
    """What the meta-analysis does not report is shown in Chinese, item by item."""
    from calc.core.engine import LIMITS_FIXED, limits_text
    from calc.core.evidence import load_evidence

    evidence = load_evidence()
    assert len(evidence.not_reported) >= 5
    with i18n.language(i18n.CHINESE):
        limits = limits_text(evidence.not_reported)
    for item, line in zip(evidence.not_reported, limits[len(LIMITS_FIXED) :], strict=True):
        assert item not in line and re.search(r"[\u4e00-\u9fff]", line), line
