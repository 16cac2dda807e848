"""The ``calc`` command: assess one patient, or serve the web app."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, NoReturn, TypeVar, cast

import click

from ..core import i18n
from ..core.fields import FIELDS, Adapter, Field, Kind, cli_help_text, error_target
from ..core.i18n import N_, gettext
from ..version import __version__
from . import clickwords

_F = TypeVar("_F", bound=Callable[..., Any])

clickwords.install()  # click's own words ("Usage:", "Error: ...") in the command's language


def _fail(message: str) -> NoReturn:
    """One line on standard error and exit status 2 (a usage error)."""
    click.echo(f"calc: error: {message}", err=True)
    sys.exit(2)


class _Option(click.Option):
    """An option whose help is worded when the help is shown, in the command's language.

    ``help_text``: a function giving the words, or a message marked with N_.
    """

    def __init__(self, *args: Any, help_text: Callable[[], str] | str = "", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.help_text = help_text

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        source = self.help_text
        if source:
            self.help = source() if callable(source) else gettext(source)
        return super().get_help_record(ctx)


def _opt(*names: str, help_text: Callable[[], str] | str = "", **kwargs: Any) -> Callable[[_F], _F]:
    decorate: Callable[[_F], _F] = click.option(*names, cls=_Option, help_text=help_text, **kwargs)
    return decorate


# click's words for its help and version options (click's messages, in our catalog).
_HELP_OPTION_HELP = "Show this message and exit."
_VERSION_OPTION_HELP = "Show the version and exit."


class _Words:
    """A command whose help (a message marked with N_) is shown in the command's language."""

    help: str | None

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        english = self.help
        self.help = gettext(english) if english else english
        try:
            super().format_help_text(ctx, formatter)  # type: ignore[misc]
        finally:
            self.help = english

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        # click words its help option once and keeps it: word it again in this language.
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = gettext(_HELP_OPTION_HELP)
        return cast("click.Option | None", option)

    def get_short_help_str(self, limit: int = 45) -> str:
        english = self.help
        self.help = gettext(english) if english else english
        try:
            return str(super().get_short_help_str(limit))  # type: ignore[misc]
        finally:
            self.help = english


class _Command(_Words, click.Command):
    pass


