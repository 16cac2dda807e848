"""The assessment engine: validated patient inputs + evidence -> Assessment.

The result types (:class:`Assessment` and its parts) are in :mod:`calc.core.results`.

Pure: standard library only on this path (scipy is imported lazily, and only
for evidence that reports n, which the current evidence does not). No clock,
no environment, no printing. The evidence is an argument, so tests can pass a
small made-up one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from ..version import __version__
from .evidence import (
    AltMarkerEvidence,
    Comparison,
    Evidence,
    FailureType,
    MeldReductionEvidence,
    TbilMarkerEvidence,
)
from .i18n import N_, get_language, gettext
from .inputs import UMOL_L_PER_MG_DL, PatientInputs, TbilUnit, umol_l_to_tbil_unit
from .meld import MeldResult
from .memo import once
from .quickinit import quick_init
from .results import (
    AltMarker,
    Assessment,
    ContextView,
    FollowupResult,
    MeldReduction,
    RangeEstimate,
    Stratum,
    TbilMarker,
    VersionStamp,
    WarningItem,
)
from .rules import (
    ALT_PLAUSIBLE_LOW_U_L,
    CONFIDENCE_LEVEL,
    MELD_CAP,
    MELD_FLOOR,
    MELD_PLAUSIBLE_LOW,
    TBIL_DEFINITIONS,
    TBIL_ULN_DEFINITION,
    TBIL_ULN_UMOL_L,
    TypeTable,
    at_floor,
    expected_meld_after,
    high_stratum,
    intervals,
    raised,
    range_meld_after,
    tbil_informative,
    type_index,
    type_table,
    warning_flags,
)

INTENDED_USE = N_(
    "Decision support for clinicians caring for adults with liver failure who are "
    "considering or have received mesenchymal stem cell transplantation (MSCT). MSCT is "
    "investigational. The result summarises pooled before/after changes from one "
    "meta-analysis; it does not predict an individual outcome, is not a treatment "
    "recommendation and must not be used for transplant allocation."
)

# For types with no estimate: the result is silent on the decision that matters most there.
NO_ESTIMATE_SCOPE_NOTE = N_(
    "Nothing in this result addresses assessment for urgent liver transplantation."
)

LIMITS_FIXED = (
    N_(
        "The changes are before/after MSCT in treated patients, not differences against a "
        "control group: they are not treatment effects versus standard care."
    ),
    N_(
        "Only the abstract of the meta-analysis was available; every number is shown as printed"
        " there."
    ),
)

# Words of the evidence files that the catalog translates; any other text of the files
# (and every number) is shown as printed. The files stay the source of what is shown.
EVIDENCE_WORDS = (
    N_("abstract"),
    N_("survival"),
    N_("MELD score"),
    N_(
        "The meta-analysis names acute liver failure (ALF) as one of the three types of liver"
        " failure but reports no MELD change for it."
    ),
    N_(
        "The meta-analysis classifies liver failure into three types (ALF, ACLF, CLF); subacute"
        " liver failure (SALF), a type of the Chinese Medical Association's 2024 guideline, is"
        " not among them, and no MELD change is reported for it."
    ),
    N_(
        "Patients with baseline MELD ≥ 20 had a larger MELD decrease after MSCT than those with"
        " baseline MELD < 20; the sizes of the two decreases were not reported."
    ),
    # What the meta-analysis does not report (Cao 2018's "not_reported": this calculator's
    # words for what is unknown, shown among the limits of the evidence).
    N_("Whether the ± after each MELD decrease is a standard deviation or a standard error."),
    N_("The number of patients behind each MELD decrease (ACLF, CLF)."),
    N_("The time point of the MELD decrease (baseline minus which follow-up)."),
    N_("The size of the ALT decrease at half a month."),
    N_("The MELD decreases within the baseline MELD ≥ 20 and < 20 groups."),
    N_(
        "Any MELD change for acute liver failure (ALF), or any result for subacute liver failure"
        " (SALF)."
    ),
    N_(
        "Any comparison with a control group: all changes are before/after MSCT in treated"
        " patients."
    ),
    N_(
        "The pooled MELD fall of Cao et al. 2018 is a before/after change in treated patients and"
        " includes whatever recovery standard care brings; the mean difference of Ding et al."
        " 2024 is MSC minus control, the part attributed to MSC in that analysis. They are"
        " different quantities and are never added, subtracted or merged."
    ),
)


# --------------------------------------------------------------------------
# Exact arithmetic on printed numbers


def round_meld_half_up(value: float) -> int:
    """A MELD for display: a whole number, ties rounded up (13.07 -> 13, 13.5 -> 14).

    MELD is an integer score (OPTN/UNOS); the exact value stays in the working.
    """
    return int(Decimal(repr(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_number(x: float, decimals: int) -> str:
    return f"{x:.{decimals}f}"


# --------------------------------------------------------------------------
# Uncertainty: only what the evidence states


def _ranges(ev: MeldReductionEvidence, t: TypeTable, ft: int, baseline: int) -> list[RangeEstimate]:
    """Intervals the evidence supports, with the MELD after MSCT they imply."""
    out = []
    for kind, low, high, assumption in intervals(ev):
        after_low, after_high = range_meld_after(t, ft, baseline, kind)
        out.append(
            RangeEstimate(
                kind=kind,
                low=low,
                high=high,
                confidence_level=CONFIDENCE_LEVEL,
                meld_after_low=float(after_low),
                meld_after_high=float(after_high),
                assumption=assumption,
            )
        )
    return out


# --------------------------------------------------------------------------
# The assessment


def _meld_reduction(
    inputs: PatientInputs, ev: MeldReductionEvidence, t: TypeTable, ft: int
) -> MeldReduction:
    disp = ev.dispersion
    if not t.available[ft] or ev.mean is None:
        return MeldReduction(
            available=False, failure_type=inputs.failure_type, mean=None,
            reported_spread=None, spread_kind="none", spread_low=None, spread_high=None,
            as_printed=None, n=None, time_point=None, where=ev.where,
            expected_meld_after=None, expected_meld_after_display=None,
            expected_meld_after_unbounded=None, bounded_at_floor=False, ranges=(),
            unavailable_reason=ev.unavailable_reason,
        )  # fmt: skip
    unbounded_n, after_n = expected_meld_after(t, ft, inputs.meld)
    unbounded, after = float(unbounded_n), float(after_n)
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
        expected_meld_after=after,
        expected_meld_after_display=round_meld_half_up(after),
        expected_meld_after_unbounded=unbounded,
        bounded_at_floor=bool(at_floor(unbounded)),
        ranges=tuple(_ranges(ev, t, ft, inputs.meld)),
        unavailable_reason=None,
    )


def _stratum(inputs: PatientInputs, evidence: Evidence, t: TypeTable, ft: int) -> Stratum | None:
    """The baseline-MELD finding, for types whose pooled change it qualifies."""
    if not t.available[ft]:
        return None
    high = bool(high_stratum(t, inputs.meld))
    return once(evidence, ("stratum", high, get_language()),
                lambda: _build_stratum(evidence.baseline_meld, t.threshold, high))  # fmt: skip


def _build_stratum(comp: Comparison, threshold: float, high: bool) -> Stratum:
    """The same for every patient on one side of the threshold (and a language)."""
    return Stratum(
        group=f">={threshold:g}" if high else f"<{threshold:g}",
        threshold=threshold,
        finding=gettext(comp.finding),
        p_value=comp.p_value.as_printed,
        this_group_larger=(comp.larger == f">={threshold:g}") == high,
    )


def _check_date(start: date | None, day: int) -> date | None:
    return None if start is None else start + timedelta(days=day)


def alt_finding(alt: AltMarkerEvidence) -> str:
    """ALT in the source's words, for the pooled patients (never a forecast for this one)."""
    if alt.size is not None:
        text = gettext(
            'In the pooled patients, ALT had fallen at about day {day} ("{as_printed}", {p}).'
        )
    else:
        text = gettext(
            'In the pooled patients, ALT had fallen at about day {day} ("{as_printed}",'
            " {p}); the size of the fall was not reported."
        )
    return text.format(
        day=alt.check_day, as_printed=alt.check_day_as_printed, p=alt.p_value.as_printed
    )


