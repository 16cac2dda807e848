"""Patient data (OWASP ASVS 4.0.3, V7 and V8): no value in a log, URL, cookie or file.

Sentinel values go in through the form, the JSON API and the command line, in
the app and in the real gunicorn server (``calc serve`` in a subprocess); every
log line is captured and searched for them. Each test also proves that its
capture works (a line that must be there is there), so it cannot pass by
capturing nothing.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from werkzeug.test import TestResponse

from calc import create_app
from calc.cli.main import main
from calc.web.app import NO_STORE
from tests.served import clean_env, serve

ALT = "12345.678"  # U/L: inside the range, and a number nobody types by accident
TBIL = "654.321"  # umol/L
REF = "SENTINEL-REF"
CLINICIAN = "SENTINEL-CLINICIAN"  # printed on the summary; never stored, logged or saved
SENTINELS = (ALT, TBIL, REF, CLINICIAN)

FORM = {
    "failure_type": "ACLF",
    "meld": "28",
    "alt": ALT,
    "alt_unit": "U/L",
    "tbil": TBIL,
    "tbil_unit": "umol/L",
    "transplant_date": "2026-01-10",
    "patient_ref": REF,
    "clinician": CLINICIAN,
}
API = {"failure_type": "ACLF", "meld": 28, "alt": float(ALT), "tbil": float(TBIL)}
LABS = {
    "bilirubin": float(TBIL),
    "bilirubin_unit": "umol/L",
    "inr": 1.8,
    "creatinine": 1.4,
    "creatinine_unit": "mg/dL",
    "dialysis": False,
}
CLI = ["assess", "--failure-type", "ACLF", "--meld", "28", "--alt", ALT, "--tbil", TBIL]


def _no_sentinel(text: str, where: str) -> None:
    for sentinel in SENTINELS:
        assert sentinel not in text, f"{sentinel!r} found in {where}:\n{text}"


# --------------------------------------------------------------------------
# What a request may touch: log records, files


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.name} {record.levelname} {record.getMessage()}"
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)


@contextmanager
def every_log_record() -> Iterator[list[str]]:
    """Every record of every logger, at every level, while the block runs."""
    handler = _Records()
    loggers = [logging.getLogger()] + [
        lg
        for lg in logging.Logger.manager.loggerDict.values()
        if isinstance(lg, logging.Logger) and not lg.propagate
    ]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_WRITE_EVENTS = {
    "os.mkdir",
    "os.rename",
    "os.remove",
    "os.rmdir",
    "os.link",
    "os.symlink",
    "os.truncate",
    "os.chmod",
    "os.utime",
    "shutil.copyfile",
    "shutil.rmtree",
    "tempfile.mkstemp",
    "tempfile.mkdtemp",
    "sqlite3.connect",
}
_recording: list[str] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _recording is None:
        return
    if event == "open":
        path, mode, flags = args
        writes = bool(flags & _WRITE_FLAGS) if isinstance(flags, int) else False
        writes |= isinstance(mode, str) and any(c in mode for c in "wax+")
        # Python caches compiled modules on first import; that is not the app writing.
        if writes and "__pycache__" not in str(path):
            _recording.append(f"open {path!r} {mode!r}")
    elif event in _WRITE_EVENTS:
        _recording.append(f"{event} {args!r}"[:300])


sys.addaudithook(_audit)  # audit hooks cannot be removed: it records only inside the block


@contextmanager
def file_writes() -> Iterator[list[str]]:
    """Every file opened for writing (and every file created, moved or removed)."""
    global _recording
    _recording = found = []
    try:
        yield found
    finally:
        _recording = None


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# --------------------------------------------------------------------------
# The requests: every way in, valid and invalid


class _Urls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"href", "src", "action", "formaction", "srcset", "data"} and value:
                self.urls.append(value)


def urls_in(html: str) -> list[str]:
    parser = _Urls()
    parser.feed(html)
    return parser.urls


def _form_requests(app: Flask) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, path, client kwargs) for every form route the app has."""
    bad = {**FORM, "meld": "99"}
    out = [
        ("form result", "/", {"data": FORM}),
        ("form errors", "/", {"data": bad}),
        ("form edit", "/", {"data": {**FORM, "action": "edit"}}),
        ("form multipart", "/", {"data": FORM, "content_type": "multipart/form-data"}),
    ]
    if "views.save" in app.view_functions:
        out += [("save", "/save", {"data": FORM}), ("save errors", "/save", {"data": bad})]
    return out


