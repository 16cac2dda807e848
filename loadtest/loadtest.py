#!/usr/bin/env python3
"""Load test: a constant request rate against the production server, on loopback only.

Starts ``calc serve`` (gunicorn) on a free port of 127.0.0.1, then for each
target -- the result page (form POST to ``/``) and the JSON API (``POST
/api/v1/assess``) -- sends a constant ``--rate`` requests per second for
``--duration`` seconds, after a short warm-up that is not counted.

The schedule is open-loop: request *i* is due at ``start + i / rate`` whether
or not earlier requests have been answered, and its latency is measured from
that due time, not from when a thread got round to sending it. A slow server
therefore shows up as latency (it is not hidden by the client sending less:
"coordinated omission"). A small pool of threads, each with its own
keep-alive connection (``http.client``), sends the requests.

Prints the status counts and p50/p95/p99/max latency per target, and exits 1
if any response is not 2xx, any request failed or was not sent, or p99 is at
or above ``--p99-ms`` (this project's performance budgets, README, Benchmarks:
0 errors, p99 < 100 ms at 200 req/s for 30 s). Traffic goes only to the server
this script started on 127.0.0.1; the request count and the run time are bounded.

    python loadtest/loadtest.py                      # 200 req/s, 30 s per target
    python loadtest/loadtest.py --rate 50 --duration 2 --warmup 0.5   # a smoke run
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

HOST = "127.0.0.1"  # loopback only: this script never sends to any other address
MAX_RATE = 1000  # requests per second
MAX_DURATION = 120.0  # seconds per target
DRAIN_SECONDS = 15.0  # after the last due time, how long answers are awaited

PATIENT = {
    "failure_type": "ACLF",
    "meld": 28,
    "alt": 240,
    "alt_unit": "U/L",
    "tbil": 320,
    "tbil_unit": "umol/L",
    "transplant_date": "2026-01-10",
}


@dataclass(frozen=True)
class Target:
    name: str
    path: str
    body: bytes
    content_type: str


TARGETS = {
    "result": Target(
        "result page (POST /)",
        "/",
        urlencode({k: str(v) for k, v in PATIENT.items()}).encode(),
        "application/x-www-form-urlencoded",
    ),
    "api": Target(
        "JSON API (POST /api/v1/assess)",
        "/api/v1/assess",
        json.dumps(PATIENT).encode(),
        "application/json",
    ),
}


@dataclass
class Outcome:
    """The answers to one target's schedule."""

    target: str
    scheduled: int
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    start_delays_ms: list[float] = field(default_factory=list)
    reconnects: int = 0
    elapsed_s: float = 0.0

    @property
    def answered(self) -> int:
        return len(self.latencies_ms)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of values sorted ascending."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def verdict(outcome: Outcome, p99_limit_ms: float) -> list[str]:
    """Why the run failed for this target; empty when it passed."""
    problems = []
    bad = {s: n for s, n in outcome.statuses.items() if not s.startswith("2")}
    if bad:
        problems.append(f"non-2xx or failed requests: {dict(sorted(bad.items()))}")
    if outcome.answered < outcome.scheduled:
        problems.append(f"only {outcome.answered} of {outcome.scheduled} requests completed")
    p99 = percentile(sorted(outcome.latencies_ms), 99)
    if not p99 < p99_limit_ms:  # also catches NaN (nothing answered)
        problems.append(f"p99 {p99:.1f} ms is not below {p99_limit_ms:g} ms")
    return problems


