"""The JSON API's response bodies as types: frozen dataclasses, one field per JSON field.

A response is one of these values, serialised by :func:`dumps` (orjson, which
writes dataclasses, enums, tuples and ``datetime.date`` itself): no hand-built
dict stands between the types and the bytes, so the types *are* the JSON, and
the OpenAPI document (calc.web.openapi) is generated from them. That is why
every class documents its fields under "Attributes" (unit, meaning, source):
the text becomes the field's description in the document.

The classes are frozen but not slotted: orjson writes a dataclass from its
``__dict__`` about four times faster than from its slots (measured on this
package's Assessment body: 2.7 µs against 12.8 µs), and frozen, an instance holds
its fields and nothing else (tests/contract/test_openapi.py checks that no class
adds an attribute). Each takes :func:`calc.core.quickinit.quick_init`'s ``__init__``,
which fills that ``__dict__`` directly: the same parameters, still frozen, and the
body's objects made in about 9 µs instead of 11 (one assessment, in process).

Field order is JSON key order. Enumerated strings are typed with the enum that
defines them (:class:`~calc.core.evidence.FailureType`, the unit enums, ...);
other fixed sets and numeric bounds are attached as ``Annotated[..., Spec(...)]``
and read from the tables that define them, never repeated here.

Sources named below: Cao et al. 2018 (doi:10.1155/2018/9231710, abstract), the
pooled before/after changes used in the calculation; Ding et al. 2024
(doi:10.12449/JCH240822, abstract), the controlled evidence shown as context;
classic MELD (Kamath et al. 2001, OPTN/UNOS rules), MELD-Na (OPTN 2016) and
MELD 3.0 (Kim et al. 2021). See :mod:`calc.core.results` for the full citations.
"""

from __future__ import annotations

import datetime
import inspect
import re
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

import orjson

from .evidence import (
    AltMarkerEvidence,
    Comparison,
    ContextOutcome,
    ContextSource,
    DispersionKind,
    FailureType,
    MeldReductionEvidence,
    Source,
    TbilMarkerEvidence,
)
from .followup import FollowupKey
from .i18n import N_
from .inputs import MELD_RANGE, AltUnit, TbilUnit
from .meld import CLASSIC_MELD, MELD_3_0, MELD_NA, Sex
from .quickinit import quick_init
from .results import WARNING_TITLES

# --------------------------------------------------------------------------
# Serialisation


_OPTIONS: Final = orjson.OPT_NON_STR_KEYS  # the evidence's MELD decreases are keyed by type


def dumps(view: object) -> bytes:
    """A response body: compact UTF-8 JSON, keys in field order, ending in a newline."""
    return orjson.dumps(view, option=_OPTIONS | orjson.OPT_APPEND_NEWLINE)


def plain(view: object) -> Any:
    """The same JSON as Python data (dicts, lists, str, numbers), for callers that need a dict."""
    return orjson.loads(orjson.dumps(view, option=_OPTIONS))


# --------------------------------------------------------------------------
# What a type cannot say: fixed sets of strings and numeric bounds from their tables


@dataclass(frozen=True)
class Spec:
    """What a type cannot say, for ``Annotated``: the allowed strings, or numeric bounds.

    Each is read from the table that defines it (the MELD table, the range
    tables, the warning titles), so the document cannot disagree with the code.
    """

    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None


_ATTRIBUTE = re.compile(r"^(\w+) : .+$")


def field_docs(cls: type) -> dict[str, str]:
    """The "Attributes" section of a class's docstring: field name -> its description."""
    doc = inspect.cleandoc(cls.__doc__ or "")
    _, found, section = doc.partition("\nAttributes\n----------\n")
    if not found:
        return {}
    docs: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in section.splitlines():
        match = _ATTRIBUTE.match(line)
        if match:
            current = docs.setdefault(match.group(1), [])
        elif line.startswith(" ") and current is not None:
            current.append(line.strip())
        elif line.strip():
            break  # the next section
    return {name: " ".join(words) for name, words in docs.items()}


def summary(cls: type) -> str:
    """The first paragraph of a class's docstring."""
    return inspect.cleandoc(cls.__doc__ or "").split("\n\n", 1)[0].replace("\n", " ")


