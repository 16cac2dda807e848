"""Follow-up: the patient's early-response markers against the pooled response (pure).

Cao et al. 2018 propose judging MSCT early by ALT at half a month (day 15) and
TBIL at 2 and 3 months (days 60 and 90). Here the clinician's follow-up values
are compared with the patient's own baseline and with the pooled TBIL level.
The words describe; they never prescribe ("ALT has fallen 42 % from
baseline", never "the treatment works").

The validated follow-up inputs (:class:`Measurement`, :class:`FollowupInputs`)
are here beside their validator; the results (:class:`~calc.core.results.MarkerStatus`,
:class:`~calc.core.results.FollowupResult`) are in :mod:`calc.core.results`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from .evidence import Evidence, FailureType
from .i18n import N_, gettext
from .inputs import (
    ALT_RANGES,
    DAY_RANGE,
    MELD_RANGE,
    TBIL_PER_UMOL_L,
    TBIL_RANGES,
    U_L_PER_UKAT_L,
    AltUnit,
    InputError,
    PatientInputs,
    Range,
    TbilUnit,
    alt_to_u_l,
    check_in_unit,
    check_number,
    parse_alt_unit,
    parse_date,
    parse_tbil_unit,
    tbil_to_umol_l,
    umol_l_to_tbil_unit,
)
from .quickinit import quick_init
from .results import FollowupResult, MarkerStatus, WarningItem

# How far from its marker day a value still counts as "at" that marker. These
# windows are ours, not the paper's (it says only "half a month" and "2 and 3
# months"); a value outside its window is still shown, with a warning.
ALT_WINDOW_DAYS = 5
TBIL_WINDOW_DAYS = 15
# A follow-up ALT or TBIL this far from baseline is more likely a unit slip than a
# change (TBIL 6.8 mg/dL typed against μmol/L reads as a 98 % fall): a warning.
IMPLAUSIBLE_FALL_PERCENT = 90.0
IMPLAUSIBLE_RISE_FACTOR = 10.0
# Types with no pooled MELD change: an ALT fall is never presented as a response there
# (in acute liver failure a falling ALT can mean a loss of liver cells, not recovery).
NO_ESTIMATE_TYPES = frozenset({FailureType.ALF, FailureType.SALF})


class FollowupKey(StrEnum):
    ALT_DAY15 = "alt_day15"
    TBIL_DAY60 = "tbil_day60"
    TBIL_DAY90 = "tbil_day90"
    MELD = "meld"


FIELD_LABELS = {
    FollowupKey.ALT_DAY15: N_("Follow-up ALT (about day 15)"),
    FollowupKey.TBIL_DAY60: N_("Follow-up TBIL (about day 60)"),
    FollowupKey.TBIL_DAY90: N_("Follow-up TBIL (about day 90)"),
    FollowupKey.MELD: N_("Follow-up MELD"),
}


@dataclass(frozen=True)
class Measurement:
    """One follow-up value; canonical units in the field names."""

    value: float  # as entered
    unit: str  # as entered (API spelling; "" for MELD)
    canonical: float  # U/L for ALT, μmol/L for TBIL, points for MELD
    day: int | None  # days after MSCT, when known
    date: date | None


@quick_init
@dataclass(frozen=True)
class FollowupInputs:
    alt_day15: Measurement | None = None
    tbil_day60: Measurement | None = None
    tbil_day90: Measurement | None = None
    meld: Measurement | None = None

    def given(self) -> dict[FollowupKey, Measurement]:
        values = {
            FollowupKey.ALT_DAY15: self.alt_day15,
            FollowupKey.TBIL_DAY60: self.tbil_day60,
            FollowupKey.TBIL_DAY90: self.tbil_day90,
            FollowupKey.MELD: self.meld,
        }
        return {k: v for k, v in values.items() if v is not None}

    def is_empty(self) -> bool:
        return not self.given()


# --------------------------------------------------------------------------
# Validation (API-shaped input: {"alt_day15": {"value", "unit", "day", "date"}, ...})


def _resolve_day(
    label: str,
    raw_day: object,
    raw_date: object,
    transplant_date: date | None,
    allow_text: bool,
    transplant_date_valid: bool = True,
) -> tuple[int | None, date | None]:
    day = None
    if raw_day is not None and not (isinstance(raw_day, str) and not raw_day.strip()):
        day_range = replace(DAY_RANGE, label=gettext("{label}: day after MSCT").format(label=label))
        day = int(check_number(raw_day, day_range, allow_text=allow_text))
    try:
        taken = parse_date(raw_date)
    except ValueError as exc:
        message = str(exc).replace("Transplant date", "the date")  # English: "the date ..."
        raise ValueError(
            gettext("{label}: {message}").format(label=label, message=message)
        ) from None
    if taken is None:
        return day, None
    if transplant_date is None:
        if not transplant_date_valid:
            raise ValueError(
                gettext("{label}: correct the date of MSCT to place this date.").format(label=label)
            )
        raise ValueError(
            gettext(
                "{label}: a date needs the date of MSCT; give the date of MSCT, or the day number."
            ).format(label=label)
        )
    from_date = (taken - transplant_date).days
    if not DAY_RANGE.low <= from_date <= DAY_RANGE.high:
        raise ValueError(
            gettext(
                "{label}: the date must be from the day of MSCT to {high} days after it (it is"
                " {days} days after)."
            ).format(label=label, high=f"{DAY_RANGE.high:g}", days=from_date)
        )
    if day is not None and day != from_date:
        raise ValueError(
            gettext(
                "{label}: day {day} does not match the date, which is day {days} after MSCT."
            ).format(label=label, day=day, days=from_date)
        )
    return from_date, taken


_KNOWN = {"value", "unit", "day", "date"}


def validate_followup(
    raw: Mapping[str, object] | None,
    transplant_date: date | None,
    *,
    allow_text: bool,
    transplant_date_valid: bool = True,
    default_units: Mapping[str, object] | None = None,
) -> FollowupInputs:
    """Validate the optional follow-up values; errors keyed ``followup.<marker>``.

    A follow-up value without a unit takes the unit of the same analyte at
    baseline (``default_units``: ``{"alt": ..., "tbil": ...}`` as entered), so a
    value typed in the baseline's unit is never read in another.
    """
    if raw is None:
        return FollowupInputs()
    if not isinstance(raw, Mapping):
        raise InputError({"followup": ["Follow-up must be an object."]})
    errors: dict[str, list[str]] = {}
    out: dict[FollowupKey, Measurement] = {}
    for name in raw:
        if name not in set(FollowupKey):
            allowed = ", ".join(k.value for k in FollowupKey)
            errors[f"followup.{name}"] = [f"Unknown follow-up field {name!r}; allowed: {allowed}."]
    for key in FollowupKey:
        item = raw.get(key.value)
        if item is None:
            continue
        field = f"followup.{key.value}"
        label = gettext(FIELD_LABELS[key])
        if not isinstance(item, Mapping):
            errors[field] = [
                gettext("{label} must be an object with value, unit and day or date.").format(
                    label=label
                )
            ]
            continue
        unknown = sorted(set(item) - _KNOWN)
        if unknown:
            errors[field] = [f"{label}: unknown field(s) {', '.join(unknown)}."]
            continue
        try:
            out[key] = _measurement(
                key, label, item, transplant_date, allow_text, transplant_date_valid,
                default_units or {},
            )  # fmt: skip
        except ValueError as exc:
            errors[field] = [str(exc)]
    if errors:
        raise InputError(errors)
    return FollowupInputs(
        alt_day15=out.get(FollowupKey.ALT_DAY15),
        tbil_day60=out.get(FollowupKey.TBIL_DAY60),
        tbil_day90=out.get(FollowupKey.TBIL_DAY90),
        meld=out.get(FollowupKey.MELD),
    )


def _unit_or_default(
    unit: object, baseline_unit: object, parse: Callable[[object], object]
) -> object:
    """The follow-up unit as given, else the baseline's (if that one is a valid unit).

    A baseline unit that is not valid is reported under its own field only: the
    follow-up value then takes the default unit rather than a second error.
    """
    if unit is not None:
        return unit
    try:
        parse(baseline_unit)
    except ValueError:
        return None
    return baseline_unit


def _labelled(rng: Range, label: str) -> Range:
    return replace(rng, label=label)


def _measurement(
    key: FollowupKey,
    label: str,
    item: Mapping[str, object],
    transplant_date: date | None,
    allow_text: bool,
    transplant_date_valid: bool,
    default_units: Mapping[str, object],
) -> Measurement:
    value = item.get("value")
    if key is FollowupKey.ALT_DAY15:
        alt_unit = parse_alt_unit(
            _unit_or_default(item.get("unit"), default_units.get("alt"), parse_alt_unit)
        )
        number = check_number(value, _labelled(ALT_RANGES[alt_unit], label), allow_text=allow_text)
        unit, canonical = alt_unit.value, alt_to_u_l(number, alt_unit)
    elif key is FollowupKey.MELD:
        if item.get("unit") not in (None, ""):
            raise ValueError(gettext("{label} has no unit (MELD points).").format(label=label))
        number = check_number(value, _labelled(MELD_RANGE, label), allow_text=allow_text)
        unit, canonical = "", number
    else:
        tbil_unit = parse_tbil_unit(
            _unit_or_default(item.get("unit"), default_units.get("tbil"), parse_tbil_unit)
        )
        # The same mislabel guard as the baseline TBIL (85 "mg/dL" looks like μmol/L).
        labelled = {u: _labelled(r, label) for u, r in TBIL_RANGES.items()}
        number = check_in_unit(value, labelled, tbil_unit, TBIL_PER_UMOL_L, allow_text=allow_text)
        unit, canonical = tbil_unit.value, tbil_to_umol_l(number, tbil_unit)
    day, taken = _resolve_day(
        label, item.get("day"), item.get("date"), transplant_date, allow_text, transplant_date_valid
    )
    return Measurement(value=number, unit=unit, canonical=canonical, day=day, date=taken)


# --------------------------------------------------------------------------
# Status of each marker


def _num(x: float, decimals: int = 2) -> str:
    """At most ``decimals`` places, no trailing zeros: 70 -> "70", 78.56 -> "78.56".

    Two places, as the pooled level is printed (78.57 μmol/L), so a value shown
    never seems to contradict its status (78.56 is not shown as 78.6).
    """
    text = f"{x:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _fmt_alt(value_u_l: float, unit: str) -> str:
    if unit == AltUnit.UKAT_L.value:
        return f"{_num(value_u_l / U_L_PER_UKAT_L, 3)} μkat/L"
    return f"{_num(value_u_l)} U/L"


def _fmt_tbil(value_umol_l: float, unit: str) -> str:
    if unit == TbilUnit.MG_DL.value:
        return f"{_num(umol_l_to_tbil_unit(value_umol_l, TbilUnit.MG_DL))} mg/dL"
    return f"{_num(value_umol_l)} μmol/L"


def _pct(p: float) -> str:
    """A percentage that never rounds a change away: 0.42 -> "0.4", 42.08 -> "42"."""
    size = abs(p)
    if size == 0:
        return "0"
    return f"{size:.1f}" if size < 1 or size > 99 else f"{size:.0f}"


def _sign(x: float) -> str:
    return "−" if x < 0 else "+"


def _when(m: Measurement) -> str:
    if m.day is None:
        return gettext("on an unrecorded day")
    if m.date:
        return gettext("on day {day} ({date})").format(day=m.day, date=m.date.isoformat())
    return gettext("on day {day}").format(day=m.day)


def _alt_status(m: Measurement, inputs: PatientInputs, evidence: Evidence) -> MarkerStatus:
    baseline = inputs.alt_u_l
    change = m.canonical - baseline
    pct = 100.0 * change / baseline
    target = evidence.alt.check_day
    fallen = m.canonical < baseline
    unit = m.unit
    shown = f"{_fmt_alt(baseline, unit)} → {_fmt_alt(m.canonical, unit)}"
    ft = inputs.failure_type
    if ft in NO_ESTIMATE_TYPES:
        # Described, never read as a response: no ALF/SALF-specific data.
        if fallen:
            text = gettext(
                "ALT has fallen {pct} % from baseline ({shown}) {when}. In {type} a falling ALT"
                " alone does not show recovery, and the meta-analysis has no {type}-specific data."
            )
        else:
            text = gettext(
                "ALT has changed {sign}{pct} % from baseline ({shown}) {when}. In {type} a falling"
                " ALT alone does not show recovery, and the meta-analysis has no {type}-specific"
                " data."
            )
    elif fallen:
        text = gettext(
            "ALT has fallen {pct} % from baseline ({shown}) {when}; in the pooled patients ALT had"
            " fallen at {as_printed} ({p})."
        )
    else:
        text = gettext(
            "ALT has not fallen below baseline ({shown}, {sign}{pct} %) {when}; in the pooled"
            " patients ALT had fallen at {as_printed}."
        )
    text = text.format(
        pct=_pct(pct),
        sign=_sign(pct),
        shown=shown,
        when=_when(m),
        type=ft.value,
        as_printed=evidence.alt.check_day_as_printed,
        p=evidence.alt.p_value.as_printed,
    )
    return MarkerStatus(
        key=FollowupKey.ALT_DAY15.value, marker="ALT", target_day=target, day=m.day, date=m.date,
        value=m.value, unit=unit, canonical=m.canonical, baseline_canonical=baseline,
        change=change, change_percent=pct, status="fallen" if fallen else "not_fallen",
        symbol="↓" if fallen else "↑",
        pooled_level_umol_l=None, above_pooled_by_umol_l=None,
        expected_reduction=None, expected_as_printed=None,
        off_marker_day=m.day is not None and abs(m.day - target) > ALT_WINDOW_DAYS,
        text=text,
    )  # fmt: skip


def _tbil_status(
    key: FollowupKey, target: int, m: Measurement, inputs: PatientInputs, evidence: Evidence
) -> MarkerStatus:
    baseline = inputs.tbil_umol_l
    level = evidence.tbil.pooled_level_umol_l
    change = m.canonical - baseline
    pct = 100.0 * change / baseline
    at_or_below = m.canonical <= level
    unit = m.unit
    # The pooled level as printed (78.57 μmol/L), or converted to mg/dL.
    pooled = (
        evidence.tbil.pooled_level_as_printed
        if unit == TbilUnit.UMOL_L.value
        else _fmt_tbil(level, unit)
    )
    from_baseline = gettext(
        "change from baseline {baseline}: {sign}{change} ({pct_sign}{pct} %)"
    ).format(
        baseline=_fmt_tbil(baseline, unit),
        sign=_sign(change),
        change=_fmt_tbil(abs(change), unit),
        pct_sign=_sign(pct),
        pct=_pct(pct),
    )
    if at_or_below:
        text = gettext(
            "TBIL {value} {when} is at or below the pooled level of {pooled} ({gap} below it);"
            " {from_baseline}."
        ).format(
            value=_fmt_tbil(m.canonical, unit),
            when=_when(m),
            pooled=pooled,
            gap=_fmt_tbil(level - m.canonical, unit),
            from_baseline=from_baseline,
        )
    else:
        text = gettext(
            "TBIL {value} {when} is {gap} above the pooled level of {pooled}; {from_baseline}."
        ).format(
            value=_fmt_tbil(m.canonical, unit),
            when=_when(m),
            pooled=pooled,
            gap=_fmt_tbil(m.canonical - level, unit),
            from_baseline=from_baseline,
        )
    return MarkerStatus(
        key=key.value, marker="TBIL", target_day=target, day=m.day, date=m.date,
        value=m.value, unit=unit, canonical=m.canonical, baseline_canonical=baseline,
        change=change, change_percent=pct,
        status="at_or_below_pooled" if at_or_below else "above_pooled",
        symbol="≤" if at_or_below else ">",
        pooled_level_umol_l=level, above_pooled_by_umol_l=m.canonical - level,
        expected_reduction=None, expected_as_printed=None,
        off_marker_day=m.day is not None and abs(m.day - target) > TBIL_WINDOW_DAYS,
        text=text,
    )  # fmt: skip


def _meld_status(m: Measurement, inputs: PatientInputs, evidence: Evidence) -> MarkerStatus:
    baseline = float(inputs.meld)
    change = m.canonical - baseline
    pct = 100.0 * change / baseline
    ev = evidence.meld_reduction[inputs.failure_type]
    fallen = change < 0
    values = {"baseline": inputs.meld, "now": f"{m.canonical:g}", "points": f"{abs(change):g}"}
    if fallen:
        observed = gettext("MELD has fallen {points} points ({baseline} → {now})").format(**values)
    elif change > 0:
        observed = gettext("MELD has risen {points} points ({baseline} → {now})").format(**values)
    else:
        observed = gettext("MELD has not changed ({baseline} → {now})").format(**values)
    if ev.available and ev.as_printed:
        expected = gettext("the pooled {type} decrease is {as_printed}").format(
            type=inputs.failure_type.value, as_printed=ev.as_printed
        )
    else:
        expected = gettext("there is no pooled estimate for {type}").format(
            type=inputs.failure_type.value
        )
    return MarkerStatus(
        key=FollowupKey.MELD.value, marker="MELD", target_day=None, day=m.day, date=m.date,
        value=m.value, unit="", canonical=m.canonical, baseline_canonical=baseline,
        change=change, change_percent=pct,
        status="fallen" if fallen else "risen" if change > 0 else "unchanged",
        symbol="↓" if fallen else "↑" if change > 0 else "=",
        pooled_level_umol_l=None, above_pooled_by_umol_l=None,
        expected_reduction=ev.mean if ev.available else None,
        expected_as_printed=ev.as_printed if ev.available else None,
        off_marker_day=False,
        text=gettext("{observed} {when}; {expected}.").format(
            observed=observed, when=_when(m), expected=expected
        ),
    )  # fmt: skip


def assess_followup(
    inputs: PatientInputs, evidence: Evidence, followup: FollowupInputs
) -> FollowupResult:
    """Each given follow-up value against the baseline and the pooled response."""
    markers: list[MarkerStatus] = []
    warnings: list[WarningItem] = []
    given = followup.given()
    tbil_days = evidence.tbil.check_days
    targets = {
        FollowupKey.TBIL_DAY60: tbil_days[0],
        FollowupKey.TBIL_DAY90: tbil_days[-1],
    }
    for key, m in given.items():
        if key is FollowupKey.ALT_DAY15:
            status = _alt_status(m, inputs, evidence)
        elif key is FollowupKey.MELD:
            status = _meld_status(m, inputs, evidence)
        else:
            status = _tbil_status(key, targets[key], m, inputs, evidence)
        markers.append(status)
        if status.off_marker_day and status.day is not None:
            window = ALT_WINDOW_DAYS if status.marker == "ALT" else TBIL_WINDOW_DAYS
            warnings.append(
                WarningItem(
                    f"{key.value}_off_marker_day",
                    gettext(
                        "{marker} was taken on day {day}; the marker was defined for day"
                        " {target} (values more than {window} days away are shown but do not"
                        " match the marker)."
                    ).format(
                        marker=status.marker,
                        day=status.day,
                        target=status.target_day,
                        window=window,
                    ),
                )
            )
        if m.day is None and key is not FollowupKey.MELD:
            warnings.append(
                WarningItem(
                    f"{key.value}_day_unknown",
                    gettext(
                        "The day of the follow-up {marker} is not known; the marker was defined"
                        " for day {target}."
                    ).format(marker=status.marker, target=status.target_day),
                )
            )
        unit_check = _unit_check(key, status, inputs)
        if unit_check is not None:
            warnings.append(unit_check)
    if FollowupKey.MELD in given and inputs.failure_type in NO_ESTIMATE_TYPES:
        warnings.append(
            WarningItem(
                "meld_followup_no_estimate",
                gettext(
                    "The observed MELD change is shown without a pooled comparison: the"
                    " meta-analysis has no MELD estimate for {type}."
                ).format(type=inputs.failure_type.value),
            )
        )
    worse = _worsening(markers, inputs)
    return FollowupResult(markers=tuple(markers), warnings=(*worse, *warnings))


def _day_words(m: MarkerStatus) -> str:
    return "" if m.day is None else " " + gettext("on day {day}").format(day=m.day)


def _worsening(markers: list[MarkerStatus], inputs: PatientInputs) -> list[WarningItem]:
    """A rise of MELD or TBIL said in words, first; an ALT fall beside it flagged."""
    out: list[WarningItem] = []
    melds = [m for m in markers if m.marker == "MELD" and m.change > 0]
    tbils = [m for m in markers if m.marker == "TBIL" and m.change > 0]
    for m in melds:
        out.append(WarningItem(
            "meld_rose",
            gettext("MELD has risen from {baseline} to {now}{when}.").format(
                baseline=inputs.meld, now=f"{m.canonical:g}", when=_day_words(m)
            ),
        ))  # fmt: skip
    for m in tbils:
        out.append(WarningItem(
            "tbil_rose",
            gettext("TBIL has risen from {baseline} to {now} (+{pct} %){when}.").format(
                baseline=_fmt_tbil(m.baseline_canonical, m.unit),
                now=_fmt_tbil(m.canonical, m.unit),
                pct=_pct(m.change_percent),
                when=_day_words(m),
            ),
        ))  # fmt: skip
    alt_fell = [m for m in markers if m.marker == "ALT" and m.change < 0]
    if alt_fell and (melds or tbils):
        alt = alt_fell[0]
        rising = gettext(" and ").join(
            name for name, items in (("MELD", melds), ("TBIL", tbils)) if items
        )
        out.append(WarningItem(
            "alt_fall_with_worsening",
            gettext(
                "ALT fell ({baseline} → {now}) while {rising} rose: this is not the course the"
                " meta-analysis describes, in which ALT and TBIL both fell. A falling ALT with a"
                " rising bilirubin or MELD can reflect a loss of functioning liver rather than"
                " recovery."
            ).format(
                baseline=_fmt_alt(alt.baseline_canonical, alt.unit),
                now=_fmt_alt(alt.canonical, alt.unit),
                rising=rising,
            ),
        ))  # fmt: skip
    return out


def _unit_check(key: FollowupKey, m: MarkerStatus, inputs: PatientInputs) -> WarningItem | None:
    """A follow-up ALT or TBIL implausibly far from baseline: likely a unit slip."""
    if m.marker not in {"ALT", "TBIL"}:
        return None
    fmt = _fmt_alt if m.marker == "ALT" else _fmt_tbil
    baseline = fmt(m.baseline_canonical, m.unit)
    value = fmt(m.canonical, m.unit)
    if m.change_percent < -IMPLAUSIBLE_FALL_PERCENT:
        text = gettext(
            "Follow-up {marker} {value} is {pct} % below the baseline of {baseline}: more than a"
            " {fall} % fall or a {rise}-fold rise is more often a unit slip than a change. Check"
            " the unit."
        )
    elif m.canonical > IMPLAUSIBLE_RISE_FACTOR * m.baseline_canonical:
        text = gettext(
            "Follow-up {marker} {value} is {times} times the baseline of {baseline}: more than a"
            " {fall} % fall or a {rise}-fold rise is more often a unit slip than a change. Check"
            " the unit."
        )
    else:
        return None
    return WarningItem(
        f"{key.value}_check_unit",
        text.format(
            marker=m.marker,
            value=value,
            pct=_pct(m.change_percent),
            times=f"{m.canonical / m.baseline_canonical:.3g}",
            baseline=baseline,
            fall=f"{IMPLAUSIBLE_FALL_PERCENT:g}",
            rise=f"{IMPLAUSIBLE_RISE_FACTOR:g}",
        ),
    )
