"""The ``calc`` command: assess one patient, or serve the web app."""

from __future__ import annotations

import json
import sys

import click

from .version import __version__


def _fail(message: str) -> None:
    """One line on standard error and exit status 2 (a usage error)."""
    click.echo(f"calc: error: {message}", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="calc")
def main() -> None:
    """Expected course after mesenchymal stem cell transplantation (MSCT) in liver failure.

    Decision support for clinicians; MSCT is investigational. Evidence: Cao et al. 2018,
    doi:10.1155/2018/9231710.
    """


@main.command()
@click.option("--failure-type", required=True, help="ACLF, CLF or ALF.")
@click.option("--meld", required=True, help="Baseline classic MELD, whole number 6–40.")
@click.option("--alt", required=True, help="ALT, in --alt-unit.")
@click.option("--alt-unit", default="U/L", show_default=True, help="U/L or ukat/L.")
@click.option("--tbil", required=True, help="Total bilirubin, in --tbil-unit.")
@click.option("--tbil-unit", default="umol/L", show_default=True, help="umol/L or mg/dL.")
@click.option("--transplant-date", default=None, help="Date of MSCT, YYYY-MM-DD (optional).")
@click.option("--json", "as_json", is_flag=True, help="Print the full JSON instead of text.")
def assess(
    failure_type: str,
    meld: str,
    alt: str,
    alt_unit: str,
    tbil: str,
    tbil_unit: str,
    transplant_date: str | None,
    as_json: bool,
) -> None:
    """Print the assessment of one patient (plain-text summary, or --json)."""
    from .engine import assess as run_assessment
    from .evidence import EvidenceError, load_evidence
    from .inputs import InputError, validate_inputs
    from .report import summary_text, to_dict

    raw = {
        "failure_type": failure_type,
        "meld": meld,
        "alt": alt,
        "alt_unit": alt_unit,
        "tbil": tbil,
        "tbil_unit": tbil_unit,
        "transplant_date": transplant_date,
    }
    try:
        inputs = validate_inputs(raw, allow_text=True)
    except InputError as exc:
        _fail(" ".join(f"--{k.replace('_', '-')}: {' '.join(v)}" for k, v in exc.errors.items()))
    try:
        evidence = load_evidence()
    except EvidenceError as exc:
        _fail(str(exc))
    result = run_assessment(inputs, evidence)
    if as_json:
        click.echo(json.dumps(to_dict(result), ensure_ascii=False, indent=2))
    else:
        click.echo(summary_text(result))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(1, 64),
    help="Worker processes (default: one per CPU core).",
)
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int | None, threads: int) -> None:
    """Start the production server (gunicorn) and print the address to open."""
    from .server import run

    run(host=host, port=port, workers=workers, threads=threads)


if __name__ == "__main__":  # pragma: no cover
    main()
