"""The ``calc`` command (click.testing.CliRunner on calc.cli.main).

Sources: the numbers are the Cao 2018 abstract's and the hand calculations of
test_engine.py; here they only show that the command prints what the engine
computes, and that its JSON is the API's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from flask.testing import FlaskClient

import calc.core.evidence
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
