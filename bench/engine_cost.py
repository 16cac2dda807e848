"""Section 2: the engine in process, microseconds per assessment (median of many)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from calc.core.assessment import run, validate_request
from calc.core.engine import assess
from calc.core.evidence import load_evidence
from calc.core.inputs import validate_inputs
from calc.core.report import to_dict

RAW = {"failure_type": "ACLF", "meld": 28, "alt": 240, "tbil": 320}
# The same patient with the baseline MELD computed from labs: the classic MELD worked example
# (bilirubin 4.2 mg/dL, INR 1.2, creatinine 1.9 mg/dL → MELD 20).
RAW_LABS = {
    "failure_type": "ACLF",
    "alt": 240,
    "tbil": 4.2,
    "tbil_unit": "mg/dL",
    "labs": {
        "inr": 1.2,
        "creatinine": 1.9,
        "creatinine_unit": "mg/dL",
        "dialysis": False,
        "sodium": 125,
    },
}


def _per_call_us(fn: Callable[[], object], calls: int, repeats: int) -> float:
    """Median over ``repeats`` of the mean time of ``calls`` calls, in microseconds."""
    fn()  # warm
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(samples)


def measure(calls: int = 2000, repeats: int = 15) -> dict[str, float]:
    """Microseconds per call: validation, assessment, JSON data, and all three."""
    evidence = load_evidence()
    inputs = validate_inputs(RAW, allow_text=False)
    result = assess(inputs, evidence)

    def validate() -> object:
        return validate_inputs(RAW, allow_text=False)

    def engine() -> object:
        return assess(inputs, evidence)

    def report() -> object:
        return to_dict(result)

    def everything() -> object:
        return to_dict(assess(validate_inputs(RAW, allow_text=False), evidence))

    def with_labs() -> object:
        return to_dict(run(validate_request(RAW_LABS, allow_text=False), evidence))

    return {
        "validate_inputs": _per_call_us(validate, calls, repeats),
        "assess": _per_call_us(engine, calls, repeats),
        "to_dict": _per_call_us(report, calls, repeats),
        "validate_inputs + assess + to_dict": _per_call_us(everything, calls, repeats),
        "the same with MELD from labs (MELD, MELD-Na)": _per_call_us(with_labs, calls, repeats),
    }
