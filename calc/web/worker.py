"""The gunicorn worker of ``calc serve``: an event loop reads, a thread pool computes.

gunicorn stays the process manager (worker processes, restarts, signals, the
heartbeat); this worker class replaces how a connection is read. gunicorn's
own workers give each connection a thread (``gthread``) or a greenlet that
reads it with no time limit, so forty clients sending a byte at a time held
every thread and no one else was answered; and gunicorn writes its own answer
to a malformed request (a 400, 414, 431, 417, 501 or 500 with a ``Server``
banner, without the app's security headers, quoting the request).

Here one asyncio event loop per process reads every connection and parses it
with h11 (a sans-IO HTTP/1.1 parser, RFC 9112). A request is buffered whole,
head and body, before the app runs in a thread of a pool of ``--threads``, so
a slow client costs a socket, never a thread. Deadlines (RFC 9110 15.5.9, 408):

- the request head within ``HEAD_TIMEOUT`` (10 s) of the connection's start
  (or of the previous response, on a kept-alive connection);
- the body within ``BODY_TIMEOUT`` (10 s) of the head: 16 KiB in 10 s is
  1.6 KB/s, slower than any working link;
- an idle kept-alive connection is closed after ``keepalive`` (5 s);
- the answer must leave within ``SEND_TIMEOUT`` (10 s).

Limits, as gunicorn's (``gunicorn_options``): request target at most
``limit_request_line`` bytes (414), at most ``limit_request_fields`` header
fields of at most ``limit_request_field_size`` bytes each, and the whole head
at most ``MAX_HEAD_BYTES`` (431). A body over the app's ``MAX_BODY_BYTES`` is
not read past the limit; the app is called with its length and no body and
answers 413 itself, in its own error format (the JSON API's error contract).

Every answer the worker writes itself is a 4xx (a client's bytes never cause a
5xx), carries the app's security headers and ``Cache-Control: no-store``, no
``Server`` header, a short fixed body that echoes nothing of the request, and
``Connection: close``. Its log line names neither the client's address nor
anything it sent. A method is a token (RFC 9110 9.1): ``PATCH`` or ``FOO``
reach the app, which answers 405 with ``Allow``; a request line whose method
is not a token (``G@T``) is not an HTTP request line and gets the worker's 400.

Not gunicorn's gevent or eventlet workers: they bound nothing more by
themselves and still write gunicorn's own error answers. Not waitress: it
buffers requests too, but writes its own error pages, with its banner.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import io
import os
import socket
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

import h11
from gunicorn.workers.base import Worker

from .app import HSTS, MAX_BODY_BYTES, NO_STORE, SECURITY_HEADERS

HEAD_TIMEOUT = 10.0
BODY_TIMEOUT = 10.0
SEND_TIMEOUT = 10.0
# After the last answer on a connection, what the client still sends is read and
# dropped for this long (and up to LINGER_BYTES): closing with unread data would
# reset the connection and could destroy the answer before the client reads it
# (RFC 9112 9.6).
LINGER_TIMEOUT = 2.0
LINGER_BYTES = 64 * 1024
MAX_HEAD_BYTES = 32 * 1024
RECV_BYTES = 64 * 1024

_REASONS = {
    400: "Bad Request",
    408: "Request Timeout",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
}
# Fixed texts: the answer and the log line never hold anything the client sent.
_MESSAGES = {
    400: "The request could not be read.",
    408: "The request took too long to arrive.",
    414: "The request's address is too long.",
    431: "The request's header fields are too large.",
    500: "Something went wrong on the server; nothing was computed. Please try again.",
}
# Response header fields the worker sets itself (RFC 9110 7.6.1: hop-by-hop) or that
# the app must never send (a Server banner).
_DROPPED = frozenset({"server", "date", "connection", "keep-alive", "transfer-encoding"})


class Refused(Exception):
    """A request the worker answers itself with ``status``, closing the connection."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass
class Answer:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    failed: bool = False  # the app raised: the worker's own 500 goes out


def safeguards(https: bool) -> list[tuple[str, str]]:
    """The app's security headers (and HSTS behind HTTPS), as the app sets them."""
    headers = list(SECURITY_HEADERS.items())
    if https:
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


def worker_answer(status: int, *, https: bool = False) -> bytes:
    """The whole of an answer the worker writes itself: generic, with the app's headers."""
    body = (_MESSAGES[status] + "\n").encode()
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Date", email.utils.formatdate(usegmt=True)),
        *safeguards(https),
        ("Cache-Control", NO_STORE),
        ("Connection", "close"),
    ]
    head = f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers)
    return head.encode("latin-1") + b"\r\n" + body


