"""Each clinical bound and threshold is written once in calc/.

The MELD table's coefficients have their own check (test_meld.py,
test_table_numbers_are_written_nowhere_else_in_calc). This one covers the rest:
the ranges every input is checked against, the plausibility thresholds of the
warnings and the follow-up limits. Each number is written as a literal in one
place only; everything else reads the constant (the adapters' words, the
OpenAPI bounds, the cohort's columns, the MELD labs' bilirubin, the follow-up
days). Small whole numbers (0 to 10) are everywhere in code (indices, powers
of ten) and are left out; their constants are checked by name below.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from calc.core import followup, inputs, meld, rules

CALC = Path(__file__).resolve().parents[3] / "calc"

RANGES = [
    inputs.MELD_RANGE,
    inputs.DAY_RANGE,
    *inputs.ALT_RANGES.values(),
    *inputs.TBIL_RANGES.values(),
    *(r for by_unit in meld.LAB_RANGES.values() for r in by_unit.values()),
]
THRESHOLDS = (
    inputs.U_L_PER_UKAT_L,
    rules.ACLF_TBIL_DEFINING_UMOL_L,
    rules.ALT_PLAUSIBLE_LOW_U_L,
    followup.ALT_WINDOW_DAYS,
    followup.TBIL_WINDOW_DAYS,
    followup.IMPLAUSIBLE_FALL_PERCENT,
    followup.IMPLAUSIBLE_RISE_FACTOR,
)
# (file, number): (how many times, why) the same number is written there for another
# meaning. Every other occurrence beyond the one definition is a duplicate.
OTHER_MEANINGS: dict[tuple[str, str], tuple[int, str]] = {
    ("forms.py", "40"): (1, "the longest patient reference, in characters"),
    ("meld.py", "40"): (3, "each formula's own cap in the MELD table (OPTN/UNOS, OPTN, Kim 2021)"),
    ("forms.py", "60"): (1, "the longest clinician name, in characters"),
    ("meld.py", "0.5"): (5, "rounding half up, and a tie at k + 0.5"),
    ("rules.py", "0.5"): (1, "the t quantile of a two-sided interval, 0.5 + level / 2"),
    ("worker.py", "0.5"): (1, "a poll interval, in seconds"),
    ("figure.py", "0.1"): (1, "the smallest axis magnitude"),
    ("cohort.py", "20"): (2, "character positions and widths of the text of a cell"),
    ("csvread.py", "20"): (2, "block and cell sizes in bytes (shifts)"),
    ("figure.py", "20"): (1, "a layout size in pixels"),
    ("api.py", "200"): (1, "HTTP status 200"),
    ("app.py", "200"): (1, "HTTP status 200"),
    ("views.py", "200"): (4, "HTTP status 200"),
    ("figure.py", "200"): (1, "a layout size in pixels"),
    ("figure.py", "25"): (1, "a layout size in pixels"),
    ("figure.py", "70"): (1, "a layout size in pixels"),
    ("followup.py", "90"): (1, "the implausible fall in percent"),
    ("cohort.py", "15"): (2, "byte positions in a YYYY-MM-DD date and digits of a cell"),
    ("inputs.py", "15"): (1, "the largest integer the unit guard converts, 10**15"),
    ("figure.py", "15"): (1, "a layout size in pixels"),
    ("server.py", "50"): (1, "the most header fields of a request"),
    ("savefile.py", "60"): (2, "seconds in a minute (the offset of a saved time)"),
    ("figure.py", "60"): (1, "a layout size in pixels"),
}


def _norm(x: float | str) -> str:
    return format(Decimal(str(x)).normalize(), "f")


def literals() -> dict[str, dict[str, list[int]]]:
    """number (normalised) -> file name -> line numbers where calc/ writes it."""
    out: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(CALC.rglob("*.py")):
        source = path.read_text("utf-8")
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.NUMBER:
                try:
                    value = Decimal(token.string.replace("_", ""))
                except ArithmeticError:
                    continue  # 0x.., 1e3j: not a bound
                out[_norm(value)][path.name].append(token.start[0])
    return out


def clinical_numbers() -> set[str]:
    numbers = {_norm(r.low) for r in RANGES} | {_norm(r.high) for r in RANGES}
    numbers |= {_norm(x) for x in THRESHOLDS}
    return {n for n in numbers if not (Decimal(n) == Decimal(n).to_integral() and Decimal(n) <= 10)}


def test_each_clinical_bound_and_threshold_is_written_once() -> None:
    found = literals()
    repeated = {}
    for number in sorted(clinical_numbers(), key=Decimal):
        places = found.get(number, {})
        others = sum(OTHER_MEANINGS.get((name, number), (0, ""))[0] for name in places)
        if sum(len(lines) for lines in places.values()) - others != 1:
            repeated[number] = dict(places)
    assert repeated == {}, "written more than once (or not at all):"


def test_the_check_sees_a_repeated_bound(tmp_path: Path) -> None:
    """Control: a number written twice is found twice."""
    (tmp_path / "a.py").write_text("X = 1710\nY = (1, 1710.0)\n")
    values = [
        _norm(Decimal(t.string))
        for t in tokenize.generate_tokens(io.StringIO((tmp_path / "a.py").read_text()).readline)
        if t.type == tokenize.NUMBER
    ]
    assert values.count("1710") == 2


def test_every_range_is_built_in_the_range_tables() -> None:
    """A Range() is constructed only in calc/core/inputs.py and calc/core/meld.py (the
    tables); everywhere else a range is the table's, relabelled with dataclasses.replace."""
    makers = set()
    for path in CALC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Range":
                makers.add(path.relative_to(CALC).as_posix())
    assert makers == {"core/inputs.py", "core/meld.py"}


def test_the_warning_thresholds_are_read_only_by_the_rules_and_their_words() -> None:
    """The conditions compare against the thresholds in calc/core/rules.py only; the
    engine reads them for the words of a warning."""
    names = {
        "MELD_PLAUSIBLE_LOW",
        "ALT_PLAUSIBLE_LOW_U_L",
        "TBIL_DEFINITIONS",
        "MELD_LABS_TOLERANCE",
        "ACLF_TBIL_DEFINING_UMOL_L",
    }
    readers = defaultdict(set)
    for path in CALC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Name) and node.id in names:
                readers[node.id].add(path.relative_to(CALC).as_posix())
    assert set(readers) == names
    assert all(files <= {"core/rules.py", "core/engine.py"} for files in readers.values()), dict(
        readers
    )
