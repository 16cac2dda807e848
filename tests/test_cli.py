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

import calc.evidence
from calc.evidence import EvidenceError
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
        "expected MELD after MSCT: 13.07",  # 28 − 14.93, hand calculation
        "ALT at day 15",
        "TBIL at days 60 and 90",
        "doi:10.1155/2018/9231710",
        "evidence cao2018-abstract-v1",
    ):
        assert phrase in out


@pytest.mark.parametrize(
    ("fields", "phrases"),
    [
        pytest.param(
            {"failure_type": "CLF"}, ["4.6 ± 5.66", "expected MELD after MSCT: 23.4"], id="CLF"
        ),
        pytest.param({"failure_type": "ALF"}, ["no estimate for ALF"], id="ALF"),
        pytest.param(
            {"tbil": "5", "tbil_unit": "mg/dL"},
            ["TBIL 5 mg/dL (= 85.5 μmol/L)", "pooled level 4.59 mg/dL"],  # 5 × 17.1; 78.57 / 17.1
            id="tbil-mg/dL",
        ),
        pytest.param(
            {"alt": "4", "alt_unit": "μkat/L"}, ["ALT 4 μkat/L (= 240 U/L)"], id="alt-μkat/L"
        ),
        pytest.param(
            {"transplant_date": "2024-02-15"},
            ["ALT at day 15 (2024-03-01)", "(2024-04-15, 2024-05-15)"],  # leap year
            id="with-date",
        ),
        pytest.param({"meld": "20"}, ["expected MELD after MSCT: 6 (bounded"], id="floored"),
        pytest.param({"meld": " 28 ", "alt": "240.0"}, ["13.07"], id="padded-text"),
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

    monkeypatch.setattr(calc.evidence, "load_evidence", broken)
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
    ],
    ids=["main", "short", "assess"],
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