# What a range of the MELD decrease is, in words (the keys are the kinds).
RANGE_KIND_LABELS: Final = {
    "confidence": "95% confidence interval of the mean",
    "prediction": "95% prediction interval for one patient",
}
# Where the baseline MELD comes from, in words (the keys are the sources).
MELD_SOURCES: Final = {
    "entered": N_("as entered"),
    "labs": N_("classic MELD (OPTN/UNOS) computed from the labs"),
}
# What the ± of a pooled decrease is: the evidence's kinds, or "none" without an estimate.
SPREAD_KINDS: Final = (*(k.value for k in DispersionKind), "none")
# The warnings a follow-up value raises are named after it (calc.core.followup):
# ``alt_day15_off_marker_day``, ``tbil_day60_day_unknown``, ``meld_check_unit``, ...
FOLLOWUP_WARNING_SUFFIXES: Final = ("off_marker_day", "day_unknown", "check_unit")
WARNING_CODES: Final = (
    *WARNING_TITLES,
    *(f"{key.value}_{suffix}" for key in FollowupKey for suffix in FOLLOWUP_WARNING_SUFFIXES),
)

# Every MELD score (classic, MELD-Na, MELD 3.0) is a whole number from classic MELD's
# floor (which holds for all three, calc.core.meld) to its cap.
MeldScore = Annotated[int, Spec(low=CLASSIC_MELD.score_min, high=CLASSIC_MELD.score_max)]
MeldNaScore = Annotated[int, Spec(low=CLASSIC_MELD.score_min, high=MELD_NA.score_max)]
Meld30Score = Annotated[int, Spec(low=CLASSIC_MELD.score_min, high=MELD_3_0.score_max)]
MeldAfter = Annotated[float, Spec(low=CLASSIC_MELD.score_min, high=CLASSIC_MELD.score_max)]
BaselineMeld = Annotated[int, Spec(low=MELD_RANGE.low, high=MELD_RANGE.high)]
RangeKind = Annotated[str, Spec(choices=tuple(RANGE_KIND_LABELS))]
MeldSource = Annotated[str, Spec(choices=tuple(MELD_SOURCES))]
SpreadKind = Annotated[str, Spec(choices=SPREAD_KINDS)]
WarningCode = Annotated[str, Spec(choices=WARNING_CODES)]


# --------------------------------------------------------------------------
# POST /api/v1/assess


@quick_init
@dataclass(frozen=True)
class AltQuantity:
    """An ALT value with its unit.

    Attributes
    ----------
    value : float
        The value in ``unit``, as entered.
    unit : AltUnit
        "U/L", or "ukat/L" (μkat/L; 1 μkat/L = 60 U/L).
    """

    value: float
    unit: AltUnit


@quick_init
@dataclass(frozen=True)
class TbilQuantity:
    """A TBIL value with its unit.

    Attributes
    ----------
    value : float
        The value in ``unit``, not rounded.
    unit : TbilUnit
        "umol/L" (μmol/L), or "mg/dL" (1 mg/dL = 17.1 μmol/L).
    """

    value: float
    unit: TbilUnit


@quick_init
@dataclass(frozen=True)
class Input:
    """The validated inputs, in canonical units beside the values as entered.

    Attributes
    ----------
    failure_type : FailureType
        The type of liver failure (Chinese Medical Association, 2024).
    meld : int
        The baseline classic MELD used, in MELD points: as entered, or computed
        from the labs (see ``meld_used``).
    alt_u_l : float
        The baseline ALT in U/L.
    tbil_umol_l : float
        The baseline TBIL in μmol/L.
    alt_entered : AltQuantity
        The baseline ALT as entered, with its unit.
    tbil_entered : TbilQuantity
        The baseline TBIL as entered, with its unit.
    transplant_date : date | None
        The date of MSCT (ISO 8601), or null when not given.
    """

    failure_type: FailureType
    meld: BaselineMeld
    alt_u_l: float
    tbil_umol_l: float
    alt_entered: AltQuantity
    tbil_entered: TbilQuantity
    transplant_date: datetime.date | None


@quick_init
@dataclass(frozen=True)
class Range:
    """An interval of the MELD decrease and the MELD after MSCT it implies.

    Computed only when the evidence states the kind of its ±: never for the
    packaged evidence (Cao et al. 2018 prints ± without its kind or n).

    Attributes
    ----------
    kind : str
        "confidence": a 95 % confidence interval of the mean decrease;
        "prediction": a 95 % prediction interval for one patient.
    low : float
        Lower end of the interval of the MELD decrease, in MELD points.
    high : float
        Upper end of the interval of the MELD decrease, in MELD points.
    confidence_level : float
        The coverage of the interval as a fraction: 0.95.
    meld_after_low : float
        Baseline MELD minus ``high``, bounded to the MELD range (OPTN/UNOS).
    meld_after_high : float
        Baseline MELD minus ``low``, bounded to the MELD range (OPTN/UNOS).
    assumption : str
        How the interval was computed and what it assumes, in words.
    """

    kind: RangeKind
    low: float
    high: float
    confidence_level: float
    meld_after_low: MeldAfter
    meld_after_high: MeldAfter
    assumption: str


