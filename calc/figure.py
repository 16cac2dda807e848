"""Geometry of the result figure (pure): where each mark goes, not what it means.

The template draws an inline SVG from these numbers; every value drawn is one
the engine computed. Marks differ by shape and line style as well as by
shade, so the figure reads in black and white.
"""

from __future__ import annotations

from dataclasses import dataclass

from .engine import MELD_CAP, MELD_FLOOR, Assessment
from .report import meld_after_text, pooled_tbil_text, tbil_text

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
        Tick(_scale(v, MELD_FLOOR, MELD_CAP), str(v)) for v in (6, 10, 15, 20, 25, 30, 35, 40)
    )
    after_x = after_label = None
    range_x: tuple[float, float] | None = None
    range_label = None
    if mr.available and mr.expected_meld_after is not None:
        after_x = _scale(mr.expected_meld_after, MELD_FLOOR, MELD_CAP)
        after_label = f"Expected after MSCT: {meld_after_text(a)}"
        if mr.ranges:
            r = mr.ranges[0]
            range_x = (
                _scale(r.meld_after_low, MELD_FLOOR, MELD_CAP),
                _scale(r.meld_after_high, MELD_FLOOR, MELD_CAP),
            )
            range_label = f"{r.kind} range {r.meld_after_low:.1f}–{r.meld_after_high:.1f}" + (
                " (if ± were an SD)" if r.kind == "scenario" else ""
            )
    meld_panel = MeldPanel(
        ticks=meld_ticks,
        baseline_x=_scale(a.inputs.meld, MELD_FLOOR, MELD_CAP),
        baseline_label=f"Baseline: {a.inputs.meld}",
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
        baseline_label=f"baseline TBIL {tbil_text(a.tbil.baseline_umol_l, unit)}",
        pooled_x=_scale(a.tbil.pooled_level_umol_l, 0, top),
        pooled_label=f"pooled level at 2 and 3 months, {pooled_tbil_text(a)}",
    )
    if mr.available:
        meld_text = (
            f"MELD from baseline {a.inputs.meld} to an expected {meld_after_text(a)} after MSCT"
        )
    else:
        meld_text = f"Baseline MELD {a.inputs.meld}; no estimate of the MELD after MSCT"
    description = (
        f"{meld_text}. Baseline TBIL {tbil_text(a.tbil.baseline_umol_l, unit)} against the "
        f"pooled level of {pooled_tbil_text(a)} reached at 2 and 3 months."
    )
    return Figure(WIDTH, LEFT, RIGHT, meld_panel, tbil_panel, description)
