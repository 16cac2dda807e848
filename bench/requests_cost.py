"""Section 1: the cost of a request under the production server, as a ratio to /healthz.

Cost is measured two ways in the same run: the server's own CPU time per
request (utime + stime of the gunicorn processes, from /proc: unaffected by
other programs on the machine, and not by this client's CPU either), and the
inverse of the throughput (what a client sees). Each endpoint runs in several
short rounds, interleaved with the floor, so each round of an endpoint has
a round of the floor measured just before it, under the same conditions. The
ratio of each such pair is taken, and the best (lowest) of them is the figure
budgets use: noise from other programs only ever adds cost (the reasoning of
``timeit``'s "take the minimum"); the median is shown beside it.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from urllib.parse import urlencode

from .load import LoadResult, Request, run_load
from .served import Server

PATIENT = {"failure_type": "ACLF", "meld": 28, "alt": 240, "tbil": 320}
FORM = {
    "failure_type": "ACLF",
    "meld": "28",
    "alt": "240",
    "alt_unit": "U/L",
    "tbil": "320",
    "tbil_unit": "umol/L",
}

FLOOR = Request("GET /healthz", "GET", "/healthz", expect=b'"status":"ok"')
API = Request(
    "POST /api/v1/assess",
    "POST",
    "/api/v1/assess",
    body=json.dumps(PATIENT).encode(),
    content_type="application/json",
    expect=b'"expected_meld_after":13.07',  # 28 - 14.93 (Cao 2018 abstract)
)
RESULT_PAGE = Request(
    "POST / (result page)",
    "POST",
    "/",
    body=urlencode(FORM).encode(),
    content_type="application/x-www-form-urlencoded",
    expect=b"13.07",
)
FORM_PAGE = Request("GET / (form)", "GET", "/", expect=b"<form")
REQUESTS = (FLOOR, API, RESULT_PAGE, FORM_PAGE)


@dataclass(frozen=True)
class Cost:
    best: LoadResult  # the round with the least server CPU per request
    rounds: tuple[LoadResult, ...]

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.rounds)

    @property
    def best_throughput(self) -> float:
        return max(r.throughput for r in self.rounds)


def measure(
    server: Server,
    *,
    rounds: int,
    max_requests: int,
    max_seconds: float,
    concurrency: int = 4,
    warmup: int = 200,
) -> dict[str, Cost]:
    """Interleaved rounds over every request; the best round of each."""
    for req in REQUESTS:  # warm every worker and code path; not counted
        run_load(server, req, max_requests=warmup, max_seconds=5, concurrency=concurrency)
    results: dict[str, list[LoadResult]] = {r.name: [] for r in REQUESTS}
    for _ in range(rounds):
        for req in REQUESTS:
            results[req.name].append(
                run_load(
                    server,
                    req,
                    max_requests=max_requests,
                    max_seconds=max_seconds,
                    concurrency=concurrency,
                )
            )
    return {
        name: Cost(min(rs, key=lambda r: r.cpu_per_request_s), tuple(rs))
        for name, rs in results.items()
    }


@dataclass(frozen=True)
class Ratio:
    """An endpoint's cost ÷ the floor's, from the pairs of interleaved rounds."""

    cpu_best: float  # server CPU per request: the lowest ratio of a pair (budgets use it)
    cpu_median: float
    throughput_best: float  # the floor's throughput ÷ this one's: the lowest of a pair


def ratios(costs: dict[str, Cost]) -> dict[str, Ratio]:
    floor = costs[FLOOR.name].rounds
    out = {}
    for name, cost in costs.items():
        pairs = list(zip(cost.rounds, floor, strict=True))
        cpu = [r.cpu_per_request_s / f.cpu_per_request_s for r, f in pairs]
        wall = [f.throughput / r.throughput for r, f in pairs]
        out[name] = Ratio(min(cpu), statistics.median(cpu), min(wall))
    return out
