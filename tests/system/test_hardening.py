"""Hardening: methods, limits, headers, errors, server, bandit, load.

Sources: OWASP Secure Headers Project and OWASP ASVS; the API's error contract
(README, JSON API); this project's performance budgets (README, Benchmarks).

Every route is found by walking ``app.url_map`` (and every file in the static
folder), so a route added later is checked without touching this file.
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask, abort, session
from flask.testing import FlaskClient
from werkzeug.routing import Rule
from werkzeug.test import EnvironBuilder, TestResponse, run_wsgi_app

from calc import create_app
from calc.version import __version__
from calc.web.app import CSP, HSTS, MAX_BODY_BYTES, MAX_FORM_PARTS, NO_STORE, SECURITY_HEADERS
from calc.web.server import default_workers, gunicorn_options, production_app, redact
from tests.served import serve

ROOT = Path(__file__).resolve().parents[2]
ROUTED = {"GET", "HEAD", "POST"}
OTHER_METHODS = ["OPTIONS", "PUT", "DELETE", "PATCH", "TRACE", "PROPFIND", "BREW"]
EXPECTED_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": (
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
    ),
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
MESSAGES = {
    400: "The request could not be read.",
    404: "There is no page at this address.",
    405: "This address does not accept that method.",
    413: "The request is too large (at most 16 KiB).",
    415: "The request has the wrong content type.",
    500: "Something went wrong on the server; nothing was computed. Please try again.",
}
SECRET = "SECRET-12345.678"


def test_the_expected_headers_are_the_apps() -> None:
    # Written out above by hand (OWASP Secure Headers Project), so that a change in app.py
    # shows up here.
    assert SECURITY_HEADERS == EXPECTED_HEADERS
    assert EXPECTED_HEADERS["Content-Security-Policy"] == CSP
    assert (NO_STORE, HSTS) == ("no-store, max-age=0", "max-age=31536000; includeSubDomains")
    assert MAX_BODY_BYTES == 16 * 1024


# --------------------------------------------------------------------------
# Walking every route


def _is_json(path: str) -> bool:
    return path.startswith("/api/") or path == "/healthz"


def _static_files(app: Flask) -> list[str]:
    assert app.static_folder
    root = Path(app.static_folder)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _urls(app: Flask) -> Iterator[tuple[Rule, str]]:
    """Every routed URL: each rule, and for the static rule each static file."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            for name in _static_files(app):
                yield rule, f"/static/{name}"
        else:
            assert not rule.arguments, f"teach this test the arguments of {rule}"
            yield rule, rule.rule


def _call(client: FlaskClient, method: str, path: str) -> TestResponse:
    if method != "POST":
        return client.open(path, method=method)
    if path.startswith("/api/"):
        return client.post(path, json={})
    return client.post(path, data={})


def _assert_headers(r: TestResponse, where: str, *, https: bool, static: bool) -> None:
    for name, value in EXPECTED_HEADERS.items():
        assert r.headers.get(name) == value, (where, name, r.headers.get(name))
    if https:
        assert r.headers.get("Strict-Transport-Security") == HSTS, where
    else:
        assert "Strict-Transport-Security" not in r.headers, where
    if static and r.status_code == 200:
        assert r.headers["Cache-Control"] == "public, max-age=3600", where
    else:
        assert r.headers.get("Cache-Control") == NO_STORE, (where, r.status_code)
    assert "Set-Cookie" not in r.headers, where  # the app sets no cookie at all
    assert "Server" not in r.headers, where


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_every_route_and_static_file_carries_the_headers(https: bool) -> None:
    app = create_app({"TESTING": True, "HTTPS": https})
    client = app.test_client()
    seen: set[str] = set()
    statics = 0
    for rule, path in _urls(app):
        for method in sorted(rule.methods or ()):
            r = _call(client, method, path)
            r.close()  # a static file is streamed; its headers stay readable
            assert r.status_code < 500, (method, path)
            _assert_headers(r, f"{method} {path}", https=https, static=rule.endpoint == "static")
        seen.add(rule.endpoint)
        statics += rule.endpoint == "static"
    # The walk covered every rule, every static file (at least the CSS, JS and icon).
    assert seen == {rule.endpoint for rule in app.url_map.iter_rules()}
    assert statics == len(_static_files(app)) >= 3
    # And the error responses: 404, 405, 413 (HTML and JSON), a missing static file.
    for method, path, kwargs, status in [
        ("GET", "/nowhere", {}, 404),
        ("GET", "/api/v1/nowhere", {}, 404),
        ("GET", "/static/nothing-here.css", {}, 404),
        ("PUT", "/", {}, 405),
        ("PUT", "/api/v1/assess", {}, 405),
        ("POST", "/", {"data": {"x": "y" * MAX_BODY_BYTES}}, 413),
        ("POST", "/api/v1/assess", {"data": " " * (MAX_BODY_BYTES + 1)}, 413),
    ]:
        r = client.open(path, method=method, **kwargs)
        assert r.status_code == status, (method, path)
        _assert_headers(r, f"{method} {path}", https=https, static=False)


