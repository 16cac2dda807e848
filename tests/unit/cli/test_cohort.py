"""Cohort mode (calc.cli.cohort): the vectorised run must give the single-patient engine's results.

Source of truth: ``calc.core.inputs.validate_inputs(row, allow_text=True)`` then
``calc.core.engine.assess`` and ``calc.core.report.to_dict`` on each row alone. Numbers
are compared with ``==`` (tolerance: none; the CSV holds ``repr`` of each
float, which reads back to the same float). Pinned values come from the
Cao 2018 abstract (14.93 ± 1.24 ACLF, 4.6 ± 5.66 CLF, TBIL 78.57 μmol/L) with
the hand calculation beside them.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import os
import random
import re
import subprocess
import sys
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import calc.cli.cohort
from calc.cli.cohort import (
    INPUT_FIELDS,
    LAB_COLUMNS,
    LAB_OUTPUT_COLUMNS,
    OUTPUT_COLUMNS,
    RANGE_KINDS,
    CohortFileError,
    assess_csv,
    cohort_command,
    parse_rows,
    run_cohort,
)
from calc.core import rules
from calc.core.assessment import run, validate_request
from calc.core.engine import assess
from calc.core.evidence import Evidence
from calc.core.inputs import ALT_RANGES, TBIL_RANGES, InputError, validate_inputs
from calc.core.report import to_dict

HEADER = ["id", *INPUT_FIELDS]
Row = dict[str, str]

# --------------------------------------------------------------------------
# Helpers: write a CSV, run the cohort, read the result back


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)  # CRLF: a cell holding a lone CR is quoted too
        w.writerow(header)
        w.writerows(rows)
    return path


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        records = list(csv.reader(f))
    return records[0], records[1:]


def run_rows(
    tmp_path: Path,
    evidence: Evidence,
    rows: Sequence[Row],
    header: Sequence[str] = HEADER,
    block_bytes: int = calc.cli.cohort.DEFAULT_BLOCK_BYTES,
    added: Sequence[str] = OUTPUT_COLUMNS,
) -> list[Row]:
    """Run the cohort on ``rows`` (dicts keyed by ``header``); the output rows as dicts."""
    src = write_csv(tmp_path / "in.csv", header, [[r.get(h, "") for h in header] for r in rows])
    out = tmp_path / "out.csv"
    summary = run_cohort(src, out, evidence, block_bytes=block_bytes)
    names, records = read_csv(out)
    assert names == [*header, *added]
    assert summary.rows == len(records) == len(rows)
    return [dict(zip(names, rec, strict=True)) for rec in records]


def engine_cells(row: Row, evidence: Evidence) -> dict[str, Any]:
    """What the single-patient engine says about ``row``: the oracle for every added column."""
    raw = {k: v for k, v in row.items() if k in INPUT_FIELDS}
    try:
        inputs = validate_inputs(raw, allow_text=True)
    except InputError as exc:
        return {"error": str(exc)}
    cells = report_cells(to_dict(assess(inputs, evidence)))
    assert set(cells) == set(OUTPUT_COLUMNS)
    return cells


def report_cells(d: dict[str, Any]) -> dict[str, Any]:
    """The cohort's added columns as the single-patient report (report.to_dict) has them."""
    mr, alt, tbil = d["meld_reduction"], d["markers"]["alt"], d["markers"]["tbil"]
    ranges = {r["kind"]: r for r in mr["ranges"]}
    cells: dict[str, Any] = {
        "error": "",
        "warnings": ";".join(w["code"] for w in d["warnings"]),
        "evidence_version": d["version"]["evidence"],
        "context_evidence_version": d["version"]["context_evidence"],
        "calc_version": d["version"]["app"],
        "baseline_stratum": d["baseline_stratum"],
        "mean_decrease": mr["mean"],
        "reported_spread": mr["reported_spread"],
        "spread_kind": mr["spread_kind"],
        "expected_meld_after": mr["expected_meld_after"],
        "expected_meld_after_unbounded": mr["expected_meld_after_unbounded"],
        "bounded_at_floor": mr["bounded_at_floor"],
        "tbil_informative": tbil["informative"],
        "pooled_tbil_umol_l": tbil["pooled_level_umol_l"],
        "alt_check_day": alt["check_day"],
        "tbil_check_days": ";".join(map(str, tbil["check_days"])),
        "alt_u_l": d["input"]["alt_u_l"],
        "tbil_umol_l": d["input"]["tbil_umol_l"],
        "alt_check_date": alt["check_date"],
        "tbil_check_dates": None if tbil["check_dates"] is None else ";".join(tbil["check_dates"]),
    }
    for kind in RANGE_KINDS:
        r = ranges.get(kind, {})
        for part in ("low", "high", "meld_after_low", "meld_after_high"):
            cells[f"{kind}_{part}"] = r.get(part)
    return cells


def mismatches(
    out: Row, expected: dict[str, Any], columns: Sequence[str] = OUTPUT_COLUMNS
) -> list[str]:
    """Columns where a cohort output row differs from the engine (floats compared with ==)."""
    if expected["error"]:
        # A refused row: the message of validate_inputs and nothing else.
        return [c for c in columns if out[c] != (expected["error"] if c == "error" else "")]
    bad = []
    for col in columns:
        want, got = expected[col], out[col]
        if want is None:
            ok = got == ""
        elif isinstance(want, bool):
            ok = got == ("true" if want else "false")
        elif isinstance(want, float):
            ok = got != "" and float(got) == want and got == repr(want)
        else:
            ok = got == str(want)
        if not ok:
            bad.append(f"{col}: cohort {got!r}, engine {want!r}")
    return bad


def assert_matches_engine(rows: Sequence[Row], out: Sequence[Row], evidence: Evidence) -> None:
    assert len(out) == len(rows)
    problems = []
    for i, (row, got) in enumerate(zip(rows, out, strict=True)):
        assert got["id"] == row["id"]  # order and ids preserved
        bad = mismatches(got, engine_cells(row, evidence))
        if bad:
            problems.append(f"row {i} {row}: {bad[:3]}")
    assert not problems, "\n".join(problems[:10])


# --------------------------------------------------------------------------
# Random valid rows, in the spellings a clinician's spreadsheet holds


def _number_text(rnd: random.Random, low: float, high: float) -> str:
    """A valid number in one of many spellings (rounding may not leave the range)."""
    while True:
        text = _spelling(rnd, low, high)
        if low <= float(text) <= high:
            return text


def _spelling(rnd: random.Random, low: float, high: float) -> str:
    kind = rnd.random()
    if kind < 0.05:
        return rnd.choice([f"{low:g}", f"{high:g}"])  # the bounds themselves
    value = rnd.uniform(low, high)
    if kind < 0.10:
        return rnd.choice([f"+{value:.2f}", f"{value:.1f}0", f"0{value:.3f}", f" {value:.1f} "])
    if kind < 0.12:
        return f"{value:.17f}"[:24]  # more digits than the fast parser takes
    if kind < 0.13 and value >= 1:
        return f"{int(value)}."
    return f"{value:.{rnd.randint(0, 4)}f}"


ALT_SPELLINGS = {"U/L": ["U/L", " U/L"], "ukat/L": ["ukat/L", "μkat/L", "µkat/L"]}
TBIL_SPELLINGS = {"umol/L": ["umol/L", "μmol/L", "µmol/L "], "mg/dL": ["mg/dL"]}
ALT_BOUNDS = {u.value: (r.low, r.high) for u, r in ALT_RANGES.items()}
TBIL_BOUNDS = {u.value: (r.low, r.high) for u, r in TBIL_RANGES.items()}
SPECIAL_DATES = ["2000-01-01", "2099-12-31", "2000-02-29", "2096-02-29", "2099-10-20"]


