"""The edges of the core: an Assessment as the API's response types and as plain text.

Rounding happens here (and in the templates, which use the same helpers),
never in the engine. JSON keeps full precision: rounding is for display. The
JSON is the response types of :mod:`calc.core.jsonview`, built here field by
field, so that a value reaches the JSON only through a documented field.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from . import i18n
from . import jsonview as jv
from .engine import format_number
from .evidence import Evidence
from .followup import FollowupKey
from .i18n import N_
from .i18n import gettext as _
from .inputs import UMOL_L_PER_MG_DL, UNIT_LABELS, TbilUnit
from .jsonview import MELD_SOURCES, RANGE_KIND_LABELS
from .meld import MELD_NA, MeldResult, Term
from .memo import once
from .results import Assessment, ContextView, RangeEstimate, Stratum, VersionStamp
from .rules import decimals_of

DOI_URL = "https://doi.org/"


# --------------------------------------------------------------------------
# Display helpers (shared with the templates)


def unit_label(unit: str) -> str:
    return UNIT_LABELS.get(unit, unit)


def entered(x: float) -> str:
    """A value as the clinician typed it: 240 -> "240", 12.50 -> "12.5", 12345.678 -> itself."""
    # 15 significant digits give back what was typed (6 turned 12345.678 into 12345.7).
    return f"{x:.15g}" if abs(x) < 1e15 else f"{x:.0f}"


def tbil_text(value_umol_l: float, unit: str) -> str:
    """A patient's TBIL in ``unit``, as typed: never rounded across the pooled 78.57 μmol/L.

    (A baseline of 78.57 shown as "78.6" would read as above the level it is at.)
    """
    if unit == TbilUnit.MG_DL.value:
        return f"{entered(value_umol_l / UMOL_L_PER_MG_DL)} mg/dL"
    return f"{entered(value_umol_l)} μmol/L"


def pooled_tbil_text(a: Assessment) -> str:
    """The pooled TBIL level as printed (μmol/L) or converted (mg/dL, 2 decimals)."""
    if a.tbil.unit == TbilUnit.MG_DL.value:
        return f"{a.tbil.pooled_level_in_unit:.2f} mg/dL"
    return f"{a.tbil.pooled_level_umol_l:g} μmol/L"


# What the headline number is, beside it wherever it is shown.
HEADLINE_WHAT = i18n.N_(
    "the fall from baseline seen in treated patients (before/after, no control group); "
    "time point not reported"
)
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
)  # fmt: skip


def meld_after_text(a: Assessment) -> str:
    """The headline: a whole number with "about" (MELD is a whole-number score)."""
    mr = a.meld_reduction
    if not mr.available or mr.expected_meld_after_display is None:
        return _("no estimate")
    if mr.bounded_at_floor:
        return _("{value} (the lowest MELD)").format(value=mr.expected_meld_after_display)
    return _("about {value}").format(value=mr.expected_meld_after_display)


def meld_after_exact_text(a: Assessment) -> str:
    """The exact working behind the headline: 28 − 14.93 = 13.07."""
    mr = a.meld_reduction
    if not mr.available or mr.expected_meld_after_unbounded is None or mr.mean is None:
        return _("no estimate")
    exact = format_number(mr.expected_meld_after_unbounded, decimals_of(mr.mean)).replace("-", "−")
    text = f"{a.inputs.meld} − {mr.mean:g} = {exact}"
    if mr.bounded_at_floor:
        text += _(", bounded at the MELD floor of {floor}").format(
            floor=f"{mr.expected_meld_after:g}"
        )
    return text


def date_words(d: date) -> str:
    """A date in words, so a swapped day and month is visible: 3 December 2026 (2026年12月3日)."""
    if i18n.get_language() != i18n.DEFAULT:
        return i18n.format_date(d)
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def date_both(d: date) -> str:
    """ISO and in words: 2026-12-03 (3 December 2026)."""
    return f"{d.isoformat()} ({date_words(d)})"


def range_kind_text(kind: str) -> str:
    return RANGE_KIND_LABELS.get(kind, kind)


SPREAD_KIND_WORDS = {
    "unreported": i18n.N_(
        "the source prints ± without saying whether it is a standard deviation (SD) "
        "or a standard error (SE), or how many patients it covers, so no range or "
        "probability can be derived from it"
    ),
    "SD": i18n.N_("± is a standard deviation"),
    "SE": i18n.N_("± is a standard error"),
    "95% CI": i18n.N_("95% confidence interval, as reported"),
    "none": i18n.N_("no estimate"),
}


def spread_kind_text(kind: str) -> str:
    text = SPREAD_KIND_WORDS.get(kind)
    return _(text) if text else kind


def range_text(r: RangeEstimate) -> str:
    return (
        f"MELD decrease {r.low:.1f} to {r.high:.1f}; "
        f"MELD after {r.meld_after_low:.1f} to {r.meld_after_high:.1f}"
    )


def days_text(days: tuple[int, ...]) -> str:
    return _(" and ").join(str(d) for d in days)


# --------------------------------------------------------------------------
# JSON: the response types of calc.core.jsonview, built from the Assessment


def assessment_view(a: Assessment) -> jv.AssessmentJson:
    """The assessment as the API's response body (full precision; dates as ISO text)."""
    i, mr, s = a.inputs, a.meld_reduction, a.stratum
    return jv.AssessmentJson(
        input=jv.Input(
            failure_type=i.failure_type,
            meld=i.meld,
            alt_u_l=i.alt_u_l,
            tbil_umol_l=i.tbil_umol_l,
            alt_entered=jv.AltQuantity(value=i.alt_entered, unit=i.alt_unit),
            tbil_entered=jv.TbilQuantity(value=i.tbil_entered, unit=i.tbil_unit),
            transplant_date=i.transplant_date,
        ),
        meld_reduction=jv.MeldReductionJson(
            available=mr.available,
            what_it_is=_(HEADLINE_WHAT) if mr.available else None,
            mean=mr.mean,
            reported_spread=mr.reported_spread,
            spread_kind=mr.spread_kind,
            spread_kind_text=spread_kind_text(mr.spread_kind),
            spread_low=mr.spread_low,
            spread_high=mr.spread_high,
            as_printed=mr.as_printed,
            n=mr.n,
            time_point=mr.time_point,
            where=mr.where,
            expected_meld_after=mr.expected_meld_after,
            expected_meld_after_display=mr.expected_meld_after_display,
            expected_meld_after_unbounded=mr.expected_meld_after_unbounded,
            bounded_at_floor=mr.bounded_at_floor,
            ranges=tuple(
                jv.Range(
                    kind=r.kind,
                    low=r.low,
                    high=r.high,
                    confidence_level=r.confidence_level,
                    meld_after_low=r.meld_after_low,
                    meld_after_high=r.meld_after_high,
                    assumption=r.assumption,
                )
                for r in mr.ranges
            ),
            unavailable_reason=mr.unavailable_reason,
        ),
        context_evidence=context_view(a),
        meld_used=meld_used_view(a),
        labs=labs_view(a),
        followup=followup_view(a),
        baseline_stratum=None if s is None else s.group,
        stratum=None if s is None else once(s, ("stratum view",), lambda: _stratum_view(s)),
        markers=jv.Markers(
            population_note=a.population_note,
            alt=jv.AltMarkerJson(
                check_day=a.alt.check_day,
                check_date=a.alt.check_date,
                direction=a.alt.direction,
                finding=a.alt.finding,
                baseline_u_l=a.alt.baseline_u_l,
                size_reported=a.alt.size_reported,
                as_printed=a.alt.as_printed,
                p_value=a.alt.p_value,
            ),
            tbil=jv.TbilMarkerJson(
                check_days=a.tbil.check_days,
                check_dates=a.tbil.check_dates,
                direction=a.tbil.direction,
                finding=a.tbil.finding,
                pooled_level_umol_l=a.tbil.pooled_level_umol_l,
                pooled_level_in_unit=jv.TbilQuantity(
                    value=a.tbil.pooled_level_in_unit, unit=TbilUnit(a.tbil.unit)
                ),
                baseline_umol_l=a.tbil.baseline_umol_l,
                informative=a.tbil.informative,
                as_printed=a.tbil.as_printed,
                p_value=a.tbil.p_value,
            ),
        ),
        warnings=tuple(
            jv.WarningJson(
                code=w.code, title=w.title, message=w.message, demotes_headline=w.demotes
            )
            for w in a.warnings
        ),
        scope_note=a.scope_note,
        evidence=once(a.stamp, ("evidence stamp",), lambda: _evidence_stamp(a.stamp)),
        version=once(a.stamp, ("versions",), lambda: _versions(a.stamp)),
        # The stamp, the intended use, the derivation and the limits are made together,
        # once per evidence, type and language (calc.core.engine).
        basis=once(a.stamp, ("basis",), lambda: _basis(a.intended_use, a.derivation, a.limits)),
        summary_text=summary_text(a),
    )


