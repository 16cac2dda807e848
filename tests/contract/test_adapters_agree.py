"""The four adapters agree: the form, the JSON API, ``calc assess`` and ``calc cohort``.

One table of patients, each written as the API's JSON request. Small translators
turn a case into what each adapter takes: the form's fields (calc/web/forms.py), the
command's arguments (calc/cli/main.py, numbers as text) and a one-row CSV for
``calc cohort`` (calc/cli/cohort.py; labs as ``labs_<field>`` columns). Then

* a valid case must give the same result everywhere: the API's JSON == the
  command's ``--json`` output == ``to_dict(run(form.request, evidence))`` (with
  ``summary_text``, which is also the command's plain-text output), and the
  cohort row's added cells equal the API's values for their columns
  (``report_cells`` of tests/unit/cli/test_cohort.py);
* an invalid case must be refused everywhere, naming the same fields with the
  same message: the API's 422 ``errors``, the form's errors (one message per
  field, through ``calc.web.forms.error_field``), the command's one line
  ``calc: error: --<option>: <message>`` with exit status 2, and the cohort
  row's ``error`` cell ``field: message; field: message``.

Cohort files carry no follow-up: cases with follow-up values are not run
through ``calc cohort`` (their ids say ``no-cohort``). Text such as ``"1,200"``
cannot be a JSON number: such cases are not compared with the API's message
(their ids say ``no-api``); the API must still refuse the same field.

Units are given explicitly wherever the adapters' defaults differ (lab units:
the command defaults to mg/dL and g/dL, the form pre-selects μmol/L and g/L, the
API and cohort files have no default). Pinned numbers carry their source beside
them; the rest is agreement, not a value.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from click.testing import Result
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from calc.cli.cohort import LAB_COLUMNS, LAB_OUTPUT_COLUMNS, OUTPUT_COLUMNS
from calc.cli.main import assess as assess_command
from calc.core.assessment import run, validate_request
from calc.core.evidence import Evidence
from calc.core.inputs import InputError
from calc.core.report import to_dict
from calc.web.forms import FOLLOWUP_FIELDS, AssessmentForm, error_field
from tests.unit.cli.test_cohort import mismatches, report_cells

RunCli = Callable[..., Result]
ASSESS = "/api/v1/assess"


class Expect(NamedTuple):
    """What a case must give, beyond the adapters' agreement (each value with its source)."""

    errors: Mapping[str, str]  # refused: API field -> words its message must hold; {}: valid
    warnings: tuple[str, ...] = ()  # warning codes that must be among the result's
    meld_used: int | None = None  # the baseline MELD assessed
    numbers: Mapping[str, Any] = {}  # "dotted.path" in the API's JSON -> value


def ok(case_id: str, request: dict[str, Any], **expect: Any) -> Any:
    return _case(case_id, request, Expect(errors={}, **expect))


def refused(case_id: str, request: dict[str, Any], errors: Mapping[str, str]) -> Any:
    return _case(case_id, request, Expect(errors=errors))


def _case(case_id: str, request: dict[str, Any], expect: Expect) -> Any:
    # The ids say which adapter a case leaves out, so a reader of the test names knows.
    assert ("followup" in request) == ("no-cohort" in case_id), case_id
    assert _has_text(request) == ("no-api" in case_id), case_id
    return pytest.param(request, expect, id=case_id)


def _has_text(request: Mapping[str, Any]) -> bool:
    """A number written as text (a form or CSV can hold it; a JSON number cannot)."""
    numbers = [request.get(k) for k in ("meld", "alt", "tbil")]
    numbers += [request.get("labs", {}).get(k) for k in ("inr", "creatinine", "sodium", "albumin")]
    numbers += [item.get("value") for item in request.get("followup", {}).values()]
    numbers += [item.get("day") for item in request.get("followup", {}).values()]
    return any(isinstance(v, str) for v in numbers)


