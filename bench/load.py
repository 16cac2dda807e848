"""A small closed-loop load generator: threads with keep-alive http.client connections.

Each thread sends the same request again and again on its own connection,
until the request budget or the time budget runs out, whichever comes first.
Loopback only; every response's status is checked.
"""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from dataclasses import dataclass

from .served import Server


@dataclass(frozen=True)
class Request:
    name: str
    method: str
    path: str
    body: bytes | None = None
    content_type: str | None = None
    expect: bytes = b""  # a fragment every 200 response must contain


@dataclass(frozen=True)
class LoadResult:
    request: Request
    requests: int
    errors: int
    seconds: float
    latencies_s: tuple[float, ...]
    server_cpu_s: float

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_per_request_s(self) -> float:
        return self.server_cpu_s / self.requests if self.requests else float("inf")

    def percentile(self, q: float) -> float:
        if len(self.latencies_s) < 2:
            return self.latencies_s[0] if self.latencies_s else float("nan")
        return statistics.quantiles(self.latencies_s, n=100, method="inclusive")[int(q) - 1]


def run_load(
    server: Server,
    request: Request,
    *,
    max_requests: int,
    max_seconds: float,
    concurrency: int = 4,
) -> LoadResult:
    """Send ``request`` from ``concurrency`` threads; bounded in count and in time."""
    lock = threading.Lock()
    sent = 0
    errors = 0
    latencies: list[float] = []
    headers = {"Connection": "keep-alive"}
    if request.content_type:
        headers["Content-Type"] = request.content_type
    deadline = 0.0

    def worker() -> None:
        nonlocal sent, errors
        conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
        mine: list[float] = []
        bad = 0
        try:
            while True:
                with lock:
                    if sent >= max_requests or time.perf_counter() > deadline:
                        break
                    sent += 1
                t0 = time.perf_counter()
                try:
                    conn.request(request.method, request.path, body=request.body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                    ok = response.status == 200 and request.expect in data
                except (OSError, http.client.HTTPException):
                    ok = False
                    conn.close()
                    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
                mine.append(time.perf_counter() - t0)
                bad += not ok
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)
                errors += bad

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    cpu0 = server.cpu_seconds()
    start = time.perf_counter()
    deadline = start + max_seconds
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    cpu = server.cpu_seconds() - cpu0
    return LoadResult(request, len(latencies), errors, seconds, tuple(latencies), cpu)