# The parts of the body that are the same for every patient of an evidence (and a type,
# and a language): immutable, so each is built once rather than per request.


def _stratum_view(s: Stratum) -> jv.StratumJson:
    return jv.StratumJson(
        group=s.group,
        threshold=s.threshold,
        this_group_larger=s.this_group_larger,
        finding=s.finding,
        p_value=s.p_value,
    )


def _evidence_stamp(stamp: VersionStamp) -> jv.EvidenceStamp:
    return jv.EvidenceStamp(
        version=stamp.evidence_version,
        doi=stamp.doi,
        url=DOI_URL + stamp.doi,
        citation=stamp.citation,
        articles=stamp.articles,
        patients=stamp.patients,
        document_read=stamp.document_read,
    )


def _versions(stamp: VersionStamp) -> jv.Versions:
    return jv.Versions(
        app=stamp.app_version,
        evidence=stamp.evidence_version,
        context_evidence=stamp.context_evidence_version,
    )


def _basis(intended_use: str, derivation: tuple[str, ...], limits: tuple[str, ...]) -> jv.Basis:
    return jv.Basis(intended_use=intended_use, derivation=derivation, limits=limits)


def context_view(a: Assessment) -> jv.ContextAvailable | jv.ContextUnavailable:
    """The controlled evidence for this type, as printed, apart from the calculation."""
    view = a.context
    return once(view.evidence, ("context view", view.message), lambda: _context_view(view))


