"""Geometry of the result figure (pure): where each mark goes, not what it means.

The template draws an inline SVG from these numbers; every value drawn is one
the engine computed. Marks differ by shape and line style as well as by
shade, so the figure reads in black and white.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.i18n import gettext
from ..core.report import meld_after_text, pooled_tbil_text, tbil_text
from ..core.results import Assessment
from ..core.rules import MELD_CAP, MELD_FLOOR

WIDTH = 640
LEFT = 150
RIGHT = 610
TBIL_AXIS_STEPS = (1, 2, 2.5, 5)


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class MeldPanel:
    ticks: tuple[Tick, ...]
    baseline_x: float
    baseline_label: str
    after_x: float | None
    after_label: str | None
    range_x: tuple[float, float] | None
    range_label: str | None


@dataclass(frozen=True)
class TbilPanel:
    ticks: tuple[Tick, ...]
    unit_label: str
    baseline_x: float
    baseline_label: str
    pooled_x: float
    pooled_label: str


@dataclass(frozen=True)
class Figure:
    width: int
    left: int
    right: int
    meld: MeldPanel
    tbil: TbilPanel
    description: str


def _scale(value: float, low: float, high: float) -> float:
    return LEFT + (value - low) / (high - low) * (RIGHT - LEFT)


def _nice_max(value: float) -> float:
    """The smallest 1/2/2.5/5 × 10^k at or above ``value``."""
    magnitude = 10.0 ** (len(str(int(value))) - 1) if value >= 1 else 0.1
    for step in (*TBIL_AXIS_STEPS, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def build_figure(a: Assessment) -> Figure:
    mr = a.meld_reduction
    meld_ticks = tuple(
        Tick(_scale(v, MELD_FLOOR, MELD_CAP), str(v))
        for v in (MELD_FLOOR, 10, 15, 20, 25, 30, 35, MELD_CAP)
    )
    after_x = after_label = None
    range_x: tuple[float, float] | None = None
    range_label = None
    if mr.available and mr.expected_meld_after is not None:
        after_x = _scale(mr.expected_meld_after, MELD_FLOOR, MELD_CAP)
        after_label = gettext("Expected after MSCT: {value}").format(value=meld_after_text(a))
        if mr.ranges:
            r = mr.ranges[0]
            range_x = (
                _scale(r.meld_after_low, MELD_FLOOR, MELD_CAP),
                _scale(r.meld_after_high, MELD_FLOOR, MELD_CAP),
            )
            range_label = f"{r.kind} interval {r.meld_after_low:.1f}–{r.meld_after_high:.1f}"
    meld_panel = MeldPanel(
        ticks=meld_ticks,
        baseline_x=_scale(a.inputs.meld, MELD_FLOOR, MELD_CAP),
        baseline_label=gettext("Baseline: {meld}").format(meld=a.inputs.meld),
        after_x=after_x,
        after_label=after_label,
        range_x=range_x,
        range_label=range_label,
    )

    unit = a.tbil.unit
    in_unit = a.tbil.pooled_level_in_unit / a.tbil.pooled_level_umol_l
    top_in_unit = _nice_max(
        max(a.tbil.baseline_umol_l, a.tbil.pooled_level_umol_l) * 1.05 * in_unit
    )
    top = top_in_unit / in_unit  # the same axis top in μmol/L
    tbil_ticks = tuple(
        Tick(_scale(top * k / 4, 0, top), f"{top_in_unit * k / 4:g}") for k in range(5)
    )
    tbil_panel = TbilPanel(
        ticks=tbil_ticks,
        unit_label="mg/dL" if unit == "mg/dL" else "μmol/L",
        baseline_x=_scale(a.tbil.baseline_umol_l, 0, top),
        baseline_label=gettext("baseline TBIL {value}").format(
            value=tbil_text(a.tbil.baseline_umol_l, unit)
        ),
        pooled_x=_scale(a.tbil.pooled_level_umol_l, 0, top),
        pooled_label=gettext("pooled level at 2 and 3 months, {value}").format(
            value=pooled_tbil_text(a)
        ),
    )
    if mr.available:
        meld_text = gettext("MELD from baseline {meld} to an expected {value} after MSCT").format(
            meld=a.inputs.meld, value=meld_after_text(a)
        )
    else:
        meld_text = gettext("Baseline MELD {meld}; no estimate of the MELD after MSCT").format(
            meld=a.inputs.meld
        )
    description = gettext(
        "{meld_text}. Baseline TBIL {baseline} against the pooled level of {pooled} reached"
        " at 2 and 3 months."
    ).format(
        meld_text=meld_text,
        baseline=tbil_text(a.tbil.baseline_umol_l, unit),
        pooled=pooled_tbil_text(a),
    )
    return Figure(WIDTH, LEFT, RIGHT, meld_panel, tbil_panel, description)


# --------------------------------------------------------------------------
# The follow-up trajectory: ALT and TBIL over days since MSCT

TRAJ_LEFT = 70
TRAJ_RIGHT = 610
PANEL_TOP = 34
PANEL_HEIGHT = 56
PANEL_GAP = 34


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    day_known: bool


@dataclass(frozen=True)
class TrajectoryPanel:
    title: str
    top: float
    bottom: float
    y_ticks: tuple[Tick, ...]  # Tick.x holds the y coordinate here
    points: tuple[Point, ...]
    path: str  # SVG path joining the points in day order
    pooled: tuple[float, float, float] | None  # x1, x2, y of the pooled TBIL level
    pooled_label: str | None


@dataclass(frozen=True)
class Trajectory:
    width: int
    height: int
    left: int
    right: int
    x_ticks: tuple[Tick, ...]
    marker_days: tuple[Tick, ...]
    panels: tuple[TrajectoryPanel, ...]
    description: str


def _panel(
    title: str,
    index: int,
    values: list[tuple[float, float, str, bool]],  # day, value in unit, label, day known
    x_of: Any,
    pooled: tuple[float, float, float, str] | None,  # day1, day2, value, label
) -> TrajectoryPanel:
    top = PANEL_TOP + index * (PANEL_HEIGHT + PANEL_GAP)
    bottom = top + PANEL_HEIGHT
    highest = max([v for _, v, _, _ in values] + ([pooled[2]] if pooled else []))
    y_max = _nice_max(highest * 1.1)

    def y_of(v: float) -> float:
        return bottom - v / y_max * (bottom - top)

    points = tuple(Point(x_of(d), y_of(v), label, known) for d, v, label, known in values)
    ordered = sorted(points, key=lambda p: p.x)
    path = " ".join(f"{'M' if i == 0 else 'L'}{p.x:.1f} {p.y:.1f}" for i, p in enumerate(ordered))
    ticks = tuple(Tick(y_of(y_max * k / 2), f"{y_max * k / 2:g}") for k in range(3))
    pooled_geom = None
    pooled_label = None
    if pooled is not None:
        pooled_geom = (x_of(pooled[0]), x_of(pooled[1]), y_of(pooled[2]))
        pooled_label = pooled[3]
    return TrajectoryPanel(title, top, bottom, ticks, points, path, pooled_geom, pooled_label)


def build_trajectory(a: Assessment) -> Trajectory | None:
    """ALT, TBIL and MELD from day 0 (baseline) to each follow-up value; None without any.

    Observed MELD values are drawn beside the expected MELD after MSCT (a line
    across the panel: the source gives no time point for it).
    """
    fu = a.followup
    if fu is None:
        return None
    alt_values = [m for m in fu.markers if m.marker == "ALT"]
    tbil_values = [m for m in fu.markers if m.marker == "TBIL"]
    meld_values = [m for m in fu.markers if m.marker == "MELD"]
    days = [m.day if m.day is not None else (m.target_day or 0) for m in fu.markers]
    # Days 0–120 hold all three marker days; later values widen the axis by months.
    last_day = max([*days, a.tbil.check_days[-1]])
    x_max = float(max(120, -(-(last_day + 10) // 30) * 30))

    def x_of(day: float) -> float:
        return TRAJ_LEFT + day / x_max * (TRAJ_RIGHT - TRAJ_LEFT)

    alt_unit = a.inputs.alt_unit.value
    tbil_unit = a.inputs.tbil_unit.value
    alt_scale = a.inputs.alt_entered / a.inputs.alt_u_l
    tbil_scale = a.inputs.tbil_entered / a.inputs.tbil_umol_l

    def day_of(m: Any) -> tuple[float, bool]:
        return (float(m.day), True) if m.day is not None else (float(m.target_day or 0), False)

    panels: list[TrajectoryPanel] = []
    if alt_values:
        alt_series = [(0.0, a.inputs.alt_entered, gettext("baseline"), True)]
        for m in alt_values:
            d, known = day_of(m)
            label = _day(m.day)
            alt_series.append((d, m.canonical * alt_scale, label, known))
        title = f"ALT ({'μkat/L' if alt_unit == 'ukat/L' else 'U/L'})"
        panels.append(_panel(title, len(panels), alt_series, x_of, None))
    tbil_series = [(0.0, a.inputs.tbil_entered, gettext("baseline"), True)]
    for m in tbil_values:
        d, known = day_of(m)
        tbil_series.append((d, m.canonical * tbil_scale, _day(m.day), known))
    check_days = a.tbil.check_days
    pooled = (
        float(check_days[0]),
        float(check_days[-1]),
        a.tbil.pooled_level_umol_l * tbil_scale,
        gettext("pooled level {value}, days {first}–{last}").format(
            value=pooled_tbil_text(a), first=check_days[0], last=check_days[-1]
        ),
    )
    if tbil_values:
        title = f"TBIL ({'mg/dL' if tbil_unit == 'mg/dL' else 'μmol/L'})"
        panels.append(_panel(title, len(panels), tbil_series, x_of, pooled))
    if meld_values:
        meld_series = [(0.0, float(a.inputs.meld), gettext("baseline"), True)]
        for m in meld_values:
            known = m.day is not None
            d = float(m.day) if m.day is not None else x_max - 5
            meld_series.append((d, m.canonical, _day(m.day), known))
        mr = a.meld_reduction
        expected = None
        if mr.available and mr.expected_meld_after_display is not None:
            expected = (
                0.0,
                x_max,
                float(mr.expected_meld_after_display),
                gettext("expected {value}").format(value=meld_after_text(a)),
            )
        panels.append(_panel(gettext("MELD (points)"), len(panels), meld_series, x_of, expected))
    step = 30 if x_max <= 200 else 60
    x_ticks = tuple(Tick(x_of(d), str(d)) for d in range(0, int(x_max) + 1, step))
    marker_days = tuple(Tick(x_of(d), _day(d)) for d in (a.alt.check_day, *a.tbil.check_days))
    parts = [m.text for m in fu.markers]
    return Trajectory(
        width=WIDTH,
        height=int(PANEL_TOP + len(panels) * (PANEL_HEIGHT + PANEL_GAP)),
        left=TRAJ_LEFT,
        right=TRAJ_RIGHT,
        x_ticks=x_ticks,
        marker_days=marker_days,
        panels=tuple(panels),
        description=" ".join(parts),
    )


def _day(day: int | None) -> str:
    """A point's day: "day 15", or "day ?" when it was not given."""
    return gettext("day {day}").format(day=day) if day is not None else gettext("day ?")
