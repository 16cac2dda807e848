"""Cohort mode (calc.cohort): the vectorised run must give the single-patient engine's results.

Source of truth: ``calc.inputs.validate_inputs(row, allow_text=True)`` then
``calc.engine.assess`` and ``calc.report.to_dict`` on each row alone. Numbers
are compared with ``==`` (tolerance: none; the CSV holds ``repr`` of each
float, which reads back to the same float). Pinned values come from the
Cao 2018 abstract (14.93 ± 1.24 ACLF, 4.6 ± 5.66 CLF, TBIL 78.57 μmol/L) with
the hand calculation beside them.
"""

from __future__ import annotations

import csv
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

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import calc.cohort
from calc.cohort import (
    INPUT_FIELDS,
    OUTPUT_COLUMNS,
    RANGE_KINDS,
    CohortFileError,
    assess_csv,
    cohort_command,
    parse_rows,
    run_cohort,
)
from calc.engine import assess
from calc.evidence import Evidence
from calc.inputs import ALT_RANGES, TBIL_RANGES, InputError, validate_inputs
from calc.report import to_dict

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
    block_bytes: int = calc.cohort.DEFAULT_BLOCK_BYTES,
) -> list[Row]:
    """Run the cohort on ``rows`` (dicts keyed by ``header``); the output rows as dicts."""
    src = write_csv(tmp_path / "in.csv", header, [[r.get(h, "") for h in header] for r in rows])
    out = tmp_path / "out.csv"
    summary = run_cohort(src, out, evidence, block_bytes=block_bytes)
    names, records = read_csv(out)
    assert names == [*header, *OUTPUT_COLUMNS]
    assert summary.rows == len(records) == len(rows)
    return [dict(zip(names, rec, strict=True)) for rec in records]


def engine_cells(row: Row, evidence: Evidence) -> dict[str, Any]:
    """What the single-patient engine says about ``row``: the oracle for every added column."""
    raw = {k: v for k, v in row.items() if k in INPUT_FIELDS}
    try:
        inputs = validate_inputs(raw, allow_text=True)
    except InputError as exc:
        return {"error": str(exc)}
    d = to_dict(assess(inputs, evidence))
    mr, alt, tbil = d["meld_reduction"], d["markers"]["alt"], d["markers"]["tbil"]
    ranges = {r["kind"]: r for r in mr["ranges"]}
    cells: dict[str, Any] = {
        "error": "",
        "warnings": ";".join(w["code"] for w in d["warnings"]),
        "evidence_version": d["version"]["evidence"],
        "calc_version": d["version"]["app"],
        "baseline_stratum": d["baseline_stratum"],
        "mean_decrease": mr["mean"],
        "reported_spread": mr["reported_spread"],
        "spread_kind": mr["spread_kind"],
        "expected_meld_after": mr["expected_meld_after"],
        "expected_meld_after_unbounded": mr["expected_meld_after_unbounded"],
        "bounded_at_floor": mr["bounded_at_floor"],
        "chance_of_improvement": (mr["chance_of_improvement"] or {}).get("value"),
        "tbil_informative": tbil["informative"],
        "pooled_tbil_umol_l": tbil["pooled_level_umol_l"],
        "alt_check_day": alt["check_day"],
        "tbil_check_days": ";".join(map(str, tbil["check_days"])),
        "alt_u_l": d["input"]["alt_u_l"],
        "tbil_umol_l": d["input"]["tbil_umol_l"],
        "implied_tbil_decline_umol_l": tbil["implied_decline_umol_l"],
        "implied_tbil_decline_percent": tbil["implied_decline_percent"],
        "alt_check_date": alt["check_date"],
        "tbil_check_dates": None if tbil["check_dates"] is None else ";".join(tbil["check_dates"]),
    }
    for kind in RANGE_KINDS:
        r = ranges.get(kind, {})
        for part in ("low", "high", "meld_after_low", "meld_after_high"):
            cells[f"{kind}_{part}"] = r.get(part)
    assert set(cells) == set(OUTPUT_COLUMNS)
    return cells


