"""Schemathesis against the app's own OpenAPI document, in-process (WSGI, no network).

Run by ``test_fuzz.py::test_schemathesis_against_the_openapi_document`` in a
pytest process of its own, with the Schemathesis plugin on (``-p schemathesis``):
the plugin patches Hypothesis globally, which the main test run must not see.
To run it by hand::

    .venv/bin/python -m pytest -p schemathesis tests/system/schemathesis_api.py

Each operation gets Schemathesis' phases (the schema's examples, boundary
"coverage" cases, then fuzzing) in positive and negative modes. The number of
cases and the statuses per operation are printed and, when
``CALC_SCHEMATHESIS_TALLY`` names a file, appended to it as JSON lines.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from calc import create_app

EXAMPLES = int(os.environ.get("CALC_FUZZ_EXAMPLES", "200"))
SCHEMA = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", create_app({"TESTING": True}))


def clear_errors(ctx: Any, response: Any, case: Any) -> bool | None:
    """No 5xx; every 4xx is ``{"errors": {field: [message]}}`` with words in it."""
    assert response.status_code < 500, response.status_code
    if response.status_code >= 400:
        errors = response.json()["errors"]
        assert isinstance(errors, dict) and errors, errors
        for messages in errors.values():
            assert messages and all(isinstance(m, str) and len(m.strip()) > 5 for m in messages)
    return None


@pytest.fixture
def tally(
    request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> Iterator[Counter[int]]:
    statuses: Counter[int] = Counter()
    yield statuses
    operation = request.node.name.split("[", 1)[-1].rstrip("]")
    with capsys.disabled():
        print(f"\n[schemathesis] {operation}: {sum(statuses.values())} cases {dict(statuses)}")
    if path := os.environ.get("CALC_SCHEMATHESIS_TALLY"):
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"operation": operation, "statuses": statuses}) + "\n")


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # the tally: one per operation, on purpose
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_api(case: Any, tally: Counter[int]) -> None:
    """Schemathesis' checks (status codes, content types, response schemas, 405 with
    Allow for undeclared methods, ...) plus ``clear_errors``.

    Left out: ``positive_data_acceptance`` and ``negative_data_rejection``. The API
    refuses values that OpenAPI 3.0 cannot describe -- a bilirubin of 100 mg/dL
    "looks like μmol/L", a follow-up date needs the date of MSCT -- so a body that
    fits the schema may rightly be refused with 422. Those rules are tested with
    the input layer (tests/unit).
    """
    response = case.call_and_validate(
        additional_checks=[clear_errors],
        excluded_checks=[positive_data_acceptance, negative_data_rejection],
    )
    tally[response.status_code] += 1
