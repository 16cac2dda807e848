"""calc --lang, and the language of the POSIX locale variables."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

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


# --------------------------------------------------------------------------
# No English sentence is left in a Chinese run: help, usage errors, calc meld, calc cohort

# What may stay in Latin letters in a Chinese run: options, units, abbreviations, DOIs,
# citations, metavars, the CSV's column names and the command's own name.
_ALLOWED = re.compile(
    r"--?[a-z][a-z0-9-]*"  # --inr, --no-dialysis, -h, -o
    r"|doi:10\.[0-9]+/[A-Za-z0-9./-]+"
    r"|(?:Cao|Ding) et al\."
    r"|\bcalc(?: (?:assess|meld|cohort|serve))?\b"
    r"|[μu]mol/L|mg/dL|g/dL|g/L|U/L|μkat/L|ukat/L|mmol/L"
    r"|\b[A-Za-z_]+\.csv\b"
    r"|\b[a-z]+(?:_[a-z*]+)+\b"  # CSV columns: failure_type, labs_inr, labs_*
    r"|\d+(?:\.\d+)?"
)
_ENGLISH = re.compile(r"\b[a-z]+(?:[ \t]+[a-z]+)+\b")  # two or more lowercase words in a row
_HAN = re.compile(r"[\u4e00-\u9fff]")


def english_left(text: str) -> list[str]:
    """The runs of English words left in ``text`` once the allowed tokens are taken out."""
    return _ENGLISH.findall(_ALLOWED.sub(" ", text))


def _chinese_run(how: str, *args: str) -> Result:
    """``calc args`` in Chinese, chosen by --lang or by LANG (the other locale variables empty)."""
    env = {"LC_ALL": "", "LC_MESSAGES": "", "LANG": ""}
    if how == "LANG":
        env["LANG"] = "zh_CN.UTF-8"
    else:
        args = ("--lang", "zh-CN", *args)
    return CliRunner(env=env).invoke(main, list(args), prog_name="calc")


MELD_LABS = ["--bilirubin", "51", "--bilirubin-unit", "umol/L", "--inr", "1.5",
             "--creatinine", "1.2", "--creatinine-unit", "mg/dL", "--sodium", "130",
             "--albumin", "30", "--albumin-unit", "g/L", "--sex", "female"]  # fmt: skip

MELD_BOUNDS_LOW = ["--bilirubin", "0.3", "--bilirubin-unit", "mg/dL", "--inr", "0.9",
                   "--creatinine", "0.5", "--creatinine-unit", "mg/dL", "--sodium", "140",
                   "--albumin", "4", "--albumin-unit", "g/dL", "--sex", "male"]  # fmt: skip
MELD_BOUNDS_HIGH = ["--bilirubin", "30", "--bilirubin-unit", "mg/dL", "--inr", "4",
                    "--creatinine", "5", "--creatinine-unit", "mg/dL", "--sodium", "120",
                    "--albumin", "1", "--albumin-unit", "g/dL", "--sex", "female"]  # fmt: skip

# Each case: the arguments, and the exit status.
CHINESE_CASES = {
    "calc --help": (["--help"], 0),
    "calc assess --help": (["assess", "--help"], 0),
    "calc meld --help": (["meld", "--help"], 0),
    "calc cohort --help": (["cohort", "--help"], 0),
    "calc serve --help": (["serve", "--help"], 0),
    "unknown option": (["meld", "--female"], 2),
    "unknown option, close to one": (["meld", "--dialysi"], 2),
    "unknown command": (["melt"], 2),
    "missing required option": (["assess", "--meld", "20"], 2),
    "missing value": (["meld", "--inr"], 2),
    "bad choice": (
        ["assess", "--failure-type", "XLF", "--meld", "20", "--alt", "240", "--tbil", "320"],
        2,
    ),
    "out of range": (["serve", "--port", "0"], 2),
    "unexpected argument": (["meld", "extra"], 2),
    "calc meld": (["meld", *MELD_LABS], 0),
    # Every kind of bound of the OPTN/UNOS rules and MELD 3.0 (Kim 2021) at once: labs
    # below the floor of 1.0, creatinine above the cap, sodium and albumin outside their
    # bounds, scores capped at 40, MELD(i) at or below 11 with a sodium.
    "calc meld, bounds below": (["meld", *MELD_BOUNDS_LOW], 0),
    "calc meld, bounds above": (["meld", *MELD_BOUNDS_HIGH], 0),
    "calc meld, on dialysis": (["meld", *MELD_BOUNDS_HIGH, "--dialysis"], 0),
}


@pytest.mark.parametrize("how", ["--lang", "LANG"])
@pytest.mark.parametrize("case", list(CHINESE_CASES))
def test_a_chinese_run_leaves_no_english_sentence(how: str, case: str) -> None:
    args, status = CHINESE_CASES[case]
    result = _chinese_run(how, *args)
    assert result.exit_code == status, result.output
    assert _HAN.search(result.output), result.output
    assert not english_left(result.output), (english_left(result.output), result.output)
    assert i18n.get_language() == i18n.DEFAULT  # nothing left behind in the process


@pytest.mark.parametrize("case", list(CHINESE_CASES))
def test_the_check_finds_the_english_of_each_case(case: str) -> None:
    """Control: the same run in English fails the check above."""
    args, status = CHINESE_CASES[case]
    result = CliRunner(env={"LC_ALL": "", "LC_MESSAGES": "", "LANG": ""}).invoke(
        main, args, prog_name="calc"
    )
    assert result.exit_code == status
    assert english_left(result.output) and not _HAN.search(result.output), result.output


def test_click_s_words_in_chinese_and_english_after_them(run_cli: RunCli) -> None:
    zh = run_cli("--lang", "zh-CN", "meld", "--help").output
    assert zh.startswith("用法: calc meld [OPTIONS]\n")
    assert "选项:" in zh and "-h, --help" in zh and "显示本帮助并退出。" in zh
    assert "[默认值：no-dialysis]" in zh
    top = run_cli("--lang", "zh-CN", "--help").output
    assert "显示版本并退出。" in top and "命令:" in top
    assert run_cli("--lang", "zh-CN", "--version").output.startswith("calc，版本 ")
    error = CliRunner(env={"LANG": "zh_CN.UTF-8"}).invoke(main, ["assess"], prog_name="calc")
    assert error.output == (
        "用法: calc assess [OPTIONS]\n运行 'calc assess --help' 查看帮助。\n\n"
        "错误：缺少选项 '--failure-type'.\n"
    )
    cohort = CliRunner(env={"LANG": "zh_CN.UTF-8"}).invoke(
        main, ["cohort", "/", "-o", "out.csv"], prog_name="calc"
    )
    assert "错误：'INPUT.csv' 的值无效：文件 '/' 是目录。" in cohort.output
    # click words its help option and a file's name once: English is English after Chinese.
    en = run_cli("meld", "--help").output
    assert en.startswith("Usage: calc meld [OPTIONS]\n")
    assert "Show this message and exit." in en and "[default: no-dialysis]" in en
    assert run_cli("--version").output.startswith("calc, version ")
    cohort = CliRunner(env={"LANG": ""}).invoke(main, ["cohort", "/", "-o", "x"], prog_name="calc")
    assert "Error: Invalid value for 'INPUT.csv': File '/' is a directory." in cohort.output
    assert i18n.get_language() == i18n.DEFAULT


def test_every_click_module_that_translates_is_hooked() -> None:
    """A click module that imports the stdlib's gettext looks its messages up in our catalog."""
    import gettext
    import importlib

    import click

    from calc.cli import clickwords

    folder = Path(click.__file__).parent
    translating = {
        f"click.{p.stem}"
        for p in folder.glob("*.py")
        if "from gettext import" in p.read_text("utf-8")
    }
    assert translating - {"click._winconsole"} == set(clickwords.CLICK_MODULES)
    for name in clickwords.CLICK_MODULES:
        module = importlib.import_module(name)
        assert getattr(module, "_", None) is not gettext.gettext, name
        assert getattr(module, "ngettext", None) is not gettext.ngettext, name


