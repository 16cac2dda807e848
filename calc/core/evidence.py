"""The evidence file: load it, validate it, and hand the engine typed values.

Every number is kept exactly as the source prints it, with where it is printed
and the kind of its dispersion. The schema already holds what a full text
would add (SD / SE / 95 % CI, n, the time point, per-study rows), so that such
numbers can be added to the JSON file without touching the engine.

A file that does not validate raises :class:`EvidenceError` naming the field;
the app refuses to start rather than show numbers from a broken file.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
DEFAULT_EVIDENCE = "evidence.json"
# Controlled evidence shown beside the pooled changes as context, never used in the
# calculation (Ding et al. 2024, MSC versus control in ACLF).
DEFAULT_CONTEXT_EVIDENCE = "ding2024.json"


class EvidenceError(ValueError):
    """The evidence file is missing, malformed or inconsistent."""


class FailureType(StrEnum):
    """The types of liver failure of the Chinese Medical Association's 2024 guideline.

    Cao et al. 2018 name three (ALF, ACLF, CLF); the guideline adds subacute liver
    failure (SALF), for which no source here has an estimate.
    """

    ACLF = "ACLF"
    CLF = "CLF"
    ALF = "ALF"
    SALF = "SALF"


class DispersionKind(StrEnum):
    """What the number after "±" (or the interval) is."""

    SD = "SD"
    SE = "SE"
    CI95 = "95% CI"
    UNREPORTED = "unreported"


@dataclass(frozen=True)
class Dispersion:
    kind: DispersionKind
    value: float | None  # SD, SE or the unlabelled "±"
    low: float | None  # 95 % CI bounds, when the kind is "95% CI"
    high: float | None


@dataclass(frozen=True)
class PValue:
    as_printed: str
    relation: str  # "<", "=", "<=", ">"
    value: float


@dataclass(frozen=True)
class TimePoint:
    as_printed: str
    days: int | None


@dataclass(frozen=True)
class StudyRow:
    label: str
    n: int | None
    mean: float | None
    dispersion: Dispersion | None
    time_point: TimePoint | None


@dataclass(frozen=True)
class MeldReductionEvidence:
    failure_type: FailureType
    available: bool
    mean: float | None
    unit: str
    dispersion: Dispersion | None
    n: int | None
    time_point: TimePoint | None
    as_printed: str | None
    where: str
    studies: tuple[StudyRow, ...]
    unavailable_reason: str | None


@dataclass(frozen=True)
class Comparison:
    finding: str
    larger: str
    p_value: PValue
    where: str
    threshold: float | None


@dataclass(frozen=True)
class AltMarkerEvidence:
    as_printed: str
    direction: str
    check_day: int
    check_day_as_printed: str
    size: float | None
    p_value: PValue
    where: str


@dataclass(frozen=True)
class TbilMarkerEvidence:
    as_printed: str
    direction: str
    check_days: tuple[int, ...]
    check_days_as_printed: str
    pooled_level_umol_l: float
    pooled_level_as_printed: str
    p_value: PValue
    where: str


@dataclass(frozen=True)
class Source:
    citation: str
    short_citation: str
    doi: str
    pmid: str
    pmcid: str
    license: str
    document_read: str
    design: str
    articles: int
    patients: int
    as_printed: str


@dataclass(frozen=True)
class ContextOutcome:
    """One controlled result as printed (effect = MSC minus control)."""

    outcome: str  # "survival", "MELD score", ...
    time: str  # as printed, e.g. "12 weeks"
    measure: str  # "OR" or "MD"
    as_printed: str  # e.g. "MD = -3.27, 95%CI: -6.07~-0.48"
    p_as_printed: str
    unit: str | None


@dataclass(frozen=True)
class ContextSource:
    citation: str
    title_zh: str
    journal_zh: str
    short_citation: str
    doi: str
    registration: str
    document_read: str
    design: str
    articles: int
    participants: int
    failure_types: tuple[FailureType, ...]
    comparison: str


@dataclass(frozen=True)
class ContextEvidence:
    """Controlled evidence shown beside the pooled changes; never used in the calculation."""

    schema_version: int
    evidence_version: str
    source: ContextSource
    outcomes: tuple[ContextOutcome, ...]
    adverse_events_as_printed: str
    not_reported: tuple[str, ...]
    why_different: str

    def covers(self, failure_type: FailureType) -> bool:
        return failure_type in self.source.failure_types


@dataclass(frozen=True)
class Evidence:
    schema_version: int
    evidence_version: str
    source: Source
    meld_reduction: dict[FailureType, MeldReductionEvidence]
    aclf_vs_clf: Comparison
    baseline_meld: Comparison
    alt: AltMarkerEvidence
    tbil: TbilMarkerEvidence
    not_reported: tuple[str, ...]
    # The controlled evidence, kept apart with its own version (None: none loaded).
    context: ContextEvidence | None = None


# --------------------------------------------------------------------------
# A small typed reader: every error names the path of the bad field.


class _Node:
    def __init__(self, value: Any, path: str) -> None:
        self.value = value
        self.path = path

    def _fail(self, what: str) -> EvidenceError:
        return EvidenceError(f"evidence file: field '{self.path}' {what}")

    def obj(self) -> dict[str, Any]:
        if not isinstance(self.value, dict):
            raise self._fail("must be an object")
        return self.value

    def key(self, name: str) -> _Node:
        data = self.obj()
        sub = f"{self.path}.{name}" if self.path else name
        if name not in data:
            raise EvidenceError(f"evidence file: field '{sub}' is missing")
        return _Node(data[name], sub)

    def is_null(self) -> bool:
        return self.value is None

    def text(self) -> str:
        if not isinstance(self.value, str) or not self.value.strip():
            raise self._fail("must be a non-empty string")
        return self.value

    def opt_text(self) -> str | None:
        return None if self.value is None else self.text()

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            raise self._fail("must be true or false")
        return self.value

    def number(self, *, positive: bool = False) -> float:
        v = self.value
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self._fail("must be a number")
        try:
            finite = math.isfinite(v)
        except OverflowError:  # an integer too large for a float, e.g. 10**400
            finite = False
        if not finite:
            raise self._fail("must be a finite number")
        if positive and v <= 0:
            raise self._fail("must be greater than 0")
        return float(v)

    def opt_number(self, *, positive: bool = False) -> float | None:
        return None if self.value is None else self.number(positive=positive)

    def integer(self, *, minimum: int = 1) -> int:
        v = self.value
        if isinstance(v, bool) or not isinstance(v, int):
            raise self._fail("must be a whole number")
        if v < minimum:
            raise self._fail(f"must be at least {minimum}")
        return v

    def opt_integer(self, *, minimum: int = 1) -> int | None:
        return None if self.value is None else self.integer(minimum=minimum)

    def items(self) -> list[_Node]:
        if not isinstance(self.value, list):
            raise self._fail("must be a list")
        return [_Node(v, f"{self.path}[{i}]") for i, v in enumerate(self.value)]


def _dispersion(node: _Node) -> Dispersion:
    kind_text = node.key("kind").text()
    try:
        kind = DispersionKind(kind_text)
    except ValueError:
        allowed = ", ".join(k.value for k in DispersionKind)
        raise EvidenceError(
            f"evidence file: field '{node.path}.kind' must be one of {allowed}"
        ) from None
    value = node.key("value").opt_number(positive=True)
    low = node.key("low").opt_number()
    high = node.key("high").opt_number()
    if kind is DispersionKind.CI95:
        if low is None or high is None:
            raise EvidenceError(
                f"evidence file: field '{node.path}' of kind 95% CI needs low and high"
            )
        if not low < high:
            raise EvidenceError(f"evidence file: field '{node.path}.low' must be below high")
    elif value is None:
        raise EvidenceError(
            f"evidence file: field '{node.path}.value' is required for kind {kind.value}"
        )
    return Dispersion(kind=kind, value=value, low=low, high=high)


def _time_point(node: _Node) -> TimePoint | None:
    if node.is_null():
        return None
    return TimePoint(
        as_printed=node.key("as_printed").text(),
        days=node.key("days").opt_integer(minimum=0),
    )


def _p_value(node: _Node) -> PValue:
    relation = node.key("relation").text()
    if relation not in {"<", "=", "<=", ">"}:
        raise EvidenceError(f"evidence file: field '{node.path}.relation' must be <, =, <= or >")
    value = node.key("value").number(positive=True)
    if value > 1:
        raise EvidenceError(f"evidence file: field '{node.path}.value' must be at most 1")
    return PValue(as_printed=node.key("as_printed").text(), relation=relation, value=value)


def _study(node: _Node) -> StudyRow:
    disp = node.key("dispersion")
    return StudyRow(
        label=node.key("label").text(),
        n=node.key("n").opt_integer(),
        mean=node.key("mean").opt_number(),
        dispersion=None if disp.is_null() else _dispersion(disp),
        time_point=_time_point(node.key("time_point")),
    )


def _meld_reduction(node: _Node, failure_type: FailureType) -> MeldReductionEvidence:
    available = node.key("available").boolean()
    mean_node = node.key("mean")
    disp_node = node.key("dispersion")
    reason = node.key("unavailable_reason").opt_text()
    if available:
        mean: float | None = mean_node.number(positive=True)
        dispersion: Dispersion | None = _dispersion(disp_node)
        as_printed: str | None = node.key("as_printed").text()
    else:
        if not mean_node.is_null():
            raise EvidenceError(
                f"evidence file: field '{mean_node.path}' must be null when available is false"
            )
        if reason is None:
            raise EvidenceError(
                f"evidence file: field '{node.path}.unavailable_reason' is required "
                "when available is false"
            )
        mean, dispersion, as_printed = None, None, node.key("as_printed").opt_text()
    return MeldReductionEvidence(
        failure_type=failure_type,
        available=available,
        mean=mean,
        unit=node.key("unit").text(),
        dispersion=dispersion,
        n=node.key("n").opt_integer(minimum=2),
        time_point=_time_point(node.key("time_point")),
        as_printed=as_printed,
        where=node.key("where").text(),
        studies=tuple(_study(s) for s in node.key("studies").items()),
        unavailable_reason=reason,
    )


def _comparison(node: _Node, *, threshold: bool) -> Comparison:
    return Comparison(
        finding=node.key("finding").text(),
        larger=node.key("larger").text(),
        p_value=_p_value(node.key("p_value")),
        where=node.key("where").text(),
        threshold=node.key("threshold").number(positive=True) if threshold else None,
    )


def _check_direction(node: _Node) -> str:
    direction = node.text()
    if direction not in {"decrease", "increase"}:
        raise EvidenceError(f"evidence file: field '{node.path}' must be decrease or increase")
    return direction


def _schema_version(root: _Node) -> int:
    node = root.key("schema_version")
    version = node.integer()
    if version != SCHEMA_VERSION:
        raise EvidenceError(
            f"evidence file: field '{node.path}' is {version}; "
            f"this version of calc reads schema {SCHEMA_VERSION}"
        )
    return version


def parse_evidence(data: Any) -> Evidence:
    """Validate a decoded evidence document and return it typed."""
    root = _Node(data, "")
    version = _schema_version(root)
    src = root.key("source")
    source = Source(
        citation=src.key("citation").text(),
        short_citation=src.key("short_citation").text(),
        doi=src.key("doi").text(),
        pmid=src.key("pmid").text(),
        pmcid=src.key("pmcid").text(),
        license=src.key("license").text(),
        document_read=src.key("document_read").text(),
        design=src.key("design").text(),
        articles=src.key("articles").integer(),
        patients=src.key("patients").integer(),
        as_printed=src.key("as_printed").text(),
    )
    meld_node = root.key("meld_reduction")
    meld = {ft: _meld_reduction(meld_node.key(ft.value), ft) for ft in FailureType}
    comps = root.key("comparisons")
    markers = root.key("markers")
    alt_node = markers.key("alt")
    alt = AltMarkerEvidence(
        as_printed=alt_node.key("as_printed").text(),
        direction=_check_direction(alt_node.key("direction")),
        check_day=alt_node.key("check_day").integer(),
        check_day_as_printed=alt_node.key("check_day_as_printed").text(),
        size=alt_node.key("size").opt_number(),
        p_value=_p_value(alt_node.key("p_value")),
        where=alt_node.key("where").text(),
    )
    tbil_node = markers.key("tbil")
    level = tbil_node.key("pooled_level")
    if level.key("unit").text() != "umol/L":
        raise EvidenceError("evidence file: field 'markers.tbil.pooled_level.unit' must be umol/L")
    days = tuple(d.integer() for d in tbil_node.key("check_days").items())
    if not days:
        raise EvidenceError("evidence file: field 'markers.tbil.check_days' must not be empty")
    tbil = TbilMarkerEvidence(
        as_printed=tbil_node.key("as_printed").text(),
        direction=_check_direction(tbil_node.key("direction")),
        check_days=days,
        check_days_as_printed=tbil_node.key("check_days_as_printed").text(),
        pooled_level_umol_l=level.key("value").number(positive=True),
        pooled_level_as_printed=level.key("as_printed").text(),
        p_value=_p_value(tbil_node.key("p_value")),
        where=tbil_node.key("where").text(),
    )
    return Evidence(
        schema_version=version,
        evidence_version=root.key("evidence_version").text(),
        source=source,
        meld_reduction=meld,
        aclf_vs_clf=_comparison(comps.key("aclf_vs_clf"), threshold=False),
        baseline_meld=_comparison(comps.key("baseline_meld_20"), threshold=True),
        alt=alt,
        tbil=tbil,
        not_reported=tuple(n.text() for n in root.key("not_reported").items()),
    )


def parse_context_evidence(data: Any) -> ContextEvidence:
    """Validate a decoded context-evidence document (controlled results as printed)."""
    root = _Node(data, "context")
    version = _schema_version(root)
    if root.key("role").text() != "context":
        raise EvidenceError("evidence file: field 'context.role' must be context")
    src = root.key("source")
    types = []
    for node in src.key("failure_types").items():
        try:
            types.append(FailureType(node.text()))
        except ValueError:
            raise node._fail("must be a type of liver failure") from None
    source = ContextSource(
        citation=src.key("citation").text(),
        title_zh=src.key("title_zh").text(),
        journal_zh=src.key("journal_zh").text(),
        short_citation=src.key("short_citation").text(),
        doi=src.key("doi").text(),
        registration=src.key("registration").text(),
        document_read=src.key("document_read").text(),
        design=src.key("design").text(),
        articles=src.key("articles").integer(),
        participants=src.key("participants").integer(),
        failure_types=tuple(types),
        comparison=src.key("comparison").text(),
    )
    outcomes = []
    for node in root.key("outcomes").items():
        measure = node.key("measure").text()
        if measure not in {"OR", "MD"}:
            raise node.key("measure")._fail("must be OR or MD")
        outcomes.append(
            ContextOutcome(
                outcome=node.key("outcome").text(),
                time=node.key("time").text(),
                measure=measure,
                as_printed=node.key("as_printed").text(),
                p_as_printed=node.key("p_as_printed").text(),
                unit=node.key("unit").opt_text(),
            )
        )
    return ContextEvidence(
        schema_version=version,
        evidence_version=root.key("evidence_version").text(),
        source=source,
        outcomes=tuple(outcomes),
        adverse_events_as_printed=root.key("adverse_events_as_printed").text(),
        not_reported=tuple(n.text() for n in root.key("not_reported").items()),
        why_different=root.key("why_different").text(),
    )


def _read_json(path: str | Path | None, default: str) -> Any:
    try:
        if path is None:
            packaged = resources.files("calc.core").joinpath("data").joinpath(default)
            raw = packaged.read_text("utf-8")
        else:
            raw = Path(path).read_text("utf-8")
    except OSError as exc:
        where = "the packaged file" if path is None else f"'{path}'"
        raise EvidenceError(f"evidence file: cannot read {where} ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise EvidenceError(f"evidence file: not UTF-8 text ({exc.reason})") from exc
    try:
        # NaN / Infinity decode to floats so that the typed reader below refuses
        # them with the path of the field that holds them.
        return json.loads(raw, parse_constant=float)
    except (ValueError, RecursionError) as exc:
        raise EvidenceError(f"evidence file: not valid JSON ({exc})") from exc


def load_evidence(
    path: str | Path | None = None, context_path: str | Path | None = None
) -> Evidence:
    """Read and validate the evidence files (the packaged ones by default).

    The pooled changes (Cao et al. 2018) drive the calculation; the controlled
    evidence (Ding et al. 2024) is loaded beside them as context, with its own
    version, and is never used in the arithmetic.
    """
    evidence = parse_evidence(_read_json(path, DEFAULT_EVIDENCE))
    context = parse_context_evidence(_read_json(context_path, DEFAULT_CONTEXT_EVIDENCE))
    return replace(evidence, context=context)
