"""Malformed requests on raw sockets never cause a 5xx nor an answer without safeguards.

Hazard H-21. A seeded grammar builds requests from broken request lines,
methods, versions, header fields (bad names, obs-fold, oversized, doubled
``Content-Length``, ``Transfer-Encoding`` codings the server does not speak,
``SCRIPT_NAME``), chunked framing (bad sizes, missing CRLF, extensions,
trailers), bodies and bytes that are not UTF-8. Every request carries a
sentinel; they go to the real server (``calc serve``) over loopback, several
connections at a time, each half-closed once sent so that the server answers
at once rather than waiting out its deadlines. Every answer, whoever wrote it
(the app or the worker), must be a status under 500 with each of the app's
security headers and no ``Server`` header, and hold no sentinel; nor may the
server's log.
"""

from __future__ import annotations

import random
import socket
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote_from_bytes

import pytest

from calc.web.app import SECURITY_HEADERS
from tests.served import LOOPBACK, serve

SEED = 20_210
REQUESTS = 10_000
PARALLEL = 12
SENTINEL = b"Zq7H21sentinel"
ANSWER_TIMEOUT = 15.0
ASSESS = b'{"failure_type":"ACLF","meld":28,"alt":240,"tbil":320}'

Grammar = Callable[[random.Random], bytes]


def _sent(rng: random.Random) -> bytes:
    """The sentinel, sometimes wrapped in quotes, escapes or bytes that are not UTF-8."""
    return rng.choice([b"", b"'", b'"', b"\\", b"\xff", b"%27", b"\xc3("]) + SENTINEL


