"""Shared fixtures: the packaged evidence, the app and its clients, a CLI runner.

Fixtures that Hypothesis tests use are session-scoped and stateless (Hypothesis
refuses function-scoped fixtures inside ``@given``).

Every test client of the app (the ``client`` fixture and any ``app.test_client()``)
is a ``ValidatingClient`` (tests/openapi_validation.py): each response to an
``/api/`` path or ``/healthz`` is checked against the schema the published
OpenAPI document gives for its path, method and status, so a response that
drifts from the document fails the test that produced it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient

from calc import create_app
from calc.cli.main import main
from calc.core.evidence import Evidence, load_evidence
from calc.core.inputs import PatientInputs, validate_inputs
from calc.web.app import CalcFlask
from tests.openapi_validation import VALIDATED, ValidatingClient

TESTS = Path(__file__).resolve().parent
LAYERS = ("unit", "contract", "system", "e2e")


# Every app the tests build, whichever way, hands out the validating client.
CalcFlask.test_client_class = ValidatingClient


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if VALIDATED["responses"]:
        terminalreporter.write_line(
            f"{VALIDATED['responses']} API responses validated against the OpenAPI document"
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its layer, the first folder under tests/ (-m unit, ...)."""
    for item in items:
        layer = item.path.resolve().relative_to(TESTS).parts[0]
        if layer not in LAYERS:
            raise pytest.UsageError(f"{item.nodeid}: a test lives in one of tests/{LAYERS}")
        item.add_marker(layer)


# The reference patient used across layers: ACLF, baseline MELD 28 (>= 20),
# ALT 240 U/L, TBIL 320 umol/L (above the pooled 78.57 umol/L).
REFERENCE_PATIENT: dict[str, Any] = {
    "failure_type": "ACLF",
    "meld": 28,
    "alt": 240,
    "tbil": 320,
}


@pytest.fixture(scope="session")
def evidence() -> Evidence:
    """The packaged evidence file, loaded and validated once."""
    return load_evidence()


@pytest.fixture(scope="session")
def make_inputs() -> Callable[..., PatientInputs]:
    """Build validated inputs from JSON-style values; defaults to the reference patient."""

    def build(**overrides: Any) -> PatientInputs:
        return validate_inputs({**REFERENCE_PATIENT, **overrides}, allow_text=False)

    return build


@pytest.fixture
def reference_body() -> dict[str, Any]:
    """A fresh copy of the reference patient as an API body (callers may mutate it)."""
    return dict(REFERENCE_PATIENT)


@pytest.fixture
def app() -> Flask:
    return create_app({"TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def run_cli(runner: CliRunner) -> Callable[..., Result]:
    """Invoke the ``calc`` command with string arguments; exceptions are not swallowed."""

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), prog_name="calc", catch_exceptions=False)

    return invoke
