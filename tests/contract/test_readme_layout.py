"""The README's layout section draws the tree as it is: every module of calc/ is
listed, and every path listed exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _layout_block() -> list[str]:
    text = (ROOT / "README.md").read_text("utf-8")
    section = text.split("\n## Layout\n", 1)[1]
    block = section.split("```\n", 2)[1]
    return block.splitlines()


def listed_paths(lines: list[str]) -> set[str]:
    """Paths drawn in the block: nesting by two-space indent; ``a, b`` and ``x|y|z/`` expand."""
    out: set[str] = set()
    parents: list[str] = []
    for line in lines:
        indent = len(line) - len(line.lstrip(" "))
        head = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
        if not head or not re.match(r"^[\w.|/-]+(, [\w.|/-]+)*$", head):
            continue  # a continued description
        depth = indent // 2
        parents = parents[:depth]
        for name in head.split(", "):
            first, _, rest = name.partition("/")
            expanded = [f"{alt}/{rest}" if "/" in name else alt for alt in first.split("|")]
            if "|" in rest:  # unit/core|web|cli/
                inner = rest.rstrip("/").split("|")
                expanded = [f"{first}/{alt}/" for alt in inner]
            for item in expanded:
                out.add("/".join([*parents, item.rstrip("/")]))
        if head.endswith("/") and "|" not in head and ", " not in head:
            parents.append(head.rstrip("/"))
    return out


def test_every_module_of_calc_is_drawn_and_every_drawn_path_exists() -> None:
    listed = listed_paths(_layout_block())
    modules = {
        str(p.relative_to(ROOT)) for p in (ROOT / "calc").rglob("*.py") if p.name != "__init__.py"
    }
    assert modules - listed == set(), "modules the README's layout does not draw"
    missing = sorted(p for p in listed if not (ROOT / p).exists())
    assert missing == [], "paths the README's layout draws that do not exist"


def test_the_parser_reads_nesting_lists_and_alternatives() -> None:
    """Control: the reader of the block finds what it is drawn with."""
    lines = [
        "calc/                the package",
        "  core/              the core",
        "    rules.py         the rules",
        "                     continued description",
        "  web/",
        "    a.py, b.py       two",
        "tests/",
        "  unit/core|web/     layers",
    ]
    assert listed_paths(lines) == {
        "calc",
        "calc/core",
        "calc/core/rules.py",
        "calc/web",
        "calc/web/a.py",
        "calc/web/b.py",
        "tests",
        "tests/unit/core",
        "tests/unit/web",
    }