def _api_requests() -> list[tuple[str, str, dict[str, Any]]]:
    js = {"content_type": "application/json"}
    return [
        ("api result", "/api/v1/assess", {"json": API}),
        ("api errors", "/api/v1/assess", {"json": {**API, "meld": 99}}),
        ("api unit errors", "/api/v1/assess", {"json": {**API, "alt_unit": "ukat/L"}}),
        ("api unknown field", "/api/v1/assess", {"json": {**API, REF: float(ALT)}}),
        ("api malformed", "/api/v1/assess", {"data": f'{{"alt": {ALT}, "x": "{REF}"', **js}),
        ("api duplicate", "/api/v1/assess", {"data": f'{{"alt": {ALT}, "alt": {TBIL}}}', **js}),
        ("api 415", "/api/v1/assess", {"data": f"alt={ALT}&ref={REF}"}),
        ("api 413", "/api/v1/assess", {"data": f'{{"alt": {ALT}, "p": "{REF * 2000}"}}', **js}),
        ("api labs", "/api/v1/assess", {"json": {**API, "labs": LABS}}),
        ("meld", "/api/v1/meld", {"json": LABS}),
        ("meld errors", "/api/v1/meld", {"json": {**LABS, "inr": float(ALT)}}),
    ]


def _check_response(label: str, r: TestResponse, *, expect_500: bool = False) -> None:
    assert (r.status_code == 500) == expect_500, (label, r.status_code)
    assert r.headers["Cache-Control"] == NO_STORE, label
    assert "Set-Cookie" not in r.headers, label
    assert r.location is None, label  # no redirect, so no value in a redirect URL
    _no_sentinel(r.headers.get("Content-Disposition", ""), f"{label}: file name")
    if r.mimetype == "text/html":
        for url in urls_in(r.get_data(as_text=True)):
            _no_sentinel(url, f"{label}: a URL in the page")


def _raising_app() -> Flask:
    """The app with one route that fails with patient values in the error and body."""
    app = create_app({"TESTING": True})

    def boom() -> str:
        from flask import request

        raise ValueError(f"cannot use ALT {request.form.get('alt')} for {REF}")

    app.add_url_rule("/boom", "boom", boom, methods=["POST"])
    return app


# --------------------------------------------------------------------------
# In the app and the command line


def test_no_patient_value_in_any_log_url_cookie_or_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    app = _raising_app()
    client = app.test_client()
    instance_existed = Path(app.instance_path).exists()
    requests = [*_form_requests(app), *_api_requests()]
    client.post("/", data=FORM)  # warm up: lazy imports happen here, not while recording

    with every_log_record() as lines, file_writes() as writes:
        statuses = {}
        for label, path, kwargs in requests:
            r = client.post(path, **kwargs)
            statuses[label] = r.status_code
            _check_response(label, r)
        saved = client.post("/save", data=FORM) if "views.save" in app.view_functions else None
        if saved is not None and "views.open_saved" in app.view_functions:
            upload = {"saved": (io.BytesIO(saved.data), "a.json")}
            r = client.post("/open", data=upload, content_type="multipart/form-data")
            statuses["open"] = r.status_code
            _check_response("open", r)
        r = client.post("/boom", data=FORM)
        statuses["500"] = r.status_code
        _check_response("500", r, expect_500=True)
        assert "Traceback" not in r.get_data(as_text=True)
        _no_sentinel(r.get_data(as_text=True), "the 500 page")
        cli_ok = CliRunner().invoke(main, CLI, prog_name="calc")
        cli_bad = CliRunner().invoke(main, [*CLI, "--meld", "99"], prog_name="calc")

    # The requests did what they were meant to: the values were used, and refused.
    assert statuses["form result"] == statuses["api result"] == statuses["meld"] == 200, statuses
    assert statuses["form errors"] == statuses["api errors"] == 422, statuses
    assert statuses["api malformed"] == statuses["api duplicate"] == 400, statuses
    assert (statuses["api 415"], statuses["api 413"], statuses["500"]) == (415, 413, 500)
    assert client.post("/", data=FORM).get_data(as_text=True).count(ALT) >= 1
    assert cli_ok.exit_code == 0 and ALT in cli_ok.output
    assert cli_bad.exit_code == 2
    # The capture works: the internal error was logged (without its values).
    assert any("internal error ValueError" in line for line in lines), lines
    for line in lines:
        _no_sentinel(line, "a log record")
    out, err = capfd.readouterr()
    _no_sentinel(out + err, "the process's standard output or error")
    # Nothing written: no file opened for writing, nothing left in the working
    # directory, no instance folder made.
    assert writes == [], writes
    assert _tree(cwd) == []
    assert Path(app.instance_path).exists() == instance_existed


def test_values_in_a_query_string_are_neither_used_nor_shown() -> None:
    client = create_app({"TESTING": True}).test_client()
    query = "&".join(f"{k}={v}" for k, v in FORM.items())
    page = client.get(f"/?{query}")
    assert page.status_code == 200
    _no_sentinel(page.get_data(as_text=True), "the form page")
    # POST with the values only in the URL: not computed, the form asks for them.
    r = client.post(f"/?{query}", data={})
    assert r.status_code == 422
    _no_sentinel(r.get_data(as_text=True), "the errors page")