# Cao 2018 abstract (calc/core/data/evidence.json): MELD decrease 14.93 ± 1.24 in ACLF and
# 4.6 ± 5.66 in CLF; not reported for ALF and SALF. Expected MELD after = baseline −
# decrease, bounded to 6–40 (README, "What the numbers are").
# fmt: off
CASES = [
    # ---- the four types, the units -------------------------------------------------
    ok(
        "ACLF-typed-meld-umol-with-date",
        {"failure_type": "ACLF", "meld": 28, "alt": 240, "alt_unit": "U/L",
         "tbil": 320, "tbil_unit": "umol/L", "transplant_date": "2026-01-10"},
        numbers={"meld_reduction.expected_meld_after": 13.07,  # 28 − 14.93, by hand
                 "markers.alt.check_date": "2026-01-25"},  # 2026-01-10 + 15 days
    ),
    ok(
        "CLF-typed-meld-mgdl-ukat",
        {"failure_type": "CLF", "meld": 22, "alt": 3.5, "alt_unit": "ukat/L",
         "tbil": 5.2, "tbil_unit": "mg/dL"},
        numbers={"meld_reduction.expected_meld_after": 17.4,  # 22 − 4.6, by hand
                 "input.alt_u_l": 210.0,  # 3.5 × 60 (1 μkat/L = 60 U/L)
                 "input.tbil_umol_l": 5.2 * 17.1},  # 1 mg/dL = 17.1 μmol/L
    ),
    ok(
        "ALF-typed-meld-umol",
        {"failure_type": "ALF", "meld": 31, "alt": 4800, "alt_unit": "U/L",
         "tbil": 210, "tbil_unit": "umol/L"},
        warnings=("no_estimate",),  # README: ALF, SALF -> no estimate
        numbers={"meld_reduction.expected_meld_after": None},
    ),
    ok(
        "SALF-typed-meld-mgdl-ukat-with-date",
        {"failure_type": "SALF", "meld": 26, "alt": 15, "alt_unit": "ukat/L",
         "tbil": 15, "tbil_unit": "mg/dL", "transplant_date": "2024-02-29"},
        warnings=("no_estimate",),
        numbers={"markers.tbil.check_dates": ["2024-04-29", "2024-05-29"]},  # + 60, + 90 days
    ),
    ok(
        # No unit given: every adapter takes U/L and μmol/L (README, input table).
        "ACLF-units-left-to-defaults",
        {"failure_type": "ACLF", "meld": 30, "alt": 240, "tbil": 320},
        numbers={"input.alt_u_l": 240.0, "input.tbil_umol_l": 320.0},
    ),
    # ---- MELD from labs ------------------------------------------------------------
    ok(
        # The published worked example: creatinine 1.9, bilirubin 4.2 mg/dL, INR 1.2 ->
        # MELD 20; with sodium 125, MELD-Na 28 (README, "calc meld").
        "CLF-meld-from-labs-worked-example-mgdl",
        {"failure_type": "CLF", "alt": 240, "alt_unit": "U/L", "tbil": 4.2, "tbil_unit": "mg/dL",
         "labs": {"inr": 1.2, "creatinine": 1.9, "creatinine_unit": "mg/dL", "dialysis": False,
                  "sodium": 125}},
        meld_used=20,
        numbers={"labs.meld": 20, "labs.meld_na": 28, "labs.meld_3_0": None,
                 "meld_used.source": "labs"},
    ),
    ok(
        # μmol/L creatinine and TBIL, albumin in g/L, sex and dialysis (creatinine -> 4.0).
        "ACLF-meld-from-labs-umol-albumin-sex-dialysis",
        {"failure_type": "ACLF", "alt": 410, "alt_unit": "U/L", "tbil": 390, "tbil_unit": "umol/L",
         "transplant_date": "2026-02-01",
         "labs": {"inr": 2.3, "creatinine": 150, "creatinine_unit": "umol/L", "dialysis": True,
                  "sodium": 131, "albumin": 28, "albumin_unit": "g/L", "sex": "female"}},
        numbers={"meld_used.source": "labs"},
    ),
    ok(
        # Typed MELD and labs' MELD 20 differ by more than one point: the typed one is used.
        "CLF-typed-meld-and-labs-disagree-mgdl",
        {"failure_type": "CLF", "meld": 25, "alt": 240, "alt_unit": "U/L",
         "tbil": 4.2, "tbil_unit": "mg/dL",
         "labs": {"inr": 1.2, "creatinine": 1.9, "creatinine_unit": "mg/dL", "dialysis": False}},
        warnings=("meld_labs_disagree",),  # README: differ by more than 1
        meld_used=25,
        numbers={"labs.meld": 20, "meld_used.source": "entered"},
    ),
    # Classic MELD has no exact rounding tie: 0.957 ln Cr + 0.378 ln bili + 1.120 ln INR is
    # zero or transcendental for decimal labs (Lindemann-Weierstrass; calc/core/meld.py says
    # so too), so it is never k.x5 exactly. The nearest: the worked example's creatinine
    # and bilirubin with the INR that puts MELD(i) at 20.5, to 15 decimals either side.
    # The exact INR is exp((2.05 − 0.643 − 0.957 ln 1.9 − 0.378 ln 4.2) / 1.120)
    # = 1.2504053144719897736…; 10 × formula = 20.499999999999993 -> 20 and
    # 20.500000000000004 -> 21 (decimal arithmetic, 50 digits). Cohort files compute
    # in float64 and must recompute such rows exactly.
    ok(
        "CLF-classic-meld-a-hair-below-tie-20",
        {"failure_type": "CLF", "alt": 240, "alt_unit": "U/L", "tbil": 4.2, "tbil_unit": "mg/dL",
         "labs": {"inr": 1.250405314471989, "creatinine": 1.9, "creatinine_unit": "mg/dL",
                  "dialysis": False}},
        meld_used=20,
    ),
    ok(
        "CLF-classic-meld-a-hair-above-tie-21",
        {"failure_type": "CLF", "alt": 240, "alt_unit": "U/L", "tbil": 4.2, "tbil_unit": "mg/dL",
         "labs": {"inr": 1.25040531447199, "creatinine": 1.9, "creatinine_unit": "mg/dL",
                  "dialysis": False}},
        meld_used=21,
    ),
    ok(
        # An exact tie of MELD 3.0 (every ln term 0): 6 + 0.82 × 11 + 1.85 × 0.8 = 16.50
        # -> 17, half up (tests/unit/core/test_meld.py, by hand); classic MELD 6.
        "ACLF-meld-3-0-exact-tie-17",
        {"failure_type": "ACLF", "alt": 240, "alt_unit": "U/L", "tbil": 1, "tbil_unit": "mg/dL",
         "labs": {"inr": 1.0, "creatinine": 0.8, "creatinine_unit": "mg/dL", "dialysis": False,
                  "sodium": 126, "albumin": 2.7, "albumin_unit": "g/dL", "sex": "male"}},
        meld_used=6,
        numbers={"labs.meld_3_0": 17, "labs.meld": 6},
    ),
    # ---- plausibility warnings -------------------------------------------------------
    ok(
        # README, warnings: TBIL below the level defining ACLF (85 μmol/L), MELD below 10,
        # ALT below 5 U/L ("1.200" typed for 1,200); 8 − 14.93 < 6 -> the floor.
        "ACLF-plausibility-tbil-12.5-meld-8-alt-1.2",
        {"failure_type": "ACLF", "meld": 8, "alt": 1.2, "alt_unit": "U/L",
         "tbil": 12.5, "tbil_unit": "umol/L"},
        warnings=("tbil_below_type_definition", "meld_below_10", "alt_below_5",
                  "meld_after_floor"),
        numbers={"meld_reduction.expected_meld_after": 6.0},
    ),
    # ---- follow-up (cohort files take none: no-cohort) -------------------------------
    ok(
        "ACLF-followup-with-days-no-cohort",
        {"failure_type": "ACLF", "meld": 28, "alt": 240, "alt_unit": "U/L",
         "tbil": 320, "tbil_unit": "umol/L",
         "followup": {"alt_day15": {"value": 139, "unit": "U/L", "day": 16},
                      "tbil_day60": {"value": 70, "day": 61},
                      "meld": {"value": 18, "day": 30}}},
    ),
    ok(
        "CLF-followup-with-dates-mgdl-ukat-no-cohort",
        {"failure_type": "CLF", "meld": 27, "alt": 6, "alt_unit": "ukat/L",
         "tbil": 9.5, "tbil_unit": "mg/dL", "transplant_date": "2026-01-10",
         "followup": {"alt_day15": {"value": 2.2, "unit": "ukat/L", "date": "2026-01-26"},
                      "tbil_day90": {"value": 11.2, "unit": "mg/dL", "date": "2026-04-10"},
                      "meld": {"value": 33, "date": "2026-02-09"}}},
        warnings=("meld_rose", "tbil_rose", "alt_fall_with_worsening"),  # 27 -> 33, 9.5 -> 11.2
    ),
    # ---- refused ---------------------------------------------------------------------
    # Words from calc/core/inputs.py, calc/core/meld.py and calc/core/followup.py (the one set of
    # messages); README, "Inputs and their allowed ranges".
    refused(
        "meld-41-out-of-range",
        {"failure_type": "ACLF", "meld": 41, "alt": 240, "alt_unit": "U/L",
         "tbil": 320, "tbil_unit": "umol/L"},
        {"meld": "Baseline MELD must be a whole number from 6 to 40."},
    ),
    refused(
        "alt-60000-out-of-range",
        {"failure_type": "CLF", "meld": 22, "alt": 60000, "alt_unit": "U/L",
         "tbil": 320, "tbil_unit": "umol/L"},
        {"alt": "ALT must be a number from 1 to 50000 U/L."},
    ),
    refused(
        "tbil-85-mgdl-looks-like-umol",
        {"failure_type": "ACLF", "meld": 28, "alt": 240, "alt_unit": "U/L",
         "tbil": 85, "tbil_unit": "mg/dL"},
        {"tbil": "Total bilirubin (TBIL) 85 mg/dL looks like μmol/L"},
    ),
    refused(
        "inr-25-out-of-range",
        {"failure_type": "ACLF", "alt": 240, "alt_unit": "U/L", "tbil": 320, "tbil_unit": "umol/L",
         "labs": {"inr": 25, "creatinine": 1.1, "creatinine_unit": "mg/dL", "dialysis": False}},
        {"labs.inr": "may be a prothrombin time in seconds"},
    ),
    refused(
        "followup-meld-41-out-of-range-no-cohort",
        {"failure_type": "ACLF", "meld": 28, "alt": 240, "alt_unit": "U/L",
         "tbil": 320, "tbil_unit": "umol/L", "followup": {"meld": {"value": 41, "day": 30}}},
        {"followup.meld": "from 6 to 40"},
    ),
    refused(
        "alt-1,200-text-no-api",
        {"failure_type": "ACLF", "meld": 28, "alt": "1,200", "alt_unit": "U/L",
         "tbil": 320, "tbil_unit": "umol/L"},
        {"alt": "Write it without a thousands separator (1200, not 1,200)"},
    ),
    refused(
        "tbil-unit-mmol-bad-unit",
        {"failure_type": "ACLF", "meld": 28, "alt": 240, "alt_unit": "U/L",
         "tbil": 320, "tbil_unit": "mmol/L"},
        {"tbil_unit": 'TBIL unit must be "umol/L" (μmol/L) or "mg/dL".'},
    ),
    refused(
        "creatinine-unit-mg-per-l-bad-unit",
        {"failure_type": "ACLF", "alt": 240, "alt_unit": "U/L", "tbil": 320, "tbil_unit": "umol/L",
         "labs": {"inr": 1.5, "creatinine": 1.1, "creatinine_unit": "mg/L", "dialysis": False}},
        {"labs.creatinine_unit": "Creatinine"},
    ),
    refused(
        # A lone sodium gives labs, so INR and creatinine are required (calc/core/assessment.py,
        # LAB_VALUE_FIELDS). Unit and dialysis are given: the adapters' defaults differ.
        "lone-sodium-with-typed-meld",
        {"failure_type": "ACLF", "meld": 28, "alt": 240, "alt_unit": "U/L",
         "tbil": 320, "tbil_unit": "umol/L",
         "labs": {"sodium": 130, "creatinine_unit": "mg/dL", "dialysis": False}},
        {"labs.inr": "INR is required", "labs.creatinine": "Creatinine is required"},
    ),
    refused(
        "lone-sodium-without-meld",
        {"failure_type": "ACLF", "alt": 240, "alt_unit": "U/L", "tbil": 320, "tbil_unit": "umol/L",
         "labs": {"sodium": 130, "creatinine_unit": "umol/L", "dialysis": False}},
        {"labs.inr": "INR is required", "labs.creatinine": "Creatinine is required"},
    ),
    refused(
        "transplant-date-partial-2026-03",
        {"failure_type": "ACLF", "meld": 28, "alt": 240, "alt_unit": "U/L",
         "tbil": 320, "tbil_unit": "umol/L", "transplant_date": "2026-03"},
        {"transplant_date": "Transplant date must be a date written YYYY-MM-DD."},
    ),
    refused(
        # A day with no value: the form and the API refuse it; the command dropped it
        # silently before calc/cli/main.py's _followup kept a marker with only a day or date.
        "followup-day-without-value-no-cohort",
        {"failure_type": "ACLF", "meld": 28, "alt": 240, "alt_unit": "U/L",
         "tbil": 320, "tbil_unit": "umol/L", "followup": {"alt_day15": {"day": 16}}},
        {"followup.alt_day15": "Follow-up ALT (about day 15) is required"},
    ),
    refused(
        "followup-date-partial-2026-03-no-cohort",
        {"failure_type": "ACLF", "meld": 28, "alt": 240, "alt_unit": "U/L",
         "tbil": 320, "tbil_unit": "umol/L", "transplant_date": "2026-01-10",
         "followup": {"alt_day15": {"value": 139, "unit": "U/L", "date": "2026-03"}}},
        {"followup.alt_day15": "YYYY-MM-DD"},
    ),
]
# fmt: on


