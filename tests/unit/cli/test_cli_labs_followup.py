"""The ``calc`` command with labs and follow-up: ``calc meld`` and ``calc assess``.

Sources of pinned numbers
    * Published worked examples (classic MELD: Kamath 2001 with the OPTN/UNOS
      rules; MELD-Na: OPTN 2016): bilirubin 4.2 mg/dL,
      INR 1.2, creatinine 1.9 mg/dL → MELD(i) 20.039… → MELD 20; with Na 125 →
      MELD-Na 28 (20 + 1.32 × 12 − 0.033 × 20 × 12 = 27.92, hand).
    * Cao 2018 abstract: ACLF 14.93, TBIL pooled 78.57 μmol/L, ALT at day 15.

Here the numbers only show that the command prints what the core computes (the
formulas are tested in tests/unit/core/test_meld.py), and that its JSON is the API's
for the same inputs (compared exactly: same code, same floats).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from flask.testing import FlaskClient

from calc.cli.main import assess as assess_command
from calc.cli.main import meld as meld_command

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