# The one thing kept in the browser: the unit-system choice ("si" or "us"), under
# this key; never a patient value (the browser test checks what is stored).
ALLOWED_STORAGE = re.compile(r"window\.localStorage\.(?:getItem|setItem)\(UNIT_SYSTEM_KEY\b")


def test_nothing_in_browser_storage_or_cookies(app: Flask) -> None:
    """No script or page uses cookies or browser storage, except the unit choice."""
    assert app.static_folder and app.template_folder
    files = [
        *Path(app.static_folder).rglob("*.js"),
        *Path(app.root_path, app.template_folder).rglob("*.html"),
    ]
    assert any(f.suffix == ".js" for f in files) and any(f.suffix == ".html" for f in files)
    pattern = re.compile(r"localStorage|sessionStorage|indexedDB|document\.cookie|caches\.open")
    for f in files:
        text = f.read_text(encoding="utf-8")
        if f.suffix == ".js":
            assert 'UNIT_SYSTEM_KEY = "calc.unitSystem"' in text or "localStorage" not in text, f
            text = ALLOWED_STORAGE.sub("", text)
        assert not pattern.search(text), f


# --------------------------------------------------------------------------
# The real server


def _raw(port: int, data: bytes) -> bytes:
    """Send raw bytes from another loopback address (127.0.0.2) and read the answer."""
    import socket

    with socket.socket() as s:
        s.settimeout(10)
        s.bind(("127.0.0.2", 0))
        s.connect(("127.0.0.1", port))
        s.sendall(data)
        return s.recv(65536)


def test_the_server_logs_no_patient_value_no_address_and_writes_nothing(
    tmp_path: Path,
) -> None:
    home, tmp, cwd = tmp_path / "home", tmp_path / "tmp", tmp_path / "cwd"
    for d in (home, tmp, cwd):
        d.mkdir()
    env = clean_env({"HOME": str(home), "TMPDIR": str(tmp), "XDG_RUNTIME_DIR": str(tmp)})
    form = "&".join(f"{k}={v}" for k, v in FORM.items())
    urlencoded = {"Content-Type": "application/x-www-form-urlencoded"}
    js = {"Content-Type": "application/json"}
    with serve(tmp_path / "logs", env=env, cwd=cwd) as server:
        assert server.request("POST", "/", form, urlencoded)[0] == 200
        assert server.request("POST", "/", form.replace("meld=28", "meld=99"), urlencoded)[0] == 422
        assert server.request("POST", "/api/v1/assess", json.dumps(API), js)[0] == 200
        body = json.dumps({**API, "meld": 99, REF: 1})
        assert server.request("POST", "/api/v1/assess", body, js)[0] == 422
        assert server.request("POST", "/api/v1/assess", f'{{"alt": {ALT}', js)[0] == 400
        assert server.request("POST", "/", form + "&pad=" + "x" * 17000, urlencoded)[0] == 413
        assert server.request("PUT", "/", form, urlencoded)[0] == 405
        # A client that puts values in the URL: answered, and not logged.
        assert server.request("GET", f"/?{form}")[0] == 200
        # A malformed request, from another address: gunicorn logs it, redacted.
        answer = _raw(server.port, f"GET /?alt={ALT}&ref={REF} HTTP/1.1 x\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 400")
        # Malformed requests whose text gunicorn would quote in its log: a ' makes it
        # quote with ", which a redaction of '...' alone let through.
        for crafted in (
            f"GET / HTTP/1.1'{REF}\r\n\r\n",  # the version holds the value
            f"G'T{REF} / HTTP/1.1\r\n\r\n",  # the method holds it
            f"GET / HTTP/1.1\r\nX-Ref': {REF}\r\n\r\n",
            f"GET /{REF}' HTTP/9.9\r\n\r\n",
        ):
            status = _raw(server.port, crafted.encode())[:12]
            assert status.startswith(b"HTTP/1.1 4") or status == b"HTTP/1.1 200", status
    logs = server.stdout + server.stderr
    assert "calc is running" in server.stdout  # the capture works: stdout
    assert "Invalid request from ip=[withheld]" in server.stderr  # and stderr, redacted
    _no_sentinel(logs, "the server's output")
    assert "127.0.0.2" not in logs  # no client address
    assert not re.search(r'"(GET|POST|PUT) /', logs)  # no access log line
    # Nothing written anywhere the server could write: cwd, $HOME, $TMPDIR.
    assert (_tree(cwd), _tree(home), _tree(tmp)) == ([], [], [])
