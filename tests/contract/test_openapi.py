"""The published OpenAPI document, the response types and the API's bytes agree.

* The document is valid OpenAPI 3.0 (the 3.0 meta-schema that Schemathesis ships,
  read as data so that its plugin stays out of this process), every ``$ref``
  resolves, and every schema in it compiles as JSON Schema.
* Every API route of the app is in the document, and every operation in it is
  routed.
* The response schemas are generated from the response types
  (calc.core.jsonview): every field documented and required, nothing else
  allowed; enums and bounds come from the tables that define them.
* The validation that checks every API response of the test suite
  (tests/openapi_validation.py) can fail: a body with a field too many, one missing or one
  of the wrong type is rejected, and so is a status the document does not list.
* The bytes the API answers for a fixed set of requests are pinned
  (data/api_responses.jsonl): the JSON shape and every value stay the same
  unless changed on purpose. To accept a deliberate change, run this file with
  ``CALC_UPDATE_GOLDEN=1`` and review the diff of the data file.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib.util
import json
import os
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from flask import Flask
from flask.testing import FlaskClient

from calc import create_app
from calc.core import jsonview as jv
from calc.core import meld as meld_module
from calc.core.evidence import ContextEvidence, Evidence, FailureType
from calc.core.inputs import MELD_RANGE
from calc.core.meld import CLASSIC_MELD
from calc.core.results import WARNING_TITLES
from calc.version import __version__
from calc.web import api
from tests.openapi_validation import (
    ResponseDrift,
    check_api_response,
    json_schema,
    published_document,
)

GOLDEN = Path(__file__).parent / "data" / "api_responses.jsonl"
ASSESS = "/api/v1/assess"


def openapi_30_meta_schema() -> dict[str, Any]:
    """The OpenAPI 3.0 meta-schema Schemathesis validates documents with, read as data.

    Importing Schemathesis would load its pytest plugin's Hypothesis patches
    into this process (pyproject: ``-p no:schemathesis``), so the literal is
    parsed from its source instead.
    """
    spec = importlib.util.find_spec("schemathesis")
    assert spec is not None and spec.origin is not None
    source = Path(spec.origin).parent / "specs" / "openapi" / "definitions.py"
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "OPENAPI_30":
            schema: dict[str, Any] = ast.literal_eval(node.value)
            return schema
    raise AssertionError("no OPENAPI_30 in Schemathesis")


def nodes(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from nodes(value, (*path, str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from nodes(value, (*path, str(i)))


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return published_document()


# --------------------------------------------------------------------------
# The document


def test_the_document_is_valid_openapi_3_0(doc: dict[str, Any]) -> None:
    validator = jsonschema_rs.Draft4Validator(openapi_30_meta_schema())
    errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(doc)]
    assert not errors, "\n".join(errors[:20])


def test_the_meta_schema_check_can_fail(doc: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(doc))
    broken["components"]["schemas"]["Assessment"]["properties"]["input"]["type"] = "objekt"
    assert not jsonschema_rs.Draft4Validator(openapi_30_meta_schema()).is_valid(broken)


def test_the_served_document_is_the_published_one(client: FlaskClient) -> None:
    assert client.get("/api/v1/openapi.json").get_json() == published_document()


def test_every_ref_resolves_and_every_schema_compiles(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    refs = [node for path, node in nodes(doc) if path[-1:] == ("$ref",)]
    assert len(refs) > 10
    for ref in refs:
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    root = {"components": json_schema(doc["components"])}
    for name in schemas:
        jsonschema_rs.Draft4Validator({**root, "$ref": f"#/components/schemas/{name}"})


def test_every_api_route_is_in_the_document_and_every_operation_is_routed(
    app: Flask, doc: dict[str, Any]
) -> None:
    routed = {
        (rule.rule, method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") or rule.rule == "/healthz"
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert routed == documented
    assert ("/api/v1/openapi.json", "get") in routed


@pytest.mark.parametrize(("path", "method"), [(ASSESS, "post"), ("/api/v1/meld", "post")])
def test_each_post_lists_the_statuses_the_api_answers(
    doc: dict[str, Any], path: str, method: str
) -> None:
    responses = doc["paths"][path][method]["responses"]
    assert set(responses) == {"200", "400", "403", "413", "415", "422"}
    for status, response in responses.items():
        schema = response["content"]["application/json"]["schema"]
        assert (status == "200") != (schema == {"$ref": "#/components/schemas/Errors"})


# --------------------------------------------------------------------------
# Generated from the response types


def view_classes() -> list[type]:
    return [
        cls
        for cls in vars(jv).values()
        if isinstance(cls, type)
        and dataclasses.is_dataclass(cls)
        and cls.__module__ == jv.__name__
        and cls is not jv.Spec
    ]


@pytest.mark.parametrize("cls", view_classes(), ids=lambda cls: cls.__name__)
def test_every_response_type_is_frozen_holds_only_its_fields_and_is_documented(cls: type) -> None:
    """orjson writes a dataclass's ``__dict__``: it must hold the fields and nothing else.

    Frozen, nothing can be set on an instance after it is made; no ``__post_init__``
    or cached property adds an attribute while it is made.
    """
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    assert params.frozen
    assert "__post_init__" not in vars(cls)
    assert not [k for k, v in vars(cls).items() if isinstance(v, functools.cached_property)]
    names = [f.name for f in dataclasses.fields(cls)]
    docs = jv.field_docs(cls)
    assert list(docs) == names, "the Attributes section lists every field, in order"
    assert all(len(text) > 10 for text in docs.values())
    typing.get_type_hints(cls)  # every hint resolves


def properties(schema: dict[str, Any], *path: str) -> dict[str, Any]:
    for key in path:
        schema = schema["properties"][key]
        schema = schema.get("items", schema)
    return schema


def test_every_object_is_closed_and_requires_every_field(doc: dict[str, Any]) -> None:
    for name in ("Assessment", "MeldResponse", "Health", "Errors"):
        for path, node in nodes(doc["components"]["schemas"][name]):
            if isinstance(node, dict) and node.get("type") == "object" and "properties" in node:
                assert node["additionalProperties"] is False, (name, path)
                assert node["required"] == list(node["properties"]), (name, path)
                for prop, schema in node["properties"].items():
                    assert "description" in schema, (name, path, prop)


def test_enums_and_bounds_come_from_their_tables(doc: dict[str, Any], evidence: Evidence) -> None:
    schemas = doc["components"]["schemas"]
    assessment = schemas["Assessment"]
    ft = properties(assessment, "input", "failure_type")
    assert ft["enum"] == [t.value for t in FailureType]
    meld = properties(assessment, "input", "meld")
    assert (meld["minimum"], meld["maximum"]) == (MELD_RANGE.low, MELD_RANGE.high)
    after = properties(assessment, "meld_reduction", "expected_meld_after")
    assert (after["minimum"], after["maximum"]) == (CLASSIC_MELD.score_min, CLASSIC_MELD.score_max)
    assert after["nullable"] is True and after["type"] == "number"
    codes = properties(assessment, "warnings", "code")["enum"]
    assert set(WARNING_TITLES) <= set(codes)
    assert properties(assessment, "meld_reduction", "ranges", "kind")["enum"] == list(
        jv.RANGE_KIND_LABELS
    )
    score = properties(schemas["MeldResponse"], "meld_na")
    assert score["nullable"] is True and score["type"] == "integer" and score["maximum"] == 40
    assert properties(schemas["MeldResponse"], "working", "sex")["enum"] == ["female", "male", None]
    context = assessment["properties"]["context_evidence"]["oneOf"]
    assert [c["properties"]["available"]["enum"] for c in context] == [[True], [False]]
    assert evidence.source.doi in doc["info"]["description"]
    assert (
        evidence.context is not None and evidence.context.source.doi in doc["info"]["description"]
    )


def field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


@pytest.mark.parametrize(
    ("view", "source"),
    [
        (jv.MeldWorking, meld_module.MeldWorking),
        (jv.ClassicMeldWorking, meld_module.ClassicMeldWorking),
        (jv.MeldNaWorking, meld_module.MeldNaWorking),
        (jv.Meld30Working, meld_module.Meld30Working),
        (jv.EnteredLab, meld_module.EnteredLab),
        (jv.Term, meld_module.Term),
    ],
    ids=lambda cls: cls.__name__,
)
def test_the_meld_working_is_shown_whole(view: type, source: type) -> None:
    """A field added to the MELD working must be added to its response type too."""
    assert field_names(view) == field_names(source)


def test_the_evidence_files_are_shown_whole() -> None:
    pooled = [n for n in field_names(Evidence) if n != "context"]
    assert field_names(jv.PooledEvidence) == ["used_in_calculation", *pooled]
    assert field_names(jv.ContextEvidenceFile) == [
        "used_in_calculation",
        *field_names(ContextEvidence),
    ]


# --------------------------------------------------------------------------
# The validation can fail (a control for tests/openapi_validation.py)


@pytest.fixture
def assessment(client: FlaskClient, reference_body: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = client.post(ASSESS, json=reference_body).get_json()
    return body


def check(body: Any, status: int = 200, path: str = ASSESS) -> None:
    check_api_response("POST", path, status, "application/json", json.dumps(body).encode())


def test_a_valid_assessment_passes(assessment: dict[str, Any]) -> None:
    check(assessment)


@pytest.mark.parametrize(
    "drift",
    [
        pytest.param(lambda d: d.update(extra=1), id="extra-field"),
        pytest.param(lambda d: d["meld_reduction"].update(extra=1), id="extra-nested-field"),
        pytest.param(lambda d: d.pop("summary_text"), id="missing-field"),
        pytest.param(lambda d: d["input"].pop("transplant_date"), id="missing-nullable-field"),
        pytest.param(lambda d: d.update(summary_text=5), id="number-for-text"),
        pytest.param(lambda d: d["input"].update(meld=28.5), id="fraction-for-integer"),
        pytest.param(lambda d: d["input"].update(meld=41), id="out-of-bounds"),
        pytest.param(lambda d: d.update(basis=None), id="null-for-object"),
        pytest.param(lambda d: d["input"].update(failure_type="XLF"), id="not-in-enum"),
        pytest.param(lambda d: d["warnings"].append({"code": "x"}), id="bad-list-item"),
        pytest.param(lambda d: d["context_evidence"].update(available=False), id="wrong-variant"),
        pytest.param(lambda d: d["markers"]["tbil"].update(check_days=[60.5]), id="array-item"),
    ],
)
def test_a_drifted_response_is_rejected(assessment: dict[str, Any], drift: Any) -> None:
    drift(assessment)
    with pytest.raises(ResponseDrift):
        check(assessment)


def test_nullable_fields_take_null(assessment: dict[str, Any]) -> None:
    assert assessment["labs"] is None and assessment["input"]["transplant_date"] is None
    assessment["meld_reduction"]["expected_meld_after"] = None
    check(assessment)


def test_an_undocumented_status_or_body_is_rejected(assessment: dict[str, Any]) -> None:
    with pytest.raises(ResponseDrift, match="no such status"):
        check(assessment, status=201)
    with pytest.raises(ResponseDrift):
        check(assessment, status=422)  # an assessment is not an error body
    with pytest.raises(ResponseDrift):
        check({"errors": {"meld": "a message, not a list"}}, status=422)
    with pytest.raises(ResponseDrift, match="405"):
        check_api_response("PUT", ASSESS, 200, "application/json", b'{"errors": {}}')
    with pytest.raises(ResponseDrift, match="not application/json"):
        check_api_response("POST", ASSESS, 422, "text/html", b"<p>")


def test_the_client_of_every_test_validates(
    client: FlaskClient,
    assessment: dict[str, Any],
    reference_body: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A response that drifts fails the test whose request produced it."""
    assessment["extra"] = 1
    monkeypatch.setattr(api, "assessment_view", lambda result: assessment)
    with pytest.raises(ResponseDrift, match="extra"):
        client.post(ASSESS, json=reference_body)
    with pytest.raises(ResponseDrift, match="extra"):  # an app built anywhere, too
        create_app({"TESTING": True}).test_client().post(ASSESS, json=reference_body)