# --------------------------------------------------------------------------
# Translators: the API's request -> each adapter's input

DEFAULT_UNITS = {"alt": "U/L", "tbil": "umol/L"}  # README: without a unit, U/L and μmol/L
# The baseline unit a follow-up marker is in (calc.core.followup: a follow-up without a unit
# takes the baseline's).
FOLLOWUP_ANALYTE = {"alt_day15": "alt", "tbil_day60": "tbil", "tbil_day90": "tbil"}


def text(value: Any) -> str:
    """A value as typed: numbers as their shortest decimal (repr), text as it is."""
    if value is None:
        return ""
    assert not isinstance(value, bool)
    return value if isinstance(value, str) else repr(value)


def followup_unit(request: Mapping[str, Any], key: str, item: Mapping[str, Any]) -> str:
    analyte = FOLLOWUP_ANALYTE[key]
    unit = item.get("unit", request.get(f"{analyte}_unit", DEFAULT_UNITS[analyte]))
    assert isinstance(unit, str)
    return unit


def form_fields(request: Mapping[str, Any]) -> dict[str, str]:
    """The fields a browser posts for ``request`` (names of calc.web.forms.AssessmentForm)."""
    fields = {k: text(request.get(k)) for k in ("failure_type", "meld", "alt", "tbil")}
    fields["transplant_date"] = text(request.get("transplant_date"))
    for unit in ("alt_unit", "tbil_unit"):
        if unit in request:  # else the select's pre-selected unit
            fields[unit] = request[unit]
    labs = request.get("labs", {})
    assert "bilirubin" not in labs  # the form has none: its bilirubin is the TBIL
    for name, value in labs.items():
        if name == "dialysis":
            if value:
                fields["lab_dialysis"] = "y"  # an unticked box is not posted
        else:
            fields[f"lab_{name}"] = text(value)
    for key, item in request.get("followup", {}).items():
        value_f, unit_f, day_f, date_f = FOLLOWUP_FIELDS[key]
        fields[value_f] = text(item.get("value"))
        if unit_f is not None:
            fields[unit_f] = followup_unit(request, key, item)
        if "day" in item:
            fields[day_f] = text(item["day"])
        if "date" in item:
            fields[date_f] = item["date"]
    return fields