def _context_view(view: ContextView) -> jv.ContextAvailable | jv.ContextUnavailable:
    """The same for every patient of a type (immutable): built once per evidence and type."""
    ctx = view.evidence
    if ctx is None:
        return jv.ContextUnavailable(
            available=False, used_in_calculation=False, message=view.message
        )
    src = ctx.source
    return jv.ContextAvailable(
        available=True,
        used_in_calculation=False,
        version=ctx.evidence_version,
        citation=src.citation,
        doi=src.doi,
        url=DOI_URL + src.doi,
        design=src.design,
        articles=src.articles,
        participants=src.participants,
        comparison=src.comparison,
        document_read=src.document_read,
        outcomes=tuple(
            jv.Outcome(
                outcome=o.outcome,
                time=o.time,
                measure=o.measure,
                as_printed=o.as_printed,
                p_as_printed=o.p_as_printed,
                unit=o.unit,
            )
            for o in ctx.outcomes
        ),
        adverse_events_as_printed=ctx.adverse_events_as_printed,
        not_reported=ctx.not_reported,
        why_different=ctx.why_different,
    )


def meld_used_view(a: Assessment) -> jv.MeldUsed:
    return jv.MeldUsed(
        value=a.inputs.meld,
        score="classic MELD",
        source=a.inputs.meld_source,
        how=_(MELD_SOURCES[a.inputs.meld_source]),
    )


LABS_NOTE = i18n.N_(
    "MELD-Na and MELD 3.0 are shown for context; the meta-analysis used classic MELD."
)


def labs_view(a: Assessment) -> jv.Labs | None:
    if a.labs is None:
        return None
    return jv.Labs(
        meld=a.labs.meld,
        meld_na=a.labs.meld_na,
        meld_3_0=a.labs.meld_3_0,
        note=_(LABS_NOTE),
        working=working_view(a.labs),
    )


