"""``python -m bench``: the full benchmark suite; ``python -m bench --check``: the budgets."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from . import budget, cohort_rate, engine_cost, requests_cost, startup
from .report import table
from .served import served


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}, "
        f"Python {platform.python_version()}; load average at start {load}"
    )


def checks_table(checks: list[budget.Check]) -> str:
    return table(
        ["budget", "measured", "limit", "ok"],
        [[c.name, c.measured, c.budget, "yes" if c.ok else "**NO**"] for c in checks],
    )


def run_check(args: argparse.Namespace) -> int:
    checks = budget.quick_check(rounds=args.rounds or 3, seconds_per_round=args.seconds or 0.6)
    print(checks_table(checks))
    bad = budget.failures(checks)
    print(f"\n{len(checks) - len(bad)} of {len(checks)} budgets met.")
    return 1 if bad else 0


def run_suite(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    print(f"# calc benchmarks\n\n{machine()}\n")
    checks: list[budget.Check] = []
    first: list[float] = []

    print("## 1. Request cost under `calc serve` (gunicorn, 127.0.0.1)\n")
    with served() as server:
        first.append(server.first_response_s)
        workers = server.workers()
        costs = requests_cost.measure(
            server,
            rounds=args.rounds or 3,
            max_requests=20_000,
            max_seconds=args.seconds or 2.0,
            concurrency=args.concurrency,
        )
        memory = startup.worker_memory(server)
        pages = budget.pages(server)
    ratios = requests_cost.ratios(costs)
    floor = costs[requests_cost.FLOOR.name].best
    rows = []
    for name, cost in costs.items():
        b = cost.best
        ratio = ratios[name]
        p50, p99 = b.percentile(50), b.percentile(99)
        rows.append(
            [
                name,
                f"{cost.best_throughput:,.0f}",
                f"{p50 * 1e3:.2f} ({p50 / floor.percentile(50):.1f}×)",
                f"{p99 * 1e3:.2f} ({p99 / floor.percentile(99):.1f}×)",
                f"{b.cpu_per_request_s * 1e6:,.0f}",
                f"**{ratio.cpu_best:.2f}** ({ratio.cpu_median:.2f})",
                f"{ratio.throughput_best:.2f}",
                cost.errors,
            ]
        )
    print(
        f"{len(workers)} workers × 4 threads (the defaults), {args.concurrency} client threads "
        "with keep-alive; best of "
        f"{args.rounds or 3} interleaved rounds of ≤ {args.seconds or 2.0:g} s each (latencies and "
        "CPU µs: the round with the least CPU per request). Cost ÷ floor: the server's CPU time "
        "per request (from /proc) ÷ that of GET /healthz in the round just before, the best "
        "round (the median); and the floor's throughput ÷ this one's, the best round.\n"
    )
    print(
        table(
            [
                "request",
                "req/s",
                "p50 ms (÷ floor)",
                "p99 ms (÷ floor)",
                "server CPU µs/req",
                "cost ÷ floor: CPU, best (median)",
                "cost ÷ floor: 1/throughput",
                "errors",
            ],
            rows,
        )
    )
    checks += budget.request_checks(costs)

    print("\n## 2. Engine in process (median of 15 × 2,000 calls)\n")
    us = engine_cost.measure()
    print(table(["step", "µs per call"], [[k, f"{v:.1f}"] for k, v in us.items()]))

    print("\n## 3. Cold start and memory\n")
    for _ in range(2):
        with served() as server:
            first.append(server.first_response_s)
    imports = [startup.import_time(m) for m in ("calc", "calc.core.engine", "calc.cli.cohort")]
    rows = [
        [
            "`calc serve` launched → first 200 (best / worst of 3)",
            f"{min(first):.2f} s / {max(first):.2f} s",
        ]
    ]
    rows += [
        [
            f"`python -X importtime -c 'import {t.module}'`: cumulative (timed around the import)",
            f"{t.cumulative_s * 1e3:.0f} ms ({t.wall_s * 1e3:.0f} ms); scipy.stats: "
            + ("**imported**" if t.heavy else "not imported"),
        ]
        for t in imports
    ]
    rows += [
        [
            f"worker {i + 1} memory after the load: RSS (PSS)",
            f"{m.get('rss', 0) / 1024:.1f} MiB ({m.get('pss', 0) / 1024:.1f} MiB)",
        ]
        for i, m in enumerate(memory)
    ]
    print(table(["measure", "value"], rows))
    checks.append(budget.start_check(first))
    checks += budget.import_checks(imports[:2])

    print("\n## 4. Page weight (the page and every same-origin asset it loads)\n")
    print(
        table(
            ["page", "bytes", "requests", "third-party", "assets"],
            [
                [
                    p.page,
                    f"{p.bytes:,}",
                    p.requests,
                    len(p.third_party),
                    ", ".join(f"{k} {v:,}" for k, v in p.assets.items()),
                ]
                for p in pages
            ],
        )
    )
    checks += budget.weight_checks(pages)

    print("\n## 5. Cohort (`calc cohort`): throughput\n")
    sizes = [int(x) for x in args.cohort_rows.split(",")]
    with tempfile.TemporaryDirectory(prefix="calc-bench-") as tmp:
        timings = cohort_rate.measure(sizes, Path(tmp))
        # The same sizes with the MELD lab columns (classic MELD, MELD-Na, MELD 3.0 per row).
        timings_labs = cohort_rate.measure(sizes, Path(tmp), labs=True)
    rows = []
    for kind, series in (("typed MELD", timings), ("MELD labs", timings_labs)):
        for i, t in enumerate(series):
            k = cohort_rate.growth_exponent(series[i - 1], t) if i else None
            rows.append(
                [
                    kind,
                    f"{t.rows:,}",
                    f"{t.in_process_s:.3f}",
                    f"{t.rows_per_s:,.0f}",
                    "—" if k is None else f"{k:.2f}",
                    "—" if t.end_to_end_s is None else f"{t.end_to_end_s:.2f}",
                    "—" if t.peak_rss_kib is None else f"{t.peak_rss_kib / 1024:.0f}",
                    f"{t.input_bytes / 1e6:.1f} → {t.output_bytes / 1e6:.1f}",
                ]
            )
    print(
        "In process: `run_cohort` (read, validate, assess, format, write), best of 3 (of 2 above "
        "200,000 rows). End to end: the command in a fresh interpreter, once.\n"
    )
    print(
        table(
            [
                "file",
                "rows",
                "in process s",
                "rows/s",
                "growth k (time ∝ rows^k)",
                "end to end s",
                "peak RSS MiB",
                "MB in → out",
            ],
            rows,
        )
    )
    if len(timings) >= 2:
        checks.append(budget.cohort_check(timings[-2], timings[-1]))

    print("\n## Budgets\n")
    print(checks_table(checks))
    bad = budget.failures(checks)
    print(
        f"\n{len(checks) - len(bad)} of {len(checks)} budgets met; "
        f"the suite took {time.perf_counter() - started:.0f} s."
    )
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only the quick budget check")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per request (3)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per round")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads (4)")
    parser.add_argument(
        "--cohort-rows", default="1000,100000,1000000", help="cohort sizes, comma-separated"
    )
    args = parser.parse_args(argv)
    return run_check(args) if args.check else run_suite(args)


if __name__ == "__main__":
    sys.exit(main())