@quick_init
@dataclass(frozen=True)
class MeldReductionJson:
    """The pooled MELD decrease of the patient's type and the expected MELD after MSCT.

    A before/after change in treated patients (Cao et al. 2018, abstract), not a
    difference against a control group. Full precision: rounding is for display.

    Attributes
    ----------
    available : bool
        True when the evidence has a pooled MELD decrease for this type (ACLF
        and CLF); false for ALF and SALF, which have none.
    what_it_is : str | None
        What the headline number is, in words, to show beside it; null without
        an estimate.
    mean : float | None
        The pooled MELD decrease as printed, in MELD points (14.93 for ACLF, 4.6
        for CLF; Cao et al. 2018). Null without an estimate.
    reported_spread : float | None
        The number printed after ±, in MELD points (Cao et al. 2018 does not say
        whether it is an SD or an SE). Null when none is printed.
    spread_kind : str
        What the ± is: "SD", "SE", "95% CI" or "unreported" (the evidence's
        dispersion kinds), or "none" without an estimate.
    spread_kind_text : str
        The same in words, with what follows from it.
    spread_low : float | None
        Lower end of a reported 95 % CI of the decrease, in MELD points; null
        unless one is reported.
    spread_high : float | None
        Upper end of a reported 95 % CI of the decrease, in MELD points; null
        unless one is reported.
    as_printed : str | None
        The decrease as the source prints it, e.g. "14.93 ± 1.24"; null without
        an estimate.
    n : int | None
        The number of patients behind the decrease; null: not reported.
    time_point : str | None
        When after MSCT the decrease was measured, as printed; null: not
        reported.
    where : str
        Where in the source the number is printed: "abstract".
    expected_meld_after : float | None
        Baseline MELD minus ``mean``, exact in decimal, bounded to the MELD
        range (OPTN/UNOS), in MELD points; null without an estimate.
    expected_meld_after_display : int | None
        The same rounded half up to a whole MELD: the number to show, with
        "about". Null without an estimate.
    expected_meld_after_unbounded : float | None
        Baseline MELD minus ``mean`` before bounding; below the MELD floor when
        the decrease is larger than the baseline allows. Null without an
        estimate.
    bounded_at_floor : bool
        True when ``expected_meld_after`` was raised to the MELD floor.
    ranges : tuple[Range, ...]
        The intervals the evidence supports, confidence first; empty while the
        kind of the ± is not reported.
    unavailable_reason : str | None
        Why the type has no estimate, from the evidence file; null when it has
        one.
    """

    available: bool
    what_it_is: str | None
    mean: float | None
    reported_spread: float | None
    spread_kind: SpreadKind
    spread_kind_text: str
    spread_low: float | None
    spread_high: float | None
    as_printed: str | None
    n: int | None
    time_point: str | None
    where: str
    expected_meld_after: MeldAfter | None
    expected_meld_after_display: MeldScore | None
    expected_meld_after_unbounded: float | None
    bounded_at_floor: bool
    ranges: tuple[Range, ...]
    unavailable_reason: str | None


@quick_init
@dataclass(frozen=True)
class Outcome:
    """One controlled result as printed (effect = MSC minus control; Ding et al. 2024).

    Attributes
    ----------
    outcome : str
        What was measured, e.g. "MELD score" or "survival".
    time : str
        When, as printed, e.g. "12 weeks".
    measure : str
        The effect measure as printed: "MD" (mean difference) or "OR" (odds
        ratio).
    as_printed : str
        The effect with its 95 % CI as printed, e.g. "MD = -3.27, 95%CI:
        -6.07~-0.48".
    p_as_printed : str
        The P value as printed.
    unit : str | None
        The unit of the effect when it has one; null for a ratio.
    """

    outcome: str
    time: str
    measure: str
    as_printed: str
    p_as_printed: str
    unit: str | None