def meld_view(result: MeldResult) -> jv.MeldResponse:
    """The response of POST /api/v1/meld: the scores and their working."""
    return jv.MeldResponse(
        meld=result.meld,
        meld_na=result.meld_na,
        meld_3_0=result.meld_3_0,
        working=working_view(result),
    )


def _terms(terms: tuple[Term, ...]) -> tuple[jv.Term, ...]:
    return tuple(jv.Term(label=t.label, value=t.value) for t in terms)


def working_view(result: MeldResult) -> jv.MeldWorking:
    """The working of the MELD scores, field for field (calc.core.meld.MeldWorking)."""
    w, c, na, m3 = result.working, result.working.classic, None, None
    if w.meld_na is not None:
        na = jv.MeldNaWorking(
            meld_i=w.meld_na.meld_i,
            sodium_mmol_l=w.meld_na.sodium_mmol_l,
            sodium_term_applied=w.meld_na.sodium_term_applied,
            unrounded=w.meld_na.unrounded,
            meld_na=w.meld_na.meld_na,
            bounds_applied=w.meld_na.bounds_applied,
            source=w.meld_na.source,
        )
    if w.meld_3_0 is not None:
        m = w.meld_3_0
        m3 = jv.Meld30Working(
            female=m.female,
            bilirubin_mg_dl=m.bilirubin_mg_dl,
            inr=m.inr,
            creatinine_mg_dl=m.creatinine_mg_dl,
            sodium_mmol_l=m.sodium_mmol_l,
            albumin_g_dl=m.albumin_g_dl,
            terms=_terms(m.terms),
            unrounded=m.unrounded,
            meld_3_0=m.meld_3_0,
            bounds_applied=m.bounds_applied,
            source=m.source,
        )
    return jv.MeldWorking(
        entered=tuple(
            jv.EnteredLab(
                field=e.field,
                value=e.value,
                unit=e.unit,
                value_canonical=e.value_canonical,
                unit_canonical=e.unit_canonical,
            )
            for e in w.entered
        ),
        dialysis=w.dialysis,
        sex=w.sex,
        classic=jv.ClassicMeldWorking(
            bilirubin_mg_dl=c.bilirubin_mg_dl,
            inr=c.inr,
            creatinine_mg_dl=c.creatinine_mg_dl,
            terms=_terms(c.terms),
            formula_value=c.formula_value,
            meld_i_unrounded=c.meld_i_unrounded,
            meld_i=c.meld_i,
            meld=c.meld,
            bounds_applied=c.bounds_applied,
            source=c.source,
        ),
        meld_na=na,
        meld_3_0=m3,
        not_calculated=w.not_calculated,
        bounds_applied=w.bounds_applied,
    )


def followup_view(a: Assessment) -> jv.Followup | None:
    if a.followup is None:
        return None
    return jv.Followup(
        markers=tuple(
            jv.FollowupMarker(
                marker=FollowupKey(m.key),
                status=m.status,
                symbol=m.symbol,
                target_day=m.target_day,
                day=m.day,
                date=m.date,
                value=jv.FollowupValue(value=m.value, unit=m.unit),
                canonical=m.canonical,
                baseline=m.baseline_canonical,
                change=m.change,
                change_percent=m.change_percent,
                fall_percent_of_baseline=-m.change_percent,
                pooled_level_umol_l=m.pooled_level_umol_l,
                above_pooled_by_umol_l=m.above_pooled_by_umol_l,
                expected_reduction=m.expected_reduction,
                off_marker_day=m.off_marker_day,
                text=m.text,
            )
            for m in a.followup.markers
        )
    )


def source_key(evidence_version: str) -> str:
    """The name of a source: its version up to the first hyphen (cao2018-abstract-v2 -> cao2018)."""
    return evidence_version.split("-", 1)[0]


