"""The assessment engine: validated patient inputs + evidence -> Assessment.

Pure: standard library only on this path (scipy is imported lazily, and only
for evidence that reports n, which the current evidence does not). No clock,
no environment, no printing. The evidence is an argument, so tests can pass a
small made-up one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from statistics import NormalDist
from typing import TYPE_CHECKING

from .evidence import (
    AltMarkerEvidence,
    Comparison,
    DispersionKind,
    Evidence,
    FailureType,
    MeldReductionEvidence,
    TbilMarkerEvidence,
)
from .inputs import PatientInputs, TbilUnit, umol_l_to_tbil_unit
from .version import __version__

if TYPE_CHECKING:
    from .followup import FollowupResult
    from .meld import MeldResult

# A typed MELD and the MELD from labs may differ by rounding; more than this is a warning.
MELD_LABS_TOLERANCE = 1
# MELD is bounded to 6–40 by its definition (OPTN/UNOS; meld.md, "Classic MELD").
MELD_FLOOR = 6
MELD_CAP = 40
CONFIDENCE_LEVEL = 0.95
# The standard normal quantile for a two-sided 95 % range (1.959963...), computed once.
Z_95 = NormalDist().inv_cdf(0.5 + CONFIDENCE_LEVEL / 2)

INTENDED_USE = (
    "Decision support for clinicians caring for adults with liver failure who are "
    "considering or have received mesenchymal stem cell transplantation (MSCT). MSCT is "
    "investigational. The result summarises pooled before/after changes from one "
    "meta-analysis; it does not predict an individual outcome, is not a treatment "
    "recommendation and must not be used for transplant allocation."
)

LIMITS_FIXED = (
    "The changes are before/after MSCT in treated patients, not differences against a "
    "control group: they are not treatment effects versus standard care.",
    "Only the abstract of the meta-analysis was available; every number is shown as printed there.",
)


@dataclass(frozen=True)
class RangeEstimate:
    """An interval for the MELD decrease and the MELD after MSCT it implies.

    ``kind`` is "confidence" (for the mean), "prediction" (for one patient) or
    "scenario" (computed under a named assumption the evidence does not state).
    """

    kind: str
    low: float  # MELD decrease
    high: float
    confidence_level: float
    meld_after_low: float  # bounded to 6–40
    meld_after_high: float
    assumption: str


@dataclass(frozen=True)
class MeldReduction:
    available: bool
    failure_type: FailureType
    mean: float | None
    reported_spread: float | None
    spread_kind: str  # a DispersionKind value, or "none" when unavailable
    spread_low: float | None  # for a reported 95 % CI
    spread_high: float | None
    as_printed: str | None
    n: int | None
    time_point: str | None
    where: str
    expected_meld_after: float | None
    expected_meld_after_unbounded: float | None
    bounded_at_floor: bool
    ranges: tuple[RangeEstimate, ...]
    chance_of_improvement: float | None
    chance_assumption: str | None
    unavailable_reason: str | None


@dataclass(frozen=True)
class Stratum:
    group: str  # ">=20" or "<20"
    threshold: float
    finding: str
    p_value: str
    this_group_larger: bool


@dataclass(frozen=True)
class AltMarker:
    check_day: int
    check_date: date | None
    direction: str
    baseline_u_l: float
    baseline_in_unit: float
    unit: str
    size_reported: bool
    as_printed: str
    p_value: str


@dataclass(frozen=True)
class TbilMarker:
    check_days: tuple[int, ...]
    check_dates: tuple[date, ...] | None
    direction: str
    pooled_level_umol_l: float
    pooled_level_in_unit: float
    unit: str
    baseline_umol_l: float
    implied_decline_umol_l: float | None
    implied_decline_in_unit: float | None
    implied_decline_percent: float | None
    informative: bool
    as_printed: str
    p_value: str


@dataclass(frozen=True)
class WarningItem:
    code: str
    message: str


@dataclass(frozen=True)
class VersionStamp:
    app_version: str
    evidence_version: str
    doi: str
    citation: str
    short_citation: str
    articles: int
    patients: int
    document_read: str


@dataclass(frozen=True)
class Assessment:
    inputs: PatientInputs
    meld_reduction: MeldReduction
    stratum: Stratum
    alt: AltMarker
    tbil: TbilMarker
    warnings: tuple[WarningItem, ...]
    stamp: VersionStamp
    derivation: tuple[str, ...]
    limits: tuple[str, ...]
    intended_use: str
    labs: MeldResult | None = None  # MELD scores from labs, with their working
    followup: FollowupResult | None = None


# --------------------------------------------------------------------------
# Exact arithmetic on printed numbers


@lru_cache(maxsize=64)
def decimals_of(x: float) -> int:
    """Decimal places of a number as printed (14.93 -> 2, 4.6 -> 1, 28 -> 0)."""
    exponent = Decimal(repr(x)).normalize().as_tuple().exponent
    return max(0, -int(exponent)) if isinstance(exponent, int) else 0


def subtract_printed(baseline: int, mean: float) -> float:
    """``baseline - mean`` exactly in decimal (28 - 14.93 = 13.07, not 13.069999...).

    Scaling to integers and dividing once gives the float nearest the exact
    decimal; the cohort mode does the same in numpy and so matches exactly.
    """
    scale = int(10 ** decimals_of(mean))
    return (baseline * scale - round(mean * scale)) / scale


def bound_meld(value: float) -> float:
    return min(float(MELD_CAP), max(float(MELD_FLOOR), value))


def format_number(x: float, decimals: int) -> str:
    return f"{x:.{decimals}f}"


# --------------------------------------------------------------------------
# Uncertainty


def _t_quantile(level: float, n: int) -> float:
    from scipy.special import stdtrit  # lazily: scipy is slow to import

    return float(stdtrit(n - 1, 0.5 + level / 2))


_Interval = tuple[str, float, float, str]  # kind, low, high, what was assumed


def _ranges(
    ev: MeldReductionEvidence, baseline: int
) -> tuple[list[RangeEstimate], float | None, str | None]:
    """Intervals the evidence supports (with the MELD after), and the chance of any fall."""
    intervals, chance, chance_assumption = _intervals(ev)
    ranges = [
        RangeEstimate(
            kind=kind,
            low=low,
            high=high,
            confidence_level=CONFIDENCE_LEVEL,
            meld_after_low=bound_meld(baseline - high),
            meld_after_high=bound_meld(baseline - low),
            assumption=assumption,
        )
        for kind, low, high, assumption in intervals
    ]
    return ranges, chance, chance_assumption


@lru_cache(maxsize=32)
def _intervals(
    ev: MeldReductionEvidence,
) -> tuple[tuple[_Interval, ...], float | None, str | None]:
    """The same for every patient of a failure type, so computed once per evidence entry."""
    disp = ev.dispersion
    mean = ev.mean
    if disp is None or mean is None:
        return (), None, None
    out: list[_Interval] = []
    chance: float | None = None
    chance_assumption: str | None = None
    z = Z_95
    if disp.kind is DispersionKind.UNREPORTED and disp.value is not None:
        out.append(
            (
                "scenario",
                mean - z * disp.value,
                mean + z * disp.value,
                f"Assumes the reported ± {disp.value:g} is the standard deviation of "
                "individual patients' MELD decreases, normally distributed: about 95% of "
                "patients would lie in this range. The source does not say what ± is; if "
                "it is a standard error, individual patients vary more than this.",
            )
        )
        chance = NormalDist(mean, disp.value).cdf(0.0)
        chance = 1.0 - chance
        chance_assumption = (
            "Chance that one patient's MELD falls at all, if ± "
            f"{disp.value:g} is the standard deviation of individual decreases "
            "(normal distribution)."
        )
    elif disp.kind is DispersionKind.CI95 and disp.low is not None and disp.high is not None:
        out.append(("confidence", disp.low, disp.high, "95% confidence interval, as reported."))
    elif disp.kind in (DispersionKind.SD, DispersionKind.SE) and disp.value is not None:
        if ev.n is not None:
            t = _t_quantile(CONFIDENCE_LEVEL, ev.n)
            if disp.kind is DispersionKind.SD:
                sd, se = disp.value, disp.value / math.sqrt(ev.n)
                how = f"from the reported SD {disp.value:g} and n = {ev.n}"
            else:
                se, sd = disp.value, disp.value * math.sqrt(ev.n)
                how = f"from the reported SE {disp.value:g} and n = {ev.n} (SD = SE × √n)"
            ci_text = (
                "95% confidence interval of the mean "
                f"(t distribution, {ev.n - 1} degrees of freedom), {how}."
            )
            out.append(("confidence", mean - t * se, mean + t * se, ci_text))
            half = t * sd * math.sqrt(1 + 1 / ev.n)
            pi_text = (
                f"95% prediction interval for one patient (t distribution), {how}; "
                "assumes normally distributed decreases."
            )
            out.append(("prediction", mean - half, mean + half, pi_text))
        elif disp.kind is DispersionKind.SD:
            text = (
                "About 95% of patients, if decreases are normal with the reported "
                f"SD {disp.value:g}; n was not reported, so no confidence interval."
            )
            out.append(("scenario", mean - z * disp.value, mean + z * disp.value, text))
    return tuple(out), chance, chance_assumption


# --------------------------------------------------------------------------
# The assessment


def _meld_reduction(inputs: PatientInputs, ev: MeldReductionEvidence) -> MeldReduction:
    disp = ev.dispersion
    if not ev.available or ev.mean is None:
        return MeldReduction(
            available=False, failure_type=inputs.failure_type, mean=None,
            reported_spread=None, spread_kind="none", spread_low=None, spread_high=None,
            as_printed=None, n=None, time_point=None, where=ev.where,
            expected_meld_after=None, expected_meld_after_unbounded=None,
            bounded_at_floor=False, ranges=(), chance_of_improvement=None,
            chance_assumption=None, unavailable_reason=ev.unavailable_reason,
        )  # fmt: skip
    unbounded = subtract_printed(inputs.meld, ev.mean)
    ranges, chance, chance_assumption = _ranges(ev, inputs.meld)
    return MeldReduction(
        available=True,
        failure_type=inputs.failure_type,
        mean=ev.mean,
        reported_spread=disp.value if disp else None,
        spread_kind=disp.kind.value if disp else "none",
        spread_low=disp.low if disp else None,
        spread_high=disp.high if disp else None,
        as_printed=ev.as_printed,
        n=ev.n,
        time_point=ev.time_point.as_printed if ev.time_point else None,
        where=ev.where,
        expected_meld_after=bound_meld(unbounded),
        expected_meld_after_unbounded=unbounded,
        bounded_at_floor=unbounded < MELD_FLOOR,
        ranges=tuple(ranges),
        chance_of_improvement=chance,
        chance_assumption=chance_assumption,
        unavailable_reason=None,
    )


def _stratum(inputs: PatientInputs, evidence: Evidence) -> Stratum:
    comp = evidence.baseline_meld
    threshold = comp.threshold if comp.threshold is not None else 20.0
    high = inputs.meld >= threshold
    return Stratum(
        group=f">={threshold:g}" if high else f"<{threshold:g}",
        threshold=threshold,
        finding=comp.finding,
        p_value=comp.p_value.as_printed,
        this_group_larger=(comp.larger == f">={threshold:g}") == high,
    )


def _check_date(start: date | None, day: int) -> date | None:
    return None if start is None else start + timedelta(days=day)


def _markers(inputs: PatientInputs, evidence: Evidence) -> tuple[AltMarker, TbilMarker]:
    alt_ev, tbil_ev = evidence.alt, evidence.tbil
    alt = AltMarker(
        check_day=alt_ev.check_day,
        check_date=_check_date(inputs.transplant_date, alt_ev.check_day),
        direction=alt_ev.direction,
        baseline_u_l=inputs.alt_u_l,
        baseline_in_unit=inputs.alt_entered,
        unit=inputs.alt_unit.value,
        size_reported=alt_ev.size is not None,
        as_printed=alt_ev.as_printed,
        p_value=alt_ev.p_value.as_printed,
    )
    level = tbil_ev.pooled_level_umol_l
    informative = inputs.tbil_umol_l > level
    decline = inputs.tbil_umol_l - level if informative else None
    dates = (
        tuple(inputs.transplant_date + timedelta(days=d) for d in tbil_ev.check_days)
        if inputs.transplant_date is not None
        else None
    )
    tbil = TbilMarker(
        check_days=tbil_ev.check_days,
        check_dates=dates,
        direction=tbil_ev.direction,
        pooled_level_umol_l=level,
        pooled_level_in_unit=umol_l_to_tbil_unit(level, inputs.tbil_unit),
        unit=inputs.tbil_unit.value,
        baseline_umol_l=inputs.tbil_umol_l,
        implied_decline_umol_l=decline,
        implied_decline_in_unit=(
            None if decline is None else umol_l_to_tbil_unit(decline, inputs.tbil_unit)
        ),
        implied_decline_percent=None if decline is None else 100.0 * decline / inputs.tbil_umol_l,
        informative=informative,
        as_printed=tbil_ev.as_printed,
        p_value=tbil_ev.p_value.as_printed,
    )
    return alt, tbil


def _tbil_text(value_umol_l: float, unit: TbilUnit) -> str:
    if unit is TbilUnit.MG_DL:
        return f"{umol_l_to_tbil_unit(value_umol_l, unit):.2f} mg/dL"
    return f"{value_umol_l:.1f} μmol/L"


def _warnings(
    inputs: PatientInputs, evidence: Evidence, mr: MeldReduction, tbil: TbilMarker
) -> list[WarningItem]:
    out: list[WarningItem] = []
    ft = inputs.failure_type
    threshold = evidence.baseline_meld.threshold or 20.0
    if not mr.available:
        out.append(WarningItem(
            "no_estimate",
            f"No estimate for {ft.value}: {mr.unavailable_reason} No number from another "
            "group is used in its place.",
        ))  # fmt: skip
    if mr.available and mr.bounded_at_floor and mr.mean is not None:
        out.append(WarningItem(
            "meld_after_floor",
            f"The pooled {ft.value} MELD decrease ({mr.mean:g}) is larger than this baseline "
            f"MELD of {inputs.meld} allows: MELD cannot fall below {MELD_FLOOR}, so the "
            f"expected MELD after MSCT is shown as {MELD_FLOOR}. The larger decreases were "
            f"seen at baseline MELD ≥ {threshold:g}.",
        ))  # fmt: skip
    if ft is FailureType.ACLF and inputs.meld < threshold:
        out.append(WarningItem(
            "aclf_meld_below_20",
            f"ACLF with baseline MELD below {threshold:g}: the meta-analysis found smaller "
            f"MELD decreases at baseline < {threshold:g} than at ≥ {threshold:g} "
            f"({evidence.baseline_meld.p_value.as_printed}), so the pooled ACLF decrease "
            "probably overstates the change for this patient.",
        ))  # fmt: skip
    if (
        mr.available
        and mr.mean is not None
        and mr.reported_spread is not None
        and mr.reported_spread >= mr.mean
    ):
        out.append(WarningItem(
            "spread_exceeds_mean",
            f"The reported spread for {ft.value} (± {mr.reported_spread:g}) is as large as "
            f"the mean decrease ({mr.mean:g}): whether ± is an SD or an SE, individual "
            "patients vary at least this much, and some may not improve.",
        ))  # fmt: skip
    if not tbil.informative:
        out.append(WarningItem(
            "tbil_at_or_below_pooled",
            f"Baseline TBIL ({_tbil_text(inputs.tbil_umol_l, inputs.tbil_unit)}) is already at "
            f"or below the pooled level of {_tbil_text(tbil.pooled_level_umol_l, inputs.tbil_unit)}"
            " reached at 2 and 3 months: the TBIL marker is not informative for this patient.",
        ))  # fmt: skip
    return out


def _derivation(evidence: Evidence, mr: MeldReduction) -> tuple[str, ...]:
    return _derivation_of(
        evidence.meld_reduction[mr.failure_type],
        evidence.baseline_meld,
        evidence.alt,
        evidence.tbil,
    )


@lru_cache(maxsize=32)
def _derivation_of(
    mr: MeldReductionEvidence,
    baseline_meld: Comparison,
    alt: AltMarkerEvidence,
    tbil: TbilMarkerEvidence,
) -> tuple[str, ...]:
    """How each number is derived: the same for every patient of a failure type."""
    steps = [
        "Inputs are converted to U/L (ALT; 1 μkat/L = 60 U/L) and μmol/L (TBIL; "
        "1 mg/dL = 17.1 μmol/L) before use.",
    ]
    if mr.available:
        steps.append(
            f"Expected MELD decrease: the pooled {mr.failure_type.value} value as printed "
            f"({mr.as_printed}, {mr.where}). Expected MELD after MSCT = baseline MELD − "
            f"{mr.mean:g}, bounded to {MELD_FLOOR}–{MELD_CAP}."
        )
    else:
        steps.append(
            f"Expected MELD decrease: none; the evidence has no estimate for "
            f"{mr.failure_type.value}."
        )
    steps += [
        f"Baseline stratum: baseline MELD compared with {baseline_meld.threshold:g}; "
        "the finding is reported without group sizes "
        f"({baseline_meld.p_value.as_printed}).",
        f'ALT marker: day {alt.check_day} ("{alt.check_day_as_printed}"); '
        "expected direction only: below the patient's baseline.",
        f"TBIL marker: days {' and '.join(str(d) for d in tbil.check_days)} "
        f'("{tbil.check_days_as_printed}"); pooled level {tbil.pooled_level_as_printed}; '
        "implied decline = baseline TBIL − pooled level, when the baseline is above it.",
        "Check dates = transplant date + check day, when a transplant date is given.",
    ]
    return tuple(steps)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


@lru_cache(maxsize=8)
def _limits(not_reported: tuple[str, ...]) -> tuple[str, ...]:
    """The limits of the evidence in words (the same for every patient: computed once)."""
    return LIMITS_FIXED + tuple(f"Not reported: {_lower_first(n)}" for n in not_reported)


def _labs_warnings(inputs: PatientInputs, labs: MeldResult | None) -> list[WarningItem]:
    if labs is None or inputs.meld_source != "entered":
        return []
    if abs(labs.meld - inputs.meld) <= MELD_LABS_TOLERANCE:
        return []
    return [
        WarningItem(
            "meld_labs_disagree",
            f"The typed baseline MELD ({inputs.meld}) and the classic MELD computed from the "
            f"labs ({labs.meld}) differ by {abs(labs.meld - inputs.meld)} points; the typed "
            "value is used. Check the MELD and the labs.",
        )
    ]


def assess(
    inputs: PatientInputs,
    evidence: Evidence,
    *,
    labs: MeldResult | None = None,
    followup: FollowupResult | None = None,
) -> Assessment:
    """Assess one patient against the evidence.

    ``labs`` (MELD from laboratory values) and ``followup`` (the follow-up
    markers, from :mod:`calc.followup`) are carried into the result, with their
    warnings; neither changes the pooled estimates.
    """
    mr = _meld_reduction(inputs, evidence.meld_reduction[inputs.failure_type])
    alt, tbil = _markers(inputs, evidence)
    src = evidence.source
    warnings = _warnings(inputs, evidence, mr, tbil) + _labs_warnings(inputs, labs)
    if followup is not None:
        warnings += list(followup.warnings)
    return Assessment(
        inputs=inputs,
        meld_reduction=mr,
        stratum=_stratum(inputs, evidence),
        alt=alt,
        tbil=tbil,
        warnings=tuple(warnings),
        stamp=VersionStamp(
            app_version=__version__,
            evidence_version=evidence.evidence_version,
            doi=src.doi,
            citation=src.citation,
            short_citation=src.short_citation,
            articles=src.articles,
            patients=src.patients,
            document_read=src.document_read,
        ),
        derivation=_derivation(evidence, mr),
        limits=_limits(evidence.not_reported),
        intended_use=INTENDED_USE,
        labs=labs,
        followup=followup,
    )