def random_row(rnd: random.Random, i: int) -> Row:
    alt_unit = rnd.choice(list(ALT_SPELLINGS))
    tbil_unit = rnd.choice(list(TBIL_SPELLINGS))
    meld = rnd.randint(6, 40)
    if rnd.random() < 0.2:  # around the pooled TBIL level, 78.57 μmol/L (4.59 mg/dL)
        tbil = rnd.choice(["78.57", "78.56", "78.58", "78.570", "4.59", "4.6", "4.594736842105263"])
        tbil_unit = "mg/dL" if float(tbil) < 10 else "umol/L"
    elif rnd.random() < 0.1:  # around the bilirubin that defines each type (plausibility)
        tbil = rnd.choice(["85", "84.99", "85.0", "17.1", "17", "4.97", "5", "1", "0.99"])
        tbil_unit = "mg/dL" if float(tbil) < 10 else "umol/L"
    else:
        tbil = _number_text(rnd, *TBIL_BOUNDS[tbil_unit])
    alt = _number_text(rnd, *ALT_BOUNDS[alt_unit])
    if rnd.random() < 0.05:  # around ALT 5 U/L (plausibility): 4.99, 5 U/L; 0.08 μkat/L = 4.8
        alt = rnd.choice(["4.99", "5", "5.0", "1", "1.2", "0.08", "0.0833"])
        alt_unit = "ukat/L" if float(alt) < 0.1 else "U/L"
    when = ""
    if rnd.random() < 0.6:
        day = date(2000, 1, 1) + timedelta(days=rnd.randrange(36525))
        when = rnd.choice([day.isoformat()] * 8 + SPECIAL_DATES + [f" {day.isoformat()}"])
    return {
        "id": f"P{i:05d}",
        "failure_type": rnd.choice(
            ["ACLF", "CLF", "ALF", "SALF", "ACLF", "CLF", "aclf", " clf", "Alf", "salf "]
        ),
        "meld": rnd.choice([str(meld)] * 6 + [f"0{meld}", f"{meld}.0", f"+{meld}", f"{meld} "]),
        "alt": alt,
        "alt_unit": rnd.choice(ALT_SPELLINGS[alt_unit]),
        "tbil": tbil,
        "tbil_unit": rnd.choice(TBIL_SPELLINGS[tbil_unit]),
        "transplant_date": when,
    }


@pytest.fixture(scope="module")
def random_rows() -> list[Row]:
    rnd = random.Random(20180315)  # fixed seed: the same rows every run
    return [random_row(rnd, i) for i in range(4000)]


def test_random_rows_are_valid_and_varied(random_rows: list[Row], evidence: Evidence) -> None:
    """The generator makes what the equality test needs: valid rows of every kind."""
    kinds = set()
    for row in random_rows:
        a = assess(validate_inputs(row, allow_text=True), evidence)  # raises if not valid
        kinds.add(a.inputs.failure_type.value)
        kinds.update(w.code for w in a.warnings)
        kinds.add("no stratum" if a.stratum is None else a.stratum.group)
    # Every warning but the labs' (these rows have no labs: the lab rows test that one).
    assert kinds >= {"ACLF", "CLF", "ALF", "SALF", ">=20", "<20", "no stratum"} | (
        set(calc.cli.cohort.WARNING_CODES) - {"meld_labs_disagree"}
    )


def load() -> Evidence:
    from calc.core.evidence import load_evidence

    return load_evidence()


def test_equals_engine_on_random_rows(
    tmp_path: Path, evidence: Evidence, random_rows: list[Row]
) -> None:
    out = run_rows(tmp_path, evidence, random_rows)
    assert_matches_engine(random_rows, out, evidence)
    assert all(r["error"] == "" for r in out)


def test_equals_engine_without_optional_columns(tmp_path: Path, evidence: Evidence) -> None:
    """No unit columns: U/L and μmol/L, as when the API omits them; no date column: no dates."""
    header = ["id", "failure_type", "meld", "alt", "tbil"]
    rnd = random.Random(7)
    rows = [
        {
            "id": str(i),
            "failure_type": rnd.choice(["ACLF", "CLF", "ALF", "SALF"]),
            "meld": str(rnd.randint(6, 40)),
            "alt": _number_text(rnd, 1, 50000),
            "tbil": _number_text(rnd, 1, 1710),
        }
        for i in range(500)
    ]
    out = run_rows(tmp_path, evidence, rows, header=header)
    assert_matches_engine(rows, out, evidence)
    assert {r["alt_check_date"] for r in out} == {""}


def test_equals_engine_across_many_small_blocks(
    tmp_path: Path, evidence: Evidence, random_rows: list[Row]
) -> None:
    """Blocks of 300 bytes: records cut at every place a block can end."""
    rows = random_rows[:600]
    out = run_rows(tmp_path, evidence, rows, block_bytes=300)
    assert_matches_engine(rows, out, evidence)


# --------------------------------------------------------------------------
# Pinned rows (Cao 2018 abstract; hand calculations)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        pytest.param(
            {"failure_type": "ACLF", "meld": "28", "alt": "240", "tbil": "320"},
            {
                "expected_meld_after": "13.07",  # 28 − 14.93
                "mean_decrease": "14.93",
                "reported_spread": "1.24",
                "warnings": "",
                "baseline_stratum": ">=20",
                "confidence_low": "",  # ± of unreported kind: no range
                "prediction_low": "",
            },
            id="ACLF-28",
        ),
        pytest.param(
            {"failure_type": "CLF", "meld": "10", "alt": "240", "tbil": "5", "tbil_unit": "mg/dL"},
            {
                "expected_meld_after": "6.0",  # 10 − 4.6 = 5.4, bounded at the floor of 6
                "expected_meld_after_unbounded": "5.4",
                "bounded_at_floor": "true",
                "tbil_umol_l": "85.5",  # 5 × 17.1
                # 10 < 20; 5.66 ≥ 4.6
                "warnings": "meld_after_floor;baseline_meld_below_20;spread_exceeds_mean",
            },
            id="CLF-floor",
        ),
        pytest.param(
            {"failure_type": "ALF", "meld": "30", "alt": "4", "alt_unit": "ukat/L", "tbil": "50"},
            {
                "expected_meld_after": "",  # no estimate for ALF
                "spread_kind": "none",
                "alt_u_l": "240.0",  # 4 × 60
                "warnings": "no_estimate;tbil_at_or_below_pooled",  # 50 ≤ 78.57
                "baseline_stratum": "",  # no estimate: no stratum
            },
            id="ALF",
        ),
        pytest.param(
            {"failure_type": "SALF", "meld": "8", "alt": "1.2", "tbil": "12.5"},
            {
                "expected_meld_after": "",  # no estimate for SALF
                "baseline_stratum": "",
                # 12.5 < 17.1 μmol/L; 8 < 10; 1.2 < 5 U/L; 12.5 ≤ 78.57
                "warnings": "tbil_below_type_definition;meld_below_10;alt_below_5;no_estimate;"
                            "tbil_at_or_below_pooled",
            },
            id="SALF-implausible",
        ),
        pytest.param(
            {"failure_type": "ACLF", "meld": "15", "alt": "240", "tbil": "320",
             "transplant_date": "2026-01-10"},
            {
                "alt_check_date": "2026-01-25",  # + 15 days
                "tbil_check_dates": "2026-03-11;2026-04-10",  # + 60, + 90 days
                "expected_meld_after_unbounded": "0.07",  # 15 − 14.93
                "expected_meld_after": "6.0",  # bounded at the floor
                "warnings": "meld_after_floor;baseline_meld_below_20",
                "baseline_stratum": "<20",
            },
            id="ACLF-15-dated",
        ),
    ],
)  # fmt: skip
def test_pinned_rows(
    tmp_path: Path, evidence: Evidence, row: Row, expected: dict[str, str]
) -> None:
    rows = [{"id": "x", "alt_unit": "U/L", "tbil_unit": "umol/L", **row}]
    (out,) = run_rows(tmp_path, evidence, rows)
    assert {k: out[k] for k in expected} == expected
    assert out["error"] == ""