def mismatches(out: Row, expected: dict[str, Any]) -> list[str]:
    """Columns where a cohort output row differs from the engine (floats compared with ==)."""
    if expected["error"]:
        # A refused row: the message of validate_inputs and nothing else.
        return [c for c in OUTPUT_COLUMNS if out[c] != (expected["error"] if c == "error" else "")]
    bad = []
    for col in OUTPUT_COLUMNS:
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
    else:
        tbil = _number_text(rnd, *TBIL_BOUNDS[tbil_unit])
    when = ""
    if rnd.random() < 0.6:
        day = date(2000, 1, 1) + timedelta(days=rnd.randrange(36525))
        when = rnd.choice([day.isoformat()] * 8 + SPECIAL_DATES + [f" {day.isoformat()}"])
    return {
        "id": f"P{i:05d}",
        "failure_type": rnd.choice(["ACLF", "CLF", "ALF", "ACLF", "CLF", "aclf", " clf", "Alf"]),
        "meld": rnd.choice([str(meld)] * 6 + [f"0{meld}", f"{meld}.0", f"+{meld}", f"{meld} "]),
        "alt": _number_text(rnd, *ALT_BOUNDS[alt_unit]),
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
        kinds.add(a.stratum.group)
    assert kinds >= {"ACLF", "CLF", "ALF", ">=20", "<20"} | set(calc.cohort.WARNING_CODES)


def load() -> Evidence:
    from calc.evidence import load_evidence

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
            "failure_type": rnd.choice(["ACLF", "CLF", "ALF"]),
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
                "implied_tbil_decline_umol_l": "241.43",  # 320 − 78.57
                "implied_tbil_decline_percent": "75.446875",  # 241.43 / 320 × 100
                "warnings": "",
                "baseline_stratum": ">=20",
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
                "warnings": "meld_after_floor;spread_exceeds_mean",  # 5.66 ≥ 4.6
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
            },
            id="ALF",
        ),
        pytest.param(
            {"failure_type": "ACLF", "meld": "15", "alt": "240", "tbil": "320",
             "transplant_date": "2026-01-10"},
            {
                "alt_check_date": "2026-01-25",  # + 15 days
                "tbil_check_dates": "2026-03-11;2026-04-10",  # + 60, + 90 days
                "expected_meld_after_unbounded": "0.07",  # 15 − 14.93
                "expected_meld_after": "6.0",  # bounded at the floor
                "warnings": "meld_after_floor;aclf_meld_below_20",
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


def test_engine_runs_once_per_failure_type_not_per_row(
    tmp_path: Path, evidence: Evidence, random_rows: list[Row], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Vectorised: the engine is only asked for the per-group constants, never per row."""
    calls: list[str] = []
    real = assess

    def counting(inputs: Any, ev: Evidence) -> Any:
        calls.append(inputs.failure_type.value)
        return real(inputs, ev)

    monkeypatch.setattr(calc.cohort, "assess", counting)
    run_rows(tmp_path, evidence, random_rows[:2000])  # one block
    assert sorted(calls) == ["ACLF", "ALF", "CLF"]


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
                "failure_type": _field(["ACLF", "CLF", "ALF", "aclf"]),
                "meld": _field(["6", "19", "20", "40", "28.0", "٢٨"]),
                "alt": _field(["1", "240", "0.02", "833", "50000", "12.5"]),
                "alt_unit": _field(["U/L", "ukat/L", "μkat/L"]),
                "tbil": _field(["78.57", "4.59", "320", "0.1", "1710", "100"]),
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
    """The cohort core imports no web framework (DESIGN.md, "The core")."""
    code = (
        "import sys, calc.cohort; "
        "print(sorted(m for m in ('flask', 'wtforms') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unbalanced_quote_is_a_file_error(tmp_path: Path, evidence: Evidence) -> None:
    """A quoted cell that never ends: refused, with bounded memory (not read to the end)."""
    src = tmp_path / "in.csv"
    src.write_text('id,failure_type,meld,alt,tbil\n"x,ACLF,28,240,320\n' + "y\n" * 2000)
    with pytest.raises(CohortFileError, match="a quoted cell does not end"):
        run_cohort(src, tmp_path / "out.csv", evidence, block_bytes=16)


def test_a_cell_over_the_csv_limit_is_a_file_error(tmp_path: Path, evidence: Evidence) -> None:
    src = tmp_path / "in.csv"
    huge = '"' + "a," * 70_000 + '"'  # 140 kB: over the csv module's 128 KiB cell limit
    src.write_text(f"id,failure_type,meld,alt,tbil\n{huge},ACLF,28,240,320\n")
    with pytest.raises(CohortFileError, match="not readable as CSV"):
        run_cohort(src, tmp_path / "out.csv", evidence)


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
    calc.cohort._block(key, [np.array([1.0, 1.0, 2.0])])  # a function of the key: fine
    with pytest.raises(RuntimeError, match="does not depend on its block key"):
        calc.cohort._block(key, [np.array([1.0, 3.0, 2.0])])


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
    from calc.evidence import EvidenceError

    def broken() -> Evidence:
        raise EvidenceError("evidence file: field 'x' is missing")

    monkeypatch.setattr(calc.cohort, "load_evidence", broken)
    src = write_csv(tmp_path / "in.csv", HEADER, [[GOOD[h] for h in HEADER]])
    result = invoke([str(src), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 2
    assert result.stderr == "calc: error: evidence file: field 'x' is missing\n"


def test_command_into_a_pipe_closed_early(tmp_path: Path) -> None:
    """`calc cohort big.csv -o - | head -1`: stops quietly, without a traceback."""
    rows = [[GOOD[h] for h in HEADER]] * 20_000
    src = write_csv(tmp_path / "in.csv", HEADER, rows)
    code = "import sys; from calc.cohort import cohort_command; cohort_command(sys.argv[1:])"
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
