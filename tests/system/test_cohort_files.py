"""Cohort files end to end: every row of the input, and only those, comes out, with its cells.

Source of truth: Python's csv module reading the input
(``csv.reader(io.TextIOWrapper(f, encoding="utf-8-sig", newline=""))``, blank
records skipped, as csv.DictReader skips them). The output file read back by
the csv module must hold one row per input record, in order, with the record's
cells, whatever stray quotes, quoted line breaks, line ends or long cells the
input holds, and however the blocks fall.
"""

from __future__ import annotations

import csv
import io
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from calc.cli.cohort import OUTPUT_COLUMNS, CohortFileError, run_cohort
from calc.core.evidence import Evidence

LIMIT = 131_072  # csv.field_size_limit() by default
HEADER = "id,failure_type,meld,alt,tbil,note"
WIDTH = 6
IDS = ("P1", 'O"Brien', "O'Brien", '"Smith"', '"Smith', 'Smith"', '"a"b', "", "=1+1")
NOTES = (
    "",
    "x",
    '"with, comma"',
    '"two\nlines"',
    '"cr\rinside"',
    '"crlf\r\ninside"',
    '"say ""hi"""',
    'say "hi"',
    '"',
    '""',
    "ü",
)
ENDS = ("\n", "\r\n", "\r")


def cohort_file(rnd: random.Random) -> bytes:
    """A cohort file as a ward exports and hand-edits it: valid patients, ids and notes
    with stray quotes, quoted line breaks, mixed line ends, rows of another width,
    blank lines, and now and then a cell over the csv module's limit."""
    end = rnd.choice(ENDS)
    parts = [HEADER, end]
    for _ in range(rnd.randint(0, 25)):
        cells = [
            rnd.choice(IDS),
            rnd.choice(["ACLF", "CLF", "ALF", '"ACLF"', "x"]),
            rnd.choice(["28", "9", "", "nan"]),
            rnd.choice(["240", "40"]),
            rnd.choice(["320", "60"]),
            rnd.choice(NOTES),
        ]
        if rnd.random() < 0.05:
            cells.append("extra")
        if rnd.random() < 0.05:
            cells.pop()
        if rnd.random() < 0.02:
            long = "y" * rnd.choice([LIMIT, LIMIT + 1, 150_000])
            cells[-1] = f'"{long[:99]}\n{long[100:]}"' if rnd.random() < 0.5 else long
        parts += [",".join(cells), rnd.choice(ENDS) if rnd.random() < 0.2 else end]
        if rnd.random() < 0.05:
            parts.append(end)
    if rnd.random() < 0.3:
        parts.pop()
    data = "".join(parts).encode("utf-8")
    return b"\xef\xbb\xbf" + data if rnd.random() < 0.1 else data


def csv_records(data: bytes) -> list[list[str]]:
    """The input's records after the header, as the csv module reads them (no limit)."""
    old = csv.field_size_limit(sys.maxsize)
    try:
        text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
        return [r for r in list(csv.reader(text))[1:] if r]
    finally:
        csv.field_size_limit(old)


def mismatch(
    run: Callable[..., Any], evidence: Evidence, data: bytes, block: int, tmp: Path
) -> str | None:
    """What is wrong with the cohort's output for ``data`` (None: nothing)."""
    src, out = tmp / "in.csv", tmp / "out.csv"
    src.write_bytes(data)
    try:
        summary = run(src, out, evidence, block_bytes=block)
    except Exception as exc:  # any failure is a finding
        return f"raised {exc!r}"
    old = csv.field_size_limit(sys.maxsize)  # a cell cut wrongly may be long
    try:
        with out.open(encoding="utf-8", newline="") as f:
            header, *rows = list(csv.reader(f))
    finally:
        csv.field_size_limit(old)
    expected = csv_records(data)
    if header != [*HEADER.split(","), *OUTPUT_COLUMNS]:
        return f"header {header[:WIDTH]}"
    if not summary.rows == len(rows) == len(expected):
        return f"{len(rows)} rows out ({summary.rows} counted) for {len(expected)} in"
    error = header.index("error")
    for i, (row, record) in enumerate(zip(rows, expected, strict=True)):
        cells = (record + [""] * WIDTH)[:WIDTH]
        long = [j for j, c in enumerate(cells) if len(c) > LIMIT]
        for j in long:
            cells[j] = ""
        if not all(a in (b, "'" + b) for a, b in zip(row[:WIDTH], cells, strict=True)):
            return f"row {i}: {row[:WIDTH]!r:.200} for {cells!r:.200}"
        if (len(record) != WIDTH or long) and not row[error].startswith("row: "):
            return f"row {i}: not refused ({row[error]!r})"
    return None


