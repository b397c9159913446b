"""A loopback HTTP proxy that injects faults between a client and the real Kinto server.

>>> with FaultProxy(kinto_server.url) as proxy:
...     proxy.set_plan([Rule(SERVICE_UNAVAILABLE, every=5)])
...     client = Client(proxy.url, retry=3, retry_after=0)
...     ...
...     proxy.injected[SERVICE_UNAVAILABLE]     # how many 503 it answered

Requests go through unchanged (keep-alive on both sides, ``Next-Page``/``Location``
rewritten to point back to the proxy) unless a :class:`Rule` of the plan fires; then the
proxy answers an error without forwarding, drops the connection before or after
forwarding, answers too late, truncates or garbles the body, or adds a ``Backoff`` header.
Everything it did is counted (``requests``, ``forwarded``, ``injected``, ``events``).

Bounded on purpose: handler threads are daemons with a socket timeout, slow answers sleep
at most ``Rule.delay`` (interrupted by :meth:`FaultProxy.stop`), and :meth:`stop` closes
every open connection.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

# Faults where the request never reaches the server (the proxy answers or hangs up).
SERVICE_UNAVAILABLE = "503"
TOO_MANY_REQUESTS = "429"
CONFLICT = "409"
HTML_BAD_GATEWAY = "html502"
DROP_BEFORE = "drop_before"
# Faults applied after the request reached the server (a write happened).
DROP_AFTER = "drop_after"
SLOW = "slow"
TRUNCATED = "truncated"
MALFORMED_JSON = "malformed"
BACKOFF = "backoff"

FAULTS = (
    SERVICE_UNAVAILABLE, TOO_MANY_REQUESTS, CONFLICT, HTML_BAD_GATEWAY, DROP_BEFORE,
    DROP_AFTER, SLOW, TRUNCATED, MALFORMED_JSON, BACKOFF,
)
#: Faults applied to the server's answer: the request was forwarded, so a write happened
#: (for all but BACKOFF, without the client knowing for sure).
AFTER_FORWARDING = frozenset({DROP_AFTER, SLOW, TRUNCATED, MALFORMED_JSON, BACKOFF})

_ERRORS: dict[str, tuple[int, int, str, str]] = {
    SERVICE_UNAVAILABLE: (
        503, 201, "Service Unavailable",
        "Service temporary unavailable due to overloading or maintenance, please retry later.",
    ),
    TOO_MANY_REQUESTS: (429, 117, "Too Many Requests", "Client has sent too many requests"),
    CONFLICT: (409, 122, "Conflict", "Integrity constraint violated, please retry."),
}
HTML_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
MALFORMED_BODY = b'{"data": {"id": "oops", "last_modified": 12'  # cut JSON, right length

_HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate",
    "proxy-authorization", "te", "trailer", "trailers", "transfer-encoding", "upgrade",
    "content-length", "host",
})


@dataclass
class Rule:
    """When to inject ``fault``.

    A request *matches* when its method is in ``methods`` (any when None) and ``path``
    (a regex) is found in its path. Among matching requests (counted from 1), the rule
    fires on the ``nth`` ones, on every ``every``-th one, or on all of them with
    ``always``; at most ``limit`` times when given. With ``spare_retries``, a request
    identical (method, path and body) to one the rule faulted is let through: under
    concurrency the retry of a faulted request can otherwise land on the next multiple
    of ``every`` again, and again.
    """

    fault: str
    every: int | None = None
    nth: Iterable[int] = ()
    always: bool = False
    path: str | None = None
    methods: Iterable[str] | None = None
    limit: int | None = None
    #: ``Retry-After`` of 503/429/409 answers (None: no header).
    retry_after: str | None = "0"
    #: ``Backoff`` seconds added by :data:`BACKOFF`.
    backoff: str = "1"
    #: How long :data:`SLOW` waits before answering (choose more than the client timeout).
    delay: float = 2.0
    spare_retries: bool = False
    matched: int = field(default=0, init=False)
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; known: {FAULTS}")
        self._nth = frozenset(self.nth)
        self._methods = None if self.methods is None else {m.upper() for m in self.methods}
        self._regex = re.compile(self.path) if self.path else None
        self._faulted: set[tuple[str, str, bytes]] = set()

    def check(self, method: str, path: str, body: bytes = b"") -> bool:
        """Count this request if it matches; True when the fault applies to it."""
        if self._methods is not None and method not in self._methods:
            return False
        if self._regex is not None and not self._regex.search(path):
            return False
        key = (method, path, hashlib.sha256(body).digest())
        if self.spare_retries and key in self._faulted:
            return False
        self.matched += 1
        if self.limit is not None and self.fired >= self.limit:
            return False
        hit = (
            self.always
            or self.matched in self._nth
            or (self.every is not None and self.matched % self.every == 0)
        )
        if hit:
            self.fired += 1
            if self.spare_retries:
                self._faulted.add(key)
        return hit


@dataclass
class Event:
    """One request the proxy received, and what it did with it."""

    index: int
    method: str
    path: str
    fault: str | None
    received: float
    answered: float | None = None
    status: int | None = None
    #: What the server answered a forwarded request the fault then hid or garbled.
    upstream: tuple[int, bytes] | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    proxy: FaultProxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection ends after this (bounded threads)
    server: _Server
    _headers_buffer: list[bytes]  # BaseHTTPRequestHandler's, filled by send_header()
    _upstream: http.client.HTTPConnection | None = None

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in one packet; no Nagle/delayed-ACK stalls.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.proxy._opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if self._upstream is not None:
                self._upstream.close()
            self.server.proxy._closed(self.connection)

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    # ------------------------------------------------------------------ plumbing

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        proxy = self.server.proxy
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        while True:
            reused = self._upstream is not None
            if self._upstream is None:
                self._upstream = http.client.HTTPConnection(
                    proxy.upstream_host, proxy.upstream_port, timeout=60
                )
            try:
                self._upstream.request(self.command, self.path, body=body, headers=headers)
                answer = self._upstream.getresponse()
                content = answer.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server had closed: the request never
                # reached it, so sending it again on a new connection is safe.
                self._upstream.close()
                self._upstream = None
                if not reused:
                    raise
                continue
            except (OSError, http.client.HTTPException):
                self._upstream.close()
                self._upstream = None
                raise
            if answer.will_close:
                self._upstream.close()
                self._upstream = None
            out = [
                (k, proxy.rewrite(v) if k.lower() in ("next-page", "location") else v)
                for k, v in answer.getheaders()
                if k.lower() not in _HOP_BY_HOP
            ]
            return answer.status, out, content

    def _send(
        self, status: int, headers: list[tuple[str, str]], body: bytes, *, length: int | None = None
    ) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        # Headers and body in one write (what end_headers() does, plus the body).
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()

    def _drop(self) -> None:
        """End the connection without an answer (the client sees it closed)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ------------------------------------------------------------------ one request

    def _handle(self) -> None:
        proxy = self.server.proxy
        body = self._read_body()
        path = urlsplit(self.path).path
        event, rule = proxy._decide(self.command, path, body)
        fault = rule.fault if rule is not None else None
        try:
            if rule is not None and fault in _ERRORS:
                status, errno, error, message = _ERRORS[fault]
                payload = {"code": status, "errno": errno, "error": error, "message": message}
                headers = [("Content-Type", "application/json")]
                if rule.retry_after is not None:
                    headers.append(("Retry-After", rule.retry_after))
                event.status = status
                self._send(status, headers, json.dumps(payload).encode())
                return
            if fault == HTML_BAD_GATEWAY:
                event.status = 502
                self._send(502, [("Content-Type", "text/html")], HTML_PAGE)
                return
            if fault == DROP_BEFORE:
                self._drop()
                return
            try:
                status, headers, content = self._forward(body)
            except (OSError, http.client.HTTPException):
                proxy._upstream_failed(event)  # not a planned fault: tests check it is 0
                self._drop()
                return
            event.status = status
            if fault is not None:
                event.upstream = (status, content)
            proxy._count_forwarded()
            if fault == DROP_AFTER:
                self._drop()
            elif fault == SLOW:
                assert rule is not None
                proxy._stopping.wait(rule.delay)
                try:  # the client has given up by now; answer anyway, then close
                    self.close_connection = True
                    self._send(status, headers, content)
                except OSError:
                    pass
            elif fault == TRUNCATED:
                self.close_connection = True
                cut = content[: max(1, len(content) // 2)]
                self._send(status, headers, cut, length=len(content))
                self._drop()
            elif fault == MALFORMED_JSON:
                headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
                headers.append(("Content-Type", "application/json"))
                event.status = 200
                self._send(200, headers, MALFORMED_BODY)
            elif fault == BACKOFF:
                assert rule is not None
                self._send(status, [*headers, ("Backoff", rule.backoff)], content)
            else:
                self._send(status, headers, content)
        finally:
            event.answered = time.monotonic()


class FaultProxy:
    """The proxy: ``FaultProxy(upstream_url).start()`` (or a ``with`` block); ``.url``
    is the URL to give the client (same path prefix as ``upstream_url``)."""

    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self.upstream_origin = f"{parts.scheme}://{parts.netloc}"
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self._prefix = parts.path.rstrip("/")
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        #: Requests the proxy itself failed to forward (never planned; kept across plans).
        self.upstream_errors = 0
        self.set_plan([])

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FaultProxy:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.proxy = self
        self._server = server
        self.port = int(server.server_address[1])
        self.origin = f"http://127.0.0.1:{self.port}"
        self.url = self.origin + self._prefix
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
            name=f"fault-proxy-{self.port}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ plan and counts

    def set_plan(self, rules: Iterable[Rule]) -> None:
        """Use ``rules`` from now on (the first that fires wins) and reset the counts."""
        with self._lock:
            self.rules = list(rules)
            self.events: list[Event] = []
            self.injected: Counter[str] = Counter()
            self.forwarded = 0

    @property
    def requests(self) -> int:
        """How many requests reached the proxy since the plan was set."""
        return len(self.events)

    def events_for(self, method: str | None = None, path: str | None = None) -> list[Event]:
        """The events whose method is ``method`` and whose path contains regex ``path``."""
        with self._lock:
            events = list(self.events)
        return [
            e for e in events
            if (method is None or e.method == method)
            and (path is None or re.search(path, e.path))
        ]

    def _decide(self, method: str, path: str, body: bytes = b"") -> tuple[Event, Rule | None]:
        with self._lock:
            chosen = None
            for rule in self.rules:  # a request taken by a rule is not seen by the next
                if rule.check(method, path, body):
                    chosen = rule
                    break
            event = Event(
                len(self.events) + 1, method, path,
                chosen.fault if chosen else None, time.monotonic(),
            )
            self.events.append(event)
            if chosen is not None:
                self.injected[chosen.fault] += 1
            return event, chosen

    def _upstream_failed(self, event: Event) -> None:
        with self._lock:
            self.upstream_errors += 1
            event.fault = "upstream_error"

    def _count_forwarded(self) -> None:
        with self._lock:
            self.forwarded += 1

    def _opened(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def rewrite(self, url: str) -> str:
        """A server URL as seen through the proxy."""
        if url.startswith(self.upstream_origin):
            return self.origin + url[len(self.upstream_origin):]
        return url

    def __repr__(self) -> str:
        return f"<FaultProxy {getattr(self, 'url', '?')} -> {self.upstream_origin}>"