@quick_init
@dataclass(frozen=True)
class ContextAvailable:
    """Controlled evidence (MSC versus control) for the patient's type, as printed.

    Shown beside the pooled before/after change; never used in the calculation.

    Attributes
    ----------
    available : Literal[True]
        Controlled evidence covers the patient's type.
    used_in_calculation : Literal[False]
        Always false: context only.
    version : str
        The context evidence's own version, e.g. "ding2024-abstract-v1".
    citation : str
        The full citation (Ding et al. 2024).
    doi : str
        Its DOI, from the evidence file.
    url : str
        The DOI as a link (https://doi.org/ + ``doi``).
    design : str
        The design of the pooled studies, as printed.
    articles : int
        The number of articles pooled, as printed.
    participants : int
        The number of participants, as printed.
    comparison : str
        What was compared, in words.
    document_read : str
        Which part of the source was read: "abstract".
    outcomes : tuple[Outcome, ...]
        The controlled results, as printed.
    adverse_events_as_printed : str
        What the source says about adverse events, as printed.
    not_reported : tuple[str, ...]
        What the source does not report.
    why_different : str
        Why its numbers differ from the pooled before/after change, in words.
    """

    available: Literal[True]
    used_in_calculation: Literal[False]
    version: str
    citation: str
    doi: str
    url: str
    design: str
    articles: int
    participants: int
    comparison: str
    document_read: str
    outcomes: tuple[Outcome, ...]
    adverse_events_as_printed: str
    not_reported: tuple[str, ...]
    why_different: str


@quick_init
@dataclass(frozen=True)
class ContextUnavailable:
    """No controlled evidence covers the patient's type (or none is loaded).

    Attributes
    ----------
    available : Literal[False]
        No controlled evidence for this type.
    used_in_calculation : Literal[False]
        Always false: context only.
    message : str
        What a clinician reads instead, naming the type.
    """

    available: Literal[False]
    used_in_calculation: Literal[False]
    message: str


@quick_init
@dataclass(frozen=True)
class MeldUsed:
    """The baseline MELD the assessment used, and where it comes from.

    Attributes
    ----------
    value : int
        The baseline classic MELD, in MELD points.
    score : str
        Which score: "classic MELD" (the meta-analysis used classic MELD).
    source : str
        "entered" (typed) or "labs" (computed from the labs).
    how : str
        The source in words.
    """

    value: BaselineMeld
    score: str
    source: MeldSource
    how: str


@quick_init
@dataclass(frozen=True)
class EnteredLab:
    """One lab as entered and as converted to the unit the formulas use.

    Attributes
    ----------
    field : str
        The lab: "bilirubin", "inr", "creatinine", "sodium" or "albumin".
    value : float
        The value as entered, in ``unit``.
    unit : str
        The unit as entered ("" for INR, a ratio).
    value_canonical : float
        The value in ``unit_canonical``, full precision.
    unit_canonical : str
        The unit the formulas use: mg/dL (bilirubin, creatinine), g/dL
        (albumin), mmol/L (sodium), "" (INR).
    """

    field: str
    value: float
    unit: str
    value_canonical: float
    unit_canonical: str


@quick_init
@dataclass(frozen=True)
class Term:
    """One term of a formula.

    Attributes
    ----------
    label : str
        The term as written, e.g. "0.378 × ln(bilirubin)".
    value : float
        Its value, unrounded.
    """

    label: str
    value: float


@quick_init
@dataclass(frozen=True)
class ClassicMeldWorking:
    """Classic MELD (Kamath et al. 2001, OPTN/UNOS rules): the labs used and the steps.

    Attributes
    ----------
    bilirubin_mg_dl : float
        Bilirubin used, in mg/dL, after the floor of 1.0.
    inr : float
        INR used, after the floor of 1.0.
    creatinine_mg_dl : float
        Creatinine used, in mg/dL, after the floor of 1.0 and the cap of 4.0
        (4.0 on dialysis).
    terms : tuple[Term, ...]
        The terms of the formula.
    formula_value : float
        0.957 ln(creatinine) + 0.378 ln(bilirubin) + 1.120 ln(INR) + 0.643,
        unrounded.
    meld_i_unrounded : float
        ``formula_value`` × 10.
    meld_i : int
        ``formula_value`` rounded to the tenth, × 10 (OPTN).
    meld : int
        MELD(i) capped at 40: the classic MELD.
    bounds_applied : tuple[str, ...]
        The floors and caps applied, in words.
    source : str
        The formula's source.
    """

    bilirubin_mg_dl: float
    inr: float
    creatinine_mg_dl: float
    terms: tuple[Term, ...]
    formula_value: float
    meld_i_unrounded: float
    meld_i: int
    meld: MeldScore
    bounds_applied: tuple[str, ...]
    source: str


@quick_init
@dataclass(frozen=True)
class MeldNaWorking:
    """MELD-Na (OPTN policy, January 2016): the MELD(i) and sodium used.

    Attributes
    ----------
    meld_i : int
        The classic MELD(i) that enters the formula.
    sodium_mmol_l : float | None
        Sodium used, in mmol/L, bounded to 125–137; null when the sodium term
        does not apply.
    sodium_term_applied : bool
        True when MELD(i) is above the threshold of 11, so sodium counts.
    unrounded : float
        The formula's value before rounding.
    meld_na : int
        MELD-Na, rounded half up and capped at 40.
    bounds_applied : tuple[str, ...]
        The bounds applied, in words.
    source : str
        The formula's source.
    """

    meld_i: int
    sodium_mmol_l: float | None
    sodium_term_applied: bool
    unrounded: float
    meld_na: MeldNaScore
    bounds_applied: tuple[str, ...]
    source: str