def test_only_get_head_and_post_are_routed(app: Flask) -> None:
    for rule in app.url_map.iter_rules():
        assert rule.methods is not None and rule.methods <= ROUTED, rule


@pytest.mark.parametrize("method", OTHER_METHODS)
def test_every_other_method_is_405_with_allow(app: Flask, method: str) -> None:
    """OPTIONS too: the app answers no cross-origin client, so it needs no preflight."""
    client = app.test_client()
    allowed: dict[str, set[str]] = {}
    for rule, path in _urls(app):
        allowed.setdefault(path, set()).update(rule.methods or ())
    for path, methods in allowed.items():
        r = client.open(path, method=method)
        assert r.status_code == 405, (method, path)
        assert set(r.headers["Allow"].split(", ")) == methods, (method, path)
        if _is_json(path):
            assert r.get_json() == {"errors": {"request": [MESSAGES[405]]}}, path
        else:
            assert MESSAGES[405] in r.get_data(as_text=True), path


@pytest.mark.parametrize("method", ["get", "Get", "head", "post", "pOST"])
def test_a_method_not_written_as_routed_is_405_with_allow(app: Flask, method: str) -> None:
    """Methods are case-sensitive (RFC 9110, 9.1): ``get`` is not ``GET``, though
    Werkzeug would upper-case it and serve it."""
    client = app.test_client()
    allowed: dict[str, set[str]] = {}
    for rule, path in _urls(app):
        allowed.setdefault(path, set()).update(rule.methods or ())
    for path, methods in allowed.items():
        r = client.open(path, method=method)
        assert r.status_code == 405, (method, path)
        assert set(r.headers["Allow"].split(", ")) == methods, (method, path)
    assert client.open("/healthz", method=method.upper()).status_code in {200, 405}


# --------------------------------------------------------------------------
# Limits


def _post_routes(app: Flask) -> list[str]:
    return sorted({r.rule for r in app.url_map.iter_rules() if "POST" in (r.methods or ())})


def test_bodies_over_16_kib_are_413_on_every_post_route(app: Flask) -> None:
    client = app.test_client()
    routes = _post_routes(app)
    assert {"/", "/api/v1/assess"} <= set(routes)
    for path in routes:
        for content_type in ("application/x-www-form-urlencoded", "application/json"):
            r = client.post(path, data=b"a=" + b"1" * MAX_BODY_BYTES, content_type=content_type)
            assert r.status_code == 413, (path, content_type)
            text = r.get_data(as_text=True)
            assert MESSAGES[413] in text, path
        # A file upload of more than 16 KiB, too.
        upload = {"saved": (io.BytesIO(b"{" * (MAX_BODY_BYTES + 1)), "big.json")}
        r = client.post(path, data=upload, content_type="multipart/form-data")
        assert r.status_code == 413, path