# --------------------------------------------------------------------------
# calc meld: Chinese words, the same numbers, the English as it was

MELD_ENGLISH = """\
Classic MELD: 17
MELD-Na: 22 (context)
MELD 3.0: 23 (context)
Working:
  bilirubin: 51 μmol/L = 2.98246 mg/dL
  INR: 1.5
  creatinine: 1.2 mg/dL
  sodium: 130 mmol/L
  albumin: 30 g/L = 3 g/dL
  dialysis ≥ 2× in the past week: no
  classic MELD used bilirubin 2.98246 mg/dL, INR 1.5, creatinine 1.2 mg/dL; \
MELD(i) = 16.847 → 17 → MELD 17
  MELD-Na: MELD(i) 17, sodium 130 mmol/L → 22.31 → 22
  MELD 3.0 (female): bilirubin 2.98246, INR 1.5, creatinine 1.2, sodium 130, albumin 3 \
→ 22.69 → 23
"""


def test_calc_meld_in_chinese_has_the_english_numbers(run_cli: RunCli) -> None:
    en = run_cli("meld", *MELD_LABS).output
    assert en == MELD_ENGLISH
    zh = run_cli("--lang", "zh-CN", "meld", *MELD_LABS).output
    assert zh.splitlines()[:5] == [
        "经典 MELD：17",
        "MELD-Na：22（仅供参考）",
        "MELD 3.0：23（仅供参考）",
        "计算过程：",
        "  胆红素：51 μmol/L = 2.98246 mg/dL",
    ]
    numbers = re.compile(r"\d+(?:\.\d+)?")
    assert numbers.findall(zh) == numbers.findall(en)
    # The JSON is the same in both languages (its keys and values are an interface).
    zh_json = run_cli("--lang", "zh-CN", "meld", *MELD_LABS, "--json").output
    assert zh_json == run_cli("meld", *MELD_LABS, "--json").output