def tbil_finding(tbil: TbilMarkerEvidence) -> str:
    return gettext(
        'In the pooled patients, TBIL had declined to a stable level of {level} at "{as_printed}"'
        " ({p})."
    ).format(
        level=tbil.pooled_level_as_printed,
        as_printed=tbil.check_days_as_printed,
        p=tbil.p_value.as_printed,
    )


def _markers(
    inputs: PatientInputs, evidence: Evidence, t: TypeTable, words: _TypeWords
) -> tuple[AltMarker, TbilMarker]:
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
        finding=words.alt_finding,
    )
    level = tbil_ev.pooled_level_umol_l
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
        informative=bool(tbil_informative(t, inputs.tbil_umol_l)),
        as_printed=tbil_ev.as_printed,
        p_value=tbil_ev.p_value.as_printed,
        finding=words.tbil_finding,
    )
    return alt, tbil


def _tbil_text(value_umol_l: float, unit: TbilUnit, pooled: str | None = None) -> str:
    """A TBIL for a message; the pooled level as printed (78.57 μmol/L) when given."""
    if unit is TbilUnit.MG_DL:
        return f"{umol_l_to_tbil_unit(value_umol_l, unit):.2f} mg/dL"
    if pooled is not None:
        return pooled
    return f"{value_umol_l:g} μmol/L"