def test_a_body_of_16_kib_is_read(client: FlaskClient) -> None:
    """The limit is on the body: 16 KiB exactly is accepted (and refused on its values)."""
    body = "meld=28&pad=" + "x" * (MAX_BODY_BYTES - len("meld=28&pad="))
    assert len(body) == MAX_BODY_BYTES
    r = client.post("/", data=body, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 422


def _chunked(app: Flask, path: str, body: bytes, content_type: str) -> tuple[int, bytes]:
    """A chunked body (no Content-Length), as gunicorn passes it on to the app.

    Called through WSGI directly: the test client would add a Content-Length.
    """
    environ = EnvironBuilder(
        path=path,
        method="POST",
        input_stream=io.BytesIO(body),
        content_type=content_type,
        headers={"Transfer-Encoding": "chunked"},
    ).get_environ()
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True
    chunks, status, _ = run_wsgi_app(app, environ, buffered=True)
    return int(status.split()[0]), b"".join(chunks)


def test_a_chunked_body_over_16_kib_is_413_not_cut_short(app: Flask) -> None:
    form = "application/x-www-form-urlencoded"
    status, body = _chunked(app, "/", b"meld=28&alt=" + b"1" * MAX_BODY_BYTES, form)
    assert status == 413 and MESSAGES[413].encode() in body
    big_json = b'{"alt": "' + b"1" * MAX_BODY_BYTES + b'"}'
    assert _chunked(app, "/api/v1/assess", big_json, "application/json")[0] == 413
    # At or under the limit, the whole chunked body reaches the view.
    status, body = _chunked(app, "/", b"meld=99&pad=" + b"x" * 16_000, form)
    assert status == 422 and b"MELD must be a whole number" in body
    whole = json.dumps({"failure_type": "ACLF", "meld": 28, "alt": 240, "tbil": 320})
    assert _chunked(app, "/api/v1/assess", whole.encode(), "application/json")[0] == 200


def test_uploads_are_bounded_in_parts(app: Flask, client: FlaskClient) -> None:
    from calc.web.forms import AssessmentForm

    with app.test_request_context():
        fields = len(AssessmentForm()._fields)
    assert fields + 10 <= MAX_FORM_PARTS  # room for the real form, sent as multipart too
    parts = {f"f{i}": "1" for i in range(MAX_FORM_PARTS + 1)}
    assert client.post("/", data=parts, content_type="multipart/form-data").status_code == 413
    parts = {f"f{i}": "1" for i in range(MAX_FORM_PARTS - 1)}
    assert client.post("/", data=parts, content_type="multipart/form-data").status_code == 422


# --------------------------------------------------------------------------
# Errors


def _failing_app(**config: Any) -> Flask:
    """The app plus routes that fail on purpose, as HTML pages and under /api/."""
    app = create_app({"TESTING": True, **config})

    def fail(code: int) -> str:
        abort(code)

    def boom() -> str:
        raise RuntimeError(f"patient {SECRET} at /etc/passwd")

    app.add_url_rule("/test-fail/<int:code>", "fail", fail)
    app.add_url_rule("/api/v1/test-fail/<int:code>", "api_fail", fail)
    app.add_url_rule("/test-boom", "boom", boom, methods=["GET", "POST"])
    app.add_url_rule("/api/v1/test-boom", "api_boom", boom, methods=["GET", "POST"])
    return app


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_error_pages_and_bodies_are_generic(code: int) -> None:
    client = _failing_app().test_client()
    page = client.get(f"/test-fail/{code}")
    assert page.status_code == code
    html = page.get_data(as_text=True)
    assert f"<h1>Error {code}</h1>" in html and MESSAGES[code] in html
    assert page.mimetype == "text/html"
    body = client.get(f"/api/v1/test-fail/{code}")
    assert body.status_code == code
    assert body.get_json() == {"errors": {"request": [MESSAGES[code]]}}
    for text in (html, body.get_data(as_text=True)):
        assert "Traceback" not in text and "werkzeug" not in text.lower()


@pytest.mark.parametrize("path", ["/test-boom", "/api/v1/test-boom"])
def test_an_internal_error_shows_no_traceback_and_logs_no_value(
    path: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = _failing_app().test_client()
    with caplog.at_level(logging.DEBUG):
        r = client.post(path, data={"alt": SECRET})
    assert r.status_code == 500
    text = r.get_data(as_text=True)
    assert MESSAGES[500] in text
    for leak in ("Traceback", "RuntimeError", SECRET, "/etc/passwd", 'File "'):
        assert leak not in text
    _assert_headers(r, path, https=False, static=False)
    endpoint = "api_boom" if path.startswith("/api/") else "boom"
    assert [rec.getMessage() for rec in caplog.records] == [
        f"internal error RuntimeError in {endpoint}"
    ]
    for rec in caplog.records:
        assert SECRET not in rec.getMessage() and rec.exc_info is None


# --------------------------------------------------------------------------
# HTTPS: HSTS and Secure cookies by a setting, both ways


def _cookie_app(**config: Any) -> Flask:
    app = create_app({"TESTING": True, "SECRET_KEY": "test only", **config})

    def set_cookie() -> str:
        session["x"] = 1
        return "ok"

    app.add_url_rule("/test-cookie", "cookie", set_cookie)
    return app


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_cookies_are_secure_only_over_https_and_always_strict(https: bool) -> None:
    r = _cookie_app(HTTPS=https).test_client().get("/test-cookie")
    cookie = r.headers["Set-Cookie"]
    assert ("; Secure" in cookie) == https
    assert "; HttpOnly" in cookie and "; SameSite=Strict" in cookie
    assert ("Strict-Transport-Security" in r.headers) == https


@pytest.mark.parametrize(
    ("value", "https"),
    [("true", True), ("1", True), ("yes", True), ("false", False), ("0", False), ("no", False)],
)
def test_https_setting_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, https: bool
) -> None:
    monkeypatch.setenv("CALC_HTTPS", value)
    app = create_app()
    assert app.config["HTTPS"] is https
    assert app.config["SESSION_COOKIE_SECURE"] is https
    r = app.test_client().get("/")
    assert (r.headers.get("Strict-Transport-Security") == HSTS) == https


def test_a_misspelt_https_setting_stops_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALC_HTTPS", "ture")
    with pytest.raises(ValueError, match="HTTPS must be true or false"):
        create_app()


# --------------------------------------------------------------------------
# The production server


def test_healthz(client: FlaskClient, app: Flask) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {
        "status": "ok",
        "version": __version__,
        "evidence_version": app.extensions["calc_evidence"].evidence_version,
    }


def test_the_debugger_is_never_on_under_calc_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in [("FLASK_DEBUG", "1"), ("CALC_DEBUG", "true"), ("CALC_TESTING", "true")]:
        monkeypatch.setenv(name, value)
    assert create_app().debug  # the environment does turn debug on for a plain app...
    app = production_app()  # ...but not for the one gunicorn serves
    assert not app.debug and not app.testing and not app.config["PROPAGATE_EXCEPTIONS"]
    assert type(app.wsgi_app).__name__ != "DebuggedApplication"

    def boom() -> str:
        raise RuntimeError(SECRET)

    app.add_url_rule("/test-boom", "boom", boom)
    r = app.test_client().get("/test-boom")
    assert r.status_code == 500 and SECRET not in r.get_data(as_text=True)
    assert "Traceback" not in r.get_data(as_text=True)


def test_gunicorn_options() -> None:
    from gunicorn.config import Config

    options = gunicorn_options("127.0.0.1", 8000, None, 4)
    newer = {"control_socket_disable"}  # gunicorn >= 25.1; skipped by older ones
    assert set(options) - newer <= set(Config().settings), "an option gunicorn does not know"
    assert options["bind"] == "127.0.0.1:8000"
    assert options["workers"] == default_workers() == max(1, os.cpu_count() or 1)
    assert (options["worker_class"], options["threads"]) == ("calc.web.worker.CalcWorker", 4)
    # The app's own worker: gunicorn loads it by that name, as one of its workers.
    from gunicorn.util import load_class
    from gunicorn.workers.base import Worker

    assert issubclass(load_class(options["worker_class"]), Worker)
    assert (options["keepalive"], options["worker_connections"]) == (5, 1000)
    assert 0 < options["timeout"] <= 60 and 0 < options["graceful_timeout"] <= 30
    assert options["accesslog"] is None  # no access log: it would hold client addresses
    assert (options["errorlog"], options["loglevel"]) == ("-", "warning")
    assert options["control_socket_disable"] is True
    assert options["preload_app"] is True
    assert gunicorn_options("::1", 8000, 3, 2)["bind"] == "[::1]:8000"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Invalid request from ip=10.1.2.3: Invalid HTTP request line: 'GET /?alt=1 x'",
            "Invalid request from ip=[withheld]: Invalid HTTP request line ([withheld])",
        ),
        # A request holding ' is quoted with ": the text must not slip through.
        (
            """Invalid request from ip=10.1.2.3: Invalid HTTP request line: "GET /O'Brien x" """,
            "Invalid request from ip=[withheld]: Invalid HTTP request line ([withheld])",
        ),
        (
            "Invalid request from ip=10.1.2.3: Invalid HTTP method: 'G@T'",
            "Invalid request from ip=[withheld]: Invalid HTTP method ([withheld])",
        ),
        (
            "Invalid request from ip=10.1.2.3: Proxy request from 'SENTINEL-REF' not allowed",
            "Invalid request from ip=[withheld]: Proxy request from ([withheld])",
        ),
        (
            "Invalid request from ip=10.1.2.3: Request Line is too large (8200 > 4094)",
            "Invalid request from ip=[withheld]: Request Line is too large (8200 > 4094) "
            "([withheld])",
        ),
        (
            "Invalid request from ip=::1: bad",
            "Invalid request from ip=[withheld]: bad ([withheld])",
        ),
        ("Error handling request GET /x?alt=12", "Error handling request [withheld]"),
        ("Error handling request /SENTINEL-REF/x", "Error handling request [withheld]"),
        ("from 192.168.0.7 now", "from [withheld] now"),
        ("internal error ValueError in views.submit", "internal error ValueError in views.submit"),
    ],
)
def test_server_log_messages_are_redacted(message: str, expected: str) -> None:
    assert redact(message) == expected


