"""Slow clients cannot take ``calc serve`` down (hazard H-21).

Two hundred connections send a request a byte at a time, and never finish it:
a request head that never ends, a body that trickles in, a chunked body that
trickles in. Each is replaced as soon as the server closes it, so two hundred
stay open for the whole run (60 s; ``CALC_SLOW_SECONDS`` shortens it for a
quick local look, never in CI). Meanwhile a normal client asks for
``/healthz`` and posts an assessment: every probe must be answered, with a
p99 under 1 s, and every slow connection must be closed by the server within
the worker's documented bound (head 10 s, body 10 s after the head).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from calc.web.worker import BODY_TIMEOUT, HEAD_TIMEOUT
from tests.served import LOOPBACK, serve

SLOW_SECONDS = float(os.environ.get("CALC_SLOW_SECONDS", "60"))
SLOW_CONNECTIONS = 200
BYTE_EVERY = 0.5  # seconds between two bytes of a slow connection
PROBE_EVERY = 0.2
PROBE_TIMEOUT = 5.0
P99_LIMIT = 1.0
# A slow connection is closed once its head or its body is overdue; the slack covers
# the trickle's own pace and a busy machine.
CLOSE_BOUND = HEAD_TIMEOUT + BODY_TIMEOUT + 5.0
ASSESS = json.dumps({"failure_type": "ACLF", "meld": 28, "alt": 240, "tbil": 320})

# What each kind of slow connection sends at once, then what it trickles.
SLOW_KINDS = {
    "head": (
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n",
        b"X-Slow: " + b"a" * 4000,
    ),
    "body": (
        b"POST /api/v1/assess HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n",
        b" " * 4000,
    ),
    "chunked": (
        b"POST /api/v1/assess HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"1\r\n \r\n" * 1000,
    ),
}


@dataclass
class SlowLoad:
    """Slow connections kept at a constant number, run on an event loop of their own."""

    port: int
    seconds: float
    lifetimes: dict[str, list[float]] = field(default_factory=dict)  # closed by the server
    open_at_end: list[float] = field(default_factory=list)  # ages of those still open
    opened: int = 0
    refused: int = 0
    ready: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        end = time.monotonic() + self.seconds
        kinds = list(SLOW_KINDS)
        started = [0]

        async def slot(kind: str) -> None:
            while time.monotonic() < end:
                await self._one(kind, end, started)

        tasks = [asyncio.create_task(slot(kinds[i % len(kinds)])) for i in range(SLOW_CONNECTIONS)]
        await asyncio.gather(*tasks)

    async def _one(self, kind: str, end: float, started: list[int]) -> None:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(LOOPBACK, self.port), timeout=10
            )
        except (OSError, TimeoutError):
            self.refused += 1
            await asyncio.sleep(0.5)
            return
        opened = time.monotonic()
        self.opened += 1
        started[0] += 1
        if started[0] >= SLOW_CONNECTIONS:
            self.ready.set()
        head, trickle = SLOW_KINDS[kind]
        closed = asyncio.Event()

        async def watch() -> None:
            with contextlib.suppress(OSError):
                while await reader.read(4096):
                    pass
            closed.set()

        watcher = asyncio.create_task(watch())
        try:
            writer.write(head)
            for i in range(len(trickle)):
                if closed.is_set() or time.monotonic() >= end:
                    break
                writer.write(trickle[i : i + 1])
                with contextlib.suppress(OSError):
                    await writer.drain()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(closed.wait(), timeout=BYTE_EVERY)
        finally:
            now = time.monotonic()
            if closed.is_set():
                self.lifetimes.setdefault(kind, []).append(now - opened)
            else:
                self.open_at_end.append(now - opened)
            watcher.cancel()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def _probe(port: int, method: str, path: str) -> tuple[int, float]:
    """One request from a well-behaved client: (status or 0 if unanswered, seconds)."""
    start = time.monotonic()
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=PROBE_TIMEOUT)
    try:
        headers = {"Content-Type": "application/json"} if method == "POST" else {}
        conn.request(method, path, body=ASSESS if method == "POST" else None, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - start
    except OSError:
        return 0, time.monotonic() - start
    finally:
        conn.close()


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)] if ordered else math.inf


@pytest.mark.hazard("H-21")
def test_h21_slow_clients_do_not_starve_others(tmp_path: Path) -> None:
    deadline = time.monotonic() + SLOW_SECONDS + 120  # the whole test is bounded too
    with serve(tmp_path / "logs", workers=2, threads=4) as server:
        load = SlowLoad(server.port, SLOW_SECONDS)
        thread = threading.Thread(target=load.run, daemon=True)
        thread.start()
        assert load.ready.wait(30), "the slow connections could not all be opened"
        probes: dict[str, list[tuple[int, float]]] = {"/healthz": [], "/api/v1/assess": []}
        while thread.is_alive() and time.monotonic() < deadline:
            probes["/healthz"].append(_probe(server.port, "GET", "/healthz"))
            probes["/api/v1/assess"].append(_probe(server.port, "POST", "/api/v1/assess"))
            time.sleep(PROBE_EVERY)
        thread.join(timeout=max(1.0, deadline - time.monotonic()))
        assert not thread.is_alive(), "the slow clients did not finish"
    lifetimes = [t for values in load.lifetimes.values() for t in values]
    print(
        f"\nslow connections: {load.opened} opened, {load.refused} refused, "
        f"{len(lifetimes)} closed by the server (longest {max(lifetimes, default=0):.1f} s), "
        f"{len(load.open_at_end)} open at the end (oldest {max(load.open_at_end, default=0):.1f} s)"
    )
    for kind, values in sorted(load.lifetimes.items()):
        print(f"  {kind}: {len(values)} closed, longest {max(values):.1f} s")
    failures = []
    for path, results in probes.items():
        answered = [seconds for status, seconds in results if status == 200]
        print(
            f"  {path}: {len(answered)}/{len(results)} answered 200, p99 {p99(answered):.3f} s, "
            f"max {max((s for _, s in results), default=0):.3f} s"
        )
        if len(answered) != len(results) or not results:
            failures.append(f"{path}: {len(results) - len(answered)} of {len(results)} unanswered")
        elif p99(answered) >= P99_LIMIT:
            failures.append(f"{path}: p99 {p99(answered):.3f} s")
    assert not failures, failures
    assert load.refused == 0
    # Every slow connection was closed by the server within the bound, or had not yet
    # reached it when the run ended.
    assert max(lifetimes, default=0) <= CLOSE_BOUND, load.lifetimes
    assert max(load.open_at_end, default=0) <= CLOSE_BOUND
    if SLOW_SECONDS > CLOSE_BOUND:  # long enough for every kind to be cut off
        assert set(load.lifetimes) == set(SLOW_KINDS), load.lifetimes
    assert "Traceback" not in server.stderr
    assert "WORKER TIMEOUT" not in server.stderr  # the heartbeat held throughout