@quick_init
@dataclass(frozen=True)
class _Seen:
    """What a warning's words may name: the patient and what was derived for them."""

    inputs: PatientInputs
    evidence: Evidence
    mr: MeldReduction
    tbil: TbilMarker
    labs: MeldResult | None


# The words of each warning (the condition that raises it: calc.core.rules.warning_flags).
# Plausibility: valid values that do not fit the patient, likely a slip of unit or typing.


def _tbil_below_type_definition(w: _Seen) -> str:
    inputs, ft = w.inputs, w.inputs.failure_type
    definition = TBIL_DEFINITIONS[ft]
    entered = f"{inputs.tbil_entered:g}"
    would_be = gettext("{entered} would be {other}")
    if inputs.tbil_unit is TbilUnit.UMOL_L:
        other = f"{inputs.tbil_entered * UMOL_L_PER_MG_DL:.4g} μmol/L"
        shown, slip = f"{entered} μmol/L", would_be.format(entered=f"{entered} mg/dL", other=other)
    else:
        other = f"{inputs.tbil_entered / UMOL_L_PER_MG_DL:.3g} mg/dL"
        shown, slip = f"{entered} mg/dL", would_be.format(entered=f"{entered} μmol/L", other=other)
    level = definition.level_umol_l
    if ft is FailureType.ACLF:
        text = gettext(definition.text)
    else:
        text = gettext(TBIL_ULN_DEFINITION).format(type=ft.value, uln=f"{TBIL_ULN_UMOL_L:g}")
    return gettext(
        "TBIL {shown} is below {level} μmol/L ({level_mg_dl} mg/dL), the bilirubin that defines"
        " {type}: {definition}. Check the unit and the diagnosis ({slip})."
    ).format(
        shown=shown,
        level=f"{level:g}",
        level_mg_dl=f"{level / UMOL_L_PER_MG_DL:.3g}",
        type=ft.value,
        definition=text,
        slip=slip,
    )


