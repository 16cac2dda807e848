"""The ``calc`` command (click.testing.CliRunner on calc.cli.main).

Sources: the numbers are the Cao 2018 abstract's and the hand calculations of
test_engine.py; here they only show that the command prints what the engine
computes, and that its JSON is the API's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from flask.testing import FlaskClient

import calc.core.evidence
from calc.cli.main import assess as assess_command
from calc.cli.main import meld as meld_command
from calc.core.evidence import EvidenceError
from calc.version import __version__

RunCli = Callable[..., Result]
REFERENCE = {"failure_type": "ACLF", "meld": "28", "alt": "240", "tbil": "320"}


def assess_args(**fields: str) -> list[str]:
    """`calc assess` arguments for the reference patient with ``fields`` changed."""
    args = ["assess"]
    for name, value in {**REFERENCE, **fields}.items():
        args += [f"--{name.replace('_', '-')}", value]
    return args


def test_text_summary(run_cli: RunCli) -> None:
    result = run_cli(*assess_args())
    assert result.exit_code == 0
    assert result.stderr == ""
    out = result.stdout
    for phrase in (
        "Inputs: ACLF; baseline MELD 28; ALT 240 U/L; TBIL 320 μmol/L",
        "14.93 ± 1.24",  # Cao 2018 abstract
        # 28 − 14.93 = 13.07, hand calculation; shown as a whole MELD
        "Expected MELD after MSCT: about 13",
        "(baseline 28 − 14.93 = 13.07)",
        "ALT had fallen at about day 15",
        "Dates to check: days 60 and 90",
        "doi:10.1155/2018/9231710",
        "evidence cao2018-abstract-v2",
        "context evidence ding2024-abstract-v1",
    ):
        assert phrase in out


@pytest.mark.parametrize(
    ("fields", "phrases"),
    [
        pytest.param(
            {"failure_type": "CLF"},
            ["4.6 ± 5.66", "Expected MELD after MSCT: about 23", "28 − 4.6 = 23.4"],
            id="CLF",
        ),
        pytest.param({"failure_type": "ALF"}, ["no estimate for ALF"], id="ALF"),
        pytest.param({"failure_type": "SALF"}, ["no estimate for SALF"], id="SALF"),
        pytest.param(
            {"tbil": "5", "tbil_unit": "mg/dL"},
            # 5 × 17.1 = 85.5; the pooled level as printed, 78.57 μmol/L
            ["TBIL 5 mg/dL (= 85.5 μmol/L)", "stable level of 78.57 μmol/L"],
            id="tbil-mg/dL",
        ),
        pytest.param(
            {"alt": "4", "alt_unit": "μkat/L"}, ["ALT 4 μkat/L (= 240 U/L)"], id="alt-μkat/L"
        ),
        pytest.param(
            {"transplant_date": "2024-02-15"},
            # leap year: 2024-02-15 + 15 = 2024-03-01; + 60, + 90 = 2024-04-15, 2024-05-15
            [
                "Date to check: day 15, 2024-03-01 (1 March 2024)",
                "2024-04-15 (15 April 2024), 2024-05-15 (15 May 2024)",
            ],
            id="with-date",
        ),
        pytest.param(  # 20 − 14.93 = 5.07, bounded at 6
            {"meld": "20"},
            ["Expected MELD after MSCT: 6 (the lowest MELD)", "5.07, bounded"],
            id="floored",
        ),
        pytest.param({"meld": " 28 ", "alt": "240.0"}, ["about 13", "13.07"], id="padded-text"),
    ],
)
def test_text_summary_variants(run_cli: RunCli, fields: dict[str, str], phrases: list[str]) -> None:
    result = run_cli(*assess_args(**fields))
    assert result.exit_code == 0, result.stderr
    for phrase in phrases:
        assert phrase in result.stdout


JSON_CASES: list[Any] = [
    # (CLI options, the same patient as an API body)
    pytest.param({}, {"failure_type": "ACLF", "meld": 28, "alt": 240, "tbil": 320}, id="ACLF"),
    pytest.param(
        {"failure_type": "CLF"},
        {"failure_type": "CLF", "meld": 28, "alt": 240, "tbil": 320},
        id="CLF",
    ),
    pytest.param(
        {"failure_type": "ALF"},
        {"failure_type": "ALF", "meld": 28, "alt": 240, "tbil": 320},
        id="ALF",
    ),
    pytest.param(
        {"failure_type": "SALF"},
        {"failure_type": "SALF", "meld": 28, "alt": 240, "tbil": 320},
        id="SALF",
    ),
    pytest.param(
        {
            "meld": "19",
            "alt": "4",
            "alt_unit": "ukat/L",
            "tbil": "4.59",
            "tbil_unit": "mg/dL",
            "transplant_date": "2024-02-15",
        },
        {
            "failure_type": "ACLF",
            "meld": 19,
            "alt": 4,
            "alt_unit": "ukat/L",
            "tbil": 4.59,
            "tbil_unit": "mg/dL",
            "transplant_date": "2024-02-15",
        },
        id="all-options",
    ),
]


@pytest.mark.parametrize(("fields", "body"), JSON_CASES)
def test_json_matches_the_api(
    run_cli: RunCli, client: FlaskClient, fields: dict[str, str], body: dict[str, Any]
) -> None:
    result = run_cli(*assess_args(**fields), "--json")
    assert result.exit_code == 0, result.stderr
    cli_json = json.loads(result.stdout)
    response = client.post("/api/v1/assess", json=body)
    assert response.status_code == 200
    assert cli_json == response.get_json()
    assert cli_json["input"]["failure_type"] == body["failure_type"]


def test_json_keeps_non_ascii_text_readable(run_cli: RunCli) -> None:
    result = run_cli(*assess_args(), "--json")
    assert "14.93 ± 1.24" in result.stdout  # not "\\u00b1"


BAD_VALUES: list[Any] = [
    # (changed option, value, the option the error names)
    pytest.param("meld", "28.5", "--meld", id="meld-not-whole"),
    pytest.param("meld", "41", "--meld", id="meld-above-40"),
    pytest.param("meld", "abc", "--meld", id="meld-text"),
    pytest.param("alt", "nan", "--alt", id="alt-nan"),
    pytest.param("alt", "inf", "--alt", id="alt-inf"),
    pytest.param("alt", "1e309", "--alt", id="alt-1e309"),
    pytest.param("alt", "1_000", "--alt", id="alt-underscore"),
    pytest.param("alt", "0", "--alt", id="alt-zero"),
    pytest.param("tbil", "2,5", "--tbil", id="tbil-comma"),
    pytest.param("tbil", "", "--tbil", id="tbil-empty"),
    pytest.param("tbil_unit", "mmol/L", "--tbil-unit", id="tbil-unit"),
    pytest.param("alt_unit", "IU/L", "--alt-unit", id="alt-unit"),
    pytest.param("failure_type", "HCC", "--failure-type", id="failure-type"),
    pytest.param("transplant_date", "2026-02-30", "--transplant-date", id="date"),
]


@pytest.mark.parametrize(("field", "value", "option"), BAD_VALUES)
def test_bad_value_exits_2_with_one_line_naming_the_option(
    run_cli: RunCli, field: str, value: str, option: str
) -> None:
    result = run_cli(*assess_args(**{field: value}))
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"calc: error: {option}: ")


def test_several_bad_values_still_give_one_line(run_cli: RunCli) -> None:
    result = run_cli(*assess_args(meld="99", alt="x"))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert "--meld: Baseline MELD must be a whole number from 6 to 40." in line
    assert "--alt: ALT must be a plain number" in line


def test_broken_evidence_exits_2_with_one_line(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise EvidenceError("evidence file: field 'meld_reduction.ACLF.mean' is missing")

    monkeypatch.setattr(calc.core.evidence, "load_evidence", broken)
    result = run_cli(*assess_args())
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "calc: error: evidence file: field 'meld_reduction.ACLF.mean' is missing"
    ]


def test_missing_required_option_is_a_usage_error(run_cli: RunCli) -> None:
    result = run_cli("assess", "--failure-type", "ACLF", "--alt", "240", "--tbil", "320")
    assert result.exit_code == 2
    assert "--meld" in result.stderr


@pytest.mark.parametrize(
    ("args", "phrases"),
    [
        (["--help"], ["assess", "serve", "doi:10.1155/2018/9231710"]),
        (["-h"], ["assess", "serve"]),
        (["assess", "--help"], ["--failure-type", "--meld", "--tbil-unit", "--json"]),
        (["assess", "--help"], ["ACLF, CLF, ALF or SALF"]),
    ],
    ids=["main", "short", "assess", "assess-types"],
)
def test_help(run_cli: RunCli, args: list[str], phrases: list[str]) -> None:
    result = run_cli(*args)
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: calc ")
    for phrase in phrases:
        assert phrase in result.stdout


def test_version(run_cli: RunCli) -> None:
    result = run_cli("--version")
    assert result.exit_code == 0
    assert result.stdout == f"calc, version {__version__}\n"


# --------------------------------------------------------------------------
# Hazards: what the command prints

ALL_TYPES = ["ACLF", "CLF", "ALF", "SALF"]
KIND_UNREPORTED = "without saying whether it is a standard deviation (SD) or a standard error"


def cli_outputs(run_cli: RunCli, **fields: str) -> tuple[str, str]:
    text = run_cli(*assess_args(**fields))
    as_json = run_cli(*assess_args(**fields), "--json")
    assert text.exit_code == as_json.exit_code == 0, text.stderr + as_json.stderr
    return text.stdout, as_json.stdout


@pytest.mark.parametrize("failure_type", ALL_TYPES)
@pytest.mark.hazard("H-01")
def test_h01_no_chance_of_improvement_in_the_cli(run_cli: RunCli, failure_type: str) -> None:
    for out in cli_outputs(run_cli, failure_type=failure_type):
        assert "chance" not in out.lower()
        assert "> 99.9 %" not in out
        assert "79 %" not in out  # CLF: norm.sf(0, 4.6, 5.66) = 0.7918, the old "chance"


@pytest.mark.parametrize("failure_type", ["ACLF", "CLF"])
@pytest.mark.hazard("H-02")
def test_h02_the_plus_minus_as_printed_and_no_range_in_the_cli(
    run_cli: RunCli, failure_type: str
) -> None:
    text, as_json = cli_outputs(run_cli, failure_type=failure_type)
    printed = {"ACLF": "14.93 ± 1.24", "CLF": "4.6 ± 5.66"}[failure_type]  # Cao 2018 abstract
    assert f"{printed} as printed; the source prints ± {KIND_UNREPORTED}" in text
    assert json.loads(as_json)["meld_reduction"]["ranges"] == []
    for out in (text, as_json):
        assert "scenario" not in out.lower()
        assert "95% of patients" not in out


@pytest.mark.parametrize("failure_type", ALL_TYPES)
@pytest.mark.hazard("H-03")
def test_h03_no_implied_tbil_decline_in_the_cli(run_cli: RunCli, failure_type: str) -> None:
    for out in cli_outputs(run_cli, failure_type=failure_type, tbil="320"):
        assert "implied decline" not in out.lower()
        assert "decline_" not in out  # no implied_decline_* key in --json
        assert "241.4" not in out  # 320 − 78.57 = 241.43 μmol/L, the old implied decline


@pytest.mark.hazard("H-04")
def test_h04_the_cli_headline(run_cli: RunCli) -> None:
    text, as_json = cli_outputs(run_cli)
    # Cao 2018 abstract: 28 − 14.93 = 13.07 -> about 13; the JSON keeps 13.07.
    assert "Expected MELD after MSCT: about 13 — " in text
    assert "before/after, no control group" in text
    assert "time point not reported" in text
    mr = json.loads(as_json)["meld_reduction"]
    assert (mr["expected_meld_after"], mr["expected_meld_after_display"]) == (13.07, 13)


@pytest.mark.hazard("H-05")
def test_h05_the_cli_shows_the_controlled_evidence_apart(run_cli: RunCli) -> None:
    text, as_json = cli_outputs(run_cli)
    # Ding et al. 2024 abstract (doi:10.12449/JCH240822), as printed.
    assert "Controlled evidence (context, not used in the calculation): Ding et al. 2024" in text
    assert "11 articles, 803 participants" in text
    assert "MELD score at 12 weeks: MD = -3.27, 95%CI: -6.07~-0.48, P = 0.02" in text
    assert "MELD score at 24 weeks: MD = -2.24, 95%CI: -3.16~-1.33, P < 0.000 01" in text
    assert "evidence cao2018-abstract-v2 · context evidence ding2024-abstract-v1" in text
    d = json.loads(as_json)
    assert d["context_evidence"]["used_in_calculation"] is False
    assert d["version"]["context_evidence"] == "ding2024-abstract-v1"


@pytest.mark.parametrize("failure_type", ["CLF", "ALF", "SALF"])
@pytest.mark.hazard("H-05")
def test_h05_the_cli_has_no_controlled_estimate_outside_aclf(
    run_cli: RunCli, failure_type: str
) -> None:
    text, _ = cli_outputs(run_cli, failure_type=failure_type)
    message = f"No controlled MELD estimate (MSC versus control) was found for {failure_type}."
    assert message in text
    for number in ("2.71", "-3.27", "-2.24", "-36.86"):
        assert number not in text
    assert "context evidence ding2024-abstract-v1" in text  # the version is still named


@pytest.mark.parametrize("failure_type", ["SALF", "salf"])
@pytest.mark.hazard("H-06")
def test_h06_the_cli_accepts_salf(run_cli: RunCli, failure_type: str) -> None:
    text, as_json = cli_outputs(run_cli, failure_type=failure_type)
    assert "Expected MELD after MSCT: no estimate for SALF." in text
    assert "No estimate for SALF:" in text
    assert "no SALF-specific data" in text
    assert "urgent liver transplantation" in text
    assert "Baseline MELD ≥ 20" not in text
    d = json.loads(as_json)
    assert (d["baseline_stratum"], d["stratum"]) == (None, None)


@pytest.mark.hazard("H-12")
def test_h12_the_cli_refuses_a_thousands_separator(run_cli: RunCli) -> None:
    result = run_cli(*assess_args(alt="1,200"))
    assert result.exit_code == 2
    assert "1200, not 1,200" in result.stderr
    warned = run_cli(*assess_args(alt="1.200"))  # a valid decimal: 1.2 U/L, warned
    assert warned.exit_code == 0
    assert "ALT 1.2 U/L is below 5 U/L" in warned.stdout


@pytest.mark.parametrize("lab", ["sodium", "albumin"])
def test_a_lone_lab_value_is_refused_as_the_form_refuses_it(
    run_cli: RunCli, client: FlaskClient, lab: str
) -> None:
    """One rule decides whether labs are given: a lone sodium is never silently ignored."""
    result = run_cli(*assess_args(**{lab: "30" if lab == "albumin" else "130"}))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    # As the API: the INR and the creatinine's unit are named as required.
    assert "--inr: INR is required" in line
    assert "--creatinine-unit: Creatinine unit is required" in line
    form = {**REFERENCE, f"lab_{lab}": "30" if lab == "albumin" else "130"}
    page = client.post("/", data=form)
    assert page.status_code == 422
    assert "INR is required" in page.get_data(as_text=True)


# --------------------------------------------------------------------------
# The ``calc`` command with labs and follow-up: ``calc meld`` and ``calc assess``.
#
# Sources of pinned numbers
#   * Published worked examples (classic MELD: Kamath 2001 with the OPTN/UNOS rules;
#     MELD-Na: OPTN 2016): bilirubin 4.2 mg/dL, INR 1.2, creatinine 1.9 mg/dL →
#     MELD(i) 20.039… → MELD 20; with Na 125 → MELD-Na 28 (20 + 1.32 × 12 − 0.033 × 20
#     × 12 = 27.92, hand).
#   * Cao 2018 abstract: ACLF 14.93, TBIL pooled 78.57 μmol/L, ALT at day 15.
# The formulas are tested in tests/unit/core/test_meld.py; here the command prints
# what the core computes, and its JSON is the API's (same code, same floats).

RunCli = Callable[..., Result]
# Lab units have no default on the command line (as in the API): every case names them.
MELD_WORKED_EXAMPLE = [
    "--bilirubin", "4.2", "--bilirubin-unit", "mg/dL",
    "--inr", "1.2", "--creatinine", "1.9", "--creatinine-unit", "mg/dL",
]  # fmt: skip
PATIENT = ["--failure-type", "ACLF", "--alt", "240", "--tbil", "320"]
LABS = ["--inr", "1.2", "--creatinine", "1.9", "--creatinine-unit", "mg/dL"]


def options_of(command: Any) -> set[str]:
    return {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}


def one_error_line(result: Result) -> str:
    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("calc: error: ")
    return lines[0]


def named_options(line: str) -> list[str]:
    return re.findall(r"(--[a-z0-9-]+): ", line)


# --------------------------------------------------------------------------
# calc meld


@pytest.mark.parametrize(
    ("extra", "phrases"),
    [
        pytest.param(
            [],
            [
                "Classic MELD: 20\n",
                "MELD-Na: not calculated (inputs missing) (context)",
                "MELD 3.0: not calculated (inputs missing) (context)",
                "Working:",
                "  bilirubin: 4.2 mg/dL",
                "MELD(i) = 20.039 → 20 → MELD 20",  # worked example "20.039…"
                "dialysis ≥ 2× in the past week: no",
            ],
            id="worked-example",
        ),
        pytest.param(
            ["--sodium", "125"],
            [
                "Classic MELD: 20\n",
                "MELD-Na: 28 (context)",  # worked example
                "MELD-Na: MELD(i) 20, sodium 125 mmol/L → 27.92 → 28",  # hand, see docstring
            ],
            id="worked-example-Na-125",
        ),
        pytest.param(
            # 71.82 μmol/L = 4.2 mg/dL × 17.1; 167.96 μmol/L = 1.9 mg/dL × 88.4
            [
                "--bilirubin", "71.82", "--bilirubin-unit", "umol/L",
                "--creatinine", "167.96", "--creatinine-unit", "μmol/L",
            ],
            ["Classic MELD: 20\n", "bilirubin: 71.82 μmol/L = 4.2 mg/dL"],
            id="SI-units",
        ),
        pytest.param(
            ["--dialysis"],
            ["creatinine set to 4.0 mg/dL (dialysis)", "dialysis ≥ 2× in the past week: yes"],
            id="dialysis",
        ),
    ],
)  # fmt: skip
def test_meld_text(run_cli: RunCli, extra: list[str], phrases: list[str]) -> None:
    result = run_cli("meld", *MELD_WORKED_EXAMPLE, *extra)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("Classic MELD: ")
    for phrase in phrases:
        assert phrase in result.stdout


@pytest.mark.parametrize(
    ("extra", "body"),
    [
        pytest.param([], {}, id="worked-example"),
        pytest.param(["--sodium", "125"], {"sodium": 125}, id="Na"),
        pytest.param(
            ["--sodium", "130", "--albumin", "30", "--albumin-unit", "g/L", "--sex", "female"],
            {"sodium": 130, "albumin": 30, "albumin_unit": "g/L", "sex": "female"},
            id="everything",
        ),
    ],
)
def test_meld_json_equals_the_api(
    run_cli: RunCli, client: FlaskClient, extra: list[str], body: dict[str, Any]
) -> None:
    result = run_cli("meld", *MELD_WORKED_EXAMPLE, *extra, "--json")
    assert result.exit_code == 0, result.stderr
    cli_json = json.loads(result.stdout)
    api_body = {
        "bilirubin": 4.2,
        "bilirubin_unit": "mg/dL",
        "inr": 1.2,
        "creatinine": 1.9,
        "creatinine_unit": "mg/dL",
        "dialysis": False,
        **body,
    }
    response = client.post("/api/v1/meld", json=api_body)
    assert response.status_code == 200
    assert cli_json == response.get_json()
    assert cli_json["meld"] == 20  # worked example


MELD_BAD: list[Any] = [
    # (changed arguments, option named, phrase)
    pytest.param(
        ["--bilirubin", "85"], "--bilirubin", "looks like μmol/L", id="bilirubin-85-mg/dL"
    ),
    pytest.param(
        ["--creatinine", "150"], "--creatinine", "looks like μmol/L", id="creatinine-150-mg/dL"
    ),
    pytest.param(["--inr", "25"], "--inr", "prothrombin time", id="inr-25"),
    pytest.param(["--inr", "nan"], "--inr", "plain number", id="inr-nan"),
    pytest.param(["--inr", "1,2"], "--inr", "with a point for decimals", id="inr-comma"),
    pytest.param(["--bilirubin-unit", "mmol/L"], "--bilirubin-unit", "unit", id="bili-unit"),
    pytest.param(["--creatinine-unit", "mg"], "--creatinine-unit", "unit", id="creat-unit"),
    pytest.param(["--sodium", "abc"], "--sodium", "plain number", id="sodium"),
    pytest.param(
        ["--albumin", "30", "--albumin-unit", "g/dL"],
        "--albumin",
        "looks like g/L",
        id="albumin-g/L",
    ),
    pytest.param(["--sex", "f"], "--sex", '"female" or "male"', id="sex"),
]


@pytest.mark.parametrize(("args", "option", "phrase"), MELD_BAD)
def test_meld_bad_value_exits_2_with_one_line_naming_the_option(
    run_cli: RunCli, args: list[str], option: str, phrase: str
) -> None:
    result = run_cli("meld", *MELD_WORKED_EXAMPLE, *args)
    line = one_error_line(result)
    assert line.startswith(f"calc: error: {option}: ")
    assert phrase in line
    assert set(named_options(line)) <= options_of(meld_command)


def test_meld_requires_bilirubin(run_cli: RunCli) -> None:
    result = run_cli("meld", "--inr", "1.2", "--creatinine", "1.9")
    assert result.exit_code == 2
    assert "--bilirubin" in result.stderr


def test_meld_missing_inr_names_it(run_cli: RunCli) -> None:
    line = one_error_line(
        run_cli(
            "meld", "--bilirubin", "4.2", "--bilirubin-unit", "mg/dL",
            "--creatinine", "1.9", "--creatinine-unit", "mg/dL",
        )
    )  # fmt: skip
    assert line == "calc: error: --inr: INR is required: enter 0.5 to 20."


UNIT_MISSING: list[Any] = [
    # (CLI lab arguments, the option that must be named, the same labs for the API)
    pytest.param(
        ["--inr", "1.2", "--creatinine", "20"],
        "--creatinine-unit",
        {"inr": 1.2, "creatinine": 20, "dialysis": False},
        id="creatinine",
    ),
    pytest.param(
        [*LABS, "--albumin", "3.1"],
        "--albumin-unit",
        {"inr": 1.2, "creatinine": 1.9, "creatinine_unit": "mg/dL", "dialysis": False,
         "albumin": 3.1},
        id="albumin",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("args", "option", "labs"), UNIT_MISSING)
@pytest.mark.hazard("H-20")
def test_h20_a_lab_unit_is_never_assumed_on_the_command_line(
    run_cli: RunCli, client: FlaskClient, args: list[str], option: str, labs: dict[str, Any]
) -> None:
    # Creatinine 20 is valid in both units: with bilirubin 4.2 mg/dL and INR 1.2 it gives
    # MELD 27 read as mg/dL and 14 as μmol/L (classic MELD, Kamath 2001; hand). A guessed
    # unit would be a silent slip: the command refuses, as the API does.
    line = one_error_line(run_cli("assess", *PATIENT, *args))
    assert line == (
        f"calc: error: {option}: "
        + ('Creatinine unit is required: "mg/dL" or "umol/L" (μmol/L).'
           if option == "--creatinine-unit"
           else 'Albumin unit is required: "g/dL" or "g/L".')
    )  # fmt: skip
    api = client.post(
        "/api/v1/assess", json={"failure_type": "ACLF", "alt": 240, "tbil": 320, "labs": labs}
    )
    assert api.status_code == 422
    key = "labs." + option.removeprefix("--").replace("-", "_")
    assert api.get_json()["errors"][key] == [line.split(f"{option}: ", 1)[1]]


# --------------------------------------------------------------------------
# calc assess with labs instead of --meld


def test_assess_with_labs_instead_of_meld(run_cli: RunCli) -> None:
    # TBIL 71.82 μmol/L = 4.2 mg/dL is the labs' bilirubin → worked example MELD 20
    result = run_cli(
        "assess", "--failure-type", "ACLF", "--alt", "240", "--tbil", "71.82", *LABS,
        "--sodium", "125",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for phrase in (
        "Inputs: ACLF; baseline MELD 20 (classic MELD from labs); ALT 240 U/L; TBIL 71.82 μmol/L",
        # 20 − 14.93 = 5.07, bounded at the floor
        "Expected MELD after MSCT: 6 (the lowest MELD)",
        "(baseline 20 − 14.93 = 5.07, bounded at the MELD floor of 6)",
        "MELD from labs: classic MELD 20; MELD-Na 28; MELD 3.0 not calculated",
    ):
        assert phrase in out


def test_assess_with_meld_and_labs_that_disagree(run_cli: RunCli) -> None:
    result = run_cli("assess", *PATIENT, "--tbil-unit", "umol/L", "--meld", "28", *LABS)
    assert result.exit_code == 0, result.stderr
    # TBIL 320 μmol/L = 320 / 17.1 = 18.7135 mg/dL, INR 1.2, creatinine 1.9 (hand):
    # 0.378 × 2.929244 + 0.957 × 0.641854 + 1.120 × 0.182322 + 0.643 = 2.568724
    # → 2.6 → MELD 26; 28 − 26 = 2 > 1: the typed 28 is used, with a warning.
    assert "baseline MELD 28;" in result.stdout
    assert (
        "The typed baseline MELD (28) and the classic MELD computed from the labs (26) "
        "differ by 2 points; the typed value is used."
    ) in result.stdout


def test_assess_without_meld_or_labs_names_meld(run_cli: RunCli) -> None:
    line = one_error_line(run_cli("assess", *PATIENT))
    assert line == "calc: error: --meld: Baseline MELD is required: enter 6 to 40."


# --------------------------------------------------------------------------
# calc assess with follow-up


@pytest.mark.parametrize(
    ("args", "phrases"),
    [
        pytest.param(
            ["--transplant-date", "2024-02-15", "--alt-day15", "139",
             "--alt-day15-date", "2024-03-01"],
            ["Follow-up:\n  ↓ ALT has fallen 42 % from baseline (240 U/L → 139 U/L) on day 15 "
             "(2024-03-01)"],
            id="alt-date-leap-year",
        ),
        pytest.param(
            ["--alt-day15", "139", "--alt-day15-day", "40"],
            ["↓ ALT has fallen 42 %", "ALT was taken on day 40; the marker was defined for day 15"],
            id="alt-day40-warning",
        ),
        pytest.param(
            ["--tbil-day60", "78.57", "--tbil-day60-day", "60"],
            ["≤ TBIL", "is at or below the pooled level of 78.57 μmol/L"],
            id="tbil-at-pooled",
        ),
        pytest.param(
            ["--tbil-unit", "mg/dL", "--tbil", "18.71", "--tbil-day90", "4.6",
             "--tbil-day90-day", "90"],
            ["> TBIL 4.6 mg/dL on day 90 is 0.01 mg/dL above the pooled level of 4.59 mg/dL"],
            id="tbil-mg/dL-above",
        ),
        pytest.param(
            ["--alt-unit", "ukat/L", "--alt", "4", "--alt-day15", "2.3", "--alt-day15-day", "15"],
            ["↓ ALT has fallen 42 % from baseline (4 μkat/L → 2.3 μkat/L)"],
            id="alt-ukat/L",
        ),
        pytest.param(
            ["--meld-followup", "18", "--meld-followup-day", "30"],
            ["↓ MELD has fallen 10 points (28 → 18) on day 30; the pooled ACLF decrease is "
             "14.93 ± 1.24."],
            id="meld-followup",
        ),
        pytest.param(
            ["--tbil-day90", "100"],
            ["The day of the follow-up TBIL is not known; the marker was defined for day 90."],
            id="day-unknown",
        ),
    ],
)  # fmt: skip
def test_assess_followup_text(run_cli: RunCli, args: list[str], phrases: list[str]) -> None:
    # The reference patient with later options overriding earlier ones (click keeps the last).
    result = run_cli("assess", *PATIENT, "--meld", "28", *args)
    assert result.exit_code == 0, result.stderr
    for phrase in phrases:
        assert phrase in result.stdout


FOLLOWUP_BAD: list[Any] = [
    # (arguments, option named, phrase)
    pytest.param(
        ["--alt-day15", "139", "--alt-day15-date", "2024-03-01"], "--alt-day15",
        "a date needs the date of MSCT", id="date-without-msct",
    ),
    pytest.param(
        ["--transplant-date", "2024-02-15", "--tbil-day60", "80",
         "--tbil-day60-date", "2024-02-01"],
        "--tbil-day60", "(it is -14 days after)", id="date-before-msct",
    ),
    pytest.param(
        ["--transplant-date", "2024-02-15", "--tbil-day90", "80", "--tbil-day90-day", "89",
         "--tbil-day90-date", "2024-05-15"],
        "--tbil-day90", "day 89 does not match the date, which is day 90", id="mismatch",
    ),
    pytest.param(
        ["--alt-day15", "139", "--alt-day15-day", "366"], "--alt-day15",
        "whole number from 0 to 365", id="day-366",
    ),
    pytest.param(["--alt-day15", "abc"], "--alt-day15", "plain number", id="alt-text"),
    pytest.param(
        ["--meld-followup", "50"], "--meld-followup",
        "Follow-up MELD must be a whole number from 6 to 40.", id="meld-50",
    ),
    pytest.param(
        ["--meld-followup", "20", "--meld-followup-date", "2024-13-01",
         "--transplant-date", "2024-02-15"],
        "--meld-followup", "the date is not a real calendar date", id="meld-date",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("args", "option", "phrase"), FOLLOWUP_BAD)
def test_assess_bad_followup_exits_2_with_one_line_naming_the_option(
    run_cli: RunCli, args: list[str], option: str, phrase: str
) -> None:
    line = one_error_line(run_cli("assess", *PATIENT, "--meld", "28", *args))
    assert line.startswith(f"calc: error: {option}: ")
    assert phrase in line


ASSESS_BAD: list[Any] = [
    # (arguments, options named)
    pytest.param(
        [*LABS[:2], "--creatinine", "150", "--creatinine-unit", "mg/dL"],
        ["--creatinine"],
        id="creatinine-150",
    ),
    pytest.param(
        ["--inr", "25", "--creatinine", "1.9", "--creatinine-unit", "mg/dL"],
        ["--inr"],
        id="inr-25",
    ),
    pytest.param([*LABS, "--sodium", "x"], ["--sodium"], id="sodium"),
    pytest.param(
        [*LABS, "--alt-day15", "0", "--meld-followup", "99"],
        ["--alt-day15", "--meld-followup"],
        id="two-followups",
    ),
    pytest.param(
        ["--alt", "0", "--inr", "0", *LABS[2:], "--tbil-day60", "-1"],
        ["--alt", "--inr", "--tbil-day60"],
        id="baseline-labs-followup",
    ),
]


@pytest.mark.parametrize(("args", "options"), ASSESS_BAD)
def test_assess_bad_labs_exit_2_with_one_line_naming_the_options(
    run_cli: RunCli, args: list[str], options: list[str]
) -> None:
    line = one_error_line(run_cli("assess", *PATIENT, *args))
    assert sorted(named_options(line)) == sorted(options)
    assert set(named_options(line)) <= options_of(assess_command)


def test_assess_names_only_its_own_options_for_a_bad_tbil_unit_with_labs(
    run_cli: RunCli,
) -> None:
    line = one_error_line(run_cli("assess", *PATIENT, "--tbil-unit", "mmol/L", *LABS))
    assert "--tbil-unit: " in line
    assert set(named_options(line)) <= options_of(assess_command)


# --------------------------------------------------------------------------
# calc assess --json is the API's JSON for the same inputs

JSON_CASES: list[Any] = [
    # (CLI arguments after the patient, the same request as an API body)
    pytest.param(
        [*LABS],
        {"labs": {"inr": 1.2, "creatinine": 1.9, "creatinine_unit": "mg/dL", "dialysis": False}},
        id="labs-instead-of-meld",
    ),
    pytest.param(
        ["--meld", "22", "--tbil", "4.2", "--tbil-unit", "mg/dL", *LABS, "--dialysis",
         "--sodium", "125", "--albumin", "3.1", "--albumin-unit", "g/dL", "--sex", "male"],
        {
            "meld": 22, "tbil": 4.2, "tbil_unit": "mg/dL",
            "labs": {
                "inr": 1.2, "creatinine": 1.9, "creatinine_unit": "mg/dL", "dialysis": True,
                "sodium": 125, "albumin": 3.1, "albumin_unit": "g/dL", "sex": "male",
            },
        },
        id="meld-and-all-labs",
    ),
    pytest.param(
        ["--meld", "28", "--transplant-date", "2024-02-15",
         "--alt-day15", "139", "--alt-day15-date", "2024-03-01",
         "--tbil-day60", "78.57", "--tbil-day60-day", "60",
         "--tbil-day90", "78.58",
         "--meld-followup", "18", "--meld-followup-day", "30"],
        {
            "meld": 28, "transplant_date": "2024-02-15",
            "followup": {
                "alt_day15": {"value": 139, "unit": "U/L", "date": "2024-03-01"},
                "tbil_day60": {"value": 78.57, "unit": "umol/L", "day": 60},
                "tbil_day90": {"value": 78.58},
                "meld": {"value": 18, "day": 30},
            },
        },
        id="all-followups",
    ),
    pytest.param(
        ["--failure-type", "ALF", "--alt-unit", "ukat/L", "--alt", "4", *LABS,
         "--alt-day15", "2.3", "--alt-day15-day", "40", "--meld-followup", "30"],
        {
            "failure_type": "ALF", "alt": 4, "alt_unit": "ukat/L",
            "labs": {"inr": 1.2, "creatinine": 1.9, "creatinine_unit": "mg/dL", "dialysis": False},
            "followup": {
                "alt_day15": {"value": 2.3, "unit": "ukat/L", "day": 40},
                "meld": {"value": 30},
            },
        },
        id="ALF-labs-and-followup",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("args", "body"), JSON_CASES)
def test_assess_json_equals_the_api(
    run_cli: RunCli, client: FlaskClient, args: list[str], body: dict[str, Any]
) -> None:
    result = run_cli("assess", *PATIENT, *args, "--json")
    assert result.exit_code == 0, result.stderr
    cli_json = json.loads(result.stdout)
    api_body = {"failure_type": "ACLF", "alt": 240, "tbil": 320, **body}
    response = client.post("/api/v1/assess", json=api_body)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert cli_json == response.get_json()
    assert cli_json["meld_used"]["source"] == ("entered" if "meld" in body else "labs")


def test_assess_json_shows_the_followup_statuses(run_cli: RunCli) -> None:
    result = run_cli(
        "assess", *PATIENT, "--meld", "28", "--alt-day15", "139", "--alt-day15-day", "15",
        "--tbil-day60", "78.57", "--tbil-day60-day", "60", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    markers = json.loads(result.stdout)["followup"]["markers"]
    assert [(m["marker"], m["status"]) for m in markers] == [
        ("alt_day15", "fallen"),
        ("tbil_day60", "at_or_below_pooled"),
    ]
    # 101 / 240 = 42.0833… % (hand); tolerance 1e-9
    assert markers[0]["fall_percent_of_baseline"] == pytest.approx(42.083333333333336, rel=1e-9)


def test_assess_help_lists_the_lab_and_followup_options(run_cli: RunCli) -> None:
    result = run_cli("assess", "--help")
    assert result.exit_code == 0
    for option in (
        "--inr",
        "--creatinine",
        "--dialysis",
        "--sodium",
        "--alt-day15-date",
        "--tbil-day60-day",
        "--tbil-day90",
        "--meld-followup",
    ):
        assert option in result.stdout


def test_meld_help(run_cli: RunCli) -> None:
    result = run_cli("meld", "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: calc meld ")
    for option in ("--bilirubin", "--bilirubin-unit", "--inr", "--sodium", "--json"):
        assert option in result.stdout
