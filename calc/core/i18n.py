"""The language of the words the product shows (pure: no Flask, no click).

English is the default and the source text: every message is written in English
in the code and looked up in a Babel catalog for another language. The language
is held in a :class:`~contextvars.ContextVar`, set per request by the web app
and once by the command line, so the core's messages follow it without any
argument being passed down.

Catalogs: ``calc/translations/<locale>/LC_MESSAGES/messages.po`` (the source,
in the repository) and its compiled ``messages.mo`` (made by the wheel build,
``setup.py``). When the ``.mo`` is missing or older than the ``.po`` (an
editable install while a translation is being edited), the ``.po`` is read and
compiled in memory with Babel, so what is in the repository is what is shown.

Only words change with the language. Numbers, units, dates as entered, codes
and JSON keys do not, and input is parsed the same way in every language.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from functools import cache
from pathlib import Path

from babel import Locale
from babel.core import UnknownLocaleError
from babel.dates import format_date as _babel_format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy, NullTranslations, Translations

DEFAULT = "en"
CHINESE = "zh_Hans_CN"
# Babel's locale identifiers of the languages with a catalog (English is the source).
LANGUAGES: tuple[str, ...] = (DEFAULT, CHINESE)
# The tag of each language in URLs, HTML ``lang`` attributes and HTTP headers (BCP 47).
TAGS: dict[str, str] = {DEFAULT: "en", CHINESE: "zh-CN"}
# Each language's name in itself, for the language switcher.
NAMES: dict[str, str] = {DEFAULT: "English", CHINESE: "简体中文"}
DOMAIN = "messages"
TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"

_current: ContextVar[str] = ContextVar("calc_language", default=DEFAULT)


def parse_language(tag: str | None) -> str | None:
    """The supported language a tag names (``zh``, ``zh-CN``, ``zh-Hans``, ``zh_Hans_CN``,
    ``en-GB``...), or None. Traditional Chinese (``zh-TW``, ``zh-Hant``) is not Simplified."""
    if not tag:
        return None
    parts = [p.lower() for p in tag.strip().replace("_", "-").split("-") if p]
    if not parts:
        return None
    if parts[0] == "en":
        return DEFAULT
    if parts[0] == "zh":
        rest = set(parts[1:])
        if rest & {"hant", "tw", "hk", "mo"}:
            return None
        return CHINESE
    return None


def negotiate(accept_language: str | None) -> str | None:
    """The best supported language of an ``Accept-Language`` header (RFC 9110, 12.5.4)."""
    if not accept_language:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(accept_language.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = parse_language(tag)
        if language is not None and quality > 0:
            ranked.append((-quality, index, language))
    return min(ranked)[2] if ranked else None


def from_environment(environ: dict[str, str]) -> str:
    """The language of the POSIX locale variables, in their order of precedence."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            # "zh_CN.UTF-8", "zh_CN.utf8@pinyin": the language is before the dot.
            return parse_language(value.split(".")[0].split("@")[0]) or DEFAULT
    return DEFAULT


def _catalog_files(language: str) -> tuple[Path, Path]:
    folder = TRANSLATIONS_DIR / language / "LC_MESSAGES"
    return folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"


@cache
def translations(language: str) -> NullTranslations:
    """The catalog of ``language`` (compiled ``.mo``, else the ``.po`` compiled in memory)."""
    if language == DEFAULT:
        return NullTranslations()
    po, mo = _catalog_files(language)
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as f:
            return Translations(f, domain=DOMAIN)
    with po.open("rb") as f:
        catalog = read_po(f, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def get_language() -> str:
    return _current.get()


def set_language(language: str) -> None:
    """Set the language for the rest of this context (the CLI; a request's context)."""
    _current.set(language if language in LANGUAGES else DEFAULT)


@contextmanager
def language(lang: str) -> Iterator[None]:
    """Use ``lang`` inside the block, then the language before it."""
    token = _current.set(lang if lang in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


def tag() -> str:
    """The current language as an HTML ``lang`` value (``en``, ``zh-CN``)."""
    return TAGS[get_language()]


def gettext(message: str) -> str:
    """``message`` in the current language (English: ``message`` itself)."""
    language = _current.get()
    if language == DEFAULT:  # the messages are written in English
        return message
    return translations(language).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(get_language()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Mark ``message`` for the catalog where it is written; translate it where it is used."""
    return message


def lazy_gettext(message: str) -> LazyProxy:
    """A string translated each time it is used (a label defined when a module loads)."""
    return LazyProxy(gettext, message, enable_cache=False)


def babel_locale() -> Locale:
    try:
        return Locale.parse(get_language())
    except UnknownLocaleError:  # pragma: no cover - both languages are in CLDR
        return Locale.parse(DEFAULT)


def format_date(value: date) -> str:
    """A date in words in the current language by CLDR's long format: "2026年3月5日".

    (English words are the report's own: day month year, calc.core.report.date_words.)
    """
    return _babel_format_date(value, format="long", locale=babel_locale())