# --------------------------------------------------------------------------
# The server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _healthy(port: int) -> bool:
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@contextmanager
def production_server(
    workers: int | None, threads: int | None, log_dir: Path
) -> Iterator[tuple[int, Path]]:
    """``calc serve`` on a free loopback port; yields (port, its output file)."""
    log = log_dir / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALC_", "FLASK_"))}
    for _attempt in range(3):  # the free port may be taken before gunicorn binds it
        port = _free_port()
        command = [
            sys.executable,
            "-m",
            "calc.cli.main",
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
        ]
        if workers:
            command += ["--workers", str(workers)]
        if threads:
            command += ["--threads", str(threads)]
        with log.open("ab") as out:
            process = subprocess.Popen(  # noqa: S603
                command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline and not _healthy(port):
            time.sleep(0.1)
        if process.poll() is None and _healthy(port):
            break
        _stop(process)
    else:
        raise SystemExit(f"calc serve did not start:\n{log.read_text(errors='replace')}")
    try:
        yield port, log
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# --------------------------------------------------------------------------
# The open-loop client


class _Sender(threading.Thread):
    """One keep-alive connection; sends the requests it takes from the queue."""

    def __init__(self, port: int, target: Target, jobs: queue.Queue[float | None]) -> None:
        super().__init__(daemon=True)
        self.port, self.target, self.jobs = port, target, jobs
        self.conn: http.client.HTTPConnection | None = None
        self.results: list[tuple[str, float, float]] = []
        self.reconnects = 0

    def _send_once(self) -> int:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
        self.conn.request(
            "POST",
            self.target.path,
            body=self.target.body,
            headers={"Content-Type": self.target.content_type},
        )
        response = self.conn.getresponse()
        response.read()
        if response.will_close:
            self.conn.close()
            self.conn = None
        return response.status

    def run(self) -> None:
        while (due := self.jobs.get()) is not None:
            started = time.perf_counter()
            try:
                try:
                    status = str(self._send_once())
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    # The server closed an idle keep-alive connection: one retry, fresh.
                    self.reconnects += 1
                    self._close()
                    status = str(self._send_once())
            except (OSError, http.client.HTTPException) as exc:
                self._close()
                status = f"error {type(exc).__name__}"
            done = time.perf_counter()
            self.results.append((status, (done - due) * 1000, (started - due) * 1000))
        self._close()

    def _close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def drive(port: int, target: Target, rate: float, duration: float, pool: int) -> Outcome:
    """Send ``rate`` requests per second for ``duration`` seconds on a fixed schedule."""
    count = round(rate * duration)
    jobs: queue.Queue[float | None] = queue.Queue()
    senders = [_Sender(port, target, jobs) for _ in range(pool)]
    for s in senders:
        s.start()
    start = time.perf_counter() + 0.05
    for i in range(count):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        jobs.put(due)  # latency counts from here, even if every sender is busy
    for _ in senders:
        jobs.put(None)
    deadline = time.monotonic() + DRAIN_SECONDS
    for s in senders:
        s.join(timeout=max(0.0, deadline - time.monotonic()))
    outcome = Outcome(target.name, count, elapsed_s=time.perf_counter() - start)
    for s in senders:
        for status, latency, start_delay in list(s.results):
            outcome.statuses[status] += 1
            outcome.latencies_ms.append(latency)
            outcome.start_delays_ms.append(start_delay)
        outcome.reconnects += s.reconnects
    return outcome


# --------------------------------------------------------------------------
# Report


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def table(outcomes: Sequence[Outcome], rate: float, duration: float) -> str:
    lines = [
        f"| target ({rate:g} req/s, {duration:g} s) | requests | status | "
        "p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        lat = sorted(o.latencies_ms)
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(o.statuses.items())) or "none"
        p50, p95, p99 = (percentile(lat, q) for q in (50, 95, 99))
        top = lat[-1] if lat else math.nan
        lines.append(
            f"| {o.target} | {o.answered}/{o.scheduled} | {statuses} | "
            f"{p50:.1f} | {p95:.1f} | {p99:.1f} | {top:.1f} |"
        )
    return "\n".join(lines)


def _args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--rate", type=float, default=200.0, help="requests per second (default 200)")
    p.add_argument("--duration", type=float, default=30.0, help="seconds per target (30)")
    p.add_argument("--warmup", type=float, default=2.0, help="uncounted seconds first (2)")
    p.add_argument("--targets", default="result,api", help=f"comma-separated: {', '.join(TARGETS)}")
    p.add_argument("--pool", type=int, default=16, help="sender threads/connections (16)")
    p.add_argument("--workers", type=int, default=None, help="gunicorn workers (calc default)")
    p.add_argument("--threads", type=int, default=None, help="threads per worker (calc default)")
    p.add_argument("--p99-ms", type=float, default=100.0, help="fail at or above (100)")
    args = p.parse_args(argv)
    if not 0 < args.rate <= MAX_RATE:
        p.error(f"--rate must be above 0 and at most {MAX_RATE}")
    if not 0 < args.duration <= MAX_DURATION or not 0 <= args.warmup <= 10:
        p.error(f"--duration must be in (0, {MAX_DURATION:g}] and --warmup in [0, 10]")
    if not 1 <= args.pool <= 64:
        p.error("--pool must be 1 to 64")
    names = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = sorted(set(names) - set(TARGETS))
    if unknown or not names:
        p.error(f"unknown targets {unknown}; choose from {', '.join(TARGETS)}")
    args.target_list = [TARGETS[n] for n in names]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _args(argv)
    # Hand the GIL over every 1 ms (default 5 ms), so that the scheduler thread
    # wakes on time while the senders parse answers.
    sys.setswitchinterval(0.001)
    print(f"machine: {machine()}", flush=True)
    print(f"load average (1, 5, 15 min) at the start: {_load()}")
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="calc-loadtest-") as tmp:
        with production_server(args.workers, args.threads, Path(tmp)) as (port, log):
            print(f"server: calc serve on {HOST}:{port}", flush=True)
            for target in args.target_list:
                if args.warmup:
                    drive(port, target, args.rate, args.warmup, args.pool)
                print(f"driving {target.name}: {args.rate:g} req/s for {args.duration:g} s")
                outcomes.append(drive(port, target, args.rate, args.duration, args.pool))
        server_output = log.read_text(errors="replace").strip()
    # Other work on the machine shows up as latency here: say how busy it was.
    print(f"load average (1, 5, 15 min) at the end: {_load()}")
    print()
    print(table(outcomes, args.rate, args.duration))
    print()
    failed = False
    for o in outcomes:
        problems = verdict(o, args.p99_ms)
        failed |= bool(problems)
        # How late the client itself started requests (its own share of the latency).
        late = percentile(sorted(o.start_delays_ms), 99)
        note = f" (client start delay p99 {late:.1f} ms, {o.reconnects} reconnects)"
        print(f"{o.target}: {'FAIL: ' + '; '.join(problems) if problems else 'ok'}{note}")
    lines = [ln for ln in server_output.splitlines() if "calc is running" not in ln]
    if lines:
        print("server output:\n" + "\n".join(lines))
    print("FAILED" if failed else "PASSED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
