"""The result types (calc.core.results) and the shape of the core's imports.

* Each core module imports on its own, in a fresh interpreter.
* The import graph of calc.* has no cycle. It is read from the source with
  ``ast``: every import statement counts, at module level, under
  ``if TYPE_CHECKING:`` and inside functions.
* calc.core.results imports only the standard library and calc.core.evidence, calc.core.inputs
  and calc.core.meld.
* Each result type is defined once, in calc.core.results, and imported from there.
* Every dataclass field in calc.core.results is named, with its type, in its class's
  docstring "Attributes" section (numpydoc), with a description.
"""

from __future__ import annotations

import ast
import dataclasses
import graphlib
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import calc.core.results

ROOT = Path(__file__).resolve().parents[3]
CALC = ROOT / "calc"

# Modules that import without a web framework: the core, and the two adapters that
# only compute (the SVG figures, the cohort run).
CORE_MODULES = (
    "calc.core.evidence",
    "calc.core.inputs",
    "calc.core.meld",
    "calc.core.results",
    "calc.core.engine",
    "calc.core.followup",
    "calc.core.assessment",
    "calc.core.report",
    "calc.web.figure",
    "calc.core.savefile",
    "calc.cli.cohort",
)
RESULT_TYPES = frozenset(
    {
        "RangeEstimate",
        "MeldReduction",
        "Stratum",
        "AltMarker",
        "TbilMarker",
        "WarningItem",
        "ContextView",
        "VersionStamp",
        "Assessment",
        "MarkerStatus",
        "FollowupResult",
    }
)
# What importing calc.core.results may load of calc (the package root loads calc.version).
RESULTS_MAY_LOAD = {
    "calc",
    "calc.version",
    "calc.core",
    "calc.core.evidence",
    "calc.core.i18n",  # the words of a message in the current language (pure, no Flask)
    "calc.core.inputs",
    "calc.core.quickinit",
    "calc.core.results",
}
RESULTS_MAY_IMPORT = {
    "calc.core.evidence",
    "calc.core.i18n",
    "calc.core.inputs",
    "calc.core.meld",
    "calc.core.quickinit",  # the types' __init__ (standard library only)
}


# --------------------------------------------------------------------------
# The import graph, from the source