@quick_init
@dataclass(frozen=True)
class Meld30Working:
    """MELD 3.0 (Kim et al. 2021): the labs used and the terms.

    Attributes
    ----------
    female : bool
        True for a woman (the formula adds 1.33).
    bilirubin_mg_dl : float
        Bilirubin used, in mg/dL, after the floor of 1.0.
    inr : float
        INR used, after the floor of 1.0.
    creatinine_mg_dl : float
        Creatinine used, in mg/dL, after the floor of 1.0 and the cap of 3.0.
    sodium_mmol_l : float
        Sodium used, in mmol/L, bounded to 125–137.
    albumin_g_dl : float
        Albumin used, in g/dL, bounded to 1.5–3.5.
    terms : tuple[Term, ...]
        The terms of the formula.
    unrounded : float
        The formula's value before rounding.
    meld_3_0 : int
        MELD 3.0, rounded half up and capped at 40.
    bounds_applied : tuple[str, ...]
        The floors, caps and bounds applied, in words.
    source : str
        The formula's source.
    """

    female: bool
    bilirubin_mg_dl: float
    inr: float
    creatinine_mg_dl: float
    sodium_mmol_l: float
    albumin_g_dl: float
    terms: tuple[Term, ...]
    unrounded: float
    meld_3_0: Meld30Score
    bounds_applied: tuple[str, ...]
    source: str


@quick_init
@dataclass(frozen=True)
class MeldWorking:
    """The working of the MELD scores: values as entered, converted and used.

    Attributes
    ----------
    entered : tuple[EnteredLab, ...]
        The labs as entered and converted.
    dialysis : bool
        Dialysis at least twice in the past week (or 24 h of CVVHD): creatinine
        set to the formula's cap.
    sex : Sex | None
        "female" or "male" (MELD 3.0); null when not given.
    classic : ClassicMeldWorking
        Classic MELD, step by step.
    meld_na : MeldNaWorking | None
        MELD-Na, step by step; null without sodium.
    meld_3_0 : Meld30Working | None
        MELD 3.0, step by step; null without sodium, albumin and sex.
    not_calculated : tuple[str, ...]
        The scores not calculated and the inputs they miss, in words.
    bounds_applied : tuple[str, ...]
        Every score's bounds applied, each prefixed with the score's name.
    """

    entered: tuple[EnteredLab, ...]
    dialysis: bool
    sex: Sex | None
    classic: ClassicMeldWorking
    meld_na: MeldNaWorking | None
    meld_3_0: Meld30Working | None
    not_calculated: tuple[str, ...]
    bounds_applied: tuple[str, ...]


@quick_init
@dataclass(frozen=True)
class Labs:
    """The MELD scores computed from the labs, with their working.

    Attributes
    ----------
    meld : int
        Classic MELD (OPTN/UNOS), in MELD points.
    meld_na : int | None
        MELD-Na, for context; null without sodium.
    meld_3_0 : int | None
        MELD 3.0, for context; null without sodium, albumin and sex.
    note : str
        That MELD-Na and MELD 3.0 are context (the meta-analysis used classic
        MELD).
    working : MeldWorking
        Values as entered, converted and used, and each formula's steps.
    """

    meld: MeldScore
    meld_na: MeldNaScore | None
    meld_3_0: Meld30Score | None
    note: str
    working: MeldWorking


@quick_init
@dataclass(frozen=True)
class FollowupValue:
    """A follow-up value as entered.

    Attributes
    ----------
    value : float
        The value in ``unit``.
    unit : str
        "U/L" or "ukat/L" (ALT), "umol/L" or "mg/dL" (TBIL), "" (MELD points).
    """

    value: float
    unit: str


