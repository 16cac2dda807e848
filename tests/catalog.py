"""The messages to translate, extracted with Babel's API: for the catalog tests, and
to bring the Chinese catalog up to date with the code.

``python -m tests.catalog`` adds each message newly marked in the code (or in
click, whose own messages the command line shows in the chosen language) to
``messages.po`` with an empty translation, and drops the ones no longer marked;
then translate the empty ones. The tests (tests/unit/core/test_i18n_catalog.py)
extract with these same functions, so what they check is what this writes.
"""

from __future__ import annotations

from pathlib import Path

import click
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from calc.cli import clickwords
from calc.core import i18n

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "calc" / "translations" / i18n.CHINESE / "LC_MESSAGES" / "messages.po"
# The keywords and methods of babel.cfg (the wheel build and pybabel use that file).
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    "lazy_gettext": None,
}
WIDTH = 100  # the catalog's line width


def extracted() -> dict[str, tuple[str, ...]]:
    """msgid -> (msgid, msgid_plural?) of every message marked in calc/ and templates/,
    and of click's own messages (:func:`click_messages`)."""
    out: dict[str, tuple[str, ...]] = {}
    method_map = [("calc/**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options, keywords=KEYWORDS
    ):
        ids = (message,) if isinstance(message, str) else tuple(m for m in message if m)
        out[ids[0]] = ids
    return {**click_messages(), **out}


def click_messages() -> dict[str, tuple[str, ...]]:
    """msgid -> ids of click's own messages, from the installed click's sources.

    click marks them with the stdlib's ``_`` and ``ngettext``; calc.cli.clickwords
    shows them in the command's language from our catalog. ``UNEXTRACTED`` are the
    ones click passes to ``_`` as a variable.
    """
    out: dict[str, tuple[str, ...]] = {m: (m,) for m in clickwords.UNEXTRACTED}
    folder = Path(click.__file__).parent
    keywords = {"_": None, "ngettext": (1, 2)}
    for _file, _line, message, _comments, _context in extract_from_dir(
        folder, [("**.py", "python")], keywords=keywords
    ):
        ids = (message,) if isinstance(message, str) else tuple(m for m in message if m)
        out[ids[0]] = ids
    return out


def catalog() -> Catalog:
    with PO.open("rb") as f:
        return read_po(f, locale=i18n.CHINESE)


def update() -> tuple[list[str], list[str]]:
    """Bring messages.po up to date with the code: (added, dropped) msgids."""
    template = Catalog(locale=None)
    for ids in extracted().values():
        template.add(ids if len(ids) > 1 else ids[0])
    current = catalog()
    before = {m.id if isinstance(m.id, str) else m.id[0] for m in current if m.id}
    current.update(template, no_fuzzy_matching=True, update_header_comment=False)
    current.obsolete.clear()  # a message no longer marked is dropped, not kept commented
    after = {m.id if isinstance(m.id, str) else m.id[0] for m in current if m.id}
    with PO.open("wb") as f:
        write_po(f, current, width=WIDTH, no_location=True, sort_output=True)
    return sorted(after - before), sorted(before - after)


if __name__ == "__main__":
    added, dropped = update()
    for msgid in added:
        print(f"added (translate it): {msgid!r}")
    for msgid in dropped:
        print(f"dropped: {msgid!r}")
