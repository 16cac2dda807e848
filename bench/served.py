"""Start ``calc serve`` (gunicorn) on a free loopback port; read its workers from /proc."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"  # loopback only
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    pid: int
    first_response_s: float  # from launching `calc serve` to the first 200 from /healthz

    def workers(self) -> list[int]:
        """The gunicorn worker processes (children of the master)."""
        return children(self.pid)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the master and all its workers so far."""
        return sum(cpu_seconds(p) for p in [self.pid, *self.workers()])


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:  # the task ended meanwhile
            continue
    return sorted(set(out))


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 and 15 of stat


def memory_kib(pid: int) -> dict[str, int]:
    """Resident (VmRSS) and proportional (Pss: shared pages split among sharers) memory."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            out["rss"] = int(line.split()[1])
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                out["pss"] = int(line.split()[1])
    except OSError:
        pass
    return out


def _answers(host: str, port: int) -> bool:
    conn = http.client.HTTPConnection(host, port, timeout=1)
    try:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        return response.status == 200
    except OSError:
        return False
    finally:
        conn.close()


@contextmanager
def served(workers: int | None = None, threads: int | None = None) -> Iterator[Server]:
    """``calc serve`` on a free port of 127.0.0.1, stopped (SIGTERM) on exit."""
    port = free_port()
    cmd = [sys.executable, "-m", "calc.cli.main", "serve", "--host", HOST, "--port", str(port)]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    started = time.perf_counter()
    proc = subprocess.Popen(  # noqa: S603 (a fixed command: this Python)
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        while not _answers(HOST, port):
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"calc serve stopped with status {proc.returncode}:\n{err}")
            if time.perf_counter() - started > START_TIMEOUT_S:
                raise RuntimeError(f"calc serve did not answer within {START_TIMEOUT_S:g} s")
            time.sleep(0.005)
        first = time.perf_counter() - started
        server = Server(HOST, port, proc.pid, first)
        expected = workers or os.cpu_count() or 1
        while len(server.workers()) < expected and time.perf_counter() - started < START_TIMEOUT_S:
            time.sleep(0.01)  # the first worker answers before the others are forked
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr:
            proc.stderr.close()