def test_the_server_logger_redacts_and_carries_the_apps_log() -> None:
    from gunicorn.config import Config

    from calc.web.server import _Logger, _Server

    server = _Server({**gunicorn_options("127.0.0.1", 8000, 1, 1), "no_such_setting": 1})
    assert server.cfg.accesslog is None and server.cfg.workers == 1  # unknown key skipped
    calc_log = logging.getLogger("calc")
    saved = (calc_log.handlers[:], calc_log.level, calc_log.propagate)
    try:
        logger = _Logger(server.cfg)
        assert isinstance(server.cfg, Config)
        assert calc_log.handlers == logger.error_log.handlers and not calc_log.propagate
        stream = io.StringIO()
        for handler in calc_log.handlers:
            handler.setStream(stream)  # type: ignore[attr-defined]
        logger.warning("Invalid request from ip=%s: %s", "10.9.8.7", "'GET /?alt=1 x'")
        calc_log.error("internal error %s in %s", "ValueError", "views.submit")
        calc_log.info("below the level: not written")
        lines = stream.getvalue().splitlines()
        assert [ln.split("] ", 3)[-1] for ln in lines] == [
            "Invalid request from ip=[withheld]: [withheld]",
            "internal error ValueError in views.submit",
        ]
        assert isinstance(server.load(), Flask)
    finally:
        calc_log.handlers, calc_log.propagate = saved[0], saved[2]
        calc_log.setLevel(saved[1])