# --------------------------------------------------------------------------
# calc cohort: the summary on standard error; the CSV is the same in both languages


@pytest.mark.parametrize("how", ["--lang", "LANG"])
def test_the_cohort_summary_in_chinese(how: str, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,failure_type,meld,alt,tbil\n1,ACLF,28,240,320\n2,ACLF,99,240,320\n")
    zh = _chinese_run(how, "cohort", str(source), "-o", str(tmp_path / "zh.csv"))
    assert zh.exit_code == 0, zh.output
    assert re.fullmatch(
        r"calc cohort：共 2 行：已评估 1 行，拒绝 1 行（见 error 列），用时 \d+\.\d s\n", zh.stderr
    ), zh.stderr
    assert not english_left(zh.stderr)
    en = CliRunner(env={"LANG": ""}).invoke(
        main, ["cohort", str(source), "-o", str(tmp_path / "en.csv")], prog_name="calc"
    )
    assert re.fullmatch(
        r"calc cohort: 2 rows: 1 assessed, 1 refused \(see the error column\) in \d+\.\d s\n",
        en.stderr,
    )
    zh_rows = (tmp_path / "zh.csv").read_text("utf-8").splitlines()
    en_rows = (tmp_path / "en.csv").read_text("utf-8").splitlines()
    assert zh_rows[0] == en_rows[0]  # the columns' names: English in both
    assert zh_rows[1] == en_rows[1]  # an assessed row: the same values


@pytest.mark.parametrize("how", ["--lang", "LANG"])
def test_a_cohort_file_error_in_chinese(how: str, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,failure_type,meld\n1,ACLF,28\n")
    result = _chinese_run(how, "cohort", str(source), "-o", str(tmp_path / "out.csv"))
    assert result.exit_code == 2
    assert "表头缺少列 alt, tbil。必需列：failure_type, meld, alt, tbil" in result.stderr
