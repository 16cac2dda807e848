"""The field table (calc/core/fields.py) is complete, and every adapter takes exactly its fields."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from typing import Any

import pytest

from calc.cli.cohort import INPUT_FIELDS, LAB_COLUMNS
from calc.cli.main import assess as assess_command
from calc.core.assessment import ASSESS_FIELDS, LAB_FIELDS
from calc.core.fields import BY_API, FIELDS, Adapter, Kind, error_target, names
from calc.core.followup import _KNOWN as FOLLOWUP_PARTS
from calc.core.followup import FollowupKey
from calc.web.forms import NOT_IN_REQUEST, AssessmentForm
from calc.web.openapi import openapi_document

GROUPS = ("labs", "followup")


def accepted() -> set[str]:
    """Every field ``validate_request`` accepts, dotted as in the table."""
    fields = set(ASSESS_FIELDS) - set(GROUPS)
    fields |= {f"labs.{f}" for f in LAB_FIELDS}
    fields |= {
        f"followup.{key.value}.{part}"
        for key in FollowupKey
        for part in FOLLOWUP_PARTS
        if not (key is FollowupKey.MELD and part == "unit")  # MELD has no unit
    }
    return fields


def form_fields() -> list[str]:
    return [f.name for f in AssessmentForm() if f.name not in NOT_IN_REQUEST]


def cli_options() -> list[str]:
    return [
        opt
        for param in assess_command.params
        if param.name not in ("as_json", "help")
        for opt in param.opts
    ]


def api_properties() -> list[str]:
    schemas = openapi_document("test")["components"]["schemas"]
    props = [p for p in schemas["AssessRequest"]["properties"] if p not in GROUPS]
    props += [f"labs.{p}" for p in schemas["Labs"]["properties"]]
    for key, item in schemas["Followup"]["properties"].items():
        props += [f"followup.{key}.{p}" for p in item["properties"]]
    return props


ADAPTER_FIELDS: dict[Adapter, Any] = {
    Adapter.FORM: form_fields,
    Adapter.CLI: cli_options,
    Adapter.API: api_properties,
    Adapter.COHORT: lambda: [*INPUT_FIELDS, *LAB_COLUMNS],
}


def test_the_table_holds_every_field_the_request_accepts() -> None:
    assert {f.api for f in FIELDS} == accepted()


@pytest.mark.parametrize("adapter", list(Adapter))
def test_names_are_unique_per_adapter(adapter: Adapter) -> None:
    assert [n for n, count in Counter(names(adapter)).items() if count > 1] == []


@pytest.mark.parametrize("adapter", list(Adapter))
def test_each_adapter_takes_the_tables_fields(adapter: Adapter) -> None:
    taken = ADAPTER_FIELDS[adapter]()
    assert sorted(taken) == sorted(names(adapter))
    assert len(taken) == len(set(taken))


@pytest.mark.parametrize("adapter", list(Adapter))
def test_every_error_lands_on_a_field_of_the_adapter(adapter: Adapter) -> None:
    own = set(names(adapter))
    keys = [f.api for f in FIELDS]
    keys += [*GROUPS, *(f"followup.{k.value}" for k in FollowupKey), "labs.unknown"]
    for key in keys:
        if adapter is Adapter.COHORT and key.startswith("followup"):
            continue  # cohort files carry no follow-up
        assert error_target(key, adapter) in own, key


def test_a_field_an_adapter_lacks_stands_in_for_one_it_has() -> None:
    for field in FIELDS:
        if field.stands_in:
            assert BY_API[field.stands_in].kind is field.kind


def _value_of(unit: str) -> str:
    """The number a unit is for: ``alt_unit`` -> ``alt``, ``x.unit`` -> ``x.value``."""
    return unit.removesuffix("_unit") if unit.endswith("_unit") else unit.replace(".unit", ".value")


def test_kinds_carry_what_they_need() -> None:
    for field in FIELDS:
        if field.kind is Kind.NUMBER:
            assert field.ranges, field.api
        if field.kind in (Kind.UNIT, Kind.CHOICE):
            assert field.choices, field.api
        if field.kind is Kind.UNIT:
            value = BY_API[_value_of(field.api)]
            assert value.ranges is not None
            assert set(field.choices) == set(value.ranges), field.api
        for choice in (field.default, field.preselected):
            assert choice in (None, "", *field.choices), field.api


def test_a_follow_up_unit_is_preselected_as_its_baseline_unit_defaults() -> None:
    for key, baseline in (("alt_day15", "alt_unit"), ("tbil_day60", "tbil_unit")):
        assert BY_API[f"followup.{key}.unit"].preselected == BY_API[baseline].default


def test_the_table_needs_no_web_or_command_line_library() -> None:
    script = (
        "import sys, calc.core.fields; "
        "print(sorted(m for m in ('flask', 'wtforms', 'click') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
