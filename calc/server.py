"""`calc serve`: the app under gunicorn, the production WSGI server.

gunicorn rather than waitress: several worker processes use both cores of a
small server despite the GIL, and a worker that hangs is replaced. The access
log is off (it would hold client addresses); errors go to standard error.
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.app.base import BaseApplication

from . import create_app


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return create_app()


def _when_ready(server: Any) -> None:
    host, port = server.cfg.bind[0].rsplit(":", 1)
    # Listening on all interfaces: show the loopback address to open locally.
    shown = "127.0.0.1" if host in {"0.0.0.0", ""} else host.strip("[]")  # noqa: S104
    print(f"calc is running: open http://{shown}:{port}/ (Ctrl+C to stop)", flush=True)


def gunicorn_options(host: str, port: int, workers: int | None, threads: int) -> dict[str, Any]:
    bind_host = f"[{host}]" if ":" in host else host
    return {
        "bind": f"{bind_host}:{port}",
        "workers": workers or default_workers(),
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "preload_app": True,  # a broken evidence file stops the server before it forks
        "accesslog": None,  # no access log: it would record client IP addresses
        "errorlog": "-",
        "loglevel": "warning",
        "limit_request_line": 4094,
        "limit_request_fields": 50,
        "when_ready": _when_ready,
    }


def run(host: str, port: int, workers: int | None, threads: int) -> None:
    _Server(gunicorn_options(host, port, workers, threads)).run()
