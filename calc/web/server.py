"""`calc serve`: the app under gunicorn, the production WSGI server.

gunicorn rather than waitress: several worker processes use both cores of a
small server despite the GIL, and a worker that hangs is replaced.

- Workers: one process per CPU core, each with 4 threads. A request is a few
  milliseconds of CPU, so more processes than cores only add memory.
- The worker class is the app's own (``calc.web.worker.CalcWorker``): an event
  loop reads every connection with deadlines and the app runs only on a
  request read whole, so slow clients cost sockets, not threads, and every
  answer to a malformed request carries the app's security headers.
- No access log: it would record client addresses (identifiers under HIPAA
  Safe Harbor) and URLs. Errors go to standard error, at level warning,
  redacted: gunicorn names the client's IP address and quotes the request
  line of a malformed request; both are withheld (``redact``).
- The debugger is never on: the app is built with ``debug`` forced off, whatever
  ``FLASK_DEBUG`` or ``CALC_DEBUG`` say.
- Nothing is written to disk: no pid file, no control socket (gunicorn >= 25
  makes one under ``$HOME`` by default), the worker heartbeat file in memory
  (``/dev/shm``) where there is one.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from .. import create_app

_IPV4 = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])")
_IP_FIELD = re.compile(r"\bip=\S*?(?=:?\s|$)")
_QUERY = re.compile(r"\?[^\s'\"]*")
# gunicorn's reasons for refusing a request quote the request's own text (with ' or,
# when the text holds a ', with "), after a colon: keep the reason's words up to the
# first colon or quote, never the text (an allowlist: no quoting style slips past).
_REQUEST_TEXT = re.compile(r"""[:'"].*$""", re.S)
_HANDLING = re.compile(r"^(Error handling request)\b.*$", re.S)
_WITHHELD = "[withheld]"
WORKER_CLASS = "calc.web.worker.CalcWorker"
# For gunicorn's worker heartbeat file (see worker_tmp_dir): mkstemp, unlinked at once.
_SHM = "/dev/shm"  # noqa: S108  # nosec B108


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def redact(message: str) -> str:
    """A server log message without client addresses, query strings or raw request text.

    gunicorn names the client's IP address on a malformed request and quotes the
    request line (which may hold a query string); the app's own messages hold
    neither, but pass through here too.
    """
    message = _IP_FIELD.sub(f"ip={_WITHHELD}", message)
    message = _IPV4.sub(_WITHHELD, message)
    message = _QUERY.sub(f"?{_WITHHELD}", message)
    if message.startswith("Invalid request from"):
        head, _, reason = message.partition(": ")
        reason = _REQUEST_TEXT.sub("", reason).strip()
        message = f"{head}: {reason} ({_WITHHELD})" if reason else f"{head}: {_WITHHELD}"
    # "Error handling request <uri>": the address may hold whatever a client sent.
    return _HANDLING.sub(rf"\1 {_WITHHELD}", message)


class _Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        return True


class _Logger(Logger):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn's logger, redacted; the app's "calc" log joins its error log."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.addFilter(_Redact())
        calc_log = logging.getLogger("calc")
        calc_log.handlers = list(self.error_log.handlers)
        calc_log.setLevel(self.error_log.level)
        calc_log.propagate = False


def production_app() -> Flask:
    """The app as ``calc serve`` runs it: never in debug or testing mode."""
    app = create_app()
    app.debug = False
    app.testing = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            # Settings newer than the installed gunicorn (e.g. the control socket)
            # are skipped: an older gunicorn does not have what they switch off.
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self) -> Flask:
        return production_app()


def shown_address(bind: str) -> str:
    """The address to open in a browser for a gunicorn bind ("host:port")."""
    host, port = bind.rsplit(":", 1)
    host = host.strip("[]")
    try:
        ip = ipaddress.ip_address(host) if host else None
    except ValueError:  # a host name
        return f"http://{host}:{port}/"
    if ip is None or ip.is_unspecified:  # listening on every interface: open it locally
        ip = ipaddress.ip_address("::1" if ip and ip.version == 6 else "127.0.0.1")
    shown = f"[{ip}]" if ip.version == 6 else str(ip)
    return f"http://{shown}:{port}/"


def _when_ready(server: Any) -> None:
    print(f"calc is running: open {shown_address(server.cfg.bind[0])} (Ctrl+C to stop)", flush=True)


def gunicorn_options(host: str, port: int, workers: int | None, threads: int) -> dict[str, Any]:
    bind_host = f"[{host}]" if ":" in host else host
    return {
        "bind": f"{bind_host}:{port}",
        "workers": workers or default_workers(),
        "worker_class": WORKER_CLASS,
        "threads": threads,
        "timeout": 30,  # a worker silent this long is killed and replaced
        "graceful_timeout": 10,
        "keepalive": 5,  # an idle kept-alive connection is closed after 5 s
        "worker_connections": 1000,  # open connections per worker process
        "preload_app": True,  # a broken evidence file stops the server before it forks
        "accesslog": None,  # no access log: it would record client IP addresses
        "errorlog": "-",
        "loglevel": "warning",
        "logger_class": _Logger,
        "capture_output": False,
        "limit_request_line": 4094,
        "limit_request_fields": 50,
        "limit_request_field_size": 8190,
        "proc_name": "calc",
        "control_socket_disable": True,  # gunicorn >= 25.1: no socket file under $HOME
        # The heartbeat file (made with mkstemp, unlinked at once) in memory, as
        # gunicorn's docs advise: on a disk its fchmod calls can stall a worker.
        "worker_tmp_dir": _SHM if os.path.isdir(_SHM) else None,
        "when_ready": _when_ready,
    }


def run(host: str, port: int, workers: int | None, threads: int) -> None:
    _Server(gunicorn_options(host, port, workers, threads)).run()