def _latin1(data: bytes) -> str:
    """WSGI's native strings hold bytes as ISO-8859-1 (PEP 3333)."""
    return data.decode("latin-1")


def wsgi_environ(
    request: h11.Request,
    body: bytes,
    content_length: int | None,
    server: tuple[str, int],
    peer: str,
    multiprocess: bool,
) -> dict[str, Any]:
    """The WSGI environ of a request read whole (PEP 3333).

    ``SCRIPT_NAME`` is always empty: the app is mounted at the root, and no header
    sets it. A header field whose name holds ``_`` is dropped: in the environ it
    would be indistinguishable from one spelled with ``-`` (``HTTP_X_USER`` for
    both ``X-User`` and ``X_User``), so a client could shadow a field a proxy set.
    The body has been de-chunked, so ``Transfer-Encoding`` is not passed on and
    ``CONTENT_LENGTH`` is the body's length.
    """
    target = bytes(request.target)
    host: bytes | None = None
    if target.startswith(b"/"):  # origin-form, RFC 9112 3.2.1
        path, _, query = target.partition(b"?")
    elif b"://" in target:  # absolute-form, RFC 9112 3.2.2: its authority is the host
        try:
            parts = urlsplit(target)
        except ValueError as exc:
            raise Refused(400) from exc
        path, query, host = parts.path or b"/", parts.query, parts.netloc
    else:  # asterisk-form or authority-form (RFC 9112 3.2.3-3.2.4): no route matches
        path, query = target, b""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": _latin1(bytes(request.method)),
        "SCRIPT_NAME": "",
        "PATH_INFO": _latin1(unquote_to_bytes(path)),
        "QUERY_STRING": _latin1(query),
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": "HTTP/" + _latin1(bytes(request.http_version)),
        "REMOTE_ADDR": peer,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": multiprocess,
        "wsgi.run_once": False,
    }
    if content_length is not None:
        environ["CONTENT_LENGTH"] = str(content_length)
    for raw_name, raw_value in request.headers:
        name, value = bytes(raw_name), _latin1(bytes(raw_value))
        if b"_" in name or name in (b"content-length", b"transfer-encoding"):
            continue
        key = _latin1(name).upper().replace("-", "_")
        if key != "CONTENT_TYPE":
            key = "HTTP_" + key
        if key in environ:
            environ[key] += ("; " if key == "HTTP_COOKIE" else ", ") + value
        else:
            environ[key] = value
    if host is not None:
        environ["HTTP_HOST"] = _latin1(host)
    return environ


def _status(value: str) -> tuple[int, str]:
    code, _, reason = value.partition(" ")
    return int(code), reason