def evidence_view(evidence: Evidence) -> jv.EvidenceSources:
    """Each source of evidence as loaded, apart, each with its own version.

    ``{"cao2018": {...}, "ding2024": {...}}``: the pooled changes that drive the
    calculation (``used_in_calculation`` true) and the controlled evidence shown
    beside them as context (``used_in_calculation`` false), never merged. The
    evidence's own types are kept below the top level.
    """
    out: jv.EvidenceSources = {
        source_key(evidence.evidence_version): jv.PooledEvidence(
            used_in_calculation=True,
            schema_version=evidence.schema_version,
            evidence_version=evidence.evidence_version,
            source=evidence.source,
            meld_reduction=evidence.meld_reduction,
            aclf_vs_clf=evidence.aclf_vs_clf,
            baseline_meld=evidence.baseline_meld,
            alt=evidence.alt,
            tbil=evidence.tbil,
            not_reported=evidence.not_reported,
        )
    }
    ctx = evidence.context
    if ctx is not None:
        key = source_key(ctx.evidence_version)
        if key in out:  # two sources of one name: the full version tells them apart
            key = ctx.evidence_version
        out[key] = jv.ContextEvidenceFile(
            used_in_calculation=False,
            schema_version=ctx.schema_version,
            evidence_version=ctx.evidence_version,
            source=ctx.source,
            outcomes=ctx.outcomes,
            adverse_events_as_printed=ctx.adverse_events_as_printed,
            not_reported=ctx.not_reported,
            why_different=ctx.why_different,
        )
    return out


# Plain dicts of the same JSON, for callers that work with dicts (the command
# line's --json, cohort files, tests): derived from the types, never built apart.


def to_dict(a: Assessment) -> dict[str, Any]:
    """The assessment as JSON-ready data: the API's response body as Python data."""
    data: dict[str, Any] = jv.plain(assessment_view(a))
    return data


def context_dict(a: Assessment) -> dict[str, Any]:
    data: dict[str, Any] = jv.plain(context_view(a))
    return data


def meld_used(a: Assessment) -> dict[str, Any]:
    data: dict[str, Any] = jv.plain(meld_used_view(a))
    return data


def labs_dict(a: Assessment) -> dict[str, Any] | None:
    data: dict[str, Any] | None = jv.plain(labs_view(a))
    return data


def followup_dict(a: Assessment) -> dict[str, Any] | None:
    data: dict[str, Any] | None = jv.plain(followup_view(a))
    return data


def context_lines(
    a: Assessment, *, outcomes: tuple[str, ...] = ("MELD score", "survival")
) -> list[str]:
    """The controlled evidence in words, one line per outcome (for text and print)."""
    language = i18n.get_language()
    view = a.context
    lines = once(
        view.evidence,
        ("context lines", view.message, outcomes, language),
        lambda: _context_lines(view, outcomes),
    )
    return list(lines)


def _context_lines(view: ContextView, outcomes: tuple[str, ...]) -> tuple[str, ...]:
    """The same for every patient of a type in a language (immutable): built once."""
    ctx = view.evidence
    if ctx is None:
        return (view.message,)
    src = ctx.source
    lines = [
        _(
            "Controlled evidence (context, not used in the calculation): {citation}, MSC versus"
            " control in {types}; {articles} articles, {participants} participants; randomised"
            " and cohort studies; doi:{doi} (evidence {version})."
        ).format(
            citation=src.short_citation,
            types=", ".join(t.value for t in src.failure_types),
            articles=src.articles,
            participants=src.participants,
            doi=src.doi,
            version=ctx.evidence_version,
        )
    ]
    for o in ctx.outcomes:
        if o.outcome in outcomes:
            lines.append(
                _("{outcome} at {time}: {as_printed}, {p}").format(
                    outcome=_(o.outcome), time=o.time, as_printed=o.as_printed, p=o.p_as_printed
                )
            )
    lines.append(_(ctx.why_different))
    return tuple(lines)


# --------------------------------------------------------------------------
# Plain text (what a clinician pastes into a note)


def input_line(a: Assessment) -> str:
    i = a.inputs
    alt = f"ALT {entered(i.alt_entered)} {unit_label(i.alt_unit.value)}"
    if i.alt_unit.value != "U/L":
        alt += f" (= {entered(i.alt_u_l)} U/L)"
    tbil = f"TBIL {entered(i.tbil_entered)} {unit_label(i.tbil_unit.value)}"
    if i.tbil_unit is TbilUnit.MG_DL:
        tbil += f" (= {entered(i.tbil_umol_l)} μmol/L)"  # 4.594 mg/dL = 78.5574, not 78.6
    if i.meld_source == "labs":
        meld = _("baseline MELD {meld} (classic MELD from labs)").format(meld=i.meld)
    else:
        meld = _("baseline MELD {meld}").format(meld=i.meld)
    parts = [i.failure_type.value, meld, alt, tbil]
    if i.transplant_date is not None:
        parts.append(_("MSCT date {date}").format(date=date_both(i.transplant_date)))
    return _("; ").join(parts)