def test_the_per_type_table_is_built_once_not_per_row_or_block(
    tmp_path: Path, evidence: Evidence, random_rows: list[Row], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Vectorised: what depends only on the type is gathered once per evidence."""
    calls: list[Evidence] = []
    real = rules._build_table

    def counting(ev: Evidence) -> Any:
        calls.append(ev)
        return real(ev)

    monkeypatch.setattr(rules, "_TABLES", {})
    monkeypatch.setattr(rules, "_build_table", counting)
    run_rows(tmp_path, evidence, random_rows[:2000], block_bytes=4096)  # many blocks
    assert calls == [evidence]


# --------------------------------------------------------------------------
# Refused rows: the message of validate_inputs; the other rows still assessed

GOOD: Row = {
    "id": "ok",
    "failure_type": "ACLF",
    "meld": "28",
    "alt": "240",
    "alt_unit": "U/L",
    "tbil": "320",
    "tbil_unit": "umol/L",
    "transplant_date": "2026-01-10",
}

BAD_VALUES = [
    ("failure_type", ""),
    ("failure_type", "HCC"),
    ("meld", ""),
    ("meld", "nan"),
    ("meld", "inf"),
    ("meld", "1e309"),
    ("meld", "1_000"),
    ("meld", "2,5"),
    ("meld", "6.5"),
    ("meld", "5"),
    ("meld", "41"),
    ("meld", "-28"),
    ("alt", "0"),
    ("alt", "50000.01"),
    ("alt", "１２"),  # full-width digits are not decimal digits to the parser
    ("alt", "12345678901234567890123456789012345"),
    ("alt_unit", ""),
    ("alt_unit", "IU/L"),
    ("tbil", "1711"),
    ("tbil", "-1"),
    ("tbil", " "),
    ("tbil_unit", "mmol/L"),
    ("transplant_date", "2026-02-30"),
    ("transplant_date", "10/01/2026"),
    ("transplant_date", "1999-12-31"),
    ("transplant_date", "2100-01-01"),
]


@pytest.mark.parametrize(("field", "value"), BAD_VALUES, ids=[f"{f}={v!r}" for f, v in BAD_VALUES])
def test_bad_value_gets_the_engines_message(
    tmp_path: Path, evidence: Evidence, field: str, value: str
) -> None:
    rows = [GOOD, {**GOOD, "id": "bad", field: value}, {**GOOD, "id": "after"}]
    out = run_rows(tmp_path, evidence, rows)
    message = out[1]["error"]
    assert message.startswith(f"{field}: ")  # names the field
    assert_matches_engine(rows, out, evidence)  # the same message; the neighbours assessed
    assert out[0]["expected_meld_after"] == out[2]["expected_meld_after"] == "13.07"


def test_several_bad_fields_in_validate_inputs_order(tmp_path: Path, evidence: Evidence) -> None:
    rows = [
        {**GOOD, "transplant_date": "x", "tbil": "0", "meld": "nan", "failure_type": "?"},
        {**GOOD, "alt": "", "tbil_unit": "", "alt_unit": "U/L"},
        {**GOOD, "alt_unit": "x", "tbil": "0"},
        {**GOOD, "tbil_unit": "x", "alt": "0", "meld": ""},
    ]
    out = run_rows(tmp_path, evidence, rows)
    fields = [[part.split(":")[0] for part in r["error"].split("; ")] for r in out]
    assert fields == [
        ["failure_type", "meld", "tbil", "transplant_date"],
        ["tbil_unit", "alt"],
        ["alt_unit", "tbil"],
        ["meld", "tbil_unit", "alt"],
    ]
    assert_matches_engine(rows, out, evidence)


def test_a_refused_unit_leaves_its_value_unchecked(tmp_path: Path, evidence: Evidence) -> None:
    """As in validate_inputs: no range to check ALT against when its unit is refused."""
    (out,) = run_rows(tmp_path, evidence, [{**GOOD, "alt_unit": "x", "alt": "nan"}])
    assert out["error"].startswith("alt_unit: ")
    assert "alt:" not in out["error"]


def test_rows_of_another_width(tmp_path: Path, evidence: Evidence) -> None:
    text = (
        "id,failure_type,meld,alt,tbil\n"
        "a,ACLF,28,240,320\n"
        "b,ACLF,28,240\n"
        "c,ACLF,28,240,320,extra\n"
        "d,CLF,28,240,320\n"
    )
    src = tmp_path / "in.csv"
    src.write_text(text, encoding="utf-8")
    summary = run_cohort(src, tmp_path / "out.csv", evidence)
    header, rows = read_csv(tmp_path / "out.csv")
    assert [r[0] for r in rows] == ["a", "b", "c", "d"]
    assert all(len(r) == len(header) for r in rows)  # the added columns stay aligned
    err = {r[0]: r[header.index("error")] for r in rows}
    assert err["b"] == "row: it has 4 cells but the header names 5 columns."
    assert err["c"].startswith("row: it has 6 cells")
    assert err["a"] == err["d"] == ""
    assert (summary.rows, summary.assessed, summary.refused) == (4, 2, 2)


def test_many_bad_rows_among_good_ones(
    tmp_path: Path, evidence: Evidence, random_rows: list[Row]
) -> None:
    """Every third row spoilt in one field: all rows out, in order, each as the engine says."""
    rnd = random.Random(3)
    rows = []
    for i, row in enumerate(random_rows[:900]):
        if i % 3 == 0:
            field, value = rnd.choice(BAD_VALUES)
            row = {**row, field: value}
        rows.append(row)
    out = run_rows(tmp_path, evidence, rows, block_bytes=2000)
    assert_matches_engine(rows, out, evidence)
    assert sum(1 for r in out if r["error"]) == 300


ANY_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)


def _field(valid: Sequence[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(valid), ANY_TEXT)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "failure_type": _field(["ACLF", "CLF", "ALF", "SALF", "aclf"]),
                "meld": _field(["6", "9", "10", "19", "20", "40", "28.0", "٢٨"]),
                "alt": _field(["1", "240", "0.02", "833", "50000", "12.5", "4.99", "5"]),
                "alt_unit": _field(["U/L", "ukat/L", "μkat/L"]),
                "tbil": _field(["78.57", "4.59", "320", "0.1", "1710", "100", "85", "17.1"]),
                "tbil_unit": _field(["umol/L", "mg/dL", "µmol/L"]),
                "transplant_date": _field(["", "2026-01-10", "2000-02-29", "2099-12-31"]),
            }
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_text_gets_the_engines_answer(rows: list[Row], tmp_path_factory: Any) -> None:
    """Arbitrary cell text (quotes, commas, line breaks, any script): the engine's result."""
    evidence = load()
    rows = [{"id": f"r{i}", **r} for i, r in enumerate(rows)]
    tmp = tmp_path_factory.mktemp("any")
    assert_matches_engine(rows, run_rows(tmp, evidence, rows), evidence)
    assert_matches_engine(rows, run_rows(tmp, evidence, rows, block_bytes=16), evidence)


def test_parse_rows_directly(evidence: Evidence) -> None:
    parsed = parse_rows(
        {"failure_type": ["ACLF", "x"], "meld": ["28", "28"], "alt": ["240", "240"],
         "tbil": ["320", "320"]}
    )  # fmt: skip
    assert parsed.valid.tolist() == [True, False]
    row = {"failure_type": "x", "meld": "28", "alt": "240", "tbil": "320"}
    assert parsed.errors == ["", engine_cells(row, evidence)["error"]]
    assert parsed.errors[1].startswith("failure_type: ")


# --------------------------------------------------------------------------
# The file: ids and other columns, order, blocks, encodings, file-level errors


def test_other_columns_pass_through_untouched(tmp_path: Path, evidence: Evidence) -> None:
    text = (
        "id,failure_type,meld,alt,tbil,note\n"
        '007,ACLF,28,240,320,"plain note"\n'
        ' 8 ,CLF,28,240,320,"with, comma"\n'
        'Ünïcødé,ALF,28,240,320,"say ""hi"""\n'
        ',ACLF,28,240,320,"two\nlines"\n'
    )
    src = tmp_path / "in.csv"
    src.write_bytes(text.encode("utf-8"))
    run_cohort(src, tmp_path / "out.csv", evidence)
    header, rows = read_csv(tmp_path / "out.csv")
    cells = [r[:6] for r in rows]
    assert cells == [
        ["007", "ACLF", "28", "240", "320", "plain note"],
        [" 8 ", "CLF", "28", "240", "320", "with, comma"],
        ["Ünïcødé", "ALF", "28", "240", "320", 'say "hi"'],
        ["", "ACLF", "28", "240", "320", "two\nlines"],
    ]
    assert [r[header.index("error")] for r in rows] == ["", "", "", ""]


def test_simple_quoting_is_kept_byte_for_byte(tmp_path: Path, evidence: Evidence) -> None:
    """R's write.csv quotes every text cell; those lines are copied as they are."""
    lines = [
        '"id","failure_type","meld","alt","tbil"',
        '"P1","ACLF",28,240,320',
        '"P2","CLF",9,40,60',
    ]
    src = tmp_path / "in.csv"
    src.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    run_cohort(src, tmp_path / "out.csv", evidence)
    out = (tmp_path / "out.csv").read_text(encoding="utf-8").split("\n")
    assert out[0].startswith(lines[0] + ",error,")
    assert [o[: len(line)] for o, line in zip(out[1:3], lines[1:], strict=True)] == lines[1:]
    assert out[1][len(lines[1]) :].startswith(",,")  # empty error, then the warnings cell


def test_quoted_cell_across_a_block_boundary(tmp_path: Path, evidence: Evidence) -> None:
    note = "a long note, with commas,\nline breaks\r\nand quotes " * 3
    rows = [{**GOOD, "id": str(i), "note": note if i % 2 else "x"} for i in range(40)]
    header = [*HEADER, "note"]
    whole = run_rows(tmp_path, evidence, rows, header=header)
    for block in (7, 64, 333):
        cut = run_rows(tmp_path, evidence, rows, header=header, block_bytes=block)
        assert cut == whole
    assert [r["note"] for r in whole[:2]] == ["x", note]
    assert {r["expected_meld_after"] for r in whole} == {"13.07"}


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        pytest.param("id,failure_type,meld,alt,tbil\r\na,ACLF,28,240,320\r\nb,CLF,9,40,60\r\n",
                     ["a", "b"], id="crlf"),
        pytest.param("id,failure_type,meld,alt,tbil\ra,ACLF,28,240,320\rb,CLF,9,40,60",
                     ["a", "b"], id="lone-cr-no-final-newline"),
        pytest.param("\ufeffid,failure_type,meld,alt,tbil\na,ACLF,28,240,320\n", ["a"], id="bom"),
        pytest.param("id,failure_type,meld,alt,tbil\n\na,ACLF,28,240,320\n\n\nb,CLF,9,40,60\n\n",
                     ["a", "b"], id="blank-lines-skipped"),
        pytest.param("ID, Failure_Type ,MELD,ALT,TBIL\na,ACLF,28,240,320\n", ["a"],
                     id="names-ignore-case-and-blanks"),
    ],
)  # fmt: skip
def test_line_endings_and_header_spellings(
    tmp_path: Path, evidence: Evidence, text: str, ids: list[str]
) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(text.encode("utf-8"))
    for block in (5, 1 << 20):
        run_cohort(src, tmp_path / "out.csv", evidence, block_bytes=block)
        header, rows = read_csv(tmp_path / "out.csv")
        assert [r[0] for r in rows] == ids
        assert {r[header.index("error")] for r in rows} == {""}
        assert rows[0][header.index("expected_meld_after")] == "13.07"  # 28 − 14.93