METHODS: list[Grammar] = [
    lambda r: b"GET",
    lambda r: b"POST",
    lambda r: b"HEAD",
    lambda r: b"get",
    lambda r: b"PATCH",
    lambda r: b"FOO",
    lambda r: b"G@T",
    lambda r: b"",
    lambda r: b"GET GET",
    lambda r: b"CONNECT",
    lambda r: b"OPTIONS",
    lambda r: b"PRI",
    lambda r: b"\x00GET",
    lambda r: b"G\xe9T",
    lambda r: b"A" * r.choice([30, 300, 5000]),
    lambda r: b"X" + _sent(r),
]
TARGETS: list[Grammar] = [
    lambda r: b"/",
    lambda r: b"/healthz",
    lambda r: b"/api/v1/assess",
    lambda r: b"/api/v1/meld",
    lambda r: b"/?alt=" + _sent(r),
    lambda r: b"/api/v1/assess?" + _sent(r),
    lambda r: b"/" + _sent(r),
    lambda r: b"*",
    lambda r: b"localhost:443",
    lambda r: b"http://" + _sent(r) + b"/healthz",
    lambda r: b"http://[::1/",
    lambda r: b"/%zz%" + _sent(r),
    lambda r: b"/\xff\xfe" + _sent(r),
    lambda r: b"//" + _sent(r),
    lambda r: b"/" + b"a" * r.choice([4000, 4100, 9000]) + _sent(r),
    lambda r: b"/a b" + _sent(r),
    lambda r: b"",
    lambda r: b"/static/../../etc/passwd",
    lambda r: b"/%00" + _sent(r),
    lambda r: b"/\x7f" + _sent(r),
]
VERSIONS: list[Grammar] = [
    lambda r: b"HTTP/1.1",
    lambda r: b"HTTP/1.1",
    lambda r: b"HTTP/1.0",
    lambda r: b"HTTP/2.0",
    lambda r: b"HTTP/9.9",
    lambda r: b"HTTP/1.1x",
    lambda r: b"http/1.1",
    lambda r: b"HTTP/1",
    lambda r: b"",
    lambda r: b"HTTP/1.1 " + _sent(r),
    lambda r: b"HTTP/1.1'" + _sent(r),
]
HEADERS: list[Grammar] = [
    lambda r: b"Content-Type: application/json",
    lambda r: b"Content-Type: application/x-www-form-urlencoded",
    lambda r: b"Content-Length: " + str(r.choice([0, 5, 56, 100, 99_999])).encode(),
    lambda r: b"Content-Length: 5\r\nContent-Length: 6",
    lambda r: b"Content-Length: 5\r\nContent-Length: 5",
    lambda r: b"Content-Length: " + r.choice([b"-1", b"+5", b"0x10", b"5 5", b"9" * 30, b""]),
    lambda r: b"Transfer-Encoding: chunked",
    lambda r: b"Transfer-Encoding: chunked",
    lambda r: b"Transfer-Encoding: xchunked",
    lambda r: b"Transfer-Encoding: chunked, gzip",
    lambda r: b"Transfer-Encoding: gzip, chunked",
    lambda r: b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
    lambda r: b"Transfer-Encoding: \x0bchunked",
    lambda r: b"Transfer-Encoding: chunked\r\nContent-Length: 5",
    lambda r: b"SCRIPT_NAME: /" + _sent(r),
    lambda r: b"Script-Name: /" + _sent(r),
    lambda r: b"X_Forwarded_For: " + _sent(r),
    lambda r: b"Bad Name: " + _sent(r),
    lambda r: b": " + _sent(r),
    lambda r: b"X-\xff: " + _sent(r),
    lambda r: b"X-Fold: a\r\n " + _sent(r),
    lambda r: b"\tX-Fold-First: " + _sent(r),
    lambda r: b"X-Big: " + b"a" * r.choice([8000, 9000, 40_000]) + _sent(r),
    lambda r: b"\r\n".join(b"X-Many-%d: %s" % (i, _sent(r)) for i in range(60)),
    lambda r: b"Expect: 100-continue",
    lambda r: b"Expect: " + _sent(r),
    lambda r: b"Connection: close",
    lambda r: b"Connection: keep-alive, " + _sent(r),
    lambda r: b"Host: " + _sent(r),
    lambda r: b"Host: a\r\nHost: b",
    lambda r: b"X-Nul: a\x00" + _sent(r),
    lambda r: b"NoColon" + _sent(r),
    lambda r: b"Origin: http://" + _sent(r),
    lambda r: b"Sec-Fetch-Site: " + _sent(r),
    lambda r: b"Cookie: a=" + _sent(r),
    lambda r: b"X-Value: " + _sent(r) + b"\xff\xfe\x80",
]
BODIES: list[Grammar] = [
    lambda r: b"",
    lambda r: ASSESS,
    lambda r: b'{"failure_type": "' + _sent(r) + b'", "meld": 28}',
    lambda r: b'{"' + _sent(r) + b'": 1}',
    lambda r: b"meld=28&alt=" + _sent(r),
    lambda r: b"\xff\xfe\x00" + _sent(r),
    lambda r: b"x" * r.choice([10, 17_000]) + _sent(r),
    # Chunked framing, well and badly formed.
    lambda r: b"5\r\nhello\r\n0\r\n\r\n",
    lambda r: b"%x\r\n%s\r\n0\r\n\r\n" % (len(ASSESS), ASSESS),
    lambda r: b"zz\r\n" + _sent(r) + b"\r\n0\r\n\r\n",
    lambda r: b"-1\r\n" + _sent(r) + b"\r\n0\r\n\r\n",
    lambda r: b"ffffffffffffffffff\r\n" + _sent(r) + b"\r\n0\r\n\r\n",
    lambda r: b"5\r\nhello" + _sent(r) + b"0\r\n\r\n",
    lambda r: b"5;ext=" + _sent(r) + b"\r\nhello\r\n0\r\n\r\n",
    lambda r: b'5;ext="' + _sent(r) + b'"\r\nhello\r\n0\r\n\r\n',
    lambda r: b"5\r\nhello\r\n0\r\nX-Trailer: " + _sent(r) + b"\r\n\r\n",
    lambda r: b"5\nhello\n0\n\n" + _sent(r),
    lambda r: b"5\r\nhello\r\n" + _sent(r),
    lambda r: b"4000\r\n" + b"a" * 0x4000 + b"\r\n10\r\n" + b"b" * 16 + b"\r\n0\r\n\r\n",
    # Another request after this one: pipelined garbage.
    lambda r: b"0\r\n\r\nG@T /" + _sent(r) + b" HTTP/1.1\r\nHost: x\r\n\r\n",
]
EOLS = [b"\r\n"] * 8 + [b"\n", b"\r", b"\r\r\n"]


