"""The results the core returns: frozen dataclasses, every field documented.

:func:`calc.core.engine.assess` returns an :class:`Assessment`;
:func:`calc.core.followup.assess_followup` returns a :class:`FollowupResult`. Each
class lists its fields under "Attributes" with their type, unit, meaning and
source. The sources named there:

* Cao et al. 2018: Cao Y, Zhang B, Lin R, Wang Q, Wang J, Shen F. Mesenchymal
  Stem Cell Transplantation for Liver Cell Failure: A New Direction and Option.
  Gastroenterol Res Pract 2018;2018:9231710 (doi:10.1155/2018/9231710), abstract.
  The pooled before/after changes in treated patients (9 articles, 476 patients):
  the MELD decreases, the baseline-MELD finding, the ALT and TBIL markers.
* Ding et al. 2024: Ding H, Li XF, Xiong Y, Li YY, Chen XJ, Wang XL. Therapeutic
  effect of mesenchymal stem cells on acute-on-chronic liver failure: A
  Meta-analysis. J Clin Hepatol 2024;40(8):1646-1652 (doi:10.12449/JCH240822),
  abstract. The controlled evidence (MSC versus control, ACLF only), shown as
  context and never used in the calculation.
* MELD: classic MELD (Kamath et al. 2001) with the OPTN/UNOS rules, a whole
  number from 6 to 40.

Numbers "as printed" are the source's own text; numbers from the evidence are
read from the packaged evidence files, so the values quoted here are those of
the packaged versions. Units are the canonical ones (U/L for ALT, μmol/L for
TBIL, MELD points) unless a field says "in ``unit``".

Standard library and the input and evidence types only; no arithmetic here. The
classes are made on every request, so each takes :func:`calc.core.quickinit.quick_init`'s
``__init__`` (the same parameters, about twice as fast; still frozen).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from .evidence import ContextEvidence, FailureType
from .i18n import N_, gettext
from .inputs import PatientInputs
from .quickinit import quick_init

if TYPE_CHECKING:
    from .meld import MeldResult

# Short names of the warnings (for the first screen, the note and the printout), and
# the warnings that demote the headline number (it may not apply to this patient).
WARNING_TITLES: dict[str, str] = {
    "no_estimate": N_("No estimate for this type"),
    "meld_after_floor": N_("Limited by the MELD floor"),
    "baseline_meld_below_20": N_("Baseline MELD below 20"),
    "spread_exceeds_mean": N_("Spread as large as the mean"),
    "tbil_at_or_below_pooled": N_("TBIL already at or below the pooled level"),
    "tbil_below_type_definition": N_("TBIL low for this type: check the unit"),
    "meld_below_10": N_("Baseline MELD below 10"),
    "alt_below_5": N_("ALT below 5 U/L: check the value"),
    "meld_labs_disagree": N_("Typed MELD and labs disagree"),
    "meld_rose": N_("MELD has risen"),
    "tbil_rose": N_("TBIL has risen"),
    "alt_fall_with_worsening": N_("ALT fell while MELD or TBIL rose"),
    "meld_followup_no_estimate": N_("No pooled MELD to compare"),
}
DEMOTING_WARNINGS = frozenset(
    {"no_estimate", "meld_after_floor", "tbil_below_type_definition", "meld_below_10"}
)


@quick_init
@dataclass(frozen=True)
class RangeEstimate:
    """An interval for the MELD decrease and the MELD after MSCT it implies.

    Computed only when the evidence states the kind of its dispersion (an SD or
    an SE with n, or a 95 % CI): never from a ± whose kind is unreported. The
    packaged evidence (Cao et al. 2018, abstract) prints ± without its kind or
    n, so with it no interval is computed.

    Attributes
    ----------
    kind : str
        "confidence": a 95 % confidence interval of the mean decrease (from an
        SD or SE with n, or a 95 % CI as reported); "prediction": a 95 %
        prediction interval for one patient (from an SD or SE with n).
    low : float
        Lower end of the interval of the MELD decrease, in MELD points.
    high : float
        Upper end of the interval of the MELD decrease, in MELD points.
    confidence_level : float
        The coverage of the interval as a fraction: 0.95.
    meld_after_low : float
        The MELD after MSCT implied by the largest decrease: baseline MELD minus
        ``high``, bounded to 6–40 (MELD points; OPTN/UNOS bounds).
    meld_after_high : float
        The MELD after MSCT implied by the smallest decrease: baseline MELD
        minus ``low``, bounded to 6–40 (MELD points; OPTN/UNOS bounds).
    assumption : str
        How the interval was computed and what it assumes, in words (for
        example the t distribution with n − 1 degrees of freedom, or "95%
        confidence interval, as reported.").
    """

    kind: str
    low: float
    high: float
    confidence_level: float
    meld_after_low: float
    meld_after_high: float
    assumption: str


@quick_init
@dataclass(frozen=True)
class MeldReduction:
    """The pooled MELD decrease of the patient's type and the MELD after MSCT it implies.

    The decrease is a before/after change in treated patients (Cao et al. 2018,
    abstract), not a difference against a control group.

    Attributes
    ----------
    available : bool
        True when the evidence has a pooled MELD decrease for this type (ACLF
        and CLF in Cao et al. 2018); False for ALF and SALF, which have none.
    failure_type : FailureType
        The patient's type of liver failure, from the inputs.
    mean : float | None
        The pooled MELD decrease as printed, in MELD points: 14.93 for ACLF and
        4.6 for CLF (Cao et al. 2018, abstract). None when the type has no
        estimate.
    reported_spread : float | None
        The number printed after ±, in MELD points: 1.24 for ACLF and 5.66 for
        CLF (Cao et al. 2018, abstract, which does not say whether it is an SD
        or an SE). None when the type has no estimate or no ± is printed.
    spread_kind : str
        What the spread is: "SD", "SE", "95% CI" or "unreported" (the values
        of :class:`calc.core.evidence.DispersionKind`; "unreported" for Cao et al.
        2018), or "none" when the type has no estimate.
    spread_low : float | None
        Lower end of a reported 95 % CI of the decrease, in MELD points. None
        unless the evidence reports a 95 % CI (Cao et al. 2018 reports none).
    spread_high : float | None
        Upper end of a reported 95 % CI of the decrease, in MELD points. None
        unless the evidence reports a 95 % CI (Cao et al. 2018 reports none).
    as_printed : str | None
        The decrease as the source prints it, for example "14.93 ± 1.24"
        (Cao et al. 2018, abstract). None when the type has no estimate.
    n : int | None
        The number of patients behind the decrease. None: not reported (Cao et
        al. 2018, abstract, does not give it per type).
    time_point : str | None
        When after MSCT the decrease was measured, as printed. None: not
        reported (Cao et al. 2018, abstract, does not say).
    where : str
        Where in the source the number is printed: "abstract".
    expected_meld_after : float | None
        The expected MELD after MSCT: baseline MELD minus ``mean``, exact in
        decimal (28 − 14.93 = 13.07), bounded to 6–40 (MELD points; OPTN/UNOS
        bounds). None when the type has no estimate.
    expected_meld_after_display : int | None
        The expected MELD after MSCT rounded half up to a whole number (MELD is
        an integer score; OPTN/UNOS). None when the type has no estimate.
    expected_meld_after_unbounded : float | None
        Baseline MELD minus ``mean`` before bounding, exact in decimal, in MELD
        points; below 6 when the pooled decrease is larger than the baseline
        allows. None when the type has no estimate.
    bounded_at_floor : bool
        True when ``expected_meld_after_unbounded`` is below the MELD floor of 6
        and ``expected_meld_after`` was raised to 6 (OPTN/UNOS bounds).
    ranges : tuple[RangeEstimate, ...]
        The intervals the evidence supports, confidence first; empty while the
        kind of ± is unreported, as in Cao et al. 2018.
    unavailable_reason : str | None
        Why the type has no estimate, in words, from the evidence file. None
        when the type has one.
    """

    available: bool
    failure_type: FailureType
    mean: float | None
    reported_spread: float | None
    spread_kind: str
    spread_low: float | None
    spread_high: float | None
    as_printed: str | None
    n: int | None
    time_point: str | None
    where: str
    expected_meld_after: float | None
    expected_meld_after_display: int | None
    expected_meld_after_unbounded: float | None
    bounded_at_floor: bool
    ranges: tuple[RangeEstimate, ...]
    unavailable_reason: str | None


@quick_init
@dataclass(frozen=True)
class Stratum:
    """The patient's baseline-MELD group and what the source found for it.

    Cao et al. 2018 (abstract) report a larger MELD decrease at baseline MELD ≥ 20
    than at < 20 (P = 0.003), without the size of either decrease.

    Attributes
    ----------
    group : str
        The patient's group: ">=20" or "<20" (the threshold written with
        ``{:g}``).
    threshold : float
        The baseline MELD that divides the groups, in MELD points: 20 (Cao et
        al. 2018, abstract).
    finding : str
        The source's finding in words, from the evidence file.
    p_value : str
        The P value as printed: "P = 0.003" (Cao et al. 2018, abstract).
    this_group_larger : bool
        True when the patient's group is the one with the larger reported
        decrease (baseline MELD ≥ 20).
    """

    group: str
    threshold: float
    finding: str
    p_value: str
    this_group_larger: bool


@quick_init
@dataclass(frozen=True)
class AltMarker:
    """What the pooled patients showed for ALT, and the date to check this patient's.

    Attributes
    ----------
    check_day : int
        The day after MSCT at which the pooled ALT had fallen, in days: 15,
        this calculator's reading of "half a month" (Cao et al. 2018, abstract).
    check_date : date | None
        The date of MSCT plus ``check_day``. None when no date of MSCT is given.
    direction : str
        The direction of the pooled change: "decrease" (Cao et al. 2018,
        abstract).
    baseline_u_l : float
        The patient's baseline ALT in U/L (1 μkat/L = 60 U/L), from the inputs.
    baseline_in_unit : float
        The patient's baseline ALT as entered, in ``unit``.
    unit : str
        The unit the baseline ALT was entered in: "U/L" or "ukat/L".
    size_reported : bool
        True when the source reports the size of the ALT fall; False for Cao et
        al. 2018 (abstract), which reports only its direction.
    as_printed : str
        The source's sentence on ALT as printed (Cao et al. 2018, abstract).
    p_value : str
        The P value as printed: "P < 0.05" (Cao et al. 2018, abstract).
    finding : str
        The finding in words, for the pooled patients (never a forecast for
        this patient).
    """

    check_day: int
    check_date: date | None
    direction: str
    baseline_u_l: float
    baseline_in_unit: float
    unit: str
    size_reported: bool
    as_printed: str
    p_value: str
    finding: str


@quick_init
@dataclass(frozen=True)
class TbilMarker:
    """What the pooled patients showed for TBIL, and the dates to check this patient's.

    Attributes
    ----------
    check_days : tuple[int, ...]
        The days after MSCT at which the pooled TBIL was at its stable level, in
        days: (60, 90), this calculator's reading of "2 and 3 months" (Cao et
        al. 2018, abstract).
    check_dates : tuple[date, ...] | None
        The date of MSCT plus each of ``check_days``. None when no date of MSCT
        is given.
    direction : str
        The direction of the pooled change: "decrease" (Cao et al. 2018,
        abstract).
    pooled_level_umol_l : float
        The stable level the pooled TBIL declined to, in μmol/L: 78.57, as
        printed (Cao et al. 2018, abstract).
    pooled_level_in_unit : float
        The same level in ``unit`` (mg/dL = μmol/L ÷ 17.1), not rounded.
    unit : str
        The unit the baseline TBIL was entered in: "umol/L" or "mg/dL".
    baseline_umol_l : float
        The patient's baseline TBIL in μmol/L (1 mg/dL = 17.1 μmol/L), from the
        inputs.
    informative : bool
        False when the baseline TBIL is already at or below the pooled level, so
        the marker cannot show a decline to it.
    as_printed : str
        The source's sentence on TBIL as printed (Cao et al. 2018, abstract).
    p_value : str
        The P value as printed: "P < 0.05" (Cao et al. 2018, abstract).
    finding : str
        The finding in words, for the pooled patients (never a forecast for
        this patient).
    """

    check_days: tuple[int, ...]
    check_dates: tuple[date, ...] | None
    direction: str
    pooled_level_umol_l: float
    pooled_level_in_unit: float
    unit: str
    baseline_umol_l: float
    informative: bool
    as_printed: str
    p_value: str
    finding: str


@quick_init
@dataclass(frozen=True)
class WarningItem:
    """A warning in words, with a stable code for programs and a short title.

    Attributes
    ----------
    code : str
        A stable identifier, for example "no_estimate", "meld_rose" or
        "alt_day15_off_marker_day"; the same condition always gives the same
        code.
    message : str
        The warning in full, with the numbers it is about and what to check.
    title : str
        (Property.) The short name of the warning, for the first screen, the
        note and the printout.
    demotes : bool
        (Property.) True when the headline number may not apply to this
        patient, so the warning is shown before it.
    """

    code: str
    message: str

    @property
    def title(self) -> str:
        title = WARNING_TITLES.get(self.code)
        return gettext(title) if title else _dynamic_title(self.code)

    @property
    def demotes(self) -> bool:
        """The headline number may not apply to this patient: the warning comes first."""
        return self.code in DEMOTING_WARNINGS


def _dynamic_title(code: str) -> str:
    marker = "ALT" if code.startswith("alt") else "TBIL" if code.startswith("tbil") else "MELD"
    if code.endswith("_off_marker_day"):
        return gettext("{marker} taken off the marker day").format(marker=marker)
    if code.endswith("_day_unknown"):
        return gettext("Day of the follow-up {marker} unknown").format(marker=marker)
    if code.endswith("_check_unit"):
        return gettext("Follow-up {marker} far from baseline: check the unit").format(marker=marker)
    return code.replace("_", " ")


@quick_init
@dataclass(frozen=True)
class ContextView:
    """The controlled evidence for this patient's type, or why there is none.

    Shown beside the pooled change as context; never used in the calculation.

    Attributes
    ----------
    evidence : ContextEvidence | None
        The controlled evidence (MSC versus control) when it covers the
        patient's type: Ding et al. 2024 (abstract; 11 articles, 803
        participants), which covers ACLF only. None when none covers the type,
        or none is loaded.
    message : str
        What a clinician reads when there is none, naming the type; "" when
        ``evidence`` is given.
    """

    evidence: ContextEvidence | None
    message: str


@quick_init
@dataclass(frozen=True)
class VersionStamp:
    """The versions of the calculator and of the evidence behind a result.

    Attributes
    ----------
    app_version : str
        The version of this calculator (``calc.__version__``).
    evidence_version : str
        The version of the pooled evidence file, for example
        "cao2018-abstract-v2".
    doi : str
        The DOI of the pooled evidence: "10.1155/2018/9231710" (Cao et al.
        2018).
    citation : str
        The full citation of the pooled evidence (Cao et al. 2018).
    short_citation : str
        Its short form: "Cao et al. 2018".
    articles : int
        The number of articles pooled, as printed: 9 (Cao et al. 2018,
        abstract).
    patients : int
        The number of patients pooled, as printed: 476 (Cao et al. 2018,
        abstract).
    document_read : str
        Which part of the source the numbers were read from: "abstract".
    context_evidence_version : str | None
        The controlled evidence's own version, for example
        "ding2024-abstract-v1" (Ding et al. 2024). None when none is loaded.
    context_doi : str | None
        The DOI of the controlled evidence: "10.12449/JCH240822" (Ding et al.
        2024). None when none is loaded.
    """

    app_version: str
    evidence_version: str
    doi: str
    citation: str
    short_citation: str
    articles: int
    patients: int
    document_read: str
    context_evidence_version: str | None
    context_doi: str | None


@quick_init
@dataclass(frozen=True)
class Assessment:
    """One patient against the evidence: every number with its basis.

    Attributes
    ----------
    inputs : PatientInputs
        The validated patient inputs, with ALT in U/L and TBIL in μmol/L beside
        the values as entered.
    meld_reduction : MeldReduction
        The pooled MELD decrease of the patient's type and the expected MELD
        after MSCT (Cao et al. 2018, abstract).
    stratum : Stratum | None
        The patient's baseline-MELD group and the source's finding for it. None
        for types with no estimate (ALF, SALF): the finding was reported for
        the pooled ACLF and CLF changes.
    alt : AltMarker
        The pooled ALT marker and the date to check the patient's ALT.
    tbil : TbilMarker
        The pooled TBIL marker and the dates to check the patient's TBIL.
    warnings : tuple[WarningItem, ...]
        The warnings, in this order: what the follow-up shows (a worsening
        first), the plausibility of the inputs, the limits of the evidence for
        this patient, then a typed MELD that disagrees with the labs.
    stamp : VersionStamp
        The versions of the calculator and of the evidence.
    derivation : tuple[str, ...]
        How each number is derived, one step per item, in words; the same for
        every patient of a type.
    limits : tuple[str, ...]
        The limits of the evidence in words: the fixed ones (before/after
        changes, abstract only) then one "Not reported: ..." per item the
        evidence file lists as not reported.
    intended_use : str
        The intended use of the calculator, in words.
    context : ContextView
        The controlled evidence for the patient's type (Ding et al. 2024,
        abstract), or why there is none; never used in the calculation.
    population_note : str | None
        For whom the ALT and TBIL findings were reported when they are not
        specific to the patient's type (the pooled 476 patients of Cao et al.
        2018). None when the type has an estimate.
    scope_note : str | None
        What the result does not address: urgent liver transplantation, for
        types with no estimate. None when the type has an estimate.
    labs : MeldResult | None
        The MELD scores computed from laboratory values (classic MELD, MELD-Na,
        MELD 3.0; MELD points), with their working. None when no labs are
        given.
    followup : FollowupResult | None
        The follow-up markers against the baseline and the pooled response.
        None when no follow-up value is given.
    """

    inputs: PatientInputs
    meld_reduction: MeldReduction
    stratum: Stratum | None
    alt: AltMarker
    tbil: TbilMarker
    warnings: tuple[WarningItem, ...]
    stamp: VersionStamp
    derivation: tuple[str, ...]
    limits: tuple[str, ...]
    intended_use: str
    context: ContextView
    population_note: str | None
    scope_note: str | None
    labs: MeldResult | None = None
    followup: FollowupResult | None = None


@quick_init
@dataclass(frozen=True)
class MarkerStatus:
    """One follow-up value against the patient's baseline and the pooled response.

    Attributes
    ----------
    key : str
        Which follow-up value: "alt_day15", "tbil_day60", "tbil_day90" or
        "meld" (the values of :class:`calc.core.followup.FollowupKey`).
    marker : str
        The analyte: "ALT", "TBIL" or "MELD".
    target_day : int | None
        The marker day, in days after MSCT: 15 for ALT, 60 or 90 for TBIL
        (this calculator's reading of "half a month" and "2 and 3 months", Cao
        et al. 2018, abstract). None for MELD, which has no marker day.
    day : int | None
        The day after MSCT the value was taken (day 0 is the day of MSCT), from
        the day or the date entered. None when neither is given.
    date : date | None
        The date the value was taken, when entered.
    value : float
        The value as entered, in ``unit``.
    unit : str
        The unit as entered: "U/L" or "ukat/L" for ALT, "umol/L" or "mg/dL" for
        TBIL, "" for MELD (points).
    canonical : float
        The value in the canonical unit: U/L for ALT, μmol/L for TBIL, MELD
        points for MELD.
    baseline_canonical : float
        The patient's baseline of the same analyte, in the canonical unit.
    change : float
        ``canonical`` minus ``baseline_canonical``, in the canonical unit;
        negative for a fall.
    change_percent : float
        ``change`` as a percentage of ``baseline_canonical``; negative for a
        fall.
    status : str
        The status in one word: "fallen" or "not_fallen" (ALT);
        "at_or_below_pooled" or "above_pooled" (TBIL, against 78.57 μmol/L);
        "fallen", "risen" or "unchanged" (MELD).
    symbol : str
        The status as a symbol, so that it never rests on colour alone: "↓"
        fallen, "↑" not fallen or risen, "≤" at or below the pooled level, ">"
        above it, "=" unchanged.
    pooled_level_umol_l : float | None
        The pooled TBIL level in μmol/L: 78.57, as printed (Cao et al. 2018,
        abstract). None for ALT and MELD.
    above_pooled_by_umol_l : float | None
        ``canonical`` minus the pooled TBIL level, in μmol/L; negative when
        below it. None for ALT and MELD.
    expected_reduction : float | None
        For MELD, the pooled MELD decrease of the patient's type, in MELD points
        (14.93 for ACLF, 4.6 for CLF; Cao et al. 2018, abstract). None for ALF
        and SALF, and for ALT and TBIL.
    expected_as_printed : str | None
        The same decrease as printed, for example "14.93 ± 1.24". None when
        ``expected_reduction`` is None.
    off_marker_day : bool
        True when ``day`` is more than 5 days (ALT) or 15 days (TBIL) from
        ``target_day``; these windows are this calculator's own, not the
        source's. Always False for MELD and when the day is not known.
    text : str
        The status in words: what the value shows against the baseline and
        the pooled response, never a prescription.
    """

    key: str
    marker: str
    target_day: int | None
    day: int | None
    date: date | None
    value: float
    unit: str
    canonical: float
    baseline_canonical: float
    change: float
    change_percent: float
    status: str
    symbol: str
    pooled_level_umol_l: float | None
    above_pooled_by_umol_l: float | None
    expected_reduction: float | None
    expected_as_printed: str | None
    off_marker_day: bool
    text: str


@quick_init
@dataclass(frozen=True)
class FollowupResult:
    """The follow-up values against the baseline and the pooled response.

    Attributes
    ----------
    markers : tuple[MarkerStatus, ...]
        One status per follow-up value given, in the order ALT (day 15), TBIL
        (day 60), TBIL (day 90), MELD.
    warnings : tuple[WarningItem, ...]
        The follow-up warnings: a rise of MELD or TBIL first (and an ALT fall
        beside it); then, for each value in turn, one taken off its marker day
        or on an unknown day, and one implausibly far from baseline (check the
        unit); last, a follow-up MELD with no pooled decrease to compare it with.
    """

    markers: tuple[MarkerStatus, ...]
    warnings: tuple[WarningItem, ...]