def _meld_below_10(w: _Seen) -> str:
    return gettext(
        "Baseline MELD {meld} is below {low}, unusual in liver failure of any type: check the"
        " score (classic MELD) and the diagnosis."
    ).format(meld=w.inputs.meld, low=MELD_PLAUSIBLE_LOW)


def _alt_below_5(w: _Seen) -> str:
    return gettext(
        "ALT {alt} U/L is below {low} U/L, lower than laboratories report in practice: check"
        " the value and the unit (a thousands separator written as a point turns 1,200 into"
        " 1.200)."
    ).format(alt=f"{w.inputs.alt_u_l:g}", low=f"{ALT_PLAUSIBLE_LOW_U_L:g}")


# The limits of the evidence for this patient.


def _no_estimate(w: _Seen) -> str:
    reason = gettext(w.mr.unavailable_reason) if w.mr.unavailable_reason else ""
    return gettext(
        "No estimate for {type}: {reason} No number from another group is used in its place."
    ).format(type=w.inputs.failure_type.value, reason=reason)


def _meld_after_floor(w: _Seen) -> str:
    ft, threshold = w.inputs.failure_type.value, w.evidence.baseline_meld.threshold
    return gettext(
        "The pooled {type} MELD decrease ({mean}) is larger than this baseline MELD of {meld}"
        " allows: MELD cannot fall below {floor}, so the expected MELD after MSCT is shown as"
        " {floor}. The larger decreases were seen at baseline MELD ≥ {threshold}."
    ).format(
        type=ft,
        mean=f"{w.mr.mean:g}",
        meld=w.inputs.meld,
        floor=MELD_FLOOR,
        threshold=f"{threshold:g}",
    )


def _baseline_meld_below_20(w: _Seen) -> str:
    ft, comp = w.inputs.failure_type.value, w.evidence.baseline_meld
    threshold = comp.threshold
    return gettext(
        "{type} with baseline MELD below {threshold}: the meta-analysis found smaller MELD"
        " decreases at baseline < {threshold} than at ≥ {threshold} ({p}), so the pooled {type}"
        " decrease probably overstates the change for this patient."
    ).format(type=ft, threshold=f"{threshold:g}", p=comp.p_value.as_printed)


def _spread_exceeds_mean(w: _Seen) -> str:
    return gettext(
        "The reported ± for {type} ({spread}) is as large as the mean decrease ({mean}): if ±"
        " is an SD or an SE, as is usual, individual patients vary at least this much, and"
        " some may not improve."
    ).format(
        type=w.inputs.failure_type.value, spread=f"{w.mr.reported_spread:g}", mean=f"{w.mr.mean:g}"
    )


def _tbil_at_or_below_pooled(w: _Seen) -> str:
    inputs, pooled = w.inputs, w.evidence.tbil.pooled_level_as_printed
    return gettext(
        "Baseline TBIL ({baseline}) is already at or below the pooled level of {pooled} reached"
        " at 2 and 3 months: the TBIL marker is not informative for this patient."
    ).format(
        baseline=_tbil_text(inputs.tbil_umol_l, inputs.tbil_unit),
        pooled=_tbil_text(w.tbil.pooled_level_umol_l, inputs.tbil_unit, pooled),
    )


def _meld_labs_disagree(w: _Seen) -> str:
    assert w.labs is not None  # the rule raises it only with labs
    meld, labs_meld = w.inputs.meld, w.labs.meld
    return gettext(
        "The typed baseline MELD ({meld}) and the classic MELD computed from the labs"
        " ({labs_meld}) differ by {difference} points; the typed value is used. Check the MELD"
        " and the labs."
    ).format(meld=meld, labs_meld=labs_meld, difference=abs(labs_meld - meld))


_WORDS: dict[str, Callable[[_Seen], str]] = {
    "tbil_below_type_definition": _tbil_below_type_definition,
    "meld_below_10": _meld_below_10,
    "alt_below_5": _alt_below_5,
    "no_estimate": _no_estimate,
    "meld_after_floor": _meld_after_floor,
    "baseline_meld_below_20": _baseline_meld_below_20,
    "spread_exceeds_mean": _spread_exceeds_mean,
    "tbil_at_or_below_pooled": _tbil_at_or_below_pooled,
    "meld_labs_disagree": _meld_labs_disagree,
}