def test_header_only_file(tmp_path: Path, evidence: Evidence) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id,failure_type,meld,alt,tbil\n", encoding="utf-8")
    summary = run_cohort(src, tmp_path / "out.csv", evidence)
    assert (summary.rows, summary.assessed, summary.refused) == (0, 0, 0)
    assert (tmp_path / "out.csv").read_text() == "id,failure_type,meld,alt,tbil," + ",".join(
        OUTPUT_COLUMNS
    ) + "\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"", "the file is empty", id="empty"),
        pytest.param(b"\n\n", "the file is empty", id="blank"),
        pytest.param(b"id,failure_type,alt,tbil\nx,ACLF,240,320\n", "no column meld", id="no-meld"),
        pytest.param(b"id,meld\n", "no column failure_type, alt, tbil", id="three-missing"),
        pytest.param(b"meld,MELD,failure_type,alt,tbil\n", "meld appears twice", id="twice"),
        pytest.param(b"failure_type,meld,alt,tbil,error\n", "output column(s) error", id="clash"),
        pytest.param(b"id,failure_type,meld,alt,tbil\nx,ACLF,28,240,320\ny,ACLF,28,2\xe940,320\n",
                     "line 3 is not UTF-8", id="latin-1"),
    ],
)  # fmt: skip
def test_file_level_errors(
    tmp_path: Path, evidence: Evidence, content: bytes, message: str
) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(content)
    out = tmp_path / "out.csv"
    with pytest.raises(CohortFileError, match=re.escape(message)):
        run_cohort(src, out, evidence)
    assert not out.exists()  # no partial output
    assert list(tmp_path.iterdir()) == [src]  # nor a temporary file left behind


