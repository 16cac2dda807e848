"""Templates compiled once per language (calc.web.templating) render as Jinja's
newstyle gettext would at render time: the right language after any other,
translations markup-safe, variables escaped, "%%" written once."""

from __future__ import annotations

import re

from flask import Flask

from calc import create_app
from calc.core import i18n
from calc.web.templating import CompiledTranslations, LanguageEnvironment

SOURCE = (
    '{{ _("Result") }}|{% trans %}Patient reference:{% endtrans %}|'
    "{% trans x=value %}Assessed {{ x }}{% endtrans %}|"
    '{{ _("Error %(code)s", code=7) }}|{{ _("100%% sure") }}'
)


def render(app: Flask, lang: str, value: str = "a<b") -> str:
    with app.app_context(), i18n.language(lang):
        return app.jinja_env.from_string(SOURCE).render(value=value)


def fresh_app() -> Flask:
    app = create_app({"TESTING": True})
    assert isinstance(app.jinja_env, LanguageEnvironment)
    assert any(isinstance(e, CompiledTranslations) for e in app.jinja_env.extensions.values())
    return app


def test_constant_messages_are_compiled_in_the_language_of_the_render() -> None:
    app = fresh_app()
    english = render(app, "en")
    assert english == "Result|Patient reference:|Assessed a&lt;b|Error 7|100% sure"
    chinese = render(app, i18n.LANGUAGES[1])
    assert chinese.split("|")[0] == i18n.translations(i18n.LANGUAGES[1]).gettext("Result")
    assert chinese.split("|")[0] != "Result"
    assert "a&lt;b" in chinese  # a variable is escaped in every language
    assert render(app, "en") == english  # and back: nothing leaks between languages


def test_a_named_template_is_compiled_once_per_language() -> None:
    app = fresh_app()
    with app.test_request_context("/"):
        for lang in ("en", i18n.LANGUAGES[1], "en", i18n.LANGUAGES[1]):
            with i18n.language(lang):
                app.jinja_env.get_template("error.html")
    cached = list(app.jinja_env.cache.keys())  # type: ignore[union-attr]
    names = [key for key in cached if key[1] == "error.html"]
    assert sorted(k[2] for k in names) == sorted(["en", i18n.LANGUAGES[1]])


def test_pages_match_the_render_time_translation() -> None:
    """The form and the result page in both languages equal what Jinja's own i18n
    extension renders at request time (the templates compiled the usual way)."""
    compiled = fresh_app()
    usual = create_app({"TESTING": True})
    usual.jinja_env.extensions.clear()
    usual.jinja_env.add_extension("jinja2.ext.i18n")
    usual.jinja_env.policies["ext.i18n.trimmed"] = True
    usual.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    usual.jinja_env.cache = None  # type: ignore[assignment]
    form = {
        "failure_type": "ACLF", "meld": "28", "alt": "240", "alt_unit": "U/L",
        "tbil": "320", "tbil_unit": "umol/L", "transplant_date": "2026-03-05",
    }  # fmt: skip
    for lang in ("en", "zh-CN"):
        pages = []
        for app in (compiled, usual):
            c = app.test_client()
            c.get(f"/?lang={lang}")
            result = c.post("/", data=form).get_data(as_text=True)
            # The result page carries the time it was assessed: compare without it.
            pages.append((c.get("/").get_data(as_text=True), re.sub(r"\d{2}:\d{2}", "", result)))
        assert len(pages[0][1]) > 10_000, "control: a whole result page"
        assert pages[0] == pages[1], lang