def fuzz(run: Callable[..., Any], evidence: Evidence, tmp: Path, count: int, seed: int) -> int:
    """How many of ``count`` generated files the cohort reads otherwise than csv does."""
    rnd = random.Random(seed)
    found = 0
    for _ in range(count):
        data = cohort_file(rnd)
        block = rnd.choice([1, 3, 16, 100, 4096]) if len(data) < LIMIT else 4096
        found += mismatch(run, evidence, data, block, tmp) is not None
    return found


@pytest.mark.hazard("H-22")
def test_h22_rows_out_are_the_rows_in_as_csv_reads_them(tmp_path: Path, evidence: Evidence) -> None:
    assert fuzz(run_cohort, evidence, tmp_path, count=1500, seed=22) == 0


@pytest.mark.hazard("H-22")
def test_h22_a_stray_quote_then_a_quoted_line_break_across_a_block(
    tmp_path: Path, evidence: Evidence
) -> None:
    """The case that added a row and cut a note short: an unquoted ``O"Brien``, then,
    further on, a quoted two-line note that a block boundary falls inside."""
    rows = ['O"Brien,ACLF,28,240,320,x'] + [f"p{i},CLF,9,40,60," for i in range(50)]
    rows[40] += '"two\nlines"'
    data = (HEADER + "\n" + "\n".join(rows) + "\n").encode()
    for block in (1, 64, 1000, 1 << 20):
        assert mismatch(run_cohort, evidence, data, block, tmp_path) is None


@pytest.mark.hazard("H-22")
@pytest.mark.parametrize("output", ["file", "stdout"])
def test_h22_a_file_that_is_not_utf8_writes_nothing(tmp_path: Path, output: str) -> None:
    src = tmp_path / "in.csv"
    good = "".join(f"p{i},CLF,9,40,60,\n" for i in range(100_000))
    src.write_bytes(f"{HEADER}\n{good}".encode() + b"late,CLF,9,40,60,caf\xe9\n")
    out = tmp_path / "out.csv"
    target = str(out) if output == "file" else "-"
    code = "import sys; from calc.cli.cohort import cohort_command; cohort_command(sys.argv[1:])"
    done = subprocess.run(
        [sys.executable, "-c", code, str(src), "-o", target],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 2
    assert b"line 100002 is not UTF-8" in done.stderr
    assert done.stdout == b""
    assert sorted(tmp_path.iterdir()) == [src]


def stray_file(path: Path, rows: int) -> Path:
    """``rows`` patients, written as they are generated: ids with a stray quote, quoted
    two-line notes, and, near the start, an id opening a quote that the next stray
    quote, 300,000 rows on, closes (one row of 7 MB, as the csv module reads it)."""
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER + "\n")
        for start in range(0, rows, 10_000):
            lines = []
            for i in range(start, min(rows, start + 10_000)):
                pid = '"Smith' if i == 500 else f"p{i}"
                if i % 1000 == 7 and not 500 < i < 300_000:
                    pid = 'O"Brien'
                note = '"two\nlines"' if i % 10_000 == 3 and not 500 < i < 300_000 else ""
                lines.append(f"{pid},ACLF,28,240,320,{note}\n")
            f.write("".join(lines))
    return path