# The option of `calc assess` that holds each field of the request (calc/cli/main.py).
CLI_OPTIONS = {
    **{k: "--" + k.replace("_", "-") for k in (
        "failure_type", "meld", "alt", "alt_unit", "tbil", "tbil_unit", "transplant_date")},
    **{f"labs.{k}": "--" + k.replace("_", "-") for k in (
        "inr", "creatinine", "creatinine_unit", "dialysis", "sodium", "albumin", "albumin_unit",
        "sex")},
    "followup.alt_day15": "--alt-day15",
    "followup.tbil_day60": "--tbil-day60",
    "followup.tbil_day90": "--tbil-day90",
    "followup.meld": "--meld-followup",
}  # fmt: skip


def cli_args(request: Mapping[str, Any]) -> list[str]:
    """`calc assess` arguments for ``request`` (numbers as text)."""
    args = ["assess"]
    for key, value in request.items():
        if key not in ("labs", "followup"):
            args += [CLI_OPTIONS[key], text(value)]
    labs = request.get("labs", {})
    assert "bilirubin" not in labs  # the command's bilirubin is --tbil
    for name, value in labs.items():
        if name == "dialysis":
            args.append("--dialysis" if value else "--no-dialysis")
        else:
            args += [CLI_OPTIONS[f"labs.{name}"], text(value)]
    for key, item in request.get("followup", {}).items():
        option = CLI_OPTIONS[f"followup.{key}"]
        if key in FOLLOWUP_ANALYTE:
            # The command has no unit of its own for a follow-up value: it is in the
            # baseline's unit (--alt-unit, --tbil-unit), so a case must be too.
            analyte = FOLLOWUP_ANALYTE[key]
            baseline = request.get(f"{analyte}_unit", DEFAULT_UNITS[analyte])
            assert followup_unit(request, key, item) == baseline, "not expressible on the CLI"
        if "value" in item:
            args += [option, text(item["value"])]
        if "day" in item:
            args += [f"{option}-day", text(item["day"])]
        if "date" in item:
            args += [f"{option}-date", item["date"]]
    return args


