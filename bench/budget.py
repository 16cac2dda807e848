"""The budgets, and the quick check (``python -m bench --check``).

CI (tests/system/test_bench_budget.py) asserts only the budgets that do not depend on
timing; the timing ones are checked here.

Speed budgets are ratios measured in one run, so they hold on a noisy
machine: the server's CPU time per request against the floor's, the best of
three short interleaved rounds; and how cohort time grows with rows. The
absolute ones (first response, bytes, requests) have wide margins.
Sources: this project's performance budgets (README, Benchmarks).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import cohort_rate, requests_cost, startup, weight
from .served import Server, served
from .weight import PageWeight

API_MAX_RATIO = 1.5  # POST /api/v1/assess: at most 1.5x the floor's cost per request
RESULT_PAGE_MAX_RATIO = 4.0  # POST / (result page): at most 4x
FORM_PAGE_MAX_RATIO = 2.0  # GET / (the empty form, rendered once per process): at most 2x
FIRST_RESPONSE_MAX_S = 1.0  # `calc serve` launched -> first 200
PAGE_MAX_BYTES = 100 * 1024  # the page with all its assets
PAGE_MAX_REQUESTS = 5
COHORT_MAX_GROWTH = 1.15  # time ~ rows^k: k at most this (1 is linear)
NO_IMPORT = ("calc", "calc.core.engine")  # neither may import scipy.stats


@dataclass(frozen=True)
class Check:
    name: str
    measured: str
    budget: str
    ok: bool


def request_checks(costs: dict[str, requests_cost.Cost]) -> list[Check]:
    ratios = requests_cost.ratios(costs)
    out = []
    for req, limit in (
        (requests_cost.API, API_MAX_RATIO),
        (requests_cost.RESULT_PAGE, RESULT_PAGE_MAX_RATIO),
        (requests_cost.FORM_PAGE, FORM_PAGE_MAX_RATIO),
    ):
        r = ratios[req.name]
        out.append(
            Check(
                f"{req.name}: server CPU per request ÷ GET /healthz's (best round)",
                f"{r.cpu_best:.2f}× (median {r.cpu_median:.2f}×; "
                f"throughput {r.throughput_best:.2f}×)",
                f"≤ {limit:g}×",
                r.cpu_best <= limit,
            )
        )
    errors = sum(c.errors for c in costs.values())
    out.append(
        Check(
            "responses that were not 200 with the expected content", str(errors), "0", errors == 0
        )
    )
    return out


def start_check(first_response_s: list[float]) -> Check:
    best = min(first_response_s)
    return Check(
        f"calc serve: launch -> first response (best of {len(first_response_s)})",
        f"{best:.2f} s",
        f"< {FIRST_RESPONSE_MAX_S:g} s",
        best < FIRST_RESPONSE_MAX_S,
    )


def import_checks(times: list[startup.ImportTime]) -> list[Check]:
    return [
        Check(
            f"import {t.module}: heavy modules imported",
            ", ".join(t.heavy) or "none",
            "no scipy.stats",
            not t.heavy,
        )
        for t in times
    ]


def weight_checks(pages: list[PageWeight]) -> list[Check]:
    out = []
    for p in pages:
        ok = (
            p.status == 200
            and p.bytes <= PAGE_MAX_BYTES
            and p.requests <= PAGE_MAX_REQUESTS
            and not p.third_party
        )
        out.append(
            Check(
                f"{p.page}: bytes and requests with all assets",
                f"{p.bytes / 1024:.1f} KiB, {p.requests} requests, "
                f"{len(p.third_party)} third-party",
                f"≤ {PAGE_MAX_BYTES // 1024} KiB, ≤ {PAGE_MAX_REQUESTS}, 0",
                ok,
            )
        )
    return out


def cohort_check(small: cohort_rate.CohortTiming, large: cohort_rate.CohortTiming) -> Check:
    k = cohort_rate.growth_exponent(small, large)
    return Check(
        f"cohort: time ∝ rows^k from {small.rows:,} to {large.rows:,} rows",
        f"k = {k:.2f}",
        f"k ≤ {COHORT_MAX_GROWTH:g}",
        k <= COHORT_MAX_GROWTH,
    )


def fetcher(server: Server) -> weight.Fetch:
    import http.client

    def fetch(method: str, path: str, body: bytes | None, ctype: str | None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers={"Content-Type": ctype} if ctype else {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    return fetch


def pages(server: Server) -> list[PageWeight]:
    fetch = fetcher(server)
    result = requests_cost.RESULT_PAGE
    return [
        weight.weigh("GET / (form)", fetch, "GET", "/"),
        weight.weigh(
            "POST / (result page)",
            fetch,
            result.method,
            result.path,
            result.body,
            result.content_type,
        ),
    ]


def quick_check(*, rounds: int = 3, seconds_per_round: float = 0.6) -> list[Check]:
    """Every budget, measured quickly (about 20 s on 2 cores)."""
    checks: list[Check] = []
    first: list[float] = []
    with served() as server:
        first.append(server.first_response_s)
        costs = requests_cost.measure(
            server, rounds=rounds, max_requests=5000, max_seconds=seconds_per_round, warmup=100
        )
        checks += request_checks(costs)
        checks += weight_checks(pages(server))
    for _ in range(2):
        with served() as server:
            first.append(server.first_response_s)
    checks.append(start_check(first))
    checks += import_checks([startup.import_time(m) for m in NO_IMPORT])
    with tempfile.TemporaryDirectory(prefix="calc-bench-") as tmp:
        small, large = cohort_rate.measure(
            [20_000, 200_000], Path(tmp), repeats=3, end_to_end=False
        )
    checks.append(cohort_check(small, large))
    return checks


def failures(checks: list[Check]) -> list[Check]:
    return [c for c in checks if not c.ok]