@quick_init
@dataclass(frozen=True)
class FollowupMarker:
    """One follow-up value against the patient's baseline and the pooled response.

    Attributes
    ----------
    marker : FollowupKey
        Which follow-up value: "alt_day15", "tbil_day60", "tbil_day90" or "meld".
    status : str
        In one word: "fallen" or "not_fallen" (ALT); "at_or_below_pooled" or
        "above_pooled" (TBIL, against the pooled level); "fallen", "risen" or
        "unchanged" (MELD).
    symbol : str
        The status as a symbol, so that it never rests on colour alone: "↓",
        "↑", "≤", ">" or "=".
    target_day : int | None
        The marker day after MSCT: 15 for ALT, 60 or 90 for TBIL (this
        calculator's reading of Cao et al. 2018); null for MELD.
    day : int | None
        The day after MSCT the value was taken; null when not known.
    date : date | None
        The date it was taken (ISO 8601), when entered.
    value : FollowupValue
        The value as entered, with its unit.
    canonical : float
        The value in the canonical unit: U/L (ALT), μmol/L (TBIL), MELD points.
    baseline : float
        The patient's baseline of the same analyte, in the canonical unit.
    change : float
        ``canonical`` minus ``baseline``; negative for a fall.
    change_percent : float
        ``change`` as a percentage of ``baseline``.
    fall_percent_of_baseline : float
        The fall as a percentage of ``baseline`` (minus ``change_percent``).
    pooled_level_umol_l : float | None
        The pooled TBIL level in μmol/L (78.57 as printed, Cao et al. 2018);
        null for ALT and MELD.
    above_pooled_by_umol_l : float | None
        ``canonical`` minus the pooled TBIL level, in μmol/L; null for ALT and
        MELD.
    expected_reduction : float | None
        For MELD, the pooled MELD decrease of the type, in MELD points; null
        otherwise.
    off_marker_day : bool
        True when ``day`` is far from ``target_day`` (more than 5 days for ALT,
        15 for TBIL; this calculator's windows).
    text : str
        The status in words; never a prescription.
    """

    marker: FollowupKey
    status: str
    symbol: str
    target_day: int | None
    day: int | None
    date: datetime.date | None
    value: FollowupValue
    canonical: float
    baseline: float
    change: float
    change_percent: float
    fall_percent_of_baseline: float
    pooled_level_umol_l: float | None
    above_pooled_by_umol_l: float | None
    expected_reduction: float | None
    off_marker_day: bool
    text: str


@quick_init
@dataclass(frozen=True)
class Followup:
    """The follow-up values against the baseline and the pooled response.

    Attributes
    ----------
    markers : tuple[FollowupMarker, ...]
        One per value given, in the order ALT (day 15), TBIL (day 60), TBIL
        (day 90), MELD.
    """

    markers: tuple[FollowupMarker, ...]


@quick_init
@dataclass(frozen=True)
class StratumJson:
    """The patient's baseline-MELD group and what the source found for it.

    Attributes
    ----------
    group : str
        ">=20" or "<20" (the threshold from the evidence file).
    threshold : float
        The baseline MELD dividing the groups, in MELD points (20; Cao et al.
        2018).
    this_group_larger : bool
        True when the patient's group had the larger reported decrease.
    finding : str
        The source's finding in words.
    p_value : str
        The P value as printed, e.g. "P = 0.003".
    """

    group: str
    threshold: float
    this_group_larger: bool
    finding: str
    p_value: str


@quick_init
@dataclass(frozen=True)
class AltMarkerJson:
    """What the pooled patients showed for ALT, and when to check this patient's.

    Attributes
    ----------
    check_day : int
        The day after MSCT to check: 15, this calculator's reading of "half a
        month" (Cao et al. 2018).
    check_date : date | None
        The date of MSCT plus ``check_day`` (ISO 8601); null without a date of
        MSCT.
    direction : str
        The direction of the pooled change: "decrease".
    finding : str
        The finding in words, for the pooled patients (never a forecast).
    baseline_u_l : float
        The patient's baseline ALT in U/L.
    size_reported : bool
        Whether the source reports the size of the fall (false for Cao et al.
        2018).
    as_printed : str
        The source's sentence on ALT as printed.
    p_value : str
        The P value as printed.
    """

    check_day: int
    check_date: datetime.date | None
    direction: str
    finding: str
    baseline_u_l: float
    size_reported: bool
    as_printed: str
    p_value: str


@quick_init
@dataclass(frozen=True)
class TbilMarkerJson:
    """What the pooled patients showed for TBIL, and when to check this patient's.

    Attributes
    ----------
    check_days : tuple[int, ...]
        The days after MSCT to check: 60 and 90, this calculator's reading of "2
        and 3 months" (Cao et al. 2018).
    check_dates : tuple[date, ...] | None
        The date of MSCT plus each of ``check_days`` (ISO 8601); null without a
        date of MSCT.
    direction : str
        The direction of the pooled change: "decrease".
    finding : str
        The finding in words, for the pooled patients (never a forecast).
    pooled_level_umol_l : float
        The stable level the pooled TBIL declined to, in μmol/L: 78.57 as
        printed (Cao et al. 2018).
    pooled_level_in_unit : TbilQuantity
        The same level in the unit the baseline TBIL was entered in.
    baseline_umol_l : float
        The patient's baseline TBIL in μmol/L.
    informative : bool
        False when the baseline is already at or below the pooled level, so the
        marker cannot show a decline to it.
    as_printed : str
        The source's sentence on TBIL as printed.
    p_value : str
        The P value as printed.
    """

    check_days: tuple[int, ...]
    check_dates: tuple[datetime.date, ...] | None
    direction: str
    finding: str
    pooled_level_umol_l: float
    pooled_level_in_unit: TbilQuantity
    baseline_umol_l: float
    informative: bool
    as_printed: str
    p_value: str