def _warnings(seen: _Seen, t: TypeTable, ft: int) -> list[WarningItem]:
    """The warnings the rules raise for this patient, in their order, with their words."""
    inputs = seen.inputs
    flags = warning_flags(
        t,
        ft,
        inputs.meld,
        inputs.alt_u_l,
        inputs.tbil_umol_l,
        labs_meld=seen.labs.meld if seen.labs is not None else 0,
        meld_entered=inputs.meld_source == "entered",
    )
    return [WarningItem(code, _WORDS[code](seen)) for code in raised(flags)]


def _derivation(
    mr: MeldReductionEvidence,
    baseline_meld: Comparison,
    alt: AltMarkerEvidence,
    tbil: TbilMarkerEvidence,
) -> tuple[str, ...]:
    """How each number is derived: the same for every patient of a failure type."""
    steps = [
        gettext(
            "Inputs are converted to U/L (ALT; 1 μkat/L = 60 U/L) and μmol/L (TBIL;"
            " 1 mg/dL = {factor} μmol/L) before use."
        ).format(factor=f"{UMOL_L_PER_MG_DL:g}"),
    ]
    if mr.available:
        steps.append(
            gettext(
                "Expected MELD decrease: the pooled {type} value as printed ({as_printed},"
                " {where}). Expected MELD after MSCT = baseline MELD − {mean}, exact, bounded to"
                " {floor}–{cap}, then shown as a whole number (half up) because MELD is a"
                " whole-number score. The time point of the fall was not reported."
            ).format(
                type=mr.failure_type.value,
                as_printed=mr.as_printed,
                where=gettext(mr.where),
                mean=f"{mr.mean:g}",
                floor=MELD_FLOOR,
                cap=MELD_CAP,
            ),
        )
        steps.append(
            gettext(
                "Baseline stratum: baseline MELD compared with {threshold}; the finding is"
                " reported without group sizes ({p})."
            ).format(threshold=f"{baseline_meld.threshold:g}", p=baseline_meld.p_value.as_printed)
        )
    else:
        steps.append(
            gettext(
                "Expected MELD decrease: none; the evidence has no estimate for {type}, and no"
                " other type's number is used."
            ).format(type=mr.failure_type.value)
        )
    steps += [
        gettext(
            'ALT marker: the source reports a fall at "{as_printed}", read as about day {day};'
            " direction only, for the pooled patients."
        ).format(as_printed=alt.check_day_as_printed, day=alt.check_day),
        gettext(
            'TBIL marker: the source reports a pooled level of {level} at "{as_printed}", read'
            " as days {days}."
        ).format(
            level=tbil.pooled_level_as_printed,
            as_printed=tbil.check_days_as_printed,
            days=gettext(" and ").join(str(d) for d in tbil.check_days),
        ),
        gettext(
            'Check dates = date of MSCT + check day, when the date of MSCT is given. Reading "half'
            ' a month" as day 15 and "2 and 3 months" as days 60 and 90, and the day windows for'
            " follow-up values, are this calculator's own."
        ),
    ]
    return tuple(steps)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def limits_text(not_reported: tuple[str, ...]) -> tuple[str, ...]:
    """The limits of the evidence in the current language (the files' own sentences as
    printed)."""
    fixed = tuple(gettext(limit) for limit in LIMITS_FIXED)
    item = gettext("Not reported: {item}")
    return fixed + tuple(item.format(item=_lower_first(gettext(n))) for n in not_reported)