def test_calc_serve_runs_gunicorn_without_banner_access_log_or_debugger(tmp_path: Path) -> None:
    from tests.served import clean_env

    env = clean_env({"FLASK_DEBUG": "1", "CALC_DEBUG": "true", "HOME": str(tmp_path)})
    with serve(tmp_path / "logs", env=env) as server:
        status, headers, body = server.request("GET", "/healthz")
        assert status == 200
        assert json.loads(body) == {
            "status": "ok",
            "version": __version__,
            "evidence_version": "cao2018-abstract-v2",
        }
        assert "Server" not in headers  # no banner at all
        for name, value in EXPECTED_HEADERS.items():
            assert headers[name] == value
        status, headers, body = server.request("OPTIONS", "/")
        assert status == 405 and headers["Allow"]
        status, _, body = server.request("GET", "/nowhere")
        assert status == 404 and b"Traceback" not in body and b"Debugger" not in body
        # A chunked body (no Content-Length) over 16 KiB: refused while reading.
        chunk = b"a=" + b"1" * (MAX_BODY_BYTES + 100)
        raw = b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk)
        headers_ = {
            "Transfer-Encoding": "chunked",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        assert server.request("POST", "/", raw, headers_)[0] == 413
    assert "calc is running: open http://127.0.0.1:" in server.stdout
    assert server.stderr.strip() == "", server.stderr  # no access log, no warnings


# --------------------------------------------------------------------------
# Static analysis


def test_bandit_finds_nothing_of_medium_or_high_severity() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", "calc", "-f", "json", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(result.stdout)
    assert report["metrics"]["_totals"]["loc"] > 1000  # it did read the package
    serious = [
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}"
        for r in report["results"]
        if r["issue_severity"] in {"MEDIUM", "HIGH"}
    ]
    assert serious == [], serious
    assert not report["errors"], report["errors"]


# --------------------------------------------------------------------------
# The load-test script (the 30 s run itself is a CI step)


