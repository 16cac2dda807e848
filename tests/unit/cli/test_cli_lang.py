"""calc --lang, and the language of the POSIX locale variables."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result

from calc.cli.main import main
from calc.core import i18n

RunCli = Callable[..., Result]
PATIENT = ["--failure-type", "CLF", "--meld", "8", "--alt", "3", "--tbil", "50"]


@pytest.mark.parametrize("tag", ["zh-CN", "zh", "zh-Hans", "zh-Hans-CN", "zh_CN"])
def test_lang_gives_chinese_errors(run_cli: RunCli, tag: str) -> None:
    result = run_cli("--lang", tag, "assess", "--failure-type", "ACLF", "--meld", "50",
                     "--alt", "240", "--tbil", "320")  # fmt: skip
    assert result.exit_code == 2
    assert result.output.strip() == "calc: error: --meld: 基线 MELD 必须是 6 至 40 之间的整数。"
    assert i18n.get_language() == i18n.DEFAULT  # nothing left behind in the process


def test_lang_gives_chinese_warning_titles_and_the_same_numbers(run_cli: RunCli) -> None:
    zh = json.loads(run_cli("--lang", "zh-CN", "assess", *PATIENT, "--json").output)
    en = json.loads(run_cli("assess", *PATIENT, "--json").output)
    assert [w["title"] for w in zh["warnings"]][:2] == [
        "基线 MELD 低于 10",
        "ALT 低于 5 U/L：请核对数值",
    ]
    assert [w["code"] for w in zh["warnings"]] == [w["code"] for w in en["warnings"]]
    assert zh["meld_reduction"] == {
        **en["meld_reduction"],
        "what_it_is": zh["meld_reduction"]["what_it_is"],
        "spread_kind_text": zh["meld_reduction"]["spread_kind_text"],
    }
    text = run_cli("--lang", "zh-CN", "assess", *PATIENT).output
    assert "6（MELD 最低值）" in text


@pytest.mark.parametrize(
    ("env", "chinese"),
    [
        ({"LANG": "zh_CN.UTF-8"}, True),
        ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, True),
        ({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, False),
        ({"LC_ALL": "zh_CN.UTF-8"}, True),
        ({"LANG": "zh_TW.UTF-8"}, False),
        ({"LANG": "C.UTF-8"}, False),
    ],
)
def test_the_locale_variables_choose_when_lang_is_not_given(
    env: dict[str, str], chinese: bool
) -> None:
    clean = {"LC_ALL": "", "LC_MESSAGES": "", "LANG": "", **env}
    result = CliRunner(env=clean).invoke(
        main, ["assess", "--failure-type", "ACLF", "--meld", "50", "--alt", "240",
               "--tbil", "320"], prog_name="calc")  # fmt: skip
    assert ("基线 MELD" in result.output) is chinese, result.output


def test_lang_overrides_the_environment() -> None:
    result = CliRunner(env={"LANG": "zh_CN.UTF-8"}).invoke(
        main, ["--lang", "en", "assess", "--failure-type", "ACLF", "--meld", "50", "--alt",
               "240", "--tbil", "320"], prog_name="calc")  # fmt: skip
    assert "Baseline MELD must be a whole number from 6 to 40." in result.output


def test_an_unknown_lang_is_a_usage_error(run_cli: RunCli) -> None:
    result = run_cli("--lang", "fr", "assess", *PATIENT)
    assert result.exit_code == 2
    assert result.output.strip() == "calc: error: --lang must be one of en, zh-CN, not 'fr'"


def test_the_plain_text_summary_in_chinese(run_cli: RunCli) -> None:
    args = ["--failure-type", "ACLF", "--meld", "28", "--alt", "240", "--tbil", "320",
            "--transplant-date", "2026-03-05"]  # fmt: skip
    zh = run_cli("--lang", "zh-CN", "assess", *args).output
    en = run_cli("assess", *args).output
    assert "MSCT 后预期 MELD：约 13——" in zh and "（基线 28 − 14.93 = 13.07）" in zh
    assert "MSCT 日期 2026-03-05 (2026年3月5日)" in zh
    assert "Expected MELD after MSCT: about 13 — " in en and "5 March 2026" in en
    # The same numbers in both, once the dates in words (which differ by design) are set aside.
    numbers = re.compile(r"\d+(?:\.\d+)?")
    zh_words = re.sub(r"\d{4}年\d{1,2}月\d{1,2}日", "", zh)
    en_words = re.sub(r"\d{1,2} [A-Z][a-z]+ \d{4}", "", en)
    assert zh_words != zh and en_words != en
    assert sorted(numbers.findall(zh_words)) == sorted(numbers.findall(en_words))


def test_the_help_in_chinese(run_cli: RunCli) -> None:
    top = run_cli("--lang", "zh-CN", "--help").output
    assert "肝衰竭间充质干细胞(MSC)移植（MSCT）后的预期病程。" in top
    assert "启动生产服务器（gunicorn）" in top
    assess = run_cli("--lang", "zh-CN", "assess", "--help").output
    assert "基线经典 MELD，整数 6–40（或由化验值计算）。" in assess
    assert "INR（无单位），0.5–20。" in assess
    meld = run_cli("--lang", "zh-CN", "meld", "--help").output
    assert "总胆红素，单位由 --bilirubin-unit 指定。" in meld
    # And English stays as it was, whatever ran before in this process.
    english = run_cli("assess", "--help").output
    assert "Baseline classic MELD, whole number 6–40" in english