def lab_text(value: float, unit: str) -> str:
    return f"{entered(value)} {unit_label(unit)}".strip()


# The labs of the MELD working by name (an abbreviation is the same in every language).
LAB_NAMES = {
    "bilirubin": N_("bilirubin"),
    "inr": "INR",
    "creatinine": N_("creatinine"),
    "sodium": N_("sodium"),
    "albumin": N_("albumin"),
}


def lab_name(field: str) -> str:
    name = LAB_NAMES.get(field, field)
    return name if name == "INR" else _(name)


def classic_working_line(result: MeldResult) -> str:
    """The working of classic MELD in one line (the printout shows this one)."""
    c = result.working.classic
    return _(
        "classic MELD used bilirubin {bilirubin} mg/dL, INR {inr}, creatinine {creatinine}"
        " mg/dL; MELD(i) = {meld_i_exact} → {meld_i} → MELD {meld}"
    ).format(
        bilirubin=f"{c.bilirubin_mg_dl:g}",
        inr=f"{c.inr:g}",
        creatinine=f"{c.creatinine_mg_dl:g}",
        meld_i_exact=f"{c.meld_i_unrounded:.3f}",
        meld_i=c.meld_i,
        meld=c.meld,
    )


def meld_working_lines(result: MeldResult) -> list[str]:
    """The working of the MELD scores, line by line (for text and the page)."""
    w = result.working
    lines = []
    for lab in w.entered:
        line = _("{lab}: {value}").format(
            lab=lab_name(lab.field), value=lab_text(lab.value, lab.unit)
        )
        if lab.unit != lab.unit_canonical:
            # A converted value to 6 significant digits (the JSON keeps full precision).
            line += f" = {lab.value_canonical:.6g} {unit_label(lab.unit_canonical)}"
        lines.append(line)
    if w.dialysis:
        lines.append(_("dialysis ≥ 2× in the past week: yes"))
    else:
        lines.append(_("dialysis ≥ 2× in the past week: no"))
    lines.append(classic_working_line(result))
    if w.meld_na is not None:
        na = w.meld_na
        # The sodium is None when its term does not apply (MELD(i) at or below 11).
        if na.sodium_term_applied and na.sodium_mmol_l is not None:
            line = _("MELD-Na: MELD(i) {meld_i}, sodium {sodium} mmol/L → {exact} → {meld_na}")
            line = line.format(
                meld_i=na.meld_i,
                sodium=f"{na.sodium_mmol_l:g}",
                exact=f"{na.unrounded:.2f}",
                meld_na=na.meld_na,
            )
        else:
            line = _(
                "MELD-Na: MELD(i) {meld_i} ≤ {threshold}, sodium term not applied → {meld_na}"
            ).format(meld_i=na.meld_i, threshold=MELD_NA.threshold, meld_na=na.meld_na)
        lines.append(line)
    if w.meld_3_0 is not None:
        m3 = w.meld_3_0
        if m3.female:
            text = _(
                "MELD 3.0 (female): bilirubin {bilirubin}, INR {inr}, creatinine {creatinine},"
                " sodium {sodium}, albumin {albumin} → {exact} → {meld_3_0}"
            )
        else:
            text = _(
                "MELD 3.0 (male): bilirubin {bilirubin}, INR {inr}, creatinine {creatinine},"
                " sodium {sodium}, albumin {albumin} → {exact} → {meld_3_0}"
            )
        lines.append(
            text.format(
                bilirubin=f"{m3.bilirubin_mg_dl:g}",
                inr=f"{m3.inr:g}",
                creatinine=f"{m3.creatinine_mg_dl:g}",
                sodium=f"{m3.sodium_mmol_l:g}",
                albumin=f"{m3.albumin_g_dl:g}",
                exact=f"{m3.unrounded:.2f}",
                meld_3_0=m3.meld_3_0,
            )
        )
    lines += list(w.not_calculated)
    # The bounds' own words are the engine's (and the JSON's): still English.
    lines += [_("bound applied: {bound}").format(bound=b) for b in w.bounds_applied]
    return lines