def cohort_csv(path: Path, request: Mapping[str, Any]) -> Path:
    """A one-row cohort file for ``request`` (README, "Cohort mode"); id ``P1``."""
    assert "followup" not in request  # cohort files carry no follow-up
    row = {"id": "P1"}
    row.update({k: text(request.get(k)) for k in ("failure_type", "meld", "alt", "tbil")})
    row["transplant_date"] = text(request.get("transplant_date"))
    for unit in ("alt_unit", "tbil_unit"):
        if unit in request:  # without the column, the default unit (an empty cell is refused)
            row[unit] = request[unit]
    if "labs" in request:
        row.update(dict.fromkeys(LAB_COLUMNS, ""))  # a blank cell is a field left out
        for name, value in request["labs"].items():
            if name == "dialysis":
                row["labs_dialysis"] = "yes" if value else "no"
            else:
                row[f"labs_{name}"] = text(value)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
    return path


# --------------------------------------------------------------------------
# Running each adapter


def roundtrip(data: Any) -> Any:
    """``data`` as JSON reads it back (tuples become lists), for comparison."""
    return json.loads(json.dumps(data, ensure_ascii=False))


def via_api(client: FlaskClient, request: Mapping[str, Any]) -> tuple[int, Any]:
    response = client.post(ASSESS, json=request)
    return response.status_code, response.get_json()


