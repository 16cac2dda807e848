"""The hazard log and the tests stay in step.

Reads files only (the log and the test sources); imports nothing of the app.

The log, ``docs/safety/hazard-log.md``, has one ``## H-NN <title>`` section per
hazard, holding the fields as ``- **Name:** value`` bullets and, after a
``**Controls:**`` line, a numbered list of controls, each with a ``- tests:``
line followed by the tests that show the control works, written
``tests/<file>.py::<function>`` (or ``tests/<file>.py::<Class>::<method>``) in
backticks. A control without a test yet says ``- tests: (to be named)``, and
the checks below fail until it names one.

Every test function named ``test_hNN_<what>`` anywhere under ``tests/`` must be
listed under hazard H-NN. Run ``python tests/contract/test_hazard_log.py`` to print, per
hazard, the test functions found by name and whether the log lists them.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "docs" / "safety" / "hazard-log.md"
TESTS_DIR = ROOT / "tests"

REQUIRED_FIELDS = (
    "Hazard",
    "Cause",
    "Effect",
    "Severity",
    "Likelihood",
    "Initial risk",
    "Residual severity",
    "Residual likelihood",
    "Residual risk",
    "Status",
)
SEVERITIES = ("Minor", "Significant", "Considerable", "Major", "Catastrophic")
LIKELIHOODS = ("Very high", "High", "Medium", "Low", "Very low")
# DCB0129/DCB0160: likelihood (rows) x severity (columns) -> clinical risk 1-5.
RISK_MATRIX: dict[str, tuple[int, ...]] = {
    "Very high": (3, 4, 4, 5, 5),
    "High": (2, 3, 3, 4, 5),
    "Medium": (2, 2, 3, 3, 4),
    "Low": (1, 2, 2, 3, 4),
    "Very low": (1, 1, 2, 2, 3),
}

HAZARD_NAME = re.compile(r"test_h(\d\d)_")
SECTION_HEADING = re.compile(r"^## (?P<title>.*)$")
HAZARD_HEADING = re.compile(r"^H-(?P<id>\S+)(?:\s+(?P<title>.*))?$")
FIELD_LINE = re.compile(r"^- \*\*(?P<name>[^*]+?):\*\*\s*(?P<value>.*)$")
CONTROLS_LINE = re.compile(r"^\*\*Controls:?\*\*:?\s*$")
CONTROL_ITEM = re.compile(r"^(?P<number>\d+)\.\s+(?P<text>.*)$")
TESTS_LINE = re.compile(r"^\s+- tests:(?P<rest>.*)$", re.IGNORECASE)
BACKTICKED = re.compile(r"`([^`]+)`")
TEST_REFERENCE = re.compile(r"^(?P<path>tests/[\w./-]+\.py)::(?P<qualname>\w+(?:::\w+)*)$")
TO_BE_NAMED = "(to be named)"


@dataclass
class Control:
    number: int
    text: str
    has_tests_line: bool = False
    references: list[str] = field(default_factory=list)


@dataclass
class Hazard:
    heading: str  # what follows "## "
    hazard_id: str  # "H-01"; as written, possibly malformed
    title: str
    line: int
    fields: dict[str, str] = field(default_factory=dict)
    duplicate_fields: list[str] = field(default_factory=list)
    has_controls_line: bool = False
    controls: list[Control] = field(default_factory=list)

    @property
    def references(self) -> list[str]:
        return [r for c in self.controls for r in c.references]


# --------------------------------------------------------------------------
# Parsing the log


def parse_log(text: str) -> list[Hazard]:
    """The hazard sections of the log, in order (other ``##`` sections are skipped)."""
    hazards: list[Hazard] = []
    current: Hazard | None = None
    in_controls = False
    control: Control | None = None
    in_tests = False
    for number, line in enumerate(text.splitlines(), start=1):
        heading = SECTION_HEADING.match(line)
        if heading:
            title = heading["title"].strip()
            hazard = HAZARD_HEADING.match(title)
            current = None
            if hazard:
                current = Hazard(
                    heading=title,
                    hazard_id=f"H-{hazard['id']}",
                    title=(hazard["title"] or "").strip(),
                    line=number,
                )
                hazards.append(current)
            in_controls, control, in_tests = False, None, False
            continue
        if current is None:
            continue
        if CONTROLS_LINE.match(line.strip()):
            current.has_controls_line = True
            in_controls, control, in_tests = True, None, False
            continue
        field_line = FIELD_LINE.match(line)
        if field_line:  # a top-level field ends the list of controls
            in_controls, control, in_tests = False, None, False
            name = field_line["name"].strip()
            if name in current.fields:
                current.duplicate_fields.append(name)
            current.fields[name] = field_line["value"].strip()
            continue
        if not in_controls:
            continue
        item = CONTROL_ITEM.match(line)
        if item:
            control = Control(number=int(item["number"]), text=item["text"].strip())
            current.controls.append(control)
            in_tests = False
            continue
        if control is None:
            continue
        tests_line = TESTS_LINE.match(line)
        if tests_line:
            control.has_tests_line = True
            in_tests = True
            control.references += BACKTICKED.findall(tests_line["rest"])
            continue
        if in_tests:
            control.references += BACKTICKED.findall(line)
    return hazards


@cache
def log_hazards() -> list[Hazard]:
    assert LOG.is_file(), f"The hazard log is missing: {LOG.relative_to(ROOT)}"
    return parse_log(LOG.read_text(encoding="utf-8"))


def level_of(value: str, levels: tuple[str, ...]) -> str | None:
    """The level a field value starts with ("Very low: because ..." -> "Very low")."""
    for level in sorted(levels, key=len, reverse=True):  # "Very low" before "Low"
        if value.lower().startswith(level.lower()):
            rest = value[len(level) :]
            if not rest or not rest[0].isalnum():
                return level
    return None


def risk_of(value: str) -> int | None:
    found = re.match(r"^\**\s*([1-5])\b", value)
    return int(found.group(1)) if found else None


# --------------------------------------------------------------------------
# The test sources


def _qualified_tests(tree: ast.Module) -> set[str]:
    """Test functions of a module: ``name`` at top level, ``Class::name`` in classes."""
    names: set[str] = set()

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(prefix + node.name)
            elif isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}::")

    visit(tree.body, "")
    return names