class CalcWorker(Worker):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn worker: asyncio reads and writes, h11 parses, a thread pool runs the app."""

    alive: bool  # gunicorn's flag: cleared by SIGTERM (a graceful stop) or max_requests
    nr: int

    def init_process(self) -> None:
        self.executor = ThreadPoolExecutor(
            max_workers=max(1, self.cfg.threads), thread_name_prefix="calc"
        )
        self.idle_timeout = float(self.cfg.keepalive or 0)
        self.busy: set[asyncio.Task[None]] = set()
        self.connections: set[asyncio.Task[None]] = set()
        self.https = False
        super().init_process()

    def run(self) -> None:
        config = getattr(self.wsgi, "config", None)
        self.https = bool(config.get("HTTPS")) if config is not None else False
        try:
            asyncio.run(self._main())
        finally:
            self.executor.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------
    # Process: accept, heartbeat, graceful stop

    async def _main(self) -> None:
        slots = asyncio.Semaphore(max(1, self.cfg.worker_connections))
        listeners = [s.sock if hasattr(s, "sock") else s for s in self.sockets]
        for listener in listeners:
            listener.setblocking(False)
        accepting = [asyncio.create_task(self._accept(sock, slots)) for sock in listeners]
        while self.alive:
            self.notify()
            if self.ppid != os.getppid():
                self.log.info("Parent changed, shutting down: %s", self)
                self.alive = False
                break
            await asyncio.sleep(0.5)
        for task in accepting:
            task.cancel()
        # Connections between requests or still sending one are closed now; a request
        # the app is computing gets its answer, within graceful_timeout.
        for task in self.connections - self.busy:
            task.cancel()
        if self.busy:
            _, pending = await asyncio.wait(
                set(self.busy), timeout=float(self.cfg.graceful_timeout)
            )
            for task in pending:
                task.cancel()
        if self.connections:
            await asyncio.wait(set(self.connections), timeout=1.0)

    async def _accept(self, listener: socket.socket, slots: asyncio.Semaphore) -> None:
        loop = asyncio.get_running_loop()
        while self.alive:
            await slots.acquire()
            try:
                client, address = await loop.sock_accept(listener)
            except OSError:
                slots.release()
                await asyncio.sleep(0.01)
                continue
            client.setblocking(False)
            peer = address[0] if isinstance(address, tuple) else ""
            task = asyncio.create_task(self._connection(client, peer))
            self.connections.add(task)

            def done(finished: asyncio.Task[None]) -> None:
                self.connections.discard(finished)
                self.busy.discard(finished)
                slots.release()

            task.add_done_callback(done)

    # ------------------------------------------------------------------
    # One connection

    async def _connection(self, sock: socket.socket, peer: str) -> None:
        loop = asyncio.get_running_loop()
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        try:
            local = sock.getsockname()
            server = (str(local[0]), int(local[1])) if isinstance(local, tuple) else ("", 0)
            start, fresh = loop.time(), True
            while True:
                try:
                    keep = await self._exchange(sock, conn, start, fresh, server, peer)
                except Refused as refused:
                    self._log_refusal(refused.status)
                    await self._send(sock, worker_answer(refused.status, https=self.https))
                    break
                if not keep:
                    break
                conn.start_next_cycle()
                start, fresh = loop.time(), False
            await self._linger(sock)
        except (OSError, TimeoutError, asyncio.CancelledError, h11.ProtocolError):
            pass  # the client went away, or the worker is stopping: nothing to answer
        finally:
            sock.close()

    async def _exchange(
        self,
        sock: socket.socket,
        conn: h11.Connection,
        start: float,
        fresh: bool,
        server: tuple[str, int],
        peer: str,
    ) -> bool:
        """Read one request, answer it; whether the connection may carry another."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        # The first byte: a kept-alive connection may idle for ``keepalive`` seconds.
        head_deadline = start + HEAD_TIMEOUT
        if not conn.trailing_data[0]:
            idle = head_deadline if fresh else min(head_deadline, start + self.idle_timeout)
            try:
                data = await self._recv(sock, idle)
            except TimeoutError:
                return False  # nothing sent: close quietly (RFC 9112 9.5)
            conn.receive_data(data)
        try:
            event = await self._next_event(sock, conn, head_deadline)
        except TimeoutError as exc:
            raise Refused(408) from exc
        if isinstance(event, h11.ConnectionClosed):
            return False
        if not isinstance(event, h11.Request):
            raise Refused(400)
        self._check_head(event)
        body, length, complete = await self._body(sock, conn, event)
        environ = wsgi_environ(event, body, length, server, peer, multiprocess=self.cfg.workers > 1)
        # From here the request is the server's to finish: a graceful stop waits for it.
        self.busy.add(task)
        try:
            answer = await loop.run_in_executor(self.executor, self._call_app, environ)
            self.nr += 1
            if self.nr >= self.max_requests:
                self.log.info("Autorestarting worker after current request.")
                self.alive = False
            # Another request may follow only once this one was read to its end.
            keep = complete and self.alive and conn.their_state is h11.DONE
            await self._send(sock, self._response_bytes(conn, event, answer, keep))
            return keep and conn.our_state is h11.DONE
        finally:
            self.busy.discard(task)

    def _check_head(self, request: h11.Request) -> None:
        """gunicorn's limits, and the framing rules h11 leaves to the server."""
        if len(request.target) > self.cfg.limit_request_line:
            raise Refused(414)
        if request.http_version[:1] != b"1":
            raise Refused(400)  # HTTP/2 and later are not spoken on this port
        headers = list(request.headers)
        if len(headers) > self.cfg.limit_request_fields:
            raise Refused(431)
        if any(len(n) + len(v) + 2 > self.cfg.limit_request_field_size for n, v in headers):
            raise Refused(431)
        names = [bytes(name) for name, _ in headers]
        # RFC 9112 6.1: Transfer-Encoding with Content-Length may be an attempt at
        # request smuggling; a server may refuse it, and does. RFC 9112 3.2: one Host.
        if b"transfer-encoding" in names and b"content-length" in names:
            raise Refused(400)
        if names.count(b"host") > 1:
            raise Refused(400)

    async def _body(
        self, sock: socket.socket, conn: h11.Connection, request: h11.Request
    ) -> tuple[bytes, int | None, bool]:
        """The body, its length for the app, and whether it was read to its end.

        A body over ``MAX_BODY_BYTES`` is not read on: the app gets its length
        (declared, or what arrived so far) with no body, and refuses it (413).
        """
        declared: int | None = None
        chunked = False
        for name, value in request.headers:
            if name == b"content-length":
                declared = int(value)
            elif name == b"transfer-encoding":
                chunked = True
        if declared is not None and declared > MAX_BODY_BYTES:
            return b"", declared, False
        if conn.they_are_waiting_for_100_continue:
            # Even an interim answer carries the app's security headers.
            informational = h11.InformationalResponse(
                status_code=100, headers=self._safeguards(), reason=b"Continue"
            )
            await self._send(sock, conn.send(informational) or b"")
        deadline = asyncio.get_running_loop().time() + BODY_TIMEOUT
        body = bytearray()
        while True:
            try:
                event = await self._next_event(sock, conn, deadline)
            except TimeoutError as exc:
                raise Refused(408) from exc
            if isinstance(event, h11.Data):
                body += event.data
                if len(body) > MAX_BODY_BYTES:
                    return b"", len(body), False
            elif isinstance(event, h11.EndOfMessage):  # at once when there is no body
                framed = declared is not None or chunked
                return bytes(body), len(body) if framed else None, True
            else:
                raise Refused(400)

    # ------------------------------------------------------------------
    # The app, in a thread

    def _call_app(self, environ: dict[str, Any]) -> Answer:
        """Run the WSGI app to the end of its body (PEP 3333); never raises."""
        started: list[tuple[str, list[tuple[str, str]]]] = []
        chunks: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            # Nothing has been sent before the app returns, so a later call (with
            # exc_info, PEP 3333) simply replaces the status and headers.
            started[:] = [(status, headers)]
            return chunks.append

        try:
            result: Iterable[bytes] = self.wsgi(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            status, reason = _status(started[0][0])
            return Answer(status, reason, started[0][1], b"".join(chunks))
        except Exception as exc:
            # The app answers its own errors; reaching here is a fault of the server.
            # The message may hold request values: only the type is logged.
            self.log.error("Error handling request: %s", type(exc).__name__)
            return Answer(500, _REASONS[500], [], b"", failed=True)

    def _response_bytes(
        self, conn: h11.Connection, request: h11.Request, answer: Answer, keep: bool
    ) -> bytes:
        if answer.failed:
            return worker_answer(500, https=self.https)
        headers = [(name, value) for name, value in answer.headers if name.lower() not in _DROPPED]
        bodiless = request.method == b"HEAD" or answer.status in (204, 304)
        if not bodiless:
            headers = [(n, v) for n, v in headers if n.lower() != "content-length"]
            headers.append(("Content-Length", str(len(answer.body))))
        headers.append(("Date", email.utils.formatdate(usegmt=True)))
        if not keep:
            headers.append(("Connection", "close"))
        try:
            out = conn.send(
                h11.Response(
                    status_code=answer.status,
                    headers=headers,
                    reason=answer.reason.encode("latin-1"),
                )
            )
            if not bodiless and answer.body:
                out = (out or b"") + (conn.send(h11.Data(data=answer.body)) or b"")
            return (out or b"") + (conn.send(h11.EndOfMessage()) or b"")
        except (h11.LocalProtocolError, UnicodeEncodeError):
            self.log.error("Error handling request: the app's answer could not be sent")
            return worker_answer(500, https=self.https)

    # ------------------------------------------------------------------
    # Bytes on the socket, each bounded in time

    async def _recv(self, sock: socket.socket, deadline: float) -> bytes:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout_at(deadline):
            return await loop.sock_recv(sock, RECV_BYTES)

    async def _next_event(self, sock: socket.socket, conn: h11.Connection, deadline: float) -> Any:
        while True:
            reading_head = conn.their_state is h11.IDLE
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                # h11's hint is 431 for an overlong head (or chunk header: 400 then), and
                # 501 for a transfer coding it does not speak: the client's error too
                # (RFC 9112 6.3: a Transfer-Encoding not ending in chunked gets 400).
                too_long = exc.error_status_hint == 431 and reading_head
                raise Refused(431 if too_long else 400) from exc
            if event is not h11.NEED_DATA:
                return event
            conn.receive_data(await self._recv(sock, deadline))

    async def _send(self, sock: socket.socket, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(SEND_TIMEOUT):
            await loop.sock_sendall(sock, data)

    async def _linger(self, sock: socket.socket) -> None:
        """Half-close, then read and drop what the client still sends, briefly."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(OSError, TimeoutError):
            sock.shutdown(socket.SHUT_WR)
            dropped = 0
            async with asyncio.timeout(LINGER_TIMEOUT):
                while dropped < LINGER_BYTES and (data := await loop.sock_recv(sock, RECV_BYTES)):
                    dropped += len(data)

    def _safeguards(self) -> list[tuple[str, str]]:
        return safeguards(self.https)

    def _log_refusal(self, status: int) -> None:
        # Timeouts are the slow client's own business; malformed requests are logged,
        # with the reason's fixed words only (never the address or the request).
        if status != 408:
            self.log.warning("Invalid request from ip=[withheld]: %s", _REASONS[status])