def via_form(request: Mapping[str, Any]) -> AssessmentForm:
    form = AssessmentForm(MultiDict(form_fields(request)))
    form.validate()
    return form


def via_cohort(run_cli: RunCli, tmp_path: Path, request: Mapping[str, Any]) -> dict[str, str]:
    src = cohort_csv(tmp_path / "in.csv", request)
    out = tmp_path / "out.csv"
    result = run_cli("cohort", str(src), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    with out.open(encoding="utf-8", newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row["id"] == "P1"
    return row


def cohort_expected(api: Mapping[str, Any], with_labs: bool) -> dict[str, Any]:
    """The cohort's added cells as the API's JSON has them (README, "Cohort mode")."""
    cells = report_cells(dict(api))
    if with_labs:
        labs = api["labs"] or {}
        cells.update(
            meld_used=api["meld_used"]["value"],
            meld_source=api["meld_used"]["source"],
            labs_meld=labs.get("meld"),
            labs_meld_na=labs.get("meld_na"),
            labs_meld_3_0=labs.get("meld_3_0"),
        )
    return cells


_CLI_ERROR = re.compile(r"(?:^| )(--[a-z0-9-]+): ")
_COHORT_ERROR = re.compile(r"(?:^|; )([a-z0-9_.]+): ")


def split_errors(line: str, pattern: re.Pattern[str]) -> dict[str, str]:
    """``"--alt: msg --tbil: msg"`` or ``"alt: msg; tbil: msg"`` -> {name: message}."""
    marks = list(pattern.finditer(line))
    assert marks and marks[0].start() == 0, line
    ends = [m.start() for m in marks[1:]] + [len(line)]
    return {m.group(1): line[m.end() : end] for m, end in zip(marks, ends, strict=True)}


def dig(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data[part]
    return data


# --------------------------------------------------------------------------
# The test


def test_every_cli_option_of_the_table_exists() -> None:
    """The translator's option names are options of `calc assess` (with -day, -date)."""
    names = {o for p in assess_command.params for o in (*p.opts, *p.secondary_opts)}
    for option in CLI_OPTIONS.values():
        assert option in names
    for key in FOLLOWUP_FIELDS:
        option = CLI_OPTIONS[f"followup.{key}"]
        assert {f"{option}-day", f"{option}-date"} <= names


@pytest.mark.parametrize(("request_body", "expect"), CASES)
def test_adapters_agree(
    request_body: dict[str, Any],
    expect: Expect,
    client: FlaskClient,
    run_cli: RunCli,
    evidence: Evidence,
    tmp_path: Path,
) -> None:
    with_api = not _has_text(request_body)
    with_cohort = "followup" not in request_body
    if expect.errors:
        check_refused(request_body, expect, client, run_cli, tmp_path, with_api, with_cohort)
    else:
        check_agree(request_body, expect, client, run_cli, evidence, tmp_path, with_cohort)


def check_agree(
    request: dict[str, Any],
    expect: Expect,
    client: FlaskClient,
    run_cli: RunCli,
    evidence: Evidence,
    tmp_path: Path,
    with_cohort: bool,
) -> None:
    status, api = via_api(client, request)
    assert status == 200, api

    # The pinned values (sources beside the cases), so agreement is not agreement on nothing.
    codes = [w["code"] for w in api["warnings"]]
    assert set(expect.warnings) <= set(codes), codes
    if expect.meld_used is not None:
        assert api["meld_used"]["value"] == expect.meld_used
    for path, value in expect.numbers.items():
        assert dig(api, path) == value, path

    form = via_form(request)
    assert form.errors == {}
    assert form.request is not None
    from_form = roundtrip(to_dict(run(form.request, evidence)))
    assert from_form == api

    as_json = run_cli(*cli_args(request), "--json")
    assert (as_json.exit_code, as_json.stderr) == (0, "")
    assert json.loads(as_json.stdout) == api
    as_text = run_cli(*cli_args(request))
    assert (as_text.exit_code, as_text.stderr) == (0, "")
    assert as_text.stdout == api["summary_text"] + "\n"

    if with_cohort:
        row = via_cohort(run_cli, tmp_path, request)
        columns = (*OUTPUT_COLUMNS, *(LAB_OUTPUT_COLUMNS if "labs" in request else ()))
        assert mismatches(row, cohort_expected(api, "labs" in request), columns) == []


def check_refused(
    request: dict[str, Any],
    expect: Expect,
    client: FlaskClient,
    run_cli: RunCli,
    tmp_path: Path,
    with_api: bool,
    with_cohort: bool,
) -> None:
    status, body = via_api(client, request)
    assert status == 422, body
    if with_api:
        errors: dict[str, list[str]] = body["errors"]
    else:
        # Text is not a JSON number, so the API's message is "must be a JSON number";
        # it must still name the same field. The others are compared with the core's
        # message for the text, as a form, the command and a CSV cell hold it.
        with pytest.raises(InputError) as caught:
            validate_request(request, allow_text=True)
        errors = caught.value.errors
        assert set(body["errors"]) == set(errors), body
    assert set(errors) == set(expect.errors), errors
    for field, words in expect.errors.items():
        assert words in " ".join(errors[field]), (field, errors[field])

    # The form: each core field shown at its form field, one message per form field.
    form = via_form(request)
    assert form.request is None
    shown = {name: msgs for name, msgs in form.errors.items() if msgs}
    by_form_field: dict[str, list[list[str]]] = {}
    for field, messages in errors.items():
        by_form_field.setdefault(error_field(field), []).append(messages)
    assert set(shown) == set(by_form_field), shown
    for name, candidates in by_form_field.items():
        assert shown[name] in candidates, (name, shown[name], candidates)

    # The command: one line, each option named with the field's message; status 2.
    result = run_cli(*cli_args(request))
    assert result.exit_code == 2
    assert result.stdout == ""
    line = result.stderr.removesuffix("\n")
    assert "\n" not in line
    assert line.startswith("calc: error: "), line
    got = split_errors(line.removeprefix("calc: error: "), _CLI_ERROR)
    assert got == {CLI_OPTIONS[f]: " ".join(m) for f, m in errors.items()}

    # The cohort row: its error cell, every other added cell empty.
    if with_cohort:
        row = via_cohort(run_cli, tmp_path, request)
        got = split_errors(row["error"], _COHORT_ERROR)
        assert got == {f: " ".join(m) for f, m in errors.items()}
        columns = (*OUTPUT_COLUMNS, *(LAB_OUTPUT_COLUMNS if "labs" in request else ()))
        assert [c for c in columns if c != "error" and row[c]] == []