_DEF_LINE = re.compile(r"^(?P<indent>[ \t]*)(?:async[ \t]+)?def[ \t]+(?P<name>\w+)", re.MULTILINE)


def _functions_in(path: Path) -> set[str]:
    source = path.read_text(encoding="utf-8", errors="replace")
    try:
        return _qualified_tests(ast.parse(source, filename=str(path)))
    except SyntaxError:
        # A file that does not parse (being edited): its top-level ``def`` lines,
        # so one broken file does not hide every other test from the check.
        return {m["name"] for m in _DEF_LINE.finditer(source) if not m["indent"]}


@cache
def source_functions() -> dict[str, set[str]]:
    """Every Python file under tests/ (path from the repository root) -> its functions."""
    out: dict[str, set[str]] = {}
    for path in sorted(TESTS_DIR.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        out[path.relative_to(ROOT).as_posix()] = _functions_in(path)
    return out


def hazard_tests_by_name() -> dict[str, list[str]]:
    """``H-NN`` -> the tests under tests/ named ``test_hNN_...``, as log references."""
    found: dict[str, list[str]] = {}
    for path, names in source_functions().items():
        for qualname in sorted(names):
            match = HAZARD_NAME.match(qualname.rsplit("::", 1)[-1])
            if match:
                found.setdefault(f"H-{match.group(1)}", []).append(f"{path}::{qualname}")
    return dict(sorted(found.items()))


def reference_problem(reference: str) -> str | None:
    """Why a test reference does not name an existing test, or None if it does."""
    target = re.sub(r"\[[^\]]*\]$", "", reference)  # a parametrized case counts by its function
    match = TEST_REFERENCE.match(target)
    if not match:
        return "not written tests/<file>.py::<test_function>"
    path, qualname = match["path"], match["qualname"]
    sources = source_functions()
    if path not in sources:
        return f"no file {path}"
    if qualname not in sources[path]:
        return f"{path} defines no {qualname.replace('::', '.')}"
    return None


def _listing(problems: list[str]) -> str:
    return "\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------
# The checks


def test_log_has_hazards() -> None:
    hazards = log_hazards()
    assert hazards, f"{LOG.relative_to(ROOT)} has no '## H-NN <title>' section."


def test_hazard_ids_are_unique_and_consecutive() -> None:
    ids = [h.hazard_id for h in log_hazards()]
    problems = [
        f"{i!r} is not written H-NN (two digits)" for i in ids if not re.fullmatch(r"H-\d\d", i)
    ]
    problems += [f"{i} appears {ids.count(i)} times" for i in sorted(set(ids)) if ids.count(i) > 1]
    expected = [f"H-{n:02d}" for n in range(1, len(ids) + 1)]
    if ids != expected:
        problems.append(f"the log has {', '.join(ids)}; expected {', '.join(expected)}, in order")
    assert not problems, "Hazard ids must be unique and consecutive from H-01:" + _listing(problems)


def test_every_hazard_has_every_field() -> None:
    problems: list[str] = []
    for h in log_hazards():
        where = f"{h.hazard_id} (line {h.line})"
        if not h.title:
            problems.append(f"{where}: the heading has no title after the id")
        for name in REQUIRED_FIELDS:
            if name not in h.fields:
                problems.append(f"{where}: no '- **{name}:**' field")
            elif not h.fields[name]:
                problems.append(f"{where}: the field {name!r} is empty")
        problems += [f"{where}: the field {name!r} is given twice" for name in h.duplicate_fields]
        if not h.has_controls_line:
            problems.append(f"{where}: no '**Controls:**' line")
        elif not h.controls:
            problems.append(f"{where}: no numbered control after '**Controls:**'")
        numbers = [c.number for c in h.controls]
        if numbers and numbers != list(range(1, len(numbers) + 1)):
            problems.append(f"{where}: controls are numbered {numbers}, not 1 to {len(numbers)}")
        for c in h.controls:
            if not c.has_tests_line:
                problems.append(f"{where}: control {c.number} has no '- tests:' line")
    assert not problems, "Hazard sections with a missing or malformed field:" + _listing(problems)


def test_levels_and_risks_follow_the_matrix() -> None:
    problems: list[str] = []
    for h in log_hazards():
        for sev_field, lik_field, risk_field in (
            ("Severity", "Likelihood", "Initial risk"),
            ("Residual severity", "Residual likelihood", "Residual risk"),
        ):
            severity = level_of(h.fields.get(sev_field, ""), SEVERITIES)
            likelihood = level_of(h.fields.get(lik_field, ""), LIKELIHOODS)
            risk = risk_of(h.fields.get(risk_field, ""))
            if severity is None:
                problems.append(f"{h.hazard_id}: {sev_field} is not one of {', '.join(SEVERITIES)}")
            if likelihood is None:
                problems.append(
                    f"{h.hazard_id}: {lik_field} is not one of {', '.join(LIKELIHOODS)}"
                )
            if risk is None:
                problems.append(f"{h.hazard_id}: {risk_field} does not start with a rating 1 to 5")
            if severity and likelihood and risk is not None:
                expected = RISK_MATRIX[likelihood][SEVERITIES.index(severity)]
                if risk != expected:
                    problems.append(
                        f"{h.hazard_id}: {risk_field} is {risk}, but {severity} x {likelihood} "
                        f"gives {expected}"
                    )
    assert not problems, "Severity, likelihood and risk off the matrix:" + _listing(problems)


def test_log_matrix_is_the_dcb0129_matrix() -> None:
    text = LOG.read_text(encoding="utf-8")
    problems: list[str] = []
    for likelihood, ratings in RISK_MATRIX.items():
        row = re.compile(
            r"^\|\s*\**" + re.escape(likelihood) + r"\**\s*\|" + r"\s*(\d)\s*\|" * 5, re.MULTILINE
        )
        match = row.search(text)
        if not match:
            problems.append(f"no matrix row for likelihood {likelihood!r}")
        elif tuple(int(g) for g in match.groups()) != ratings:
            problems.append(f"row {likelihood!r} reads {match.groups()}, expected {ratings}")
    assert not problems, "The risk matrix in the log differs from DCB0129's:" + _listing(problems)


def test_summary_table_matches_the_sections() -> None:
    text = LOG.read_text(encoding="utf-8")
    rows = {
        m["id"]: (int(m["initial"]), int(m["residual"]))
        for m in re.finditer(
            r"^\|\s*(?P<id>H-\d\d)\s*\|[^|\n]*\|\s*(?P<initial>\d)\s*\|\s*(?P<residual>\d)\s*\|",
            text,
            re.MULTILINE,
        )
    }
    problems: list[str] = []
    for h in log_hazards():
        ratings = (
            risk_of(h.fields.get("Initial risk", "")),
            risk_of(h.fields.get("Residual risk", "")),
        )
        if h.hazard_id not in rows:
            problems.append(f"{h.hazard_id}: no row in the summary table")
        elif rows[h.hazard_id] != ratings:
            problems.append(
                f"{h.hazard_id}: the summary says {rows[h.hazard_id]}, the section {ratings}"
            )
    ids = {h.hazard_id for h in log_hazards()}
    problems += [f"{i}: in the summary table but has no section" for i in rows if i not in ids]
    assert not problems, (
        "The summary table (initial, residual risk) differs from the hazard sections:"
        + _listing(problems)
    )


def test_every_control_names_a_test() -> None:
    problems: list[str] = []
    for h in log_hazards():
        for c in h.controls:
            if not c.references:
                problems.append(f"{h.hazard_id} control {c.number}: {c.text[:90]}")
    assert not problems, (
        "Controls that name no test (the log says 'tests: (to be named)' or nothing):"
        + _listing(problems)
    )


def test_every_named_test_exists() -> None:
    problems: list[str] = []
    for h in log_hazards():
        for c in h.controls:
            for reference in c.references:
                why = reference_problem(reference)
                if why:
                    problems.append(f"{h.hazard_id} control {c.number}: `{reference}`: {why}")
    assert not problems, "Tests named in the log that do not exist:" + _listing(problems)


def test_every_hazard_test_is_listed_under_its_hazard() -> None:
    hazards = {h.hazard_id: h for h in log_hazards()}
    problems: list[str] = []
    for hazard_id, found in hazard_tests_by_name().items():
        hazard = hazards.get(hazard_id)
        if hazard is None:
            problems += [f"{ref}: the log has no hazard {hazard_id}" for ref in found]
            continue
        listed = {re.sub(r"\[[^\]]*\]$", "", r) for r in hazard.references}
        problems += [f"{ref}: not listed under {hazard_id}" for ref in found if ref not in listed]
    assert not problems, (
        "Tests named test_hNN_... that the log does not list under hazard H-NN:"
        + _listing(problems)
    )


# --------------------------------------------------------------------------
# python tests/contract/test_hazard_log.py: what is found, to help fill the log


def _hazard_marks(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """The ids of the ``@pytest.mark.hazard("H-NN")`` marks on a test function."""
    ids = []
    for deco in node.decorator_list:
        if (
            isinstance(deco, ast.Call)
            and isinstance(deco.func, ast.Attribute)
            and deco.func.attr == "hazard"
            and deco.args
            and isinstance(deco.args[0], ast.Constant)
        ):
            ids.append(str(deco.args[0].value))
    return ids


def test_every_hazard_test_carries_its_hazard_mark() -> None:
    """``test_hNN_`` is marked ``@pytest.mark.hazard("H-NN")``: the id is named in the
    test itself, and ``pytest -m hazard`` runs every test that shows a control works."""
    problems = []
    for path in sorted(TESTS_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            match = HAZARD_NAME.match(node.name)
            marks = _hazard_marks(node)
            where = f"{path.relative_to(ROOT)}::{node.name}"
            if match and marks != [f"H-{match.group(1)}"]:
                problems.append(f"{where}: marked {marks}, named H-{match.group(1)}")
            elif not match and marks:
                problems.append(f"{where}: marked {marks} but not named test_hNN_")
    assert not problems, "hazard marks and names disagree:" + _listing(problems)


def main() -> int:
    hazards = {h.hazard_id: h for h in log_hazards()} if LOG.is_file() else {}
    found = hazard_tests_by_name()
    for hazard_id in sorted(set(hazards) | set(found)):
        hazard = hazards.get(hazard_id)
        title = hazard.title if hazard else "[not in the log]"
        print(f"{hazard_id} {title}".rstrip())
        listed = {re.sub(r"\[[^\]]*\]$", "", r) for r in hazard.references} if hazard else set()
        for ref in found.get(hazard_id, []):
            print(f"  {'listed  ' if ref in listed else 'UNLISTED'} {ref}")
        if hazard:
            for c in hazard.controls:
                if not c.references:
                    print(f"  control {c.number} names no test: {c.text[:80]}")
                for ref in c.references:
                    why = reference_problem(ref)
                    if why:
                        print(f"  MISSING  {ref} (control {c.number}): {why}")
        if not found.get(hazard_id):
            print("  (no test_" + hazard_id.replace("-", "").lower() + "_... function found)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