# --------------------------------------------------------------------------
# The bytes, pinned


def golden_cases() -> list[dict[str, Any]]:
    with GOLDEN.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def versionless(text: str) -> str:
    """The app's version is no part of the pinned bytes."""
    return text.replace(f'"app":"{__version__}"', '"app":"{app}"').replace(
        f"calc {__version__} ·", "calc {app} ·"
    )


def test_the_responses_are_byte_for_byte_the_pinned_ones(client: FlaskClient) -> None:
    cases = golden_cases()
    assert {(c["path"], c["status"]) for c in cases} >= {
        (ASSESS, 200),
        (ASSESS, 422),
        ("/api/v1/meld", 200),
        ("/api/v1/meld", 422),
        ("/api/v1/evidence", 200),
    }
    answered = []
    for case in cases:
        if case["request"] is None:
            response = client.open(case["path"], method=case["method"])
        else:
            response = client.open(case["path"], method=case["method"], json=case["request"])
        answered.append({**case, "status": response.status_code})
        answered[-1]["body"] = versionless(response.get_data(as_text=True))
    if os.environ.get("CALC_UPDATE_GOLDEN"):
        with GOLDEN.open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(case, ensure_ascii=False) + "\n" for case in answered)
    for case, now in zip(cases, answered, strict=True):
        request = f"{case['method']} {case['path']} {case['request']}"
        assert now["status"] == case["status"], request
        assert now["body"] == case["body"], request