@quick_init
@dataclass(frozen=True)
class Markers:
    """The early-response markers the meta-analysis reports.

    Attributes
    ----------
    population_note : str | None
        For whom the findings were reported when not specific to the type (the
        pooled 476 patients); null when the type has an estimate.
    alt : AltMarkerJson
        ALT at about day 15.
    tbil : TbilMarkerJson
        TBIL at about days 60 and 90.
    """

    population_note: str | None
    alt: AltMarkerJson
    tbil: TbilMarkerJson


@quick_init
@dataclass(frozen=True)
class WarningJson:
    """A warning in words, with a stable code for programs.

    Attributes
    ----------
    code : str
        Stable: the same condition always gives the same code.
    title : str
        The warning's short name.
    message : str
        The warning in full, with the numbers it is about and what to check.
    demotes_headline : bool
        The expected MELD after MSCT may not apply to this patient: show the
        warning before the number.
    """

    code: WarningCode
    title: str
    message: str
    demotes_headline: bool


@quick_init
@dataclass(frozen=True)
class EvidenceStamp:
    """The pooled evidence behind the calculation (Cao et al. 2018).

    Attributes
    ----------
    version : str
        The evidence file's version, e.g. "cao2018-abstract-v2".
    doi : str
        The DOI, from the evidence file.
    url : str
        The DOI as a link.
    citation : str
        The full citation.
    articles : int
        The number of articles pooled, as printed.
    patients : int
        The number of patients pooled, as printed.
    document_read : str
        Which part of the source was read: "abstract".
    """

    version: str
    doi: str
    url: str
    citation: str
    articles: int
    patients: int
    document_read: str


@quick_init
@dataclass(frozen=True)
class Versions:
    """The versions behind a result.

    Attributes
    ----------
    app : str
        This calculator's version.
    evidence : str
        The pooled evidence's version.
    context_evidence : str | None
        The controlled evidence's version; null when none is loaded.
    """

    app: str
    evidence: str
    context_evidence: str | None


@quick_init
@dataclass(frozen=True)
class Basis:
    """What the calculator is for and how every number is derived.

    Attributes
    ----------
    intended_use : str
        The intended use, in words.
    derivation : tuple[str, ...]
        How each number is derived, one step per item.
    limits : tuple[str, ...]
        The limits of the evidence, one per item.
    """

    intended_use: str
    derivation: tuple[str, ...]
    limits: tuple[str, ...]


@quick_init
@dataclass(frozen=True)
class AssessmentJson:
    """One patient against the evidence: every number with its basis.

    Attributes
    ----------
    input : Input
        The validated inputs.
    meld_reduction : MeldReductionJson
        The pooled MELD decrease and the expected MELD after MSCT.
    context_evidence : ContextAvailable | ContextUnavailable
        Controlled evidence for the type, as printed, never used in the
        calculation; or, when none covers the type, ``available`` false and a
        ``message``.
    meld_used : MeldUsed
        The baseline MELD used and where it comes from.
    labs : Labs | None
        The MELD scores from the labs; null when no labs are given.
    followup : Followup | None
        The follow-up values; null when none is given.
    baseline_stratum : str | None
        The baseline-MELD group (">=20" or "<20"); null for a type without an
        estimate (ALF, SALF).
    stratum : StratumJson | None
        The group and the source's finding for it; null for ALF and SALF.
    markers : Markers
        What the pooled patients showed for ALT and TBIL, and when to check.
    warnings : tuple[WarningJson, ...]
        The warnings: a worsening first, then the plausibility of the inputs,
        the limits of the evidence, and a typed MELD that disagrees with labs.
    scope_note : str | None
        What the result does not address (urgent transplantation), for types
        without an estimate; null otherwise.
    evidence : EvidenceStamp
        The pooled evidence behind the calculation.
    version : Versions
        The versions behind the result.
    basis : Basis
        The intended use, the derivation and the limits.
    summary_text : str
        The whole result in plain text, as the command line prints it.
    """

    input: Input
    meld_reduction: MeldReductionJson
    context_evidence: ContextAvailable | ContextUnavailable
    meld_used: MeldUsed
    labs: Labs | None
    followup: Followup | None
    baseline_stratum: str | None
    stratum: StratumJson | None
    markers: Markers
    warnings: tuple[WarningJson, ...]
    scope_note: str | None
    evidence: EvidenceStamp
    version: Versions
    basis: Basis
    summary_text: str


