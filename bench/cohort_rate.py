"""Section 5: cohort throughput, in process and end to end (``calc cohort`` as a process)."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from calc.cli.cohort import run_cohort
from calc.core.evidence import load_evidence

HEADER = "id,failure_type,meld,alt,alt_unit,tbil,tbil_unit,transplant_date,note"
LAB_HEADER = (
    "labs_bilirubin,labs_bilirubin_unit,labs_inr,labs_creatinine,labs_creatinine_unit,"
    "labs_dialysis,labs_sodium,labs_albumin,labs_albumin_unit,labs_sex"
)
# `calc cohort` (calc.cli.main registers cohort_command) and, at exit, the process's peak
# resident memory: VmHWM, which exec resets (ru_maxrss would count the parent's).
COMMAND = """
import atexit, sys
def _peak():
    status = open("/proc/self/status").read()
    print("VmHWM", status.split("VmHWM:")[1].split()[0], file=sys.stderr)
atexit.register(_peak)
from calc.cli.cohort import cohort_command
cohort_command(sys.argv[1:])
"""


def make_csv(
    path: Path,
    rows: int,
    seed: int = 2018,
    block: int = 100_000,
    *,
    labs: bool = False,
    stray: bool = False,
) -> Path:
    """A cohort file of ``rows`` patients, as a ward spreadsheet would hold them.

    Mostly U/L and μmol/L, some μkat/L and mg/dL; 70 % with a transplant date;
    one row in 200 refused (a MELD of "nan"), so the error path is timed too.
    With ``labs``, the MELD lab columns too (see :func:`lab_columns`). With
    ``stray``, the quotes of a hand-edited export: every 1,000th id ``O"Brien``
    (a quote inside an unquoted cell), every 10,000th note a quoted two-line
    cell, and row 500's id opening a quote that row 1,007's stray quote closes
    (rows 500 to 1,007 are one row, as Python's csv module reads them).
    """
    rng = np.random.default_rng(seed)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER + ("," + LAB_HEADER if labs else "") + "\n")
        for start in range(0, rows, block):
            n = min(block, rows - start)
            ukat = rng.random(n) < 0.1
            mgdl = rng.random(n) < 0.2
            alt = np.where(ukat, np.round(rng.uniform(0.05, 50, n), 2), rng.integers(8, 3000, n))
            tbil = np.where(mgdl, np.round(rng.uniform(0.2, 40, n), 1), rng.integers(5, 800, n))
            meld = rng.integers(6, 41, n).astype(str).astype(object)
            meld[rng.random(n) < 0.005] = "nan"
            day = np.datetime64("2020-01-01") + rng.integers(0, 3000, n)
            cols = [
                [f"P{i:08d}" for i in range(start, start + n)],
                rng.choice(["ACLF", "CLF", "ALF"], n).tolist(),
                meld.tolist(),
                [f"{x:g}" for x in alt.tolist()],
                np.where(ukat, "ukat/L", "U/L").tolist(),
                [f"{x:g}" for x in tbil.tolist()],
                np.where(mgdl, "mg/dL", "umol/L").tolist(),
                np.where(rng.random(n) < 0.7, day.astype(str), "").tolist(),
                np.where(rng.random(n) < 0.1, "ward 4", "").tolist(),
            ]
            if labs:
                cols += lab_columns(rng, n, cols[2])
            if stray:
                for k in range((7 - start) % 1000, n, 1000):
                    cols[0][k] = 'O"Brien'
                for k in range((3 - start) % 10_000, n, 10_000):
                    cols[8][k] = '"two\nlines"'
                if start <= 500 < start + n:
                    cols[0][500 - start] = '"Smith'
            f.write("\n".join(map(",".join, zip(*cols, strict=True))) + "\n")
    return path


def lab_columns(rng: np.random.Generator, n: int, meld: list[str]) -> list[list[str]]:
    """MELD labs as a laboratory prints them: 90 % of rows give labs, and half of those
    leave meld blank (MELD from the labs; ``meld`` is changed in place); 30 % give
    their own bilirubin (else the TBIL is used); some μmol/L creatinine, g/L albumin;
    sodium, albumin and sex mostly given (MELD-Na and MELD 3.0)."""
    given = rng.random(n) < 0.9
    blank = given & (rng.random(n) < 0.5)
    meld[:] = np.where(blank, "", np.array(meld, dtype=object)).tolist()

    def cell(values: npt.NDArray[Any], present: npt.NDArray[np.bool_]) -> list[str]:
        out: list[str] = np.where(present, values, "").tolist()
        return out

    own_bili = given & (rng.random(n) < 0.3)
    cr_umol = rng.random(n) < 0.3
    sodium = given & (rng.random(n) < 0.9)
    albumin = given & (rng.random(n) < 0.8)
    alb_g_l = rng.random(n) < 0.3
    return [
        cell(np.round(rng.uniform(0.3, 30, n), 1).astype(str), own_bili),
        cell(np.full(n, "mg/dL"), own_bili),
        cell(np.round(rng.uniform(0.8, 4, n), 2).astype(str), given),
        cell(
            np.where(
                cr_umol,
                rng.integers(35, 600, n).astype(str),
                np.round(rng.uniform(0.4, 6, n), 2).astype(str),
            ),
            given,
        ),
        cell(np.where(cr_umol, "umol/L", "mg/dL"), given),
        cell(np.where(rng.random(n) < 0.05, "yes", "no"), given),
        cell(rng.integers(118, 146, n).astype(str), sodium),
        cell(
            np.where(
                alb_g_l,
                rng.integers(15, 46, n).astype(str),
                np.round(rng.uniform(1.5, 4.5, n), 1).astype(str),
            ),
            albumin,
        ),
        cell(np.where(alb_g_l, "g/L", "g/dL"), albumin),
        cell(rng.choice(["female", "male"], n), given),
    ]


@dataclass(frozen=True)
class CohortTiming:
    rows: int
    in_process_s: float  # run_cohort, best of the repeats
    end_to_end_s: float | None  # the command in a fresh process: start, read, write
    peak_rss_kib: int | None  # of that process
    input_bytes: int
    output_bytes: int

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.in_process_s


def time_in_process(src: Path, out: Path, repeats: int) -> float:
    evidence = load_evidence()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run_cohort(src, out, evidence)
        best = min(best, time.perf_counter() - start)
    return best


def time_command(src: Path, out: Path) -> tuple[float, int]:
    """Wall time and peak resident memory (KiB) of the command in a fresh interpreter."""
    start = time.perf_counter()
    done = subprocess.run(  # noqa: S603 (a fixed command: this Python)
        [sys.executable, "-c", COMMAND, str(src), "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"calc cohort exited with status {done.returncode}: {done.stderr}")
    peak = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("VmHWM ")]
    return seconds, int(peak[0])


def measure(
    sizes: list[int],
    workdir: Path,
    *,
    repeats: int = 3,
    end_to_end: bool = True,
    labs: bool = False,
) -> list[CohortTiming]:
    """Time the cohort on files of ``sizes`` rows (``labs``: with the MELD lab columns)."""
    out: list[CohortTiming] = []
    for rows in sizes:
        src = make_csv(workdir / f"cohort-{rows}.csv", rows, labs=labs)
        dst = workdir / f"cohort-{rows}.out.csv"
        reps = repeats if rows <= 200_000 else min(repeats, 2)
        in_process = time_in_process(src, dst, reps)
        e2e, rss = time_command(src, dst) if end_to_end else (None, None)
        out.append(CohortTiming(rows, in_process, e2e, rss, src.stat().st_size, dst.stat().st_size))
        src.unlink()
        dst.unlink()
    return out


def measure_stray(rows: int, workdir: Path) -> tuple[float, int]:
    """Wall time (s) and peak resident memory (KiB) of ``calc cohort`` in a fresh process
    on a file of ``rows`` patients with stray quotes (:func:`make_csv` ``stray``)."""
    src = make_csv(workdir / f"stray-{rows}.csv", rows, stray=True)
    dst = workdir / f"stray-{rows}.out.csv"
    try:
        return time_command(src, dst)
    finally:
        src.unlink()
        dst.unlink(missing_ok=True)


def growth_exponent(small: CohortTiming, large: CohortTiming) -> float:
    """k in time ∝ rows^k between two sizes (1: linear)."""
    return math.log(large.in_process_s / small.in_process_s) / math.log(large.rows / small.rows)
