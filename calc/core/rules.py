"""The clinical rules of the assessment, each written once, for one patient or many.

Every function here is a plain expression over its arguments, so it gives the
same answer for Python numbers (one patient: :func:`calc.core.engine.assess`)
and for numpy arrays (a cohort, one element per patient:
:func:`calc.cli.cohort.assess_cohort`). Element by element the arithmetic is
the same IEEE operation in the same order, so the two agree bit for bit: one
patient is a batch of one. (The idea of statsmodels: a calculation written once
over arrays.) The words of each warning stay in the engine; the condition that
raises it is here, and only here.

What depends only on the failure type (the pooled mean as printed, whether the
evidence has an estimate, the intervals it supports) is gathered once per
evidence into a :class:`TypeTable`, indexed by the position of the type in
:data:`FAILURE_TYPES`.

Pure: numpy and the standard library (scipy only for evidence that reports n,
which the current evidence does not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from .evidence import DispersionKind, Evidence, EvidenceError, FailureType, MeldReductionEvidence
from .i18n import N_
from .inputs import UMOL_L_PER_MG_DL
from .meld import CLASSIC_MELD

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
AnyArray = npt.NDArray[Any]
#: A number for one patient, or an array of them (one per patient) for a cohort.
Num = Any

FAILURE_TYPES: Final = tuple(FailureType)

# MELD is bounded to 6–40 by its definition (Kamath 2001 with the OPTN/UNOS rules).
MELD_FLOOR: Final = CLASSIC_MELD.score_min
MELD_CAP: Final = CLASSIC_MELD.score_max
CONFIDENCE_LEVEL: Final = 0.95
# A typed MELD and the MELD from labs may differ by rounding; more than this is a warning.
MELD_LABS_TOLERANCE: Final = 1

# Plausibility (warnings, not refusals: the clinician may be right).
# A baseline MELD below this is unusual in liver failure of any type.
MELD_PLAUSIBLE_LOW: Final = 10
# ALT below this (U/L) is lower than laboratories report in practice: "1.200" for 1200.
ALT_PLAUSIBLE_LOW_U_L: Final = 5.0
# The bilirubin that defines each type. ACLF: APASL ACLF Research Consortium,
# TBIL >= 5 mg/dL (85 umol/L) (Sarin SK et al., Hepatol Int 2019;13:353-390).
# The other types are defined with a raised bilirubin (Chinese Medical Association,
# guideline for the diagnosis and treatment of liver failure): a TBIL within the
# normal range (upper limit about 17.1 umol/L = 1 mg/dL) does not fit them.
TBIL_ULN_UMOL_L: Final = UMOL_L_PER_MG_DL  # 1 mg/dL
ACLF_TBIL_DEFINING_UMOL_L: Final = 85.0


@dataclass(frozen=True)
class TbilDefinition:
    level_umol_l: float
    text: str  # the definition and its source, for the message


# The definition for the types other than ACLF; words of a message (calc.core.engine).
TBIL_ULN_DEFINITION: Final = N_(
    "{type} is defined with a raised bilirubin (Chinese Medical Association guideline for liver"
    " failure); the upper limit of normal is about {uln} μmol/L = 1 mg/dL"
)
TBIL_DEFINITIONS: Final[dict[FailureType, TbilDefinition]] = {
    FailureType.ACLF: TbilDefinition(
        ACLF_TBIL_DEFINING_UMOL_L,
        N_(
            "the APASL definition of ACLF: TBIL ≥ 5 mg/dL = 85 μmol/L (Sarin et al., Hepatol Int"
            " 2019)"
        ),
    ),
    **{
        ft: TbilDefinition(
            TBIL_ULN_UMOL_L, TBIL_ULN_DEFINITION.format(type=ft.value, uln=f"{TBIL_ULN_UMOL_L:g}")
        )
        for ft in (FailureType.CLF, FailureType.ALF, FailureType.SALF)
    },
}

#: Every warning the assessment of the inputs can raise, in the order it lists them:
#: the plausibility of the inputs, the limits of the evidence for this patient, the labs.
WARNING_CODES: Final = (
    "tbil_below_type_definition",
    "meld_below_10",
    "alt_below_5",
    "no_estimate",
    "meld_after_floor",
    "baseline_meld_below_20",
    "spread_exceeds_mean",
    "tbil_at_or_below_pooled",
    "meld_labs_disagree",
)


# --------------------------------------------------------------------------
# Exact arithmetic on printed numbers


@lru_cache(maxsize=64)
def decimals_of(x: float) -> int:
    """Decimal places of a number as printed (14.93 -> 2, 4.6 -> 1, 28 -> 0)."""
    exponent = Decimal(repr(x)).normalize().as_tuple().exponent
    return max(0, -int(exponent)) if isinstance(exponent, int) else 0


def subtract_printed(baseline: Num, scale: Any, mean_scaled: Any) -> Num:
    """``baseline − mean`` exactly in decimal (28 − 14.93 = 13.07, not 13.069999...).

    ``scale`` is 10 ** (decimal places of the mean as printed) and ``mean_scaled``
    the mean times it, a whole number held exactly in a float (NaN: no mean).
    Both sides are whole numbers below 2**53, so the subtraction is exact and the
    one division gives the float nearest the exact decimal.
    """
    result: Num = (baseline * scale - mean_scaled) / scale
    return result


_FLOOR: Final = float(MELD_FLOOR)
_CAP: Final = float(MELD_CAP)


def bound_meld(value: Num) -> Num:
    """A MELD bounded to 6–40 (NaN stays NaN: no estimate).

    One patient's float takes Python's ``min``/``max``: the same comparisons as
    numpy's, element by element (a NaN first argument is kept by both), without
    the cost of a numpy call on a scalar, which is most of a request's arithmetic.
    """
    if isinstance(value, float):
        return min(max(value, _FLOOR), _CAP)
    bounded: Num = np.minimum(np.maximum(value, _FLOOR), _CAP)
    return bounded


# --------------------------------------------------------------------------
# Uncertainty: only what the evidence states

_Interval = tuple[str, float, float, str]  # kind, low, high, how it was computed
#: The kinds of range the evidence can support (calc.core.results.RangeEstimate.kind).
RANGE_KINDS: Final = ("confidence", "prediction")


def _t_quantile(level: float, n: int) -> float:
    from scipy.special import stdtrit  # lazily: scipy is slow to import

    return float(stdtrit(n - 1, 0.5 + level / 2))


@lru_cache(maxsize=32)
def intervals(ev: MeldReductionEvidence) -> tuple[_Interval, ...]:
    """The intervals of the pooled decrease that the evidence supports, for a type.

    A ± whose kind is unreported gives nothing: whether it is an SD or an SE
    changes any interval several-fold, and the source does not say. An SD or SE
    gives intervals only with n.
    """
    disp = ev.dispersion
    mean = ev.mean
    if disp is None or mean is None:
        return ()
    if disp.kind is DispersionKind.CI95 and disp.low is not None and disp.high is not None:
        return (("confidence", disp.low, disp.high, "95% confidence interval, as reported."),)
    if disp.kind not in (DispersionKind.SD, DispersionKind.SE) or disp.value is None:
        return ()
    if ev.n is None:
        return ()
    t = _t_quantile(CONFIDENCE_LEVEL, ev.n)
    if disp.kind is DispersionKind.SD:
        sd, se = disp.value, disp.value / math.sqrt(ev.n)
        how = f"from the reported SD {disp.value:g} and n = {ev.n}"
    else:
        se, sd = disp.value, disp.value * math.sqrt(ev.n)
        how = f"from the reported SE {disp.value:g} and n = {ev.n} (SD = SE × √n)"
    ci_text = (
        f"95% confidence interval of the mean (t distribution, {ev.n - 1} degrees of "
        f"freedom), {how}."
    )
    half = t * sd * math.sqrt(1 + 1 / ev.n)
    pi_text = (
        f"95% prediction interval for one patient (t distribution), {how}; "
        "assumes normally distributed decreases."
    )
    return (
        ("confidence", mean - t * se, mean + t * se, ci_text),
        ("prediction", mean - half, mean + half, pi_text),
    )


# --------------------------------------------------------------------------
# What depends only on the failure type


@dataclass(frozen=True)
class TypeTable:
    """Per failure type, indexed like :data:`FAILURE_TYPES`: what no patient changes."""

    available: BoolArray  # the evidence has a pooled MELD decrease for the type
    no_estimate: BoolArray  # not available
    mean: FloatArray  # the pooled decrease as printed; NaN: none
    scale: FloatArray  # 10 ** (decimal places of the mean as printed)
    mean_scaled: FloatArray  # mean × scale, a whole number; NaN: none
    spread: FloatArray  # the reported ±; NaN: none
    spread_kind: AnyArray  # str: "sd", "se", "ci95", "unspecified", "none"
    spread_exceeds_mean: BoolArray  # a reported ± at least as large as the mean
    range_low: dict[str, FloatArray]  # by kind of RANGE_KINDS; NaN: not supported
    range_high: dict[str, FloatArray]
    tbil_defining_umol_l: FloatArray  # the TBIL that defines the type (TBIL_DEFINITIONS)
    threshold: float  # baseline MELD that splits the pooled finding (20)
    pooled_tbil_umol_l: float  # the TBIL level reached at months 2 and 3


def _build_table(evidence: Evidence) -> TypeTable:
    n = len(FAILURE_TYPES)
    nan = np.full(n, np.nan)
    threshold = evidence.baseline_meld.threshold
    if threshold is None:
        raise EvidenceError("evidence: the baseline MELD comparison has no threshold")
    table = TypeTable(
        available=np.zeros(n, bool),
        no_estimate=np.zeros(n, bool),
        mean=nan.copy(),
        scale=np.ones(n),
        mean_scaled=nan.copy(),
        spread=nan.copy(),
        spread_kind=np.full(n, "none", dtype=object),
        spread_exceeds_mean=np.zeros(n, bool),
        range_low={k: nan.copy() for k in RANGE_KINDS},
        range_high={k: nan.copy() for k in RANGE_KINDS},
        tbil_defining_umol_l=np.array([TBIL_DEFINITIONS[ft].level_umol_l for ft in FAILURE_TYPES]),
        threshold=threshold,
        pooled_tbil_umol_l=evidence.tbil.pooled_level_umol_l,
    )
    for i, ft in enumerate(FAILURE_TYPES):
        ev = evidence.meld_reduction[ft]
        available = ev.available and ev.mean is not None
        table.available[i] = available
        table.no_estimate[i] = not available
        if not available or ev.mean is None:
            continue
        disp = ev.dispersion
        scale = 10 ** decimals_of(ev.mean)
        table.mean[i] = ev.mean
        table.scale[i] = scale
        table.mean_scaled[i] = round(ev.mean * scale)
        if disp is not None:
            table.spread_kind[i] = disp.kind.value
            if disp.value is not None:
                table.spread[i] = disp.value
                table.spread_exceeds_mean[i] = disp.value >= ev.mean
        for kind, low, high, _ in intervals(ev):
            table.range_low[kind][i] = low
            table.range_high[kind][i] = high
    return table


_TABLES: dict[int, tuple[Evidence, TypeTable]] = {}


def type_table(evidence: Evidence) -> TypeTable:
    """The table of an evidence object, built once (evidence is immutable once loaded)."""
    held = _TABLES.get(id(evidence))
    if held is None or held[0] is not evidence:
        if len(_TABLES) >= 16:
            _TABLES.clear()
        held = _TABLES[id(evidence)] = (evidence, _build_table(evidence))
    return held[1]


def type_index(failure_type: FailureType) -> int:
    return FAILURE_TYPES.index(failure_type)


# --------------------------------------------------------------------------
# The rules: plain expressions, for a number or an array of numbers


def expected_meld_after(t: TypeTable, ft: Any, meld: Num) -> tuple[Num, Num]:
    """Expected MELD after MSCT: (unbounded, bounded to 6–40); NaN where there is no estimate."""
    unbounded = subtract_printed(meld, t.scale[ft], t.mean_scaled[ft])
    return unbounded, bound_meld(unbounded)


def at_floor(unbounded: Num) -> Num:
    """The pooled decrease is larger than the baseline allows: MELD would fall below 6."""
    below: Num = unbounded < MELD_FLOOR  # NaN (no estimate) compares False
    return below


def range_meld_after(t: TypeTable, ft: Any, meld: Num, kind: str) -> tuple[Num, Num]:
    """The MELD after MSCT at each end of a supported interval of the decrease (NaN: none)."""
    low = bound_meld(meld - t.range_high[kind][ft])
    high = bound_meld(meld - t.range_low[kind][ft])
    return low, high


def high_stratum(t: TypeTable, meld: Num) -> Num:
    """Baseline MELD at or above the threshold of the pooled finding (≥ 20)."""
    high: Num = meld >= t.threshold
    return high


def tbil_informative(t: TypeTable, tbil_umol_l: Num) -> Num:
    """The baseline TBIL is above the pooled level reached at months 2 and 3."""
    informative: Num = tbil_umol_l > t.pooled_tbil_umol_l
    return informative


def labs_disagree(meld: Num, labs_meld: Any, meld_entered: Any) -> Num:
    """A typed MELD more than MELD_LABS_TOLERANCE from the classic MELD of the labs
    (``labs_meld`` 0: no labs; ``meld_entered`` false: the MELD is the labs')."""
    differ: Num = meld_entered & (labs_meld > 0) & (abs(labs_meld - meld) > MELD_LABS_TOLERANCE)
    return differ


def warning_flags(
    t: TypeTable,
    ft: Any,
    meld: Any,
    alt_u_l: Any,
    tbil_umol_l: Any,
    *,
    labs_meld: Any = 0,
    meld_entered: Any = True,
) -> tuple[Any, ...]:
    """Whether each warning of :data:`WARNING_CODES` applies, in that order.

    ``ft`` is the index of the failure type (:func:`type_index`); values are in
    canonical units (U/L, μmol/L). Numbers give bools, arrays give arrays.
    """
    available = t.available[ft]
    unbounded, _ = expected_meld_after(t, ft, meld)
    return (
        tbil_umol_l < t.tbil_defining_umol_l[ft],
        meld < MELD_PLAUSIBLE_LOW,
        alt_u_l < ALT_PLAUSIBLE_LOW_U_L,
        t.no_estimate[ft],
        available & at_floor(unbounded),
        available & (meld < t.threshold),
        t.spread_exceeds_mean[ft],
        tbil_umol_l <= t.pooled_tbil_umol_l,
        labs_disagree(meld, labs_meld, meld_entered),
    )


def raised(flags: tuple[Any, ...]) -> list[str]:
    """The codes of the warnings that apply to one patient, in order."""
    return [code for code, flag in zip(WARNING_CODES, flags, strict=True) if flag]