# --------------------------------------------------------------------------
# POST /api/v1/meld


@quick_init
@dataclass(frozen=True)
class MeldResponse:
    """Classic MELD, MELD-Na and MELD 3.0 from labs, with the working.

    Attributes
    ----------
    meld : int
        Classic MELD (OPTN/UNOS), in MELD points.
    meld_na : int | None
        MELD-Na (OPTN 2016); null without sodium.
    meld_3_0 : int | None
        MELD 3.0 (Kim et al. 2021); null without sodium, albumin and sex.
    working : MeldWorking
        Values as entered, converted and used, and each formula's steps.
    """

    meld: MeldScore
    meld_na: MeldNaScore | None
    meld_3_0: Meld30Score | None
    working: MeldWorking


# --------------------------------------------------------------------------
# GET /api/v1/evidence: the evidence files as loaded (their own types, calc.core.evidence)


@quick_init
@dataclass(frozen=True)
class PooledEvidence:
    """The pooled before/after changes that drive the calculation (Cao et al. 2018).

    Attributes
    ----------
    used_in_calculation : Literal[True]
        Always true: these numbers are the calculation's.
    schema_version : int
        The evidence file's schema version.
    evidence_version : str
        The evidence file's version, e.g. "cao2018-abstract-v2".
    source : Source
        The source: citation, DOI, PubMed ids, licence, what was read.
    meld_reduction : dict[FailureType, MeldReductionEvidence]
        The pooled MELD decrease of each type, as printed, keyed by type.
    aclf_vs_clf : Comparison
        The source's comparison of ACLF and CLF.
    baseline_meld : Comparison
        The source's finding by baseline MELD.
    alt : AltMarkerEvidence
        The ALT marker as printed.
    tbil : TbilMarkerEvidence
        The TBIL marker as printed.
    not_reported : tuple[str, ...]
        What the source does not report.
    """

    used_in_calculation: Literal[True]
    schema_version: int
    evidence_version: str
    source: Source
    meld_reduction: dict[FailureType, MeldReductionEvidence]
    aclf_vs_clf: Comparison
    baseline_meld: Comparison
    alt: AltMarkerEvidence
    tbil: TbilMarkerEvidence
    not_reported: tuple[str, ...]


@quick_init
@dataclass(frozen=True)
class ContextEvidenceFile:
    """The controlled evidence shown as context (Ding et al. 2024), never used in the calculation.

    Attributes
    ----------
    used_in_calculation : Literal[False]
        Always false: context only.
    schema_version : int
        The evidence file's schema version.
    evidence_version : str
        The evidence file's version, e.g. "ding2024-abstract-v1".
    source : ContextSource
        The source: citation, DOI, registration, design, types covered.
    outcomes : tuple[ContextOutcome, ...]
        The controlled results, as printed.
    adverse_events_as_printed : str
        What the source says about adverse events, as printed.
    not_reported : tuple[str, ...]
        What the source does not report.
    why_different : str
        Why its numbers differ from the pooled before/after change.
    """

    used_in_calculation: Literal[False]
    schema_version: int
    evidence_version: str
    source: ContextSource
    outcomes: tuple[ContextOutcome, ...]
    adverse_events_as_printed: str
    not_reported: tuple[str, ...]
    why_different: str


# Each source by name (its version up to the first hyphen): cao2018, ding2024.
EvidenceSources = dict[str, PooledEvidence | ContextEvidenceFile]


# --------------------------------------------------------------------------
# Errors and liveness


@quick_init
@dataclass(frozen=True)
class Errors:
    """A refused request (every 4xx): what was wrong, by field.

    Attributes
    ----------
    errors : dict[str, tuple[str, ...]]
        Field name (dotted for nested fields, ``request`` for the request as a
        whole) -> one or more messages in words; never the value sent.
    """

    errors: dict[str, tuple[str, ...]]


@quick_init
@dataclass(frozen=True)
class Health:
    """Liveness for load balancers.

    Attributes
    ----------
    status : Literal['ok']
        Always "ok": the app is up.
    version : str
        This calculator's version.
    evidence_version : str
        The version of the pooled evidence loaded.
    """

    status: Literal["ok"]
    version: str
    evidence_version: str
