"""Geometry of the figures: what is drawn is what the engine computed."""

from __future__ import annotations

from typing import Any

import pytest

from calc.core.assessment import run, validate_request
from calc.core.evidence import Evidence
from calc.web.figure import Trajectory, build_trajectory

BASE: dict[str, Any] = {
    "failure_type": "ACLF",
    "meld": 27,
    "alt": 240,
    "tbil": 320,
    "transplant_date": "2026-01-10",
}


def _trajectory(evidence: Evidence, **followup: Any) -> Trajectory | None:
    request = validate_request({**BASE, "followup": followup}, allow_text=False)
    return build_trajectory(run(request, evidence))


@pytest.mark.hazard("H-13")
def test_h13_observed_meld_is_drawn_beside_the_expected_value(evidence: Evidence) -> None:
    # ACLF getting worse: MELD 27 -> 33 on day 30. Expected after MSCT: 27 - 14.93 = 12.07,
    # shown as "about 12" (Cao et al. 2018 abstract; exact).
    t = _trajectory(evidence, meld={"value": 33, "day": 30})
    assert t is not None
    (panel,) = [p for p in t.panels if p.title == "MELD (points)"]
    assert [p.label for p in panel.points] == ["baseline", "day 30"]
    baseline, observed = panel.points
    assert observed.y < baseline.y  # higher MELD is drawn higher (smaller y)
    assert panel.pooled is not None and panel.pooled_label == "expected about 12"
    # The expected line lies below the baseline point and far below the observed one.
    assert panel.pooled[2] > baseline.y > observed.y
    assert "MELD has risen 6 points (27 → 33) on day 30" in t.description


def test_no_expected_line_where_there_is_no_estimate(evidence: Evidence) -> None:
    request = validate_request(
        {**BASE, "failure_type": "ALF", "followup": {"meld": {"value": 38, "day": 20}}},
        allow_text=False,
    )
    t = build_trajectory(run(request, evidence))
    assert t is not None
    (panel,) = t.panels
    assert panel.title == "MELD (points)" and panel.pooled is None


@pytest.mark.parametrize(
    ("followup", "titles"),
    [
        pytest.param({"alt_day15": {"value": 139, "day": 15}}, ["ALT (U/L)"], id="alt"),
        pytest.param(
            {"tbil_day60": {"value": 70, "day": 60}, "meld": {"value": 20, "day": 60}},
            ["TBIL (μmol/L)", "MELD (points)"],
            id="tbil-and-meld",
        ),
    ],
)
def test_one_panel_per_marker_given(
    evidence: Evidence, followup: dict[str, Any], titles: list[str]
) -> None:
    t = _trajectory(evidence, **followup)
    assert t is not None
    assert [p.title for p in t.panels] == titles
    # The figure grows with its panels, so none is drawn outside it.
    assert all(p.bottom <= t.height for p in t.panels)


def test_no_trajectory_without_follow_up(evidence: Evidence) -> None:
    request = validate_request(BASE, allow_text=False)
    assert build_trajectory(run(request, evidence)) is None