def meld_text(result: MeldResult) -> str:
    """``calc meld``'s output: the scores, then the working."""
    return "\n".join(
        [
            _("Classic MELD: {meld}").format(meld=result.meld),
            _("MELD-Na: {score} (context)").format(score=_score(result.meld_na)),
            _("MELD 3.0: {score} (context)").format(score=_score(result.meld_3_0)),
            _("Working:"),
            *(f"  {line}" for line in meld_working_lines(result)),
        ]
    )


def _score(value: int | None) -> str:
    return _("not calculated (inputs missing)") if value is None else str(value)


def stratum_text(a: Assessment) -> str | None:
    s = a.stratum
    if s is None:
        return None
    group = s.group.replace(">=", "≥ ").replace("<", "< ")
    if s.this_group_larger:
        text = _(
            "Baseline MELD {group}: in the meta-analysis this group had the larger MELD decrease"
            " ({p}; group sizes and their decreases not reported)."
        )
    else:
        text = _(
            "Baseline MELD {group}: in the meta-analysis this group had the smaller MELD decrease"
            " ({p}; group sizes and their decreases not reported)."
        )
    return text.format(group=group, p=s.p_value)


def versions_text(a: Assessment) -> str:
    text = _("calc {app} · evidence {evidence}").format(
        app=a.stamp.app_version, evidence=a.stamp.evidence_version
    )
    if a.stamp.context_evidence_version:
        text += _(" · context evidence {version}").format(version=a.stamp.context_evidence_version)
    return text


def summary_text(a: Assessment) -> str:
    """The whole result in plain text (the command line, the JSON's summary_text)."""
    mr = a.meld_reduction
    title, pooled, basis = _summary_fixed(a)
    lines = [title, _("Inputs: {inputs}").format(inputs=input_line(a))]
    if mr.available:
        lines.append(
            _("Expected MELD after MSCT: {value} — {what} (baseline {exact}).").format(
                value=meld_after_text(a), what=_(HEADLINE_WHAT), exact=meld_after_exact_text(a)
            )
        )
        lines.append(pooled)
        for r in mr.ranges:
            lines.append(f"  {range_kind_text(r.kind)}: {range_text(r)}. {r.assumption}")
    else:
        lines.append(
            _("Expected MELD after MSCT: no estimate for {type}.").format(
                type=a.inputs.failure_type.value
            )
        )
    if a.warnings:
        lines.append(_("Warnings:"))
        lines.extend(f"  - {w.title}: {w.message}" for w in a.warnings)
    lines.extend(context_lines(a))
    if a.inputs.transplant_date is None:
        # No dates: these lines depend only on the type, the stratum and whether the
        # baseline TBIL is above the pooled level.
        s = a.stratum
        key = ("summary middle", a.inputs.failure_type, s and s.group, a.tbil.informative,
               i18n.get_language())  # fmt: skip
        lines.extend(once(a.stamp, key, lambda: _summary_middle(a)))
    else:
        lines.extend(_summary_middle(a))
    if a.labs is not None:
        lines.append(
            _(
                "MELD from labs: classic MELD {meld}; MELD-Na {meld_na}; MELD 3.0 {meld_3_0}"
                " (MELD-Na and MELD 3.0 for context only)."
            ).format(
                meld=a.labs.meld, meld_na=_score(a.labs.meld_na), meld_3_0=_score(a.labs.meld_3_0)
            )
        )
    if a.followup is not None and a.followup.markers:
        lines.append(_("Follow-up:"))
        lines.extend(f"  {m.symbol} {m.text}" for m in a.followup.markers)
    lines.append(basis)
    return "\n".join(lines)


