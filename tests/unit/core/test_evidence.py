"""The evidence loader: every number as printed, and a broken file stops everything.

Sources: every pinned value is as printed in Cao et al. 2018 (Gastroenterol Res
Pract 2018:9231710, abstract). The file keeps the
printed decimals, so equality is exact (a float parsed from "14.93" equals
the literal 14.93).
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from calc import create_app
from calc.core.evidence import (
    DispersionKind,
    Evidence,
    EvidenceError,
    FailureType,
    load_evidence,
)

ACLF, CLF, ALF = FailureType.ACLF, FailureType.CLF, FailureType.ALF


@pytest.fixture(scope="module")
def packaged_json() -> dict[str, Any]:
    text = resources.files("calc.core").joinpath("data", "evidence.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def write_json(path: Path, data: Any) -> Path:
    # allow_nan=True on purpose: some broken files carry NaN / Infinity tokens.
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return path


# --------------------------------------------------------------------------
# The packaged file: every number exactly as printed (Cao 2018 abstract)

AS_PRINTED: list[Any] = [
    # Cao 2018 abstract: "14.93 ± 1.24 versus 4.6 ± 5.66"
    pytest.param(lambda e: e.meld_reduction[ACLF].mean, 14.93, id="aclf-mean-14.93"),
    pytest.param(lambda e: e.meld_reduction[ACLF].dispersion.value, 1.24, id="aclf-pm-1.24"),
    pytest.param(lambda e: e.meld_reduction[ACLF].as_printed, "14.93 ± 1.24", id="aclf-text"),
    pytest.param(lambda e: e.meld_reduction[CLF].mean, 4.6, id="clf-mean-4.6"),
    pytest.param(lambda e: e.meld_reduction[CLF].dispersion.value, 5.66, id="clf-pm-5.66"),
    pytest.param(lambda e: e.meld_reduction[CLF].as_printed, "4.6 ± 5.66", id="clf-text"),
    # Cao 2018 abstract: "±" is not said to be SD or SE; no group sizes given.
    pytest.param(
        lambda e: e.meld_reduction[ACLF].dispersion.kind,
        DispersionKind.UNREPORTED,
        id="aclf-kind-unreported",
    ),
    pytest.param(
        lambda e: e.meld_reduction[CLF].dispersion.kind,
        DispersionKind.UNREPORTED,
        id="clf-kind-unreported",
    ),
    pytest.param(lambda e: e.meld_reduction[ACLF].dispersion.low, None, id="aclf-no-ci-low"),
    pytest.param(lambda e: e.meld_reduction[ACLF].dispersion.high, None, id="aclf-no-ci-high"),
    pytest.param(lambda e: e.meld_reduction[ACLF].n, None, id="aclf-n-null"),
    pytest.param(lambda e: e.meld_reduction[CLF].n, None, id="clf-n-null"),
    pytest.param(lambda e: e.meld_reduction[ACLF].time_point, None, id="aclf-time-null"),
    # Cao 2018 abstract: ALF named as a type, no MELD estimate.
    pytest.param(lambda e: e.meld_reduction[ALF].available, False, id="alf-unavailable"),
    pytest.param(lambda e: e.meld_reduction[ALF].mean, None, id="alf-mean-null"),
    pytest.param(lambda e: e.meld_reduction[ALF].dispersion, None, id="alf-dispersion-null"),
    # Cao 2018 abstract: "Nine articles (n = 476)"
    pytest.param(lambda e: e.source.articles, 9, id="articles-9"),
    pytest.param(lambda e: e.source.patients, 476, id="patients-476"),
    pytest.param(lambda e: e.source.doi, "10.1155/2018/9231710", id="doi"),
    pytest.param(lambda e: e.source.pmid, "29686702", id="pmid"),
    pytest.param(lambda e: e.source.pmcid, "PMC5857323", id="pmcid"),
    pytest.param(lambda e: e.source.document_read, "abstract", id="document-read"),
    # Cao 2018 abstract: TBIL "stable level of 78.57 μmol/L at 2 and 3 months (P < 0.05)"
    pytest.param(lambda e: e.tbil.pooled_level_umol_l, 78.57, id="tbil-78.57"),
    pytest.param(lambda e: e.tbil.pooled_level_as_printed, "78.57 μmol/L", id="tbil-text"),
    pytest.param(lambda e: e.tbil.check_days, (60, 90), id="tbil-days-60-90"),
    pytest.param(lambda e: e.tbil.direction, "decrease", id="tbil-direction"),
    pytest.param(lambda e: e.tbil.p_value.as_printed, "P < 0.05", id="tbil-p"),
    # Cao 2018 abstract: ALT "decreased largely at half a month (P < 0.05)", no size.
    pytest.param(lambda e: e.alt.check_day, 15, id="alt-day-15"),
    pytest.param(lambda e: e.alt.size, None, id="alt-size-null"),
    pytest.param(lambda e: e.alt.direction, "decrease", id="alt-direction"),
    pytest.param(lambda e: e.alt.p_value.as_printed, "P < 0.05", id="alt-p"),
    # Cao 2018 abstract: ACLF vs CLF "P < 0.05"; baseline >= 20 vs < 20 "P = 0.003".
    pytest.param(lambda e: e.aclf_vs_clf.p_value.as_printed, "P < 0.05", id="aclf-clf-p"),
    pytest.param(lambda e: e.aclf_vs_clf.p_value.relation, "<", id="aclf-clf-relation"),
    pytest.param(lambda e: e.aclf_vs_clf.p_value.value, 0.05, id="aclf-clf-p-value"),
    pytest.param(lambda e: e.aclf_vs_clf.larger, "ACLF", id="aclf-clf-larger"),
    pytest.param(lambda e: e.baseline_meld.p_value.as_printed, "P = 0.003", id="meld20-p"),
    pytest.param(lambda e: e.baseline_meld.p_value.relation, "=", id="meld20-relation"),
    pytest.param(lambda e: e.baseline_meld.p_value.value, 0.003, id="meld20-p-value"),
    pytest.param(lambda e: e.baseline_meld.threshold, 20.0, id="meld20-threshold"),
    pytest.param(lambda e: e.baseline_meld.larger, ">=20", id="meld20-larger"),
    # Not from the paper: the versions of this file and of its schema.
    pytest.param(lambda e: e.schema_version, 1, id="schema-1"),
    pytest.param(lambda e: e.evidence_version, "cao2018-abstract-v2", id="evidence-version"),
]


@pytest.mark.parametrize(("get", "expected"), AS_PRINTED)
def test_packaged_value_is_as_printed(
    evidence: Evidence, get: Callable[[Evidence], Any], expected: Any
) -> None:
    # Exact equality (tolerance 0): numbers are stored with their printed decimals.
    value = get(evidence)
    assert value == expected
    assert type(value) is type(expected)


def test_alf_carries_a_reason(evidence: Evidence) -> None:
    reason = evidence.meld_reduction[ALF].unavailable_reason
    assert reason is not None
    assert "ALF" in reason
    assert "no MELD change" in reason


def test_every_failure_type_is_present(evidence: Evidence) -> None:
    assert set(evidence.meld_reduction) == set(FailureType)
    for ft, mr in evidence.meld_reduction.items():
        assert mr.failure_type is ft
        assert mr.unit == "MELD points"


def test_not_reported_lists_the_gaps(evidence: Evidence) -> None:
    text = " ".join(evidence.not_reported)
    for gap in ("standard deviation or a standard error", "number of patients", "ALF"):
        assert gap in text


def test_a_copy_in_tmp_path_loads_to_the_same_evidence(
    tmp_path: Path, packaged_json: dict[str, Any], evidence: Evidence
) -> None:
    """Control for the broken-file tests: only their mutation makes them fail."""
    assert load_evidence(write_json(tmp_path / "ev.json", packaged_json)) == evidence
    assert load_evidence(str(tmp_path / "ev.json")) == evidence


# --------------------------------------------------------------------------
# Broken files: EvidenceError naming the field path


def set_at(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    *parents, last = path.split(".")

    def mutate(data: dict[str, Any]) -> None:
        node = data
        for key in parents:
            node = node[key]
        node[last] = value

    return mutate


def delete_at(path: str) -> Callable[[dict[str, Any]], None]:
    *parents, last = path.split(".")

    def mutate(data: dict[str, Any]) -> None:
        node = data
        for key in parents:
            node = node[key]
        del node[last]

    return mutate


def _none(kind: str, **kw: Any) -> dict[str, Any]:
    return {"kind": kind, "value": None, "low": None, "high": None, **kw}


BROKEN_FIELDS: list[Any] = [
    # (mutation, the field path the message must name)
    pytest.param(delete_at("meld_reduction.ACLF.mean"), "meld_reduction.ACLF.mean", id="missing"),
    pytest.param(delete_at("meld_reduction.ALF"), "meld_reduction.ALF", id="missing-group"),
    pytest.param(delete_at("source.doi"), "source.doi", id="missing-doi"),
    pytest.param(set_at("source.doi", " "), "source.doi", id="blank-doi"),
    pytest.param(set_at("source.articles", "nine"), "source.articles", id="wrong-type-text"),
    pytest.param(set_at("source.articles", 9.0), "source.articles", id="wrong-type-float"),
    pytest.param(
        set_at("meld_reduction.ACLF.mean", True), "meld_reduction.ACLF.mean", id="wrong-type-bool"
    ),
    pytest.param(
        set_at("meld_reduction.ACLF.mean", "14.93"),
        "meld_reduction.ACLF.mean",
        id="wrong-type-string-number",
    ),
    pytest.param(set_at("meld_reduction", []), "meld_reduction", id="wrong-type-list"),
    pytest.param(set_at("not_reported", "none"), "not_reported", id="wrong-type-not-list"),
    pytest.param(
        set_at("meld_reduction.ACLF.mean", math.nan), "meld_reduction.ACLF.mean", id="nan-constant"
    ),
    pytest.param(
        set_at("meld_reduction.CLF.dispersion.value", math.inf),
        "meld_reduction.CLF.dispersion.value",
        id="infinity-constant",
    ),
    pytest.param(
        set_at("meld_reduction.ACLF.mean", 10**400), "meld_reduction.ACLF.mean", id="huge-int"
    ),
    pytest.param(
        set_at("meld_reduction.ACLF.dispersion.kind", "SD or SE"),
        "meld_reduction.ACLF.dispersion.kind",
        id="bad-dispersion-kind",
    ),
    pytest.param(
        set_at("meld_reduction.ACLF.dispersion", _none("SD")),
        "meld_reduction.ACLF.dispersion.value",
        id="sd-without-value",
    ),
    pytest.param(
        set_at("meld_reduction.ACLF.dispersion", _none("95% CI")),
        "meld_reduction.ACLF.dispersion",
        id="ci-without-low-high",
    ),
    pytest.param(
        set_at("meld_reduction.ACLF.dispersion", _none("95% CI", low=12.0)),
        "meld_reduction.ACLF.dispersion",
        id="ci-without-high",
    ),
    pytest.param(
        set_at("meld_reduction.ACLF.dispersion", _none("95% CI", low=17.0, high=12.0)),
        "meld_reduction.ACLF.dispersion.low",
        id="ci-low-above-high",
    ),
    pytest.param(set_at("meld_reduction.ALF.mean", 4.6), "meld_reduction.ALF.mean", id="alf-mean"),
    pytest.param(
        set_at("meld_reduction.ALF.unavailable_reason", None),
        "meld_reduction.ALF.unavailable_reason",
        id="alf-without-reason",
    ),
    pytest.param(set_at("schema_version", 2), "schema_version", id="schema-version-2"),
    pytest.param(set_at("schema_version", "1"), "schema_version", id="schema-version-text"),
    pytest.param(
        set_at("comparisons.baseline_meld_20.p_value.value", 1.5),
        "comparisons.baseline_meld_20.p_value.value",
        id="p-above-1",
    ),
    pytest.param(set_at("markers.alt.p_value.value", 0), "markers.alt.p_value.value", id="p-zero"),
    pytest.param(
        set_at("comparisons.aclf_vs_clf.p_value.relation", "~"),
        "comparisons.aclf_vs_clf.p_value.relation",
        id="p-relation",
    ),
    pytest.param(
        set_at("meld_reduction.ACLF.mean", -14.93), "meld_reduction.ACLF.mean", id="negative-mean"
    ),
    pytest.param(
        set_at("meld_reduction.CLF.dispersion.value", 0.0),
        "meld_reduction.CLF.dispersion.value",
        id="zero-spread",
    ),
    pytest.param(set_at("meld_reduction.ACLF.n", 1), "meld_reduction.ACLF.n", id="n-below-2"),
    pytest.param(
        set_at(
            "meld_reduction.ACLF.studies",
            [{"label": "A", "n": 0, "mean": 1.0, "dispersion": None, "time_point": None}],
        ),
        "meld_reduction.ACLF.studies[0].n",
        id="study-row-n-0",
    ),
    pytest.param(set_at("markers.tbil.check_days", []), "markers.tbil.check_days", id="no-days"),
    pytest.param(set_at("markers.alt.check_day", 0), "markers.alt.check_day", id="day-0"),
    pytest.param(
        set_at("markers.tbil.pooled_level.unit", "mg/dL"),
        "markers.tbil.pooled_level.unit",
        id="pooled-unit",
    ),
    pytest.param(set_at("markers.alt.direction", "down"), "markers.alt.direction", id="direction"),
    pytest.param(
        set_at("comparisons.baseline_meld_20.threshold", None),
        "comparisons.baseline_meld_20.threshold",
        id="threshold-null",
    ),
]


@pytest.mark.parametrize(("mutate", "field"), BROKEN_FIELDS)
def test_broken_field_is_refused_naming_its_path(
    tmp_path: Path,
    packaged_json: dict[str, Any],
    mutate: Callable[[dict[str, Any]], None],
    field: str,
) -> None:
    data = copy.deepcopy(packaged_json)
    mutate(data)
    path = write_json(tmp_path / "broken.json", data)
    with pytest.raises(EvidenceError) as exc:
        load_evidence(path)
    assert f"field '{field}'" in str(exc.value)


BROKEN_FILES: list[Any] = [
    # (file content, or None for no file; a phrase the message must hold)
    pytest.param(b'{"schema_version": 1,', "not valid JSON", id="not-json"),
    pytest.param(b"", "not valid JSON", id="empty"),
    pytest.param(b"[" * 100_000, "not valid JSON", id="deeply-nested"),
    pytest.param(b'{"schema_version": \xff}', "not UTF-8", id="not-utf8"),
    pytest.param(b"[1, 2]", "field '' must be an object", id="not-an-object"),
]


@pytest.mark.parametrize(("content", "phrase"), BROKEN_FILES)
def test_broken_file_is_refused(tmp_path: Path, content: bytes, phrase: str) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    with pytest.raises(EvidenceError) as exc:
        load_evidence(path)
    assert phrase in str(exc.value)


@pytest.mark.parametrize("name", ["missing.json", "."], ids=["missing-file", "a-directory"])
def test_unreadable_path_is_refused_naming_the_path(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with pytest.raises(EvidenceError) as exc:
        load_evidence(path)
    assert "cannot read" in str(exc.value)
    assert str(path) in str(exc.value)


@pytest.mark.parametrize(
    "mutate",
    [
        delete_at("meld_reduction.ACLF.mean"),
        set_at("meld_reduction.ACLF.mean", math.nan),
        set_at("schema_version", 2),
    ],
    ids=["missing-field", "nan", "schema-version"],
)
def test_app_refuses_to_start_with_a_broken_file(
    tmp_path: Path, packaged_json: dict[str, Any], mutate: Callable[[dict[str, Any]], None]
) -> None:
    data = copy.deepcopy(packaged_json)
    mutate(data)
    path = write_json(tmp_path / "broken.json", data)
    with pytest.raises(EvidenceError):
        create_app({"TESTING": True, "EVIDENCE_PATH": str(path)})


def test_app_refuses_to_start_without_its_file(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="cannot read"):
        create_app({"TESTING": True, "EVIDENCE_PATH": str(tmp_path / "missing.json")})


def test_app_serves_the_evidence_file_it_was_given(
    tmp_path: Path, packaged_json: dict[str, Any]
) -> None:
    """EVIDENCE_PATH is honoured (so the refusals above are about that file)."""
    data = copy.deepcopy(packaged_json)
    data["evidence_version"] = "test-v99"
    path = write_json(tmp_path / "ev.json", data)
    client = create_app({"TESTING": True, "EVIDENCE_PATH": str(path)}).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["evidence_version"] == "test-v99"


# --------------------------------------------------------------------------
# Future evidence: the schema takes SD / SE / CI, n, time points, study rows


def test_full_text_numbers_load_without_code_changes(
    tmp_path: Path, packaged_json: dict[str, Any]
) -> None:
    # Made-up numbers (not from any paper): they only exercise the schema.
    data = copy.deepcopy(packaged_json)
    aclf = data["meld_reduction"]["ACLF"]
    aclf["dispersion"] = {"kind": "SD", "value": 3.1, "low": None, "high": None}
    aclf["n"] = 40
    aclf["time_point"] = {"as_printed": "4 weeks", "days": 28}
    aclf["studies"] = [
        {
            "label": "Study A",
            "n": 20,
            "mean": 15.2,
            "dispersion": {"kind": "SE", "value": 0.8, "low": None, "high": None},
            "time_point": {"as_printed": "1 month", "days": None},
        }
    ]
    data["meld_reduction"]["CLF"]["dispersion"] = {
        "kind": "95% CI",
        "value": None,
        "low": 1.2,
        "high": 8.0,
    }
    ev = load_evidence(write_json(tmp_path / "future.json", data))

    mr = ev.meld_reduction[ACLF]
    assert mr.dispersion is not None
    assert (mr.dispersion.kind, mr.dispersion.value, mr.n) == (DispersionKind.SD, 3.1, 40)
    assert mr.time_point is not None
    assert (mr.time_point.as_printed, mr.time_point.days) == ("4 weeks", 28)
    (study,) = mr.studies
    assert (study.label, study.n, study.mean) == ("Study A", 20, 15.2)
    assert study.dispersion is not None
    assert study.dispersion.kind is DispersionKind.SE
    clf = ev.meld_reduction[CLF].dispersion
    assert clf is not None
    assert (clf.kind, clf.low, clf.high) == (DispersionKind.CI95, 1.2, 8.0)


# --------------------------------------------------------------------------
# The controlled evidence (Ding et al. 2024), loaded beside the pooled changes


@pytest.fixture(scope="module")
def packaged_context_json() -> dict[str, Any]:
    text = resources.files("calc.core").joinpath("data", "ding2024.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def test_the_context_evidence_is_loaded_apart_with_its_own_version(evidence: Evidence) -> None:
    ctx = evidence.context
    assert ctx is not None
    assert ctx.evidence_version == "ding2024-abstract-v1"
    assert evidence.evidence_version == "cao2018-abstract-v2"  # each source its own version
    # Ding et al. 2024 abstract: 11 articles, 803 participants, ACLF only; nine results.
    assert (ctx.source.articles, ctx.source.participants) == (11, 803)
    assert ctx.source.failure_types == (FailureType.ACLF,)
    assert ctx.source.doi == "10.12449/JCH240822"
    assert len(ctx.outcomes) == 9
    assert ctx.covers(FailureType.ACLF) and not ctx.covers(FailureType.CLF)


CONTEXT_BROKEN = [
    pytest.param(lambda d: d.pop("why_different"), "context.why_different", id="missing-key"),
    pytest.param(lambda d: d.update(role="basis"), "context.role", id="role-not-context"),
    pytest.param(lambda d: d.update(schema_version=2), "context.schema_version", id="schema"),
    pytest.param(
        lambda d: d["outcomes"][0].update(measure="RR"), "context.outcomes[0].measure", id="measure"
    ),
    pytest.param(
        lambda d: d["outcomes"][4].update(as_printed=""),
        "context.outcomes[4].as_printed",
        id="empty-as-printed",
    ),
    pytest.param(
        lambda d: d["source"].update(failure_types=["HRS"]),
        "context.source.failure_types[0]",
        id="unknown-type",
    ),
    pytest.param(
        lambda d: d["source"].update(participants=0), "context.source.participants", id="n-zero"
    ),
]


@pytest.mark.parametrize(("change", "field"), CONTEXT_BROKEN)
def test_a_broken_context_file_is_refused_naming_the_field(
    tmp_path: Path,
    packaged_context_json: dict[str, Any],
    change: Callable[[dict[str, Any]], None],
    field: str,
) -> None:
    data = copy.deepcopy(packaged_context_json)
    change(data)
    path = write_json(tmp_path / "ding.json", data)
    with pytest.raises(EvidenceError, match=re.escape(f"'{field}'")):
        load_evidence(context_path=path)