def malformed(rng: random.Random) -> bytes:
    """One request from the grammar, with at least one sentinel somewhere in it."""
    eol = rng.choice(EOLS)
    # Often a request line the server can read, so that the header fields and the body
    # (and the app behind them) are exercised too.
    readable = rng.random() < 0.5
    parts = [METHODS[:6], TARGETS[:6], VERSIONS[:3]] if readable else [METHODS, TARGETS, VERSIONS]
    method, target, version = (rng.choice(part)(rng) for part in parts)
    spaces = b" " if readable else rng.choice([b" ", b" ", b" ", b"  ", b"\t", b""])
    line = spaces.join(p for p in (method, target, version) if p or readable or rng.random() < 0.5)
    headers = [b"Host: localhost"] if rng.random() < 0.85 else []
    headers += [rng.choice(HEADERS)(rng) for _ in range(rng.randint(0, 4))]
    head = line + eol + b"".join(h.replace(b"\r\n", eol) + eol for h in headers) + eol
    request = head + rng.choice(BODIES)(rng)
    if SENTINEL not in request:
        request += b"X-Sentinel: " + _sent(rng) + eol
    return request


def exchange(port: int, request: bytes) -> bytes:
    """Send one request, half-close, and read until the server closes the connection."""
    received = bytearray()
    with socket.create_connection((LOOPBACK, port), timeout=ANSWER_TIMEOUT) as s:
        try:
            s.sendall(request)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server answered and closed before reading it all: read what it said
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while time.monotonic() < deadline:
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            received += data
    return bytes(received)


def answers(raw: bytes) -> list[tuple[int, dict[str, list[str]], bytes]]:
    """The answers in what the server sent: (status, header fields, body)."""
    found = []
    while raw:
        head, sep, rest = raw.partition(b"\r\n\r\n")
        assert sep, f"an answer without the end of its head: {raw[:200]!r}"
        status_line, *lines = head.decode("latin-1").split("\r\n")
        version, status, _ = (status_line + " ").split(" ", 2)
        assert version in ("HTTP/1.1", "HTTP/1.0"), status_line
        fields: dict[str, list[str]] = {}
        for line in lines:
            name, _, value = line.partition(":")
            fields.setdefault(name.strip().lower(), []).append(value.strip())
        length = int(fields.get("content-length", ["0"])[0])
        if len(rest) < length or rest.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")):
            length = 0  # an answer to HEAD: the length of the body it would have had
        found.append((int(status), fields, rest[:length]))
        raw = rest[length:]
    return found


def check(answer: tuple[int, dict[str, list[str]], bytes], raw: bytes) -> list[str]:
    status, fields, _ = answer
    problems = []
    if status >= 500:
        problems.append(f"status {status}")
    if "server" in fields:
        problems.append(f"Server: {fields['server']}")
    for name, value in SECURITY_HEADERS.items():
        if fields.get(name.lower()) != [value]:
            problems.append(f"{name}: {fields.get(name.lower())}")
    if SENTINEL.lower() in raw.lower():
        problems.append("the sentinel was echoed")
    return problems