class _LazyGroup(_Words, click.Group):
    """Commands whose modules load only when used: ``cohort`` needs numpy, the rest do not.

    The whole run is in the language chosen (:meth:`main`).
    """

    lazy: ClassVar[dict[str, tuple[str, str]]] = {"cohort": ("calc.cli.cohort", "cohort_command")}

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command in its language, from parsing to the error click shows, then reset it.

        The language is chosen before click parses the command line: a usage error
        (``calc --lang zh-CN meld --bad``) is found while parsing, before any option's
        callback, and click shows it after the command's context has closed.
        """
        argv = kwargs.get("args", args[0] if args else None)
        chosen = _language_of(sys.argv[1:] if argv is None else list(argv))
        with i18n.language(chosen):
            return super().main(*args, **kwargs)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            import importlib

            module, attribute = self.lazy[name]
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, name)


def _language_of(argv: Sequence[str]) -> str:
    """The language of a command line: ``calc``'s --lang, else LC_ALL, LC_MESSAGES or LANG.

    Read before click parses the line (``calc``'s own options come before the
    command's name); a --lang that names no language is refused by
    :func:`_check_language`, in the language of the environment.
    """
    for i, arg in enumerate(argv):
        tag = None
        if arg == "--lang" and i + 1 < len(argv):
            tag = argv[i + 1]
        elif arg.startswith("--lang="):
            tag = arg.removeprefix("--lang=")
        elif arg == "--" or not arg.startswith("-"):
            break
        if tag is not None:
            return i18n.parse_language(tag) or i18n.from_environment(dict(os.environ))
    return i18n.from_environment(dict(os.environ))


def _check_language(ctx: click.Context, param: click.Parameter, lang: str | None) -> None:
    """Refuse a --lang that names no language (the language itself is chosen, before
    parsing, by :meth:`_LazyGroup.main`)."""
    if lang is not None and i18n.parse_language(lang) is None:
        _fail(
            gettext("--lang must be one of {languages}, not {value}").format(
                languages=", ".join(i18n.TAGS.values()), value=repr(lang)
            )
        )


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    help=N_(
        "Expected course after mesenchymal stem cell transplantation (MSCT) in liver failure."
        "\n\nDecision support for clinicians; MSCT is investigational. Evidence: Cao et al. 2018,"
        " doi:10.1155/2018/9231710 (the calculation); Ding et al. 2024, doi:10.12449/JCH240822"
        " (controlled evidence in ACLF, shown as context, never used in the calculation)."
    ),
)
@click.version_option(
    __version__,
    prog_name="calc",
    cls=_Option,
    help_text=_VERSION_OPTION_HELP,
    message=cast(str, i18n.lazy_gettext("%(prog)s, version %(version)s")),  # worded when shown
)
@_opt(
    "--lang",
    default=None,
    metavar="LANG",
    is_eager=True,
    expose_value=False,
    callback=_check_language,
    help_text=N_(
        "Language of the output: en or zh-CN (also zh, zh-Hans). Default: from LC_ALL,"
        " LC_MESSAGES or LANG, else English."
    ),
)
def main() -> None:
    """The ``calc`` command group (its help is the group's ``help``, in the language chosen)."""


def _option(field: Field) -> Any:
    """The ``calc assess`` option of a field of the table (core.fields): name, help, default."""
    name = field.cli
    assert name is not None
    words = _words_of(field)
    if field.kind is Kind.FLAG:
        flag = f"{name}/--no-{name.removeprefix('--')}"
        return _opt(flag, default=False, show_default=True, help_text=words)
    if field.required:
        return _opt(name, required=True, help_text=words)
    # Lab units have no default, as in the API (calc.core.fields): a guessed unit is a silent slip.
    if field.default is None:
        return _opt(name, default=None, help_text=words)
    return _opt(name, default=field.default, show_default=True, help_text=words)


def _words_of(field: Field) -> Callable[[], str]:
    return lambda: cli_help_text(field)


def _options(group: str) -> Callable[[_F], _F]:
    """The options of the table's fields in ``group`` ("" for the baseline, "labs", "followup")."""
    fields = [
        f
        for f in FIELDS
        if f.cli is not None and (f.api.split(".")[0] if "." in f.api else "") == group
    ]

    def decorate(f: _F) -> _F:
        for field in reversed(fields):
            f = _option(field)(f)
        return f

    return decorate


def _lab_options(f: _F) -> _F:
    """The MELD lab options shared by ``calc assess`` and ``calc meld``."""
    return _options("labs")(f)


def _param(field: Field) -> str:
    """The click parameter of a field's option (``--alt-day15`` -> ``alt_day15``)."""
    assert field.cli is not None
    return field.cli.removeprefix("--").replace("-", "_")


def _option_name(field: str) -> str:
    """An error key (``labs.inr``, ``followup.alt_day15``) as the option to fix."""
    return error_target(field, Adapter.CLI)


def _load_evidence() -> Any:
    from ..core.evidence import EvidenceError, load_evidence

    try:
        return load_evidence()
    except EvidenceError as exc:
        _fail(str(exc))


@main.command(
    cls=_Command,
    help=N_(
        "Print the assessment of one patient (plain-text summary, or --json).\n\nGive --meld, or"
        " the labs (--inr, --creatinine, ...; bilirubin is --tbil) to compute classic MELD; with"
        " both, the typed MELD is used and a difference of more than one point is a warning."
    ),
)
@_options("")
@_lab_options
@_options("followup")
@_opt("--json", "as_json", is_flag=True, help_text=N_("Print the full JSON instead of text."))
def assess(**params: Any) -> None:
    """``calc assess`` (its help is the command's ``help``, in the language chosen)."""
    from ..core.assessment import assemble, run, validate_request
    from ..core.inputs import InputError
    from ..core.report import summary_text, to_dict

    raw = assemble(Adapter.CLI, lambda field: params[_param(field)])
    try:
        request = validate_request(raw, allow_text=True)
    except InputError as exc:
        _fail(" ".join(f"{_option_name(k)}: {' '.join(v)}" for k, v in exc.errors.items()))
    result = run(request, _load_evidence())
    if params["as_json"]:
        click.echo(json.dumps(to_dict(result), ensure_ascii=False, indent=2))
    else:
        click.echo(summary_text(result))


def _meld_option(field: Field) -> Any:
    """A ``calc meld`` option: every lab of the table, named by its API name
    (``labs.creatinine_unit`` -> ``--creatinine-unit``); bilirubin is its own here."""
    name = "--" + field.api.removeprefix("labs.").replace("_", "-")
    if field.kind is Kind.FLAG:
        flag = f"{name}/--no-{name.removeprefix('--')}"
        return _opt(flag, default=False, show_default=True, help_text=_words_of(field))
    if field.cli is not None:
        return _opt(name, default=None, help_text=_words_of(field))
    # The labs' bilirubin stands in for the TBIL in ``calc assess``; here it is asked for.
    if field.kind is Kind.NUMBER:
        return _opt(
            name,
            default=None,
            help_text=lambda: gettext("Total bilirubin, in {option}-unit.").format(option=name),
        )
    choices = field.choices
    return _opt(
        name,
        default=None,
        help_text=lambda: gettext("{choices} (required).").format(
            choices=(" " + gettext("or") + " ").join(choices)
        ),
    )


def _meld_options(f: _F) -> _F:
    for field in reversed([f for f in FIELDS if f.api.startswith("labs.")]):
        f = _meld_option(field)(f)
    return f


@main.command(
    cls=_Command,
    help=N_(
        "Classic MELD, MELD-Na and MELD 3.0 from labs, with the working.\n\nThe assessment uses"
        " classic MELD (the score of the meta-analysis); MELD-Na and MELD 3.0 are for context."
    ),
)
@_meld_options
@_opt("--json", "as_json", is_flag=True, help_text=N_("Print the scores and working as JSON."))
def meld(**params: Any) -> None:
    """``calc meld`` (its help is the command's ``help``, in the language chosen)."""
    from ..core.assessment import validate_labs_object
    from ..core.inputs import InputError
    from ..core.meld import compute_meld, working_as_dict
    from ..core.report import meld_text

    raw = {
        name: value
        for name in (f.api.removeprefix("labs.") for f in FIELDS if f.api.startswith("labs."))
        if (value := params[name]) is not None
    }
    try:
        result = compute_meld(validate_labs_object(raw, allow_text=True))
    except InputError as exc:
        _fail(
            " ".join(
                f"--{k.removeprefix('labs.').replace('_', '-')}: {' '.join(v)}"
                for k, v in exc.errors.items()
            )
        )
    if params["as_json"]:
        payload = {
            "meld": result.meld,
            "meld_na": result.meld_na,
            "meld_3_0": result.meld_3_0,
            "working": working_as_dict(result),
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        click.echo(meld_text(result))


@main.command(
    cls=_Command,
    help=N_("Start the production server (gunicorn) and print the address to open."),
)
@_opt("--host", default="127.0.0.1", show_default=True, help_text=N_("Address to listen on."))
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@_opt(
    "--workers",
    default=None,
    type=click.IntRange(1, 64),
    help_text=N_("Worker processes (default: one per CPU core)."),
)
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int | None, threads: int) -> None:
    """``calc serve`` (its help is the command's ``help``, in the language chosen)."""
    from ..web.server import run

    run(host=host, port=port, workers=workers, threads=threads)


if __name__ == "__main__":  # pragma: no cover
    main()