def _loadtest() -> ModuleType:
    spec = importlib.util.spec_from_file_location("loadtest", ROOT / "loadtest" / "loadtest.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("loadtest", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_loadtest_verdict_fails_on_errors_slowness_and_missing_answers() -> None:
    lt = _loadtest()
    ok = lt.Outcome("t", 4, latencies_ms=[1.0, 2.0, 3.0, 99.9])
    ok.statuses.update({"200": 4})
    assert lt.verdict(ok, 100.0) == []
    slow = lt.Outcome("t", 4, latencies_ms=[1.0, 2.0, 3.0, 100.0])
    slow.statuses.update({"200": 4})
    assert lt.verdict(slow, 100.0) == ["p99 100.0 ms is not below 100 ms"]
    bad = lt.Outcome("t", 3, latencies_ms=[1.0, 1.0])
    bad.statuses.update({"200": 1, "500": 1})
    assert lt.verdict(bad, 100.0) == [
        "non-2xx or failed requests: {'500': 1}",
        "only 2 of 3 requests completed",
    ]
    assert lt.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert lt.percentile(sorted(float(i) for i in range(1, 101)), 99) == 99.0


def test_loadtest_refuses_unbounded_runs() -> None:
    lt = _loadtest()
    for argv in (["--rate", "5000"], ["--duration", "600"], ["--targets", "elsewhere"]):
        with pytest.raises(SystemExit) as exc:
            lt.main(argv)
        assert exc.value.code == 2
    assert lt.HOST == "127.0.0.1"


def test_loadtest_smoke_run() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "loadtest/loadtest.py",
            "--rate",
            "40",
            "--duration",
            "1",
            "--warmup",
            "0.25",
            "--workers",
            "1",
            "--p99-ms",
            "2000",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| result page (POST /) | 40/40 | 200: 40 |" in result.stdout
    assert "| JSON API (POST /api/v1/assess) | 40/40 | 200: 40 |" in result.stdout
    assert "PASSED" in result.stdout


@pytest.mark.parametrize(
    ("path", "status", "location"),
    [
        pytest.param("/api//v1/openapi.json", 404, None, id="doubled-slash-not-found"),
        pytest.param("//", 308, "/", id="root-redirect-relative"),
        pytest.param("///evil.example/", 404, None, id="protocol-relative-path"),
    ],
)
def test_a_forged_host_is_never_reflected(
    client: FlaskClient, path: str, status: int, location: str | None
) -> None:
    """No redirect is built from the client's Host header (it went into Location)."""
    r = client.get(path, headers={"Host": "evil.example"})
    assert r.status_code == status
    assert r.headers.get("Location") == location
    assert not [v for _, v in r.headers.items() if "evil.example" in v]
    assert r.headers["Content-Security-Policy"] == CSP


CROSS_SITE_FORM = {"failure_type": "ACLF", "meld": "28", "alt": "240", "tbil": "320"}


@pytest.mark.parametrize("path", ["/", "/save", "/open", "/api/v1/assess", "/api/v1/meld"])
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Sec-Fetch-Site": "cross-site"}, id="fetch-cross-site"),
        pytest.param({"Sec-Fetch-Site": "same-site"}, id="fetch-same-site"),
        pytest.param({"Origin": "https://evil.example"}, id="origin-other-host"),
        pytest.param({"Origin": "null"}, id="origin-null"),
    ],
)
def test_a_post_from_another_site_is_refused(
    client: FlaskClient, path: str, headers: dict[str, str]
) -> None:
    """Another site's page cannot post the form, trigger a save or call the API."""
    r = client.post(path, data=CROSS_SITE_FORM, headers=headers)
    assert r.status_code == 403
    assert r.headers["Content-Security-Policy"] == CSP
    assert r.headers["Cache-Control"] == NO_STORE
    assert b"ACLF" not in r.data and b"320" not in r.data  # nothing was computed


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Sec-Fetch-Site": "same-origin"}, id="fetch-same-origin"),
        pytest.param({"Sec-Fetch-Site": "none"}, id="fetch-none"),
        pytest.param({"Origin": "http://localhost"}, id="origin-same-host"),
        pytest.param({}, id="no-browser-headers"),
    ],
)
def test_a_post_from_the_apps_own_pages_is_accepted(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    r = client.post("/", data=CROSS_SITE_FORM, headers=headers)
    assert r.status_code == 200
    assert b"Expected MELD after MSCT" in r.data