def _summary_middle(a: Assessment) -> tuple[str, ...]:
    """The stratum, the scope and what the meta-analysis reports for the markers, with the
    dates to check them."""
    lines = []
    strat = stratum_text(a)
    if strat:
        lines.append(strat)
    if a.scope_note:
        lines.append(a.scope_note)
    lines.append(_("What the meta-analysis reports for the early markers:"))
    if a.population_note:
        lines.append(f"  {a.population_note}")
    alt_when = _("day {day}").format(day=a.alt.check_day) + (
        f", {date_both(a.alt.check_date)}" if a.alt.check_date else ""
    )
    tbil_when = _("days {days}").format(days=days_text(a.tbil.check_days)) + (
        f", {', '.join(date_both(d) for d in a.tbil.check_dates)}" if a.tbil.check_dates else ""
    )
    lines.append(
        _("  ALT: {finding} Date to check: {when}.").format(finding=a.alt.finding, when=alt_when)
    )
    if a.tbil.informative:
        tbil_line = _("  TBIL: {finding} Dates to check: {when}.")
    else:
        tbil_line = _(
            "  TBIL: {finding} This patient's baseline is already at or below that level. Dates"
            " to check: {when}."
        )
    lines.append(tbil_line.format(finding=a.tbil.finding, when=tbil_when))
    return tuple(lines)


def _summary_fixed(a: Assessment) -> tuple[str, str, str]:
    """The summary's lines that no patient changes (title, pooled decrease, basis): built
    once per evidence, type and language."""
    mr, language = a.meld_reduction, i18n.get_language()
    key = ("summary lines", a.inputs.failure_type, mr.as_printed, mr.spread_kind, language)
    return once(a.stamp, key, lambda: _build_summary_fixed(a))


def _build_summary_fixed(a: Assessment) -> tuple[str, str, str]:
    mr, stamp = a.meld_reduction, a.stamp
    title = _("MSCT in liver failure: expected course ({versions})").format(
        versions=versions_text(a)
    )
    pooled = _("Pooled {type} MELD decrease: {as_printed} as printed; {spread}.").format(
        type=a.inputs.failure_type.value,
        as_printed=mr.as_printed,
        spread=spread_kind_text(mr.spread_kind),
    )
    basis = _(
        "Basis: {citation}, doi:{doi} ({document}; {articles} articles, n = {patients})."
        " Before/after changes in treated patients, not versus control. MSCT is"
        " investigational; decision support only, not for transplant allocation."
    ).format(
        citation=stamp.short_citation,
        doi=stamp.doi,
        document=_(stamp.document_read),
        articles=stamp.articles,
        patients=stamp.patients,
    )
    return title, pooled, basis


def note_text(a: Assessment, *, assessed: str, reference: str | None) -> str:
    """At most six lines to paste into a clinical note.

    ``assessed``: when the assessment was made, as the adapter words it.
    """
    i, mr = a.inputs, a.meld_reduction
    ref = reference.strip() if reference else ""
    if i.meld_source == "labs":
        meld = _("baseline MELD {meld} (classic, from labs)").format(meld=i.meld)
    else:
        meld = _("baseline MELD {meld}").format(meld=i.meld)
    if mr.available:
        expected = _("Expected MELD after MSCT: {value} ({what}).").format(
            value=meld_after_text(a), what=_(HEADLINE_WHAT)
        )
    else:
        expected = _("Expected MELD after MSCT: no estimate for {type}.").format(
            type=i.failure_type.value
        )
    titles = _("; ").join(w.title for w in a.warnings) if a.warnings else _("none")
    source = _("Source: {citation}, doi:{doi}").format(
        citation=a.stamp.short_citation, doi=a.stamp.doi
    )
    if a.context.evidence is not None:
        source += _(
            "; controlled context {citation}, doi:{doi} (not used in the calculation)"
        ).format(
            citation=a.context.evidence.source.short_citation, doi=a.context.evidence.source.doi
        )
    if ref:
        first = _("MSCT liver-failure assessment, {assessed}, patient ref {ref}").format(
            assessed=assessed, ref=ref
        )
    else:
        first = _("MSCT liver-failure assessment, {assessed}").format(assessed=assessed)
    lines = [
        first,
        f"{i.failure_type.value}; {meld}.",
        expected,
        _("Warnings: {titles}.").format(titles=titles),
        f"{source}; {versions_text(a)}.",
    ]
    return "\n".join(lines)
