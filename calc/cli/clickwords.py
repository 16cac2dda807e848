"""click's own words ("Usage:", "Error: ...", "No such option ...") in the command's language.

click marks its messages for translation with the standard library's
``gettext``: each of its modules does ``from gettext import gettext as _`` (and
``ngettext``), so they are looked up in the global "messages" domain. Those
messages are in our catalog, with the same method and keywords that extract
ours (``tests/unit/core/test_i18n_catalog.py`` extracts them from the installed
click and fails on one without a Chinese translation).

How they reach the command's language: each click module's ``_`` and
``ngettext`` are replaced, once, by functions that look the message up in
:func:`calc.core.i18n.translations` of the current language (the ContextVar),
and that are the standard library's own functions when the language is English.
Two other ways were weighed and not taken:

- Binding the stdlib's global domain to ``calc/translations`` and choosing the
  language for the command. The stdlib reads only compiled ``.mo`` files (an
  editable install has only the ``.po``, compiled in memory by calc.core.i18n),
  and takes the language from ``LANGUAGE``/``LC_ALL``/... in ``os.environ``: the
  command would have to change the process's environment and the global domain
  (every library using the stdlib's gettext), which is neither scoped nor safe
  for an in-process caller.
- Overriding click's help formatting, help option and error display in our
  command classes: that copies a large part of click (each exception's message
  is worded inside click where it is raised), and silently stays English for
  any message not copied.

Here nothing depends on the process's environment or outlives the command: the
language is the ContextVar's, set by :func:`calc.cli.main._LazyGroup.main` for the
whole run (parsing, the command, and the error click shows after the command's
context has closed) and reset after it; in English the functions are click's own.
"""

from __future__ import annotations

import gettext as _stdlib
import importlib
from types import ModuleType

from ..core import i18n

# Every click module that imports the stdlib's gettext, except click._winconsole
# (Windows only; its one message is in the catalog all the same). The test checks
# this list against click's sources.
CLICK_MODULES: tuple[str, ...] = (
    "click._termui_impl",
    "click.core",
    "click.decorators",
    "click.exceptions",
    "click.formatting",
    "click.parser",
    "click.shell_completion",
    "click.termui",
    "click.types",
    "click.utils",
)

# click's messages that Babel cannot extract (click passes a variable to ``_``):
# ``_(extra["required"])`` in click.core.Option.get_help_extra ("[required]").
UNEXTRACTED: tuple[str, ...] = ("required",)

_ORIGINAL_GETTEXT = _stdlib.gettext
_ORIGINAL_NGETTEXT = _stdlib.ngettext


def click_gettext(message: str) -> str:
    """click's ``_``: the message in the command's language (English: the stdlib's gettext)."""
    language = i18n.get_language()
    if language == i18n.DEFAULT:
        return _ORIGINAL_GETTEXT(message)
    return i18n.translations(language).gettext(message)


def click_ngettext(singular: str, plural: str, n: int) -> str:
    """click's ``ngettext``, likewise."""
    language = i18n.get_language()
    if language == i18n.DEFAULT:
        return _ORIGINAL_NGETTEXT(singular, plural, n)
    return i18n.translations(language).ngettext(singular, plural, n)


def _hook(module: ModuleType) -> None:
    # Only a name that is still the stdlib's function is replaced: should click
    # change how it translates, the test of the Chinese usage errors fails.
    if getattr(module, "_", None) is _ORIGINAL_GETTEXT:
        module._ = click_gettext  # type: ignore[attr-defined]
    if getattr(module, "ngettext", None) is _ORIGINAL_NGETTEXT:
        module.ngettext = click_ngettext  # type: ignore[attr-defined]


def install() -> None:
    """Make click's messages follow the command's language (idempotent)."""
    for name in CLICK_MODULES:
        _hook(importlib.import_module(name))
