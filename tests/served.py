"""Run ``calc serve`` (the real gunicorn server) on a free loopback port, for tests.

Not a test module: ``test_privacy``, ``test_hardening`` and ``test_wheel`` import
it. The server's standard output and error go to files that the test reads
after the server has stopped, so every line it wrote is seen.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"
READY_LINE = "calc is running"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without settings that would change the app (CALC_*, FLASK_*)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CALC_", "FLASK_", "COV_CORE_", "PYTHONPATH"))
    }
    env.update(extra or {})
    return env


@dataclass
class Served:
    """A running server; ``stdout``/``stderr`` are complete once the block has exited."""

    port: int
    process: subprocess.Popen[bytes]
    out_path: Path
    err_path: Path
    stdout: str = ""
    stderr: str = ""
    responses: list[http.client.HTTPResponse] = field(default_factory=list)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        source: str | None = None,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request on a fresh connection (from ``source``, a loopback address)."""
        conn = http.client.HTTPConnection(
            LOOPBACK, self.port, timeout=10, source_address=(source, 0) if source else None
        )
        try:
            conn.request(method, path, body=body, headers=dict(headers or {}))
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


@contextlib.contextmanager
def serve(
    logs: Path,
    *,
    command: Sequence[str] = (sys.executable, "-m", "calc.cli.main"),
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    workers: int = 1,
    threads: int = 2,
    start_timeout: float = 60.0,
) -> Iterator[Served]:
    """Start ``<command> serve`` on a free loopback port; stop it with SIGTERM after."""
    logs.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):  # a free port can be taken between probe and bind
        port = free_port()
        out_path, err_path = logs / f"stdout-{attempt}.txt", logs / f"stderr-{attempt}.txt"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            process = subprocess.Popen(
                [
                    *command,
                    "serve",
                    "--host",
                    LOOPBACK,
                    "--port",
                    str(port),
                    "--workers",
                    str(workers),
                    "--threads",
                    str(threads),
                ],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else clean_env(),
                cwd=cwd,
            )
        served = Served(port, process, out_path, err_path)
        if _wait_ready(served, start_timeout):
            break
        _stop(served)
    else:
        raise RuntimeError(f"calc serve did not start:\n{served.stdout}\n{served.stderr}")
    try:
        yield served
    finally:
        _stop(served)


def _wait_ready(served: Served, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            return False
        if READY_LINE in _read(served.out_path):
            try:
                if served.request("GET", "/healthz")[0] == 200:
                    return True
            except OSError:
                pass
        time.sleep(0.05)
    return False


def _stop(served: Served) -> None:
    if served.process.poll() is None:
        served.process.send_signal(signal.SIGTERM)
        try:
            served.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            served.process.kill()
            served.process.wait(timeout=10)
    served.stdout = _read(served.out_path)
    served.stderr = _read(served.err_path)