def module_names(package_dir: Path) -> dict[str, Path]:
    """Module name -> file, for every .py file of a package and its subpackages."""
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = [package_dir.name, *path.relative_to(package_dir).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _resolve(dotted: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of ``dotted`` that is a module of the package."""
    parts = dotted.split(".")
    while parts:
        name = ".".join(parts)
        if name in modules:
            return name
        parts.pop()
    return None


def imported_modules(path: Path, me: str, modules: dict[str, Path]) -> set[str]:
    """The package's modules that one file imports, wherever the statement stands."""
    package = me.split(".")[0]
    # The package a relative import starts from: a module's own, or an __init__'s self.
    here = me.split(".") if path.stem == "__init__" else me.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level <= len(here), f"{path}: relative import beyond the package"
            base = ".".join(here[: len(here) - node.level + 1]) if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            # from . import x / from calc.core import x: x may be a module
            targets = [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if target == package or target.startswith(f"{package}."):
                resolved = _resolve(target, modules)
                if resolved is not None and resolved != me:
                    out.add(resolved)
    return out


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    modules = module_names(package_dir)
    return {name: imported_modules(path, name, modules) for name, path in modules.items()}


def import_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def test_calc_import_graph_has_no_cycle() -> None:
    graph = import_graph(CALC)
    assert set(CORE_MODULES) <= set(graph)
    cycle = import_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_layers_import_downwards_only() -> None:
    """calc.core imports nothing of the adapters; web and cli never import each other
    (except ``calc serve``, which starts the web server)."""
    graph = import_graph(CALC)
    allowed = {
        "calc.core": ("calc.core", "calc.version", "calc"),
        "calc.web": ("calc.web", "calc.core", "calc.version", "calc"),
        "calc.cli": ("calc.cli", "calc.core", "calc.version", "calc", "calc.web.server"),
    }
    wrong = [
        f"{module} -> {target}"
        for module, targets in graph.items()
        for layer, ok in allowed.items()
        if module == layer or module.startswith(f"{layer}.")
        for target in targets
        if not any(target == o or target.startswith(f"{o}.") for o in ok if o != "calc")
        and target != "calc"
    ]
    assert wrong == []
    assert graph["calc.core.engine"], "control: the graph has the core's own imports"


def test_import_graph_counts_type_checking_and_function_imports() -> None:
    """Control: the graph holds the imports that only a type checker or a call runs."""
    graph = import_graph(CALC)
    assert "calc.core.meld" in graph["calc.core.results"]  # under if TYPE_CHECKING:
    assert "calc.web.server" in graph["calc.cli.main"]  # inside a function
    assert "calc.web.api" in graph["calc.web.app"]  # from . import api, views (inside a function)
    assert graph["calc.web.server"] == {"calc"}  # from .. import create_app: the package root
    assert "calc.core.savefile" in graph["calc.web.views"]  # from ..core import savefile


def test_import_cycle_is_found_through_type_checking(tmp_path: Path) -> None:
    """Control: a cycle closed only under ``if TYPE_CHECKING:`` is reported."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import B\n")
    (pkg / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import A\nB = 1\n"
    )
    assert import_cycle(import_graph(pkg)) in (
        ["pkg.a", "pkg.b", "pkg.a"],
        ["pkg.b", "pkg.a", "pkg.b"],
    )


def test_results_imports_only_the_standard_library_and_input_types() -> None:
    path = CALC / "core" / "results.py"
    calc_modules = imported_modules(path, "calc.core.results", module_names(CALC))
    assert calc_modules <= RESULTS_MAY_IMPORT
    others = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            others |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            others.add(node.module.split(".")[0])
    assert others - {"calc"} <= sys.stdlib_module_names, others


# --------------------------------------------------------------------------
# Each core module alone, in a fresh interpreter

LOADED_SCRIPT = (
    "import importlib, json, sys; importlib.import_module(sys.argv[1]); "
    "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'calc')))"
)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_imports_alone(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOADED_SCRIPT, module],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout))
    assert module in loaded
    if module == "calc.core.results":
        assert loaded <= RESULTS_MAY_LOAD, sorted(loaded - RESULTS_MAY_LOAD)


# --------------------------------------------------------------------------
# One home for each result type


def _source_files() -> list[Path]:
    return [p for d in ("calc", "bench", "tests") for p in sorted((ROOT / d).rglob("*.py"))]


def test_result_types_are_the_dataclasses_of_calc_results() -> None:
    defined = {
        name
        for name, obj in vars(calc.core.results).items()
        if inspect.isclass(obj)
        and dataclasses.is_dataclass(obj)
        and obj.__module__ == "calc.core.results"
    }
    assert defined == RESULT_TYPES


def test_each_result_type_is_defined_once_and_imported_from_calc_results() -> None:
    problems = []
    for path in _source_files():
        where = path.relative_to(ROOT)
        for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path))):
            if isinstance(node, ast.ClassDef) and node.name in RESULT_TYPES:
                if where != Path("calc/core/results.py"):
                    problems.append(f"{where}:{node.lineno}: defines {node.name}")
            elif isinstance(node, ast.ImportFrom):
                names = {alias.name for alias in node.names} & RESULT_TYPES
                module = "." * node.level + (node.module or "")
                if names and module not in {"calc.core.results", ".results", "..core.results"}:
                    problems.append(f"{where}:{node.lineno}: {sorted(names)} from {module}")
            elif isinstance(node, ast.Attribute) and node.attr in RESULT_TYPES:
                owner = ast.unparse(node.value)
                if owner not in {"calc.core.results", "results"}:
                    problems.append(f"{where}:{node.lineno}: {owner}.{node.attr}")
    assert problems == []


# --------------------------------------------------------------------------
# Every field documented


ENTRY = re.compile(r"(?P<name>\w+) : (?P<type>\S.*)")


def documented_attributes(cls: type) -> dict[str, tuple[str, str]]:
    """Name -> (type, description) of each entry of the docstring's "Attributes" section."""
    lines = inspect.cleandoc(cls.__doc__ or "").splitlines()

    def underlined(i: int) -> bool:
        return i + 1 < len(lines) and bool(lines[i + 1]) and set(lines[i + 1]) == {"-"}

    starts = [i for i, line in enumerate(lines) if line == "Attributes" and underlined(i)]
    if not starts:
        return {}
    entries: dict[str, tuple[str, list[str]]] = {}
    text: list[str] = []
    for i in range(starts[0] + 2, len(lines)):
        line = lines[i]
        if not line.strip():
            continue
        if line[0].isspace():
            text.append(line.strip())
            continue
        if underlined(i):  # the next section
            break
        match = ENTRY.fullmatch(line)
        assert match, f"{cls.__name__}: not 'name : type': {line!r}"
        text = []
        entries[match["name"]] = (match["type"], text)
    return {name: (type_, " ".join(words)) for name, (type_, words) in entries.items()}


def _result_classes() -> list[type]:
    return [getattr(calc.core.results, name) for name in sorted(RESULT_TYPES)]


@pytest.mark.parametrize("cls", _result_classes(), ids=lambda c: c.__name__)
def test_every_field_is_documented_under_attributes(cls: type) -> None:
    documented = documented_attributes(cls)
    fields = dataclasses.fields(cls)
    missing = [f.name for f in fields if f.name not in documented]
    assert missing == [], f"{cls.__name__}: fields not under Attributes: {missing}"
    assert [n for n in documented if n in {f.name for f in fields}] == [f.name for f in fields]
    for f in fields:
        type_, text = documented[f.name]
        assert type_ == f.type, f"{cls.__name__}.{f.name}: documented as {type_}, is {f.type}"
        assert text, f"{cls.__name__}.{f.name}: no description"
    for extra in set(documented) - {f.name for f in fields}:
        prop = inspect.getattr_static(cls, extra, None)
        assert isinstance(prop, property), f"{cls.__name__}.{extra}: documented, not a field"
        assert documented[extra][0] == prop.fget.__annotations__["return"]


def test_documented_attributes_reads_a_numpydoc_section() -> None:
    """Control: the reader finds names, types and descriptions, and stops at the next section."""

    class Example:
        """Summary.

        Attributes
        ----------
        low : float
            Lower end, in MELD points.
        kind : str | None
            What it is.

        Notes
        -----
        other : int
            Not an attribute.
        """

    assert documented_attributes(Example) == {
        "low": ("float", "Lower end, in MELD points."),
        "kind": ("str | None", "What it is."),
    }
