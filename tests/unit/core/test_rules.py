"""calc.core.rules: one patient and a cohort get the same answer from the same rule."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from calc.core import rules
from calc.core.meld import CLASSIC_MELD

# Around and at both bounds (6 and 40, OPTN), beyond them, and what is not a number.
EDGES = (
    math.nan,
    -math.inf,
    -1.0,
    0.0,
    5.999,
    6.0,
    6.001,
    13.07,
    39.999,
    40.0,
    40.001,
    1e300,
    math.inf,
)


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or (
        a == b and math.copysign(1, a) == math.copysign(1, b)
    )


def test_bound_meld_keeps_the_bounds_of_the_meld_table() -> None:
    # Exact: the bounds are whole numbers (tolerance 0).
    assert rules.bound_meld(5.999) == CLASSIC_MELD.score_min == 6
    assert rules.bound_meld(40.001) == CLASSIC_MELD.score_max == 40
    assert rules.bound_meld(13.07) == 13.07
    assert math.isnan(rules.bound_meld(math.nan))  # no estimate stays no estimate


@given(st.lists(st.one_of(st.sampled_from(EDGES), st.floats(allow_nan=True)), min_size=1))
def test_bound_meld_of_one_float_is_bit_for_bit_the_array_answer(values: list[float]) -> None:
    """The scalar path (plain min/max) and the array path (numpy) agree exactly, NaN included."""
    array = rules.bound_meld(np.array(values, dtype=np.float64))
    for value, from_array in zip(values, array.tolist(), strict=True):
        assert _same(rules.bound_meld(value), from_array), (value, from_array)
        # A numpy scalar (one element of a table) takes the scalar path too.
        assert _same(float(rules.bound_meld(np.float64(value))), from_array), value