def context_for(evidence: Evidence, failure_type: FailureType) -> ContextView:
    """The controlled evidence for a type, kept apart from the pooled change."""
    ctx = evidence.context
    if ctx is not None and ctx.covers(failure_type):
        return ContextView(evidence=ctx, message="")
    return ContextView(
        evidence=None,
        message=gettext(
            "No controlled MELD estimate (MSC versus control) was found for {type}."
        ).format(type=failure_type.value),
    )


def _population_note(evidence: Evidence, failure_type: FailureType) -> str | None:
    if evidence.meld_reduction[failure_type].available:
        return None
    return gettext(
        "The ALT and TBIL findings were reported for the pooled liver-failure population of the"
        " meta-analysis ({patients} patients); there are no {type}-specific data."
    ).format(patients=evidence.source.patients, type=failure_type.value)


@dataclass(frozen=True)
class _TypeWords:
    """What an assessment says that no patient changes: one per evidence, type and language."""

    stamp: VersionStamp
    derivation: tuple[str, ...]
    limits: tuple[str, ...]
    intended_use: str
    context: ContextView
    population_note: str | None
    scope_note: str | None
    alt_finding: str
    tbil_finding: str


def _type_words(evidence: Evidence, failure_type: FailureType) -> _TypeWords:
    return once(evidence, ("type words", failure_type, get_language()),
                lambda: _build_type_words(evidence, failure_type))  # fmt: skip


def _build_type_words(evidence: Evidence, failure_type: FailureType) -> _TypeWords:
    src, ctx, mr = evidence.source, evidence.context, evidence.meld_reduction[failure_type]
    return _TypeWords(
        stamp=VersionStamp(
            app_version=__version__,
            evidence_version=evidence.evidence_version,
            doi=src.doi,
            citation=src.citation,
            short_citation=src.short_citation,
            articles=src.articles,
            patients=src.patients,
            document_read=src.document_read,
            context_evidence_version=ctx.evidence_version if ctx else None,
            context_doi=ctx.source.doi if ctx else None,
        ),
        derivation=_derivation(mr, evidence.baseline_meld, evidence.alt, evidence.tbil),
        limits=limits_text(evidence.not_reported),
        intended_use=gettext(INTENDED_USE),
        context=context_for(evidence, failure_type),
        population_note=_population_note(evidence, failure_type),
        scope_note=None
        if mr.available and mr.mean is not None
        else gettext(NO_ESTIMATE_SCOPE_NOTE),
        alt_finding=alt_finding(evidence.alt),
        tbil_finding=tbil_finding(evidence.tbil),
    )


def assess(
    inputs: PatientInputs,
    evidence: Evidence,
    *,
    labs: MeldResult | None = None,
    followup: FollowupResult | None = None,
) -> Assessment:
    """Assess one patient against the evidence.

    ``labs`` (MELD from laboratory values) and ``followup`` (the follow-up
    markers, from :mod:`calc.core.followup`) are carried into the result, with their
    warnings; neither changes the pooled estimates. Warnings come in this order:
    what the follow-up shows (a worsening first), the plausibility of the
    inputs, then the limits of the evidence for this patient.
    """
    t, ft = type_table(evidence), type_index(inputs.failure_type)
    words = _type_words(evidence, inputs.failure_type)
    mr = _meld_reduction(inputs, evidence.meld_reduction[inputs.failure_type], t, ft)
    alt, tbil = _markers(inputs, evidence, t, words)
    warnings = list(followup.warnings) if followup is not None else []
    warnings += _warnings(_Seen(inputs, evidence, mr, tbil, labs), t, ft)
    return Assessment(
        inputs=inputs,
        meld_reduction=mr,
        stratum=_stratum(inputs, evidence, t, ft),
        alt=alt,
        tbil=tbil,
        warnings=tuple(warnings),
        stamp=words.stamp,
        derivation=words.derivation,
        limits=words.limits,
        intended_use=words.intended_use,
        context=words.context,
        population_note=words.population_note,
        scope_note=words.scope_note,
        labs=labs,
        followup=followup,
    )