def count_records(path: Path) -> int:
    """Records after the header, as the csv module reads them, streaming (no limit)."""
    old = csv.field_size_limit(sys.maxsize)
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            return sum(1 for r in csv.reader(f) if r) - 1
    finally:
        csv.field_size_limit(old)


# Ten million rows (about 300 MB): the size at which a reader that is not bounded
# needed 7 GiB and died. About two minutes on two cores.
LARGE_ROWS = 10_000_000


@pytest.mark.hazard("H-22")
def test_h22_memory_stays_bounded_on_a_large_file_with_stray_quotes(tmp_path: Path) -> None:
    """Peak memory of ``calc cohort`` on ten million rows with stray quotes: under 1 GiB,
    and every record out. The process is measured alone, from a parent of its own."""
    src = stray_file(tmp_path / "in.csv", LARGE_ROWS)
    out = tmp_path / "out.csv"
    code = (
        "import resource, subprocess, sys\n"
        "run = 'import sys; from calc.cli.cohort import cohort_command; "
        "cohort_command(sys.argv[1:])'\n"
        "subprocess.run([sys.executable, '-c', run, *sys.argv[1:]], check=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(src), "-o", str(out)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    peak_kib = int(done.stdout.split()[-1])
    print(f"\n[cohort] {LARGE_ROWS:,} rows with stray quotes: peak RSS {peak_kib / 1024:.0f} MiB")
    assert peak_kib < 1 << 20  # 1 GiB
    assert count_records(out) == count_records(src)


def test_a_long_cell_refuses_only_its_row(tmp_path: Path, evidence: Evidence) -> None:
    long = "y" * (LIMIT + 1)
    data = f"{HEADER}\na,ACLF,28,240,320,x\nb,ACLF,28,240,320,{long}\nc,ACLF,28,240,320,z\n"
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text(data, encoding="utf-8")
    summary = run_cohort(src, out, evidence)
    assert (summary.rows, summary.assessed, summary.refused) == (3, 2, 1)
    with out.open(encoding="utf-8", newline="") as f:
        header, *rows = list(csv.reader(f))
    assert [r[header.index("error")] for r in rows] == [
        "",
        "row: the cell in column note is longer than 131072 characters, the limit of "
        "Python's csv module: it is left empty in the output.",
        "",
    ]
    assert [r[5] for r in rows] == ["x", "", "z"]


def test_cohort_file_error_is_raised_before_writing(tmp_path: Path, evidence: Evidence) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(HEADER.encode() + b"\n\xff\n")
    with pytest.raises(CohortFileError, match="line 2 is not UTF-8"):
        run_cohort(src, tmp_path / "out.csv", evidence)
    assert sorted(tmp_path.iterdir()) == [src]


@pytest.mark.parametrize("block", [64, 1 << 20])
def test_cells_read_by_the_csv_module_are_defused_as_the_others(
    tmp_path: Path, evidence: Evidence, block: int
) -> None:
    """Rows read by the csv module (here: beside a quoted line break) are written back
    with each cell as calc.cli.cohort._defuse gives it, as the rows split with numpy."""
    from calc.cli.cohort import _defuse

    texts = ["=1+1", "+1", "-1.5", "-x", "@a", "\tb", "\rc", "a=b", "", 'q"', "d,e", "x\ny"]
    rows = [
        [text, "ACLF", "28", "240", "320", note]
        for text in texts
        for note in ("", "+n", '"two\nlines"', '"-z"')
    ]
    src = tmp_path / "in.csv"
    with src.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER + "\n")
        csv.writer(f, lineterminator="\n").writerows(rows)
    expected = csv_records(src.read_bytes())
    run_cohort(src, tmp_path / "out.csv", evidence, block_bytes=block)
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as f:
        _, *out = list(csv.reader(f))
    assert [r[:WIDTH] for r in out] == [[_defuse(c) for c in r] for r in expected]