def test_output_is_written_while_input_is_read(evidence: Evidence) -> None:
    """Bounded memory: each block is written before the next is read (not the file at once)."""
    rows = "".join(f"p{i},ACLF,28,240,320\n" for i in range(5000))
    data = ("id,failure_type,meld,alt,tbil\n" + rows).encode()

    written_at_read: list[int] = []  # bytes written when each read starts

    class Recorder(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            written_at_read.append(sink.tell())
            return super().read(size)

    source, sink = Recorder(data), io.BytesIO()
    summary = assess_csv(source, sink, evidence, block_bytes=4096)
    assert summary.rows == 5000
    assert len(written_at_read) > 20
    # After the header, every read comes after more output: block by block.
    assert all(b > a for a, b in itertools.pairwise(written_at_read[1:]))
    assert max(len(line) for line in sink.getvalue().split(b"\n")) < 1000


# --------------------------------------------------------------------------
# The command


def invoke(args: list[str], input: bytes | None = None) -> Any:
    return CliRunner().invoke(cohort_command, args, input=input, catch_exceptions=False)


def test_command_writes_output_and_a_summary(tmp_path: Path, evidence: Evidence) -> None:
    src = write_csv(
        tmp_path / "in.csv", HEADER, [[GOOD[h] for h in HEADER], ["bad", "ACLF", "nan"]]
    )
    out = tmp_path / "out.csv"
    result = invoke([str(src), "-o", str(out)])
    assert result.exit_code == 0
    assert result.stdout == ""
    # Not a terminal: no progress bar, only the summary line.
    assert result.stderr.startswith("calc cohort: 2 rows: 1 assessed, 1 refused")
    assert result.stderr.count("\n") == 1
    _, rows = read_csv(out)
    assert [r[0] for r in rows] == ["ok", "bad"]
    assert os.stat(out).st_mode & 0o077 == 0  # patient data: readable by its owner only


def test_command_standard_input_and_output(evidence: Evidence) -> None:
    data = b"id,failure_type,meld,alt,tbil\nx,CLF,28,240,320\n"
    result = invoke(["-", "-o", "-"], input=data)
    assert result.exit_code == 0
    header, rows = read_csv_text(result.stdout)
    assert rows[0][header.index("expected_meld_after")] == "23.4"  # 28 − 4.6


def read_csv_text(text: str) -> tuple[list[str], list[list[str]]]:
    records = list(csv.reader(io.StringIO(text)))
    return records[0], records[1:]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"id,failure_type,alt,tbil\n", "no column meld", id="missing-column"),
        pytest.param(b"", "the file is empty", id="empty"),
    ],
)
def test_command_file_errors_exit_2(tmp_path: Path, content: bytes, message: str) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(content)
    result = invoke([str(src), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"calc: error: {src}: ")
    assert message in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_command_missing_input_file(tmp_path: Path) -> None:
    result = invoke([str(tmp_path / "nope.csv"), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 2
    assert "cannot read it" in result.stderr


def test_command_needs_an_output() -> None:
    result = CliRunner().invoke(cohort_command, ["in.csv"])
    assert result.exit_code == 2
    assert "Missing option '-o'" in result.stderr


def test_import_is_pure() -> None:
    """The cohort core imports no web framework: ``calc cohort`` needs neither Flask nor WTForms."""
    code = (
        "import sys, calc.cli.cohort; "
        "print(sorted(m for m in ('flask', 'wtforms') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.hazard("H-22")
def test_h22_a_quote_never_closed_runs_to_the_end_as_in_csv(
    tmp_path: Path, evidence: Evidence
) -> None:
    """A quoted cell that never ends takes the rest of the file, as the csv module reads
    it: one row, refused for its width; the rows before it are assessed."""
    src = tmp_path / "in.csv"
    src.write_text(
        'id,failure_type,meld,alt,tbil\nok,ACLF,28,240,320\n"x,ACLF,28,240,320\n' + "y\n" * 2000
    )
    summary = run_cohort(src, tmp_path / "out.csv", evidence, block_bytes=16)
    header, rows = read_csv(tmp_path / "out.csv")
    assert (summary.rows, summary.assessed) == (2, 1)
    assert rows[1][0] == "x,ACLF,28,240,320\n" + "y\n" * 2000
    assert rows[1][header.index("error")].startswith("row: it has 1 cells but the header names 5")


@pytest.mark.hazard("H-22")
def test_h22_a_cell_over_the_csv_limit_refuses_only_its_row(
    tmp_path: Path, evidence: Evidence
) -> None:
    src = tmp_path / "in.csv"
    huge = '"' + "a," * 70_000 + '"'  # 140 kB: over the csv module's 128 KiB cell limit
    src.write_text(f"id,failure_type,meld,alt,tbil\n{huge},ACLF,28,240,320\nb,CLF,9,40,60\n")
    summary = run_cohort(src, tmp_path / "out.csv", evidence)
    header, rows = read_csv(tmp_path / "out.csv")
    assert (summary.rows, summary.assessed) == (2, 1)
    assert [r[0] for r in rows] == ["", "b"]
    assert rows[0][header.index("error")] == (
        "row: the cell in column id is longer than 131072 characters, the limit of "
        "Python's csv module: it is left empty in the output."
    )


def test_header_not_utf8(tmp_path: Path, evidence: Evidence) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(b"id,failure_type,m\xe9ld,alt,tbil\n")
    with pytest.raises(CohortFileError, match="line 1 is not UTF-8"):
        run_cohort(src, tmp_path / "out.csv", evidence)


def test_output_directory_missing(tmp_path: Path, evidence: Evidence) -> None:
    src = write_csv(tmp_path / "in.csv", HEADER, [[GOOD[h] for h in HEADER]])
    with pytest.raises(CohortFileError, match="cannot write"):
        run_cohort(src, tmp_path / "no" / "out.csv", evidence)


def test_a_wrong_block_key_fails_loudly() -> None:
    """Formatting each distinct key once is only right if the columns depend on the key."""
    import numpy as np

    key = np.array([0, 0, 1], np.int64)
    calc.cli.cohort._block(key, [np.array([1.0, 1.0, 2.0])])  # a function of the key: fine
    with pytest.raises(RuntimeError, match="does not depend on its block key"):
        calc.cli.cohort._block(key, [np.array([1.0, 3.0, 2.0])])


def test_progress_bar_on_a_terminal(
    tmp_path: Path, evidence: Evidence, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    rows = [[GOOD[h] for h in HEADER]] * 300
    src = write_csv(tmp_path / "in.csv", HEADER, rows)
    summary = run_cohort(src, tmp_path / "out.csv", evidence, block_bytes=1024, progress=True)
    assert summary.rows == 300
    bar = terminal.getvalue()
    assert "Assessing" in bar
    assert "100%" in bar


def test_command_stops_on_a_broken_evidence_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from calc.core.evidence import EvidenceError

    def broken() -> Evidence:
        raise EvidenceError("evidence file: field 'x' is missing")

    monkeypatch.setattr(calc.cli.cohort, "load_evidence", broken)
    src = write_csv(tmp_path / "in.csv", HEADER, [[GOOD[h] for h in HEADER]])
    result = invoke([str(src), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 2
    assert result.stderr == "calc: error: evidence file: field 'x' is missing\n"


def test_command_into_a_pipe_closed_early(tmp_path: Path) -> None:
    """`calc cohort big.csv -o - | head -1`: stops quietly, without a traceback."""
    rows = [[GOOD[h] for h in HEADER]] * 20_000
    src = write_csv(tmp_path / "in.csv", HEADER, rows)
    code = "import sys; from calc.cli.cohort import cohort_command; cohort_command(sys.argv[1:])"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(src), "-o", "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 1
    assert first.startswith(b"id,failure_type,")
    assert b"Traceback" not in err
    assert err == b""


# --------------------------------------------------------------------------
# MELD from labs: the labs_ columns are the API's labs object
#
# Source of truth: calc.core.assessment.validate_request(request, allow_text=True), then
# calc.core.assessment.run and calc.core.report.to_dict, on each row alone; the request is the
# row's fields, plus ``labs`` = its non-blank labs_ cells when a lab value is given.

LAB_HEADER = ["id", *INPUT_FIELDS, *LAB_COLUMNS]
LAB_ADDED = (*OUTPUT_COLUMNS, *LAB_OUTPUT_COLUMNS)
LAB_VALUE_COLUMNS = ("labs_bilirubin", "labs_inr", "labs_creatinine", "labs_sodium", "labs_albumin")


def request_of(row: Row) -> dict[str, Any]:
    """The API request a cohort row stands for (the rule in the README, "Cohort mode")."""
    raw: dict[str, Any] = {k: v for k, v in row.items() if k in INPUT_FIELDS}
    labs = {k.removeprefix("labs_"): v for k, v in row.items() if k in LAB_COLUMNS and v.strip()}
    if any(row.get(c, "").strip() for c in LAB_VALUE_COLUMNS):
        raw["labs"] = labs
    return raw


def engine_cells_labs(row: Row, evidence: Evidence) -> dict[str, Any]:
    try:
        request = validate_request(request_of(row), allow_text=True)
    except InputError as exc:
        return {"error": str(exc)}
    d = to_dict(run(request, evidence))
    cells = report_cells(d)
    labs = d["labs"] or {}
    cells.update(
        meld_used=d["meld_used"]["value"],
        meld_source=d["meld_used"]["source"],
        labs_meld=labs.get("meld"),
        labs_meld_na=labs.get("meld_na"),
        labs_meld_3_0=labs.get("meld_3_0"),
    )
    assert set(cells) == set(LAB_ADDED)
    return cells


def assert_labs_match_engine(rows: Sequence[Row], out: Sequence[Row], evidence: Evidence) -> None:
    assert len(out) == len(rows)
    problems = []
    for i, (row, got) in enumerate(zip(rows, out, strict=True)):
        assert got["id"] == row["id"]
        bad = mismatches(got, engine_cells_labs(row, evidence), LAB_ADDED)
        if bad:
            problems.append(f"row {i} {row}: {bad[:3]}")
    assert not problems, "\n".join(problems[:10])


def _lab_number(rnd: random.Random, low: float, high: float, near_one: float = 0.0) -> str:
    """A lab value as a laboratory prints it (1 or 2 decimals), sometimes at or below 1."""
    r = rnd.random()
    if r < near_one:
        return rnd.choice(["1", "1.0", "0.9", "0.5", "1.00", str(round(rnd.uniform(low, 1), 2))])
    if r < near_one + 0.05:
        return _number_text(rnd, low, high)  # any spelling, any number of decimals
    return str(round(rnd.uniform(low, min(high, low + (high - low) / 3)), rnd.choice([1, 2])))


def random_lab_row(rnd: random.Random, i: int) -> Row:
    row = random_row(rnd, i)
    row["meld"] = rnd.choice(["", "", " ", row["meld"]])  # mostly from the labs
    cells = dict.fromkeys(LAB_COLUMNS, "")
    if rnd.random() < 0.08:  # no labs: filled-down units, dialysis and sex do not count
        cells.update(labs_creatinine_unit="mg/dL", labs_dialysis="no", labs_sex="female")
        row["meld"] = str(rnd.randint(6, 40))
        return {**row, **cells}
    if rnd.random() < 0.5:
        unit = rnd.choice(["mg/dL", "umol/L", "μmol/L"])
        low, high = (0.05, 50) if unit == "mg/dL" else (1, 1710)
        cells.update(
            labs_bilirubin=_lab_number(rnd, low, high, 0.2 if unit == "mg/dL" else 0),
            labs_bilirubin_unit=unit,
        )
    cr_unit = rnd.choice(["mg/dL", "mg/dL", "umol/L", "µmol/L"])
    cr_low, cr_high = (0.1, 25) if cr_unit == "mg/dL" else (9, 2210)
    cells.update(
        labs_inr=_lab_number(rnd, 0.5, 20, 0.3),
        labs_creatinine=_lab_number(rnd, cr_low, cr_high, 0.3 if cr_unit == "mg/dL" else 0),
        labs_creatinine_unit=cr_unit,
        labs_dialysis=rnd.choice(["no", "no", "no", "No", "false", "yes", "TRUE"]),
    )
    if rnd.random() < 0.75:
        cells["labs_sodium"] = rnd.choice(
            [str(rnd.randint(118, 142)), f"{rnd.uniform(120, 140):.1f}", "137", "125", "90"]
        )
    if rnd.random() < 0.7:
        al_unit = rnd.choice(["g/dL", "g/dL", "g/L", "G/L"])
        low, high = (0.5, 7) if al_unit == "g/dL" else (5, 70)
        cells["labs_albumin"] = _lab_number(rnd, low, high)
        cells["labs_albumin_unit"] = al_unit
    if rnd.random() < 0.8:
        cells["labs_sex"] = rnd.choice(["female", "male", "Female", " MALE"])
    return {**row, **cells}


def tie_rows() -> list[Row]:
    """Rows whose exact score is a rounding tie, or within 1e-11 of one.

    MELD 3.0 with bilirubin, INR and creatinine at or below 1 is 6 + 1.33 female
    + 0.82 (137 - Na) + 1.85 (3.5 - albumin): exact ties occur (16.50 for a man with
    sodium 126 and albumin 2.7, tests/unit/core/test_meld.py). Classic MELD and MELD-Na
    have none (ln terms are transcendental; MELD-Na's sodium term is 0.033 (137 - Na)
    (40 - MELD(i)), a tie only for a sodium that is no finite decimal), so their rows
    sit a hair from the tie: INR or sodium given to 12 decimals.
    """
    import math
    from decimal import Decimal

    from calc.core.meld import classic_meld

    base = {"id": "", "failure_type": "ACLF", "meld": "", "alt": "240", "alt_unit": "U/L",
            "tbil": "0.8", "tbil_unit": "mg/dL", "transplant_date": ""}  # fmt: skip
    labs = {**dict.fromkeys(LAB_COLUMNS, ""), "labs_creatinine": "1",
            "labs_creatinine_unit": "mg/dL", "labs_dialysis": "no"}  # fmt: skip
    m3 = []
    # In units of 1e-5: sodium and albumin (g/dL) in thousandths (deficits d, a).
    for d, female in itertools.product(range(12_001), (0, 1)):
        rest = (50_000 - 600_000 - 133_000 * female - 82 * d) % 100_000
        a = rest // 5 * pow(37, -1, 20_000) % 20_000  # 185 a = rest (mod 100,000)
        if rest % 5 == 0 and a <= 2000:
            m3.append({**base, **labs, "labs_inr": "0.9", "labs_sodium": f"{(137_000 - d) / 1000}",
                       "labs_albumin": f"{(3500 - a) / 1000}", "labs_albumin_unit": "g/dL",
                       "labs_sex": "female" if female else "male"})  # fmt: skip
    classic, na = [], []
    for k in range(6, 40):  # MELD(i) = 10 (1.12 ln INR + 0.643) a hair from k + 0.5
        inr = math.exp(((k + 0.5) / 10 - 0.643) / 1.12)
        for digits in (12, 13, 14):
            classic.append({**base, **labs, "labs_inr": f"{inr:.{digits}f}"})
    inr_for: dict[int, str] = {}
    for i in range(100, 2001):  # INR 1.00 to 20.00
        inr_for.setdefault(classic_meld(1.0, i / 100, 1.0, dialysis=False).meld_i, f"{i / 100}")
    for (meld_i, inr), j in itertools.product(inr_for.items(), range(1, 45, 2)):
        if 11 < meld_i < 40:  # 0.033 x = j / 2 with x = (137 - Na)(40 - MELD(i))
            deficit = Decimal(500 * j) / 33 / (40 - meld_i)
            if deficit <= 12:
                na.append({**base, **labs, "labs_inr": inr,
                           "labs_sodium": f"{137 - deficit:.12f}"})  # fmt: skip
    assert len(m3) > 200 and len(classic) > 50 and len(na) > 50
    rows = m3[:: len(m3) // 200] + classic + na
    return [{**r, "id": f"T{i}"} for i, r in enumerate(rows)]


@pytest.fixture(scope="module")
def random_lab_rows() -> list[Row]:
    rnd = random.Random(20210901)  # fixed seed
    return [random_lab_row(rnd, i) for i in range(3000)]


def test_random_lab_rows_are_valid_and_varied(
    random_lab_rows: list[Row], evidence: Evidence
) -> None:
    seen: set[str] = set()
    for row in random_lab_rows:
        req = validate_request(request_of(row), allow_text=True)  # raises if not valid
        a = run(req, evidence)
        seen.add(a.inputs.meld_source)
        if a.labs is not None:
            w = a.labs.working
            seen.add("labs")
            seen.update(f"na:{w.meld_na is not None}" for _ in [0])
            seen.update(f"m3:{w.meld_3_0 is not None}" for _ in [0])
            seen.update(b.split(":")[0] + ":" + b.split(" ")[2] for b in w.bounds_applied)
            if abs(a.labs.meld - a.inputs.meld) > 1 and a.inputs.meld_source == "entered":
                seen.add("disagree")
            seen.add("capped" if a.labs.meld == 40 else "")
    assert {"entered", "labs", "na:True", "na:False", "m3:True", "m3:False"} <= seen
    assert {"disagree", "capped"} <= seen
    assert len([s for s in seen if s.startswith("MELD 3.0:")]) >= 4  # floors, caps, bounds


def test_labs_equal_engine_on_random_and_tie_rows(
    tmp_path: Path,
    evidence: Evidence,
    random_lab_rows: list[Row],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every added column, field by field, against validate_request -> run -> to_dict.

    The scores are computed in float64 and only rows within 1e-9 of a rounding tie
    are recomputed by compute_meld: all the tie rows, and few others.
    """
    rows = random_lab_rows + tie_rows()
    recomputed: list[Any] = []
    real = calc.cli.cohort.compute_meld

    def counting(labs: Any) -> Any:
        recomputed.append(labs)
        return real(labs)

    monkeypatch.setattr(calc.cli.cohort, "compute_meld", counting)
    out = run_rows(tmp_path, evidence, rows, header=LAB_HEADER, added=LAB_ADDED)
    assert_labs_match_engine(rows, out, evidence)
    assert all(r["error"] == "" for r in out)
    ties = len(rows) - len(random_lab_rows)
    assert ties <= len(recomputed) <= ties + len(random_lab_rows) // 100
    assert {r["meld_source"] for r in out} == {"entered", "labs"}
    assert any("meld_labs_disagree" in r["warnings"] for r in out)


def test_vectorised_scores_equal_compute_meld_on_many_labs() -> None:
    """calc.cli.cohort._lab_scores against compute_meld on 20,000 random canonical labs."""
    import numpy as np

    from calc.cli.cohort import _exact_scores, _lab_scores

    rng = np.random.default_rng(5)
    n = 20_000
    bili_unit = rng.integers(0, 2, n)  # TBIL_UNITS: umol/L, mg/dL
    bili = np.where(bili_unit == 1, rng.uniform(0.05, 50, n), rng.uniform(1, 1710, n))
    cr_unit = rng.integers(0, 2, n)  # mg/dL, umol/L
    cr = np.where(cr_unit == 0, rng.uniform(0.1, 25, n), rng.uniform(9, 2210, n))
    inr = rng.uniform(0.5, 20, n)
    low = rng.random(n) < 0.3  # labs at or below 1
    bili = np.where(low & (bili_unit == 1), np.round(rng.uniform(0.05, 1, n), 2), bili)
    cr = np.where(low & (cr_unit == 0), np.round(rng.uniform(0.1, 1, n), 2), cr)
    inr = np.where(low, np.round(rng.uniform(0.5, 1, n), 2), np.round(inr, 2))
    dialysis = (rng.random(n) < 0.1).astype(np.int64)
    sodium = np.where(rng.random(n) < 0.8, np.round(rng.uniform(90, 200, n), 1), np.nan)
    alb_unit = rng.integers(-1, 2, n)
    albumin = np.where(alb_unit == 0, rng.uniform(0.5, 7, n), rng.uniform(5, 70, n))
    albumin = np.round(np.where(alb_unit < 0, np.nan, albumin), 1)
    sex = rng.integers(0, 3, n)
    rows = np.ones(n, bool)
    args = (bili, bili_unit, inr, cr, cr_unit, dialysis, sodium, albumin, alb_unit, sex)
    got = np.stack(_lab_scores(rows, *args), axis=1)
    for i in range(n):
        want = _exact_scores(*(a[i].item() for a in args))
        assert tuple(got[i].tolist()) == want, (i, [a[i] for a in args])


def test_meld_3_0_tie_rounds_half_up(tmp_path: Path, evidence: Evidence) -> None:
    """The worked tie of tests/unit/core/test_meld.py: 6 + 0.82 × 11 + 1.85 × 0.8 = 16.50 -> 17."""
    row = {"id": "t", "failure_type": "ACLF", "meld": "", "alt": "240", "alt_unit": "U/L",
           "tbil": "1",
           "tbil_unit": "mg/dL", "labs_inr": "1.0", "labs_creatinine": "0.8",
           "labs_creatinine_unit": "mg/dL", "labs_dialysis": "no", "labs_sodium": "126",
           "labs_albumin": "2.7", "labs_albumin_unit": "g/dL", "labs_sex": "male"}  # fmt: skip
    (out,) = run_rows(tmp_path, evidence, [row], header=LAB_HEADER, added=LAB_ADDED)
    assert out["error"] == ""
    assert (out["labs_meld"], out["labs_meld_na"], out["labs_meld_3_0"]) == ("6", "6", "17")
    assert (out["meld_used"], out["meld_source"]) == ("6", "labs")
    assert_labs_match_engine([row], [out], evidence)


LAB_GOOD: Row = {
    **GOOD,
    "meld": "",
    "labs_bilirubin": "4.2",
    "labs_bilirubin_unit": "mg/dL",
    "labs_inr": "1.8",
    "labs_creatinine": "1.4",
    "labs_creatinine_unit": "mg/dL",
    "labs_dialysis": "no",
    "labs_sodium": "130",
    "labs_albumin": "2.8",
    "labs_albumin_unit": "g/dL",
    "labs_sex": "female",
}

BAD_LAB_VALUES = [
    ("labs_inr", ""),
    ("labs_inr", "0.4"),
    ("labs_inr", "25"),  # a prothrombin time? the hint
    ("labs_inr", "nan"),
    ("labs_inr", " 1.8 "),  # accepted, as by the API
    ("labs_bilirubin", "0"),
    ("labs_bilirubin", "72"),  # mg/dL: looks like μmol/L
    ("labs_bilirubin", ""),  # no bilirubin: the TBIL in its unit
    ("labs_bilirubin_unit", ""),
    ("labs_bilirubin_unit", "mmol/L"),
    ("labs_creatinine", "120"),  # mg/dL: looks like μmol/L
    ("labs_creatinine", "2,5"),
    ("labs_creatinine_unit", ""),
    ("labs_creatinine_unit", "mg"),
    ("labs_dialysis", ""),
    ("labs_dialysis", "maybe"),
    ("labs_dialysis", "1"),
    ("labs_sodium", "80"),
    ("labs_sodium", ""),  # no MELD-Na or MELD 3.0
    ("labs_albumin", "28"),  # g/dL: looks like g/L
    ("labs_albumin", ""),  # the unit alone is checked
    ("labs_albumin_unit", ""),
    ("labs_albumin_unit", "mg/dL"),
    ("labs_sex", "f"),
    ("labs_sex", ""),
    ("meld", "28"),  # typed and labs: the typed MELD, and a warning
    ("meld", "27"),
    ("meld", "nan"),  # a typed MELD is still checked
    ("tbil", "0"),  # the TBIL's message once, under tbil
    ("tbil_unit", ""),
]


@pytest.mark.parametrize(
    ("field", "value"), BAD_LAB_VALUES, ids=[f"{f}={v!r}" for f, v in BAD_LAB_VALUES]
)
def test_lab_value_gets_the_engines_answer(
    tmp_path: Path, evidence: Evidence, field: str, value: str
) -> None:
    for base in (LAB_GOOD, {**LAB_GOOD, "labs_bilirubin": "", "labs_bilirubin_unit": ""}):
        rows = [base, {**base, "id": "bad", field: value}, {**base, "id": "after"}]
        out = run_rows(tmp_path, evidence, rows, header=LAB_HEADER, added=LAB_ADDED)
        assert_labs_match_engine(rows, out, evidence)
        assert out[0]["error"] == out[2]["error"] == ""


def test_several_bad_labs_in_validate_request_order(tmp_path: Path, evidence: Evidence) -> None:
    rows = [
        {**LAB_GOOD, "labs_sex": "x", "labs_inr": "", "labs_creatinine_unit": "?", "alt": "0"},
        {**LAB_GOOD, "labs_bilirubin_unit": "", "failure_type": "?", "labs_dialysis": "?"},
        {**LAB_GOOD, "meld": "", "labs_inr": "99"},  # no MELD message: the labs say why
    ]
    out = run_rows(tmp_path, evidence, rows, header=LAB_HEADER, added=LAB_ADDED)
    fields = [[part.split(":")[0] for part in r["error"].split("; ")] for r in out]
    assert fields == [
        ["labs.inr", "labs.creatinine_unit", "labs.sex", "alt"],
        ["labs.bilirubin_unit", "labs.dialysis", "failure_type"],
        ["labs.inr"],
    ]
    assert_labs_match_engine(rows, out, evidence)


def test_labs_without_a_meld_column(tmp_path: Path, evidence: Evidence) -> None:
    """No meld column: MELD from the labs; a row with neither gets the API's message."""
    header = [h for h in LAB_HEADER if h != "meld"]
    rows = [{k: v for k, v in r.items() if k != "meld"} for r in (LAB_GOOD, GOOD)]
    rows[1] = {**rows[1], "id": "none"}
    out = run_rows(tmp_path, evidence, rows, header=header, added=LAB_ADDED)
    assert out[0]["meld_source"] == "labs"
    assert out[1]["error"] == "meld: Baseline MELD is required: enter 6 to 40."
    assert_labs_match_engine(rows, out, evidence)


def test_lab_rows_across_many_small_blocks(
    tmp_path: Path, evidence: Evidence, random_lab_rows: list[Row]
) -> None:
    rows = random_lab_rows[:400]
    out = run_rows(tmp_path, evidence, rows, header=LAB_HEADER, added=LAB_ADDED, block_bytes=500)
    assert_labs_match_engine(rows, out, evidence)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        pytest.param(["labs_inr"], "no column labs_creatinine, labs_creatinine_unit, "
                     "labs_dialysis", id="incomplete"),
        pytest.param(["labs_inr", "labs_creatinine", "labs_dialysis"],
                     "no column labs_creatinine_unit", id="no-creatinine-unit"),
        pytest.param([*LAB_COLUMNS[2:6], "labs_bilirubin"],
                     "labs_bilirubin but no column labs_bilirubin_unit", id="no-bilirubin-unit"),
        pytest.param([*LAB_COLUMNS[2:6], "labs_albumin_unit"],
                     "labs_albumin_unit but no column labs_albumin", id="lone-unit"),
        pytest.param([*LAB_COLUMNS[2:6], "meld_source"], "output column(s) meld_source",
                     id="clash"),
        pytest.param([*LAB_COLUMNS[2:6], "LABS_INR"], "labs_inr appears twice", id="twice"),
    ],
)  # fmt: skip
def test_lab_column_errors(
    tmp_path: Path, evidence: Evidence, columns: list[str], message: str
) -> None:
    src = tmp_path / "in.csv"
    src.write_text(",".join(["failure_type", "alt", "tbil", *columns]) + "\n")
    with pytest.raises(CohortFileError, match=re.escape(message)):
        run_cohort(src, tmp_path / "out.csv", evidence)


def test_meld_only_files_keep_their_columns(tmp_path: Path, evidence: Evidence) -> None:
    """Without lab columns nothing changes: no lab output, a meld_used column passes through."""
    header = [*HEADER, "meld_used"]
    out = run_rows(tmp_path, evidence, [{**GOOD, "meld_used": "x"}], header=header)
    assert out[0]["meld_used"] == "x"


LAB_TEXTS = {
    "labs_bilirubin": ["", "4.2", "72", "0.5"],
    "labs_bilirubin_unit": ["", "mg/dL", "umol/L"],
    "labs_inr": ["", "1.8", "0.9", "25"],
    "labs_creatinine": ["", "1.4", "120", "0.6"],
    "labs_creatinine_unit": ["", "mg/dL", "μmol/L"],
    "labs_dialysis": ["", "no", "yes"],
    "labs_sodium": ["", "126", "130.5"],
    "labs_albumin": ["", "2.7", "28"],
    "labs_albumin_unit": ["", "g/dL", "g/L"],
    "labs_sex": ["", "male", "female"],
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "failure_type": st.sampled_from(["ACLF", "CLF"]),
                "meld": _field(["", "28", "6"]),
                "alt": st.just("240"),
                "tbil": _field(["78.57", "4.59", "1"]),
                "tbil_unit": st.sampled_from(["umol/L", "mg/dL"]),
                **{c: _field(v) for c, v in LAB_TEXTS.items()},
            }
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_lab_text_gets_the_engines_answer(rows: list[Row], tmp_path_factory: Any) -> None:
    evidence = load()
    rows = [{"id": f"r{i}", **r} for i, r in enumerate(rows)]
    tmp = tmp_path_factory.mktemp("labs")
    header = ["id", "failure_type", "meld", "alt", "tbil", "tbil_unit", *LAB_COLUMNS]
    out = run_rows(tmp, evidence, rows, header=header, added=LAB_ADDED)
    assert_labs_match_engine(rows, out, evidence)


# --------------------------------------------------------------------------
# Hazards: the cohort's columns


@pytest.mark.parametrize("failure_type", ["ACLF", "CLF", "ALF", "SALF"])
@pytest.mark.hazard("H-01")
def test_h01_no_chance_of_improvement_column(
    tmp_path: Path, evidence: Evidence, failure_type: str
) -> None:
    rows = [{**GOOD, "failure_type": failure_type}]
    (out,) = run_rows(tmp_path, evidence, rows)
    assert out["error"] == ""
    assert not [c for c in out if "chance" in c.lower() or "probab" in c.lower()]
    # Nor any range from the ± of unreported kind (Cao 2018 abstract): no scenario columns,
    # and the interval columns, kept for evidence that states SD/SE with n, are empty.
    assert not [c for c in out if "scenario" in c.lower()]
    assert all(out[c] == "" for c in out if c.startswith(("confidence_", "prediction_")))


@pytest.mark.parametrize("failure_type", ["ACLF", "CLF", "ALF", "SALF"])
@pytest.mark.hazard("H-03")
def test_h03_no_implied_tbil_decline_column(
    tmp_path: Path, evidence: Evidence, failure_type: str
) -> None:
    (out,) = run_rows(tmp_path, evidence, [{**GOOD, "failure_type": failure_type}])
    assert not [c for c in out if "decline" in c.lower()]
    # 320 − 78.57 = 241.43 μmol/L; 241.43 / 320 = 75.446875 % (hand calculation).
    assert "241.43" not in out.values()
    assert "75.446875" not in out.values()


@pytest.mark.parametrize("failure_type", ["SALF", "salf", " Salf "])
@pytest.mark.hazard("H-06")
def test_h06_salf_is_accepted_without_an_estimate(
    tmp_path: Path, evidence: Evidence, failure_type: str
) -> None:
    rows = [{**GOOD, "failure_type": failure_type}]
    (out,) = run_rows(tmp_path, evidence, rows)
    assert out["error"] == ""
    assert (out["expected_meld_after"], out["mean_decrease"], out["baseline_stratum"]) == (
        "",
        "",
        "",
    )
    assert out["warnings"] == "no_estimate"
    assert_matches_engine(rows, [out], evidence)


@pytest.mark.hazard("H-07")
def test_h07_clf_meld_15_is_warned(tmp_path: Path, evidence: Evidence) -> None:
    (out,) = run_rows(tmp_path, evidence, [{**GOOD, "failure_type": "CLF", "meld": "15"}])
    assert "baseline_meld_below_20" in out["warnings"].split(";")


def test_plausibility_warnings_are_the_engines_on_their_thresholds(
    tmp_path: Path, evidence: Evidence
) -> None:
    """The key of the MELD block covers the ALT and TBIL checks: neighbours differ only there."""
    rows = [
        {**GOOD, "id": str(i), "tbil": tbil, "alt": alt}
        for i, (tbil, alt) in enumerate(
            itertools.product(["84.99", "85", "320"], ["4.99", "5", "240"])
        )
    ]
    out = run_rows(tmp_path, evidence, rows)
    assert_matches_engine(rows, out, evidence)
    assert out[0]["warnings"] == "tbil_below_type_definition;alt_below_5"
    assert out[-1]["warnings"] == ""


@pytest.mark.parametrize("failure_type", ["ACLF", "CLF", "ALF", "SALF"])
@pytest.mark.hazard("H-05")
def test_h05_every_row_names_both_evidence_versions(
    tmp_path: Path, evidence: Evidence, failure_type: str
) -> None:
    (out,) = run_rows(tmp_path, evidence, [{**GOOD, "failure_type": failure_type}])
    assert out["evidence_version"] == "cao2018-abstract-v2"
    assert out["context_evidence_version"] == "ding2024-abstract-v1"
    # The controlled evidence is never a column of its own: nothing from it is computed.
    assert [c for c in out if c.startswith("context_")] == ["context_evidence_version"]


# --------------------------------------------------------------------------
# Formula injection: output cells a spreadsheet would read as formulas get a leading "'"

PAYLOADS = [
    '=HYPERLINK("http://x","click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def run_raw(
    path: Path, evidence: Evidence, header: Sequence[str], rows: Sequence[Row]
) -> tuple[list[str], list[Row]]:
    """Run the cohort on ``rows`` in directory ``path``: the output's header, and its rows
    keyed by the input's column names and the added columns."""
    path.mkdir(exist_ok=True)
    src = write_csv(path / "in.csv", header, [[r.get(h, "") for h in header] for r in rows])
    before = src.read_bytes()
    run_cohort(src, path / "out.csv", evidence)
    assert src.read_bytes() == before  # the input is never changed
    names, records = read_csv(path / "out.csv")
    keys = [*header, *names[len(header) :]]
    return names, [dict(zip(keys, rec, strict=True)) for rec in records]


@pytest.mark.parametrize("payload", PAYLOADS, ids=repr)
def test_formula_cells_are_prefixed(tmp_path: Path, evidence: Evidence, payload: str) -> None:
    """In an id, a free-text column and the header: written with "'" before them; the
    assessment is the one of the same file without the payloads."""
    header = [*HEADER, "note", payload]
    rows = [
        {**GOOD, "id": payload, "note": payload, payload: "x"},
        {**GOOD, "id": "P2", "note": "plain", payload: payload},
        {**GOOD, "id": "P3", "meld": "6", "note": "plain", payload: "y"},
    ]
    names, out = run_raw(tmp_path / "payloads", evidence, header, rows)
    assert names[: len(header)] == [*HEADER, "note", "'" + payload]
    assert names[len(header) :] == list(OUTPUT_COLUMNS)
    assert [r["id"] for r in out] == ["'" + payload, "P2", "P3"]
    assert [r["note"] for r in out] == ["'" + payload, "plain", "plain"]
    assert [r[payload] for r in out] == ["x", "'" + payload, "y"]
    clean_rows = [{**r, "id": "a", "note": "b", "c": "d"} for r in rows]
    _, clean = run_raw(tmp_path / "clean", evidence, [*HEADER, "note", "c"], clean_rows)
    assert [[r[c] for c in OUTPUT_COLUMNS] for r in out] == [
        [r[c] for c in OUTPUT_COLUMNS] for r in clean
    ]
    assert [r["error"] for r in out] == ["", "", ""]
    assert out[0]["expected_meld_after"] == "13.07"
    assert out[2]["expected_meld_after_unbounded"] == "-8.93"  # a computed negative number


@pytest.mark.parametrize("long", [False, True])
@pytest.mark.parametrize("quoting", ["none", "simple", "full"])
def test_numbers_are_not_prefixed(
    tmp_path: Path, evidence: Evidence, quoting: str, long: bool
) -> None:
    """A plain number, negative or signed, passes through as it is; other text beginning
    with a sign does not. Unquoted, simply quoted, or in a file that needs a full CSV
    reader (a comma inside a quoted cell); short cells, or long ones among them."""
    numbers = ["-1.5", "+2", "-3.", "-.5", "-0"] + (["-" + "9" * 30 + ".5"] if long else [])
    others = ["-", "+", "-1.5.2", "-1e5", "- 1", "-."] + (["-" + "9" * 30 + "x"] if long else [])
    cells = [*numbers, *others]
    q = "" if quoting == "none" else '"'
    text = "id,failure_type,meld,alt,tbil,delta\n" + "".join(
        f"P{i},ACLF,28,240,320,{q}{c}{q}\n" for i, c in enumerate(cells)
    )
    if quoting == "full":
        text += '"P, last",ACLF,28,240,320,x\n'
        cells.append("x")
        numbers.append("x")
    src = tmp_path / "in.csv"
    src.write_text(text, encoding="utf-8")
    run_cohort(src, tmp_path / "out.csv", evidence)
    lines = (tmp_path / "out.csv").read_text(encoding="utf-8").split("\n")
    _, rows = read_csv(tmp_path / "out.csv")
    if quoting == "full":
        assert [r[5] for r in rows] == [*numbers[:-1], *("'" + c for c in others), "x"]
        return
    assert [r[5] for r in rows] == [*numbers, *("'" + c for c in others)]
    # The quoting of the input line is kept, the "'" inside it.
    assert lines[1].startswith(f"P0,ACLF,28,240,320,{q}-1.5{q},")
    assert lines[len(numbers) + 1].startswith(f"P{len(numbers)},ACLF,28,240,320,{q}'-{q},")


def test_refused_row_with_a_payload(tmp_path: Path, evidence: Evidence) -> None:
    """The error names the field first, so it is never a formula; the payload is prefixed
    where it is copied."""
    payload = PAYLOADS[0]
    rows = [{**GOOD, "failure_type": payload, "id": payload}]
    header = [*HEADER, "note"]
    _, (out,) = run_raw(tmp_path, evidence, header, rows)
    assert out["failure_type"] == out["id"] == "'" + payload
    assert out["error"].startswith("failure_type: ")
    assert out["warnings"] == ""


@pytest.mark.parametrize("payload", PAYLOADS, ids=repr)
def test_error_cell_is_prefixed(evidence: Evidence, payload: str) -> None:
    """The error column goes through the same rule as every cell (a message may quote
    the input)."""
    parsed = parse_rows({"failure_type": ["x"], "meld": ["28"], "alt": ["240"], "tbil": ["320"]})
    parsed = dataclasses.replace(parsed, errors=[payload + ": a message"])
    added = calc.cli.cohort.format_rows(
        parsed, calc.cli.cohort.assess_cohort(parsed.inputs, evidence)
    )
    (cell,) = next(csv.reader(io.StringIO(added[0][0].decode("utf-8"), newline="")))
    assert cell == "'" + payload + ": a message"


@given(st.text(alphabet='=+-@\t\r0123456789.ax,"é', max_size=40))
@example("-1.5.2")
@example("+1.")
@example("-" + "1" * 40 + ".")
@example("-" + "1" * 40 + "..")
@settings(max_examples=300)
def test_vectorised_prefix_rule_equals_the_cell_rule(text: str) -> None:
    """calc.cli.cohort._defuse_spans (numpy, on the file's bytes) decides as _defuse on text."""
    for texts in ([text], [text, "x", "-1", text], [text, "-" + "9" * 30]):
        # As in a file: each cell followed by a separator (here a line break).
        encoded = [t.encode("utf-8") for t in texts]
        buf = np.frombuffer(b"".join(e + b"\n" for e in encoded), np.uint8)
        length = np.array([len(e) for e in encoded], np.int64)
        start = np.cumsum(length + 1) - length - 1
        spans = calc.cli.cohort._defuse_spans(buf, start, length)
        assert spans.tolist() == [calc.cli.cohort._defuse(t) != t for t in texts]
