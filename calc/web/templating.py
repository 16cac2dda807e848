"""Templates translated once per language, when they are compiled.

Jinja's i18n extension looks every message up while the page renders: on the
result page that is some 70 lookups per request, which more than doubled its
cost. The messages of a template do not change between requests, only the
language does, so here each template is compiled once per language with its
messages already in that language:

- :class:`LanguageEnvironment` keys its template cache by language as well as
  name (``{% extends %}`` and ``{% include %}`` load through it too);
- :class:`CompiledTranslations` writes a ``{% trans %}`` block's translation into
  the compiled template, and turns ``_("…")`` with a constant message into the
  translated constant.

The result is what Jinja's "newstyle" gettext gives at render time: the
translation is markup-safe (a message may hold markup the template wrote), its
variables are escaped and formatted with ``%``. Plural blocks and calls with
variables (``ngettext``, ``_("Error %(code)s", code=code)``) are left to the
render-time functions, which stay installed.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, MutableMapping
from typing import Any

from flask.templating import Environment
from jinja2 import nodes
from jinja2.ext import InternationalizationExtension
from jinja2.lexer import Token, TokenStream
from jinja2.utils import internalcode

from ..core import i18n


class LanguageEnvironment(Environment):
    """Flask's template environment, with one compiled template per name and language."""

    @internalcode
    def _load_template(
        self, name: str, globals: MutableMapping[str, Any] | None
    ) -> Any:  # jinja2.Template
        if self.loader is None:
            raise TypeError("no loader for this environment specified")
        key = (weakref.ref(self.loader), name, i18n.get_language())
        cache: Any = self.cache
        if cache is not None:
            template = cache.get(key)
            if template is not None and (not self.auto_reload or template.is_up_to_date):
                if globals:
                    template.globals.update(globals)
                return template
        template = self.loader.load(self, name, self.make_globals(globals))
        if cache is not None:
            cache[key] = template
        return template


class CompiledTranslations(InternationalizationExtension):
    """Jinja's i18n extension, translating constant messages when a template compiles."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        """``_("message")`` -> the message in the compile's language, markup-safe."""
        window: list[Token] = []
        for token in stream:
            window.append(token)
            while window and not _starts_a_call(window):
                yield window.pop(0)
            if len(window) == len(_CALL):
                translated = _formatted(i18n.gettext(window[2].value))
                if translated is None:  # it needs values: translated when rendered
                    yield from window
                else:
                    lineno = window[0].lineno
                    yield Token(lineno, "string", translated)
                    yield Token(lineno, "pipe", "|")
                    yield Token(lineno, "name", "safe")
                window = []
        yield from window

    def _make_node(
        self,
        singular: str,
        plural: str | None,
        context: str | None,
        variables: dict[str, nodes.Expr],
        plural_expr: nodes.Expr | None,
        vars_referenced: bool,
        num_called_num: bool,
    ) -> nodes.Output:
        if plural is not None or context is not None:
            return super()._make_node(
                singular, plural, context, variables, plural_expr, vars_referenced,
                num_called_num,
            )  # fmt: skip
        translated = i18n.gettext(singular)
        node: nodes.Expr = nodes.MarkSafeIfAutoescape(nodes.Const(translated))
        if variables:
            pairs = [nodes.Pair(nodes.Const(k), v) for k, v in variables.items()]
            return nodes.Output([nodes.Mod(node, nodes.Dict(pairs))])
        done = _formatted(translated)
        if done is None:  # pragma: no cover - a message without variables formats
            return super()._make_node(
                singular, plural, context, variables, plural_expr, vars_referenced,
                num_called_num,
            )  # fmt: skip
        return nodes.Output([nodes.MarkSafeIfAutoescape(nodes.Const(done))])


# The tokens of ``_("message")``: type, and the value where it matters.
_CALL = (("name", "_"), ("lparen", None), ("string", None), ("rparen", None))


def _starts_a_call(window: list[Token]) -> bool:
    return all(
        token.type == kind and (value is None or token.value == value)
        for token, (kind, value) in zip(window, _CALL, strict=False)
    )


def _formatted(message: str) -> str | None:
    """``message % {}`` as newstyle gettext applies it ("%%" -> "%"); None if it needs values."""
    try:
        return message % {}
    except (KeyError, TypeError, ValueError):
        return None