@pytest.mark.hazard("H-21")
def test_h21_malformed_requests_get_4xx_with_the_apps_headers(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    requests = [malformed(rng) for _ in range(REQUESTS)]
    assert all(SENTINEL in r for r in requests)
    statuses: Counter[str] = Counter()
    failures: list[str] = []
    started = time.monotonic()
    with serve(tmp_path / "logs", workers=2, threads=4) as server:
        with ThreadPoolExecutor(PARALLEL) as pool:
            raws = list(pool.map(lambda r: exchange(server.port, r), requests))
        for request, raw in zip(requests, raws, strict=True):
            if not raw:
                statuses["closed without an answer"] += 1
                continue
            for answer in answers(raw):
                statuses[str(answer[0])] += 1
                problems = check(answer, raw)
                if problems and len(failures) < 20:
                    failures.append(f"{problems} for {request[:120]!r}")
    seconds = time.monotonic() - started
    print(f"\n{REQUESTS} requests in {seconds:.1f} s; answers by status:")
    for status, count in sorted(statuses.items()):
        print(f"  {status}: {count}")
    assert not failures, "\n".join(failures)
    assert statuses["closed without an answer"] < REQUESTS // 100, statuses
    assert sum(n for s, n in statuses.items() if s.startswith("4")) > REQUESTS // 2
    assert SENTINEL.decode().lower() not in (server.stdout + server.stderr).lower()
    assert "Traceback" not in server.stderr


LOG_SENTINEL = "Qw8H21logged"
QUOTED = [f"{LOG_SENTINEL}{q}" for q in ("'", '"', "\\", "\n", "\r\n", "%0a", "'\"")]


def _log_requests() -> list[bytes]:
    """Valid and malformed requests holding the sentinel in each of their parts."""
    requests = []
    for text in QUOTED:
        s = text.encode() + b"\xff\xfe"
        body = b'{"failure_type": "ACLF", "meld": 28, "alt": "' + s + b'", "tbil": 320}'
        requests += [
            b"GET /?alt=" + s + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /" + s + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            b"G'T" + s + b" / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET / HTTP/1.1'" + s + b"\r\nHost: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-" + s + b": 1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Ref: " + s + b"\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: " + s + b"\r\n\r\n",
            b"POST /api/v1/assess HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body),
            b"POST /api/v1/assess HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n%x;"
            % len(body)
            + s
            + b"\r\n"
            + body
            + b"\r\n0\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Transfer-Encoding: chunked\r\n\r\nzz" + s + b"\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: x" + s + b"\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + s + b"\r\n\r\n",
            b"GET /" + s + b" HTTP/1.1\r\nHost: x\r\nSCRIPT_NAME: /" + s + b"\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Fold: a\r\n " + s + b"\r\n\r\n",
            b"GET /" + b"a" * 5000 + s + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        ]
    return requests


@pytest.mark.hazard("H-21")
def test_h21_the_log_holds_nothing_a_client_sent(tmp_path: Path) -> None:
    requests = _log_requests()
    statuses: Counter[int] = Counter()
    with serve(tmp_path / "logs", workers=1, threads=2) as server:
        for request in requests:
            raw = exchange(server.port, request)
            assert raw.startswith(b"HTTP/1.1 "), request
            status = answers(raw)[0][0]
            assert status < 500, (status, request)
            statuses[status] += 1
        # Requests one after another on a kept-alive connection: each is answered.
        body = QUOTED[0].encode() + b"\xff"
        raw = exchange(
            server.port,
            b"GET /healthz?ref=" + quote_from_bytes(body).encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /api/v1/assess HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s"
            % (len(ASSESS), ASSESS)
            + b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            + b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body),
        )
        assert [a[0] for a in answers(raw)] == [200, 200, 200, 422], raw[:300]
    logs = server.stdout + server.stderr
    print(f"\n{len(requests)} requests; statuses {dict(sorted(statuses.items()))}")
    assert statuses[200] and statuses[400]  # valid and malformed requests both reached it
    assert "Invalid request from ip=[withheld]" in server.stderr  # the log is captured
    assert LOG_SENTINEL.lower() not in logs.lower()
    assert "127.0.0.1" not in server.stderr  # nor the client's address
