"""HTTP/1.1 for the sync transport's short route: keep-alive connections to one origin on
blocking sockets, answers parsed by httptools with the callbacks the async pool uses
(``answers.py``). ``direct_sync.py`` builds each request's bytes and reads the answer.

Why: urllib3 and ``http.client`` spend about 250 µs of client CPU on a small request
(header lines parsed by ``email.parser``, a buffered file over the socket, the response
object and its checks), several times the exchange itself; a page of 1,000 records
paid 0.75 ms where a socket and httptools pay 0.25 ms.

What stays urllib3's: connections are opened by the urllib3 pool of requests' own
``HTTPAdapter`` (its connection class, socket options, TLS context, CA bundle, client
certificate, hostname check, connect timeout and errors), so TLS is requests' exactly.
What it keeps of that pool (``block=False``): any number of connections open at once,
``maxsize`` of them kept idle (the most recently used is reused first), no idle expiry;
an idle connection the server closed or sent bytes on is noticed before reuse (a
readable idle socket, as ``is_connection_dropped()`` sees it) and replaced. A request
that fails on a connection is not sent again (requests' ``max_retries`` of 0): the
transport's retry policy decides. Timeouts: (connect, read), read being the longest
silence while waiting for bytes of the answer (sending has the connect timeout, on a
reused connection too, as urllib3 sends). Errors are raised as urllib3 would raise
them, for ``direct_sync`` to map as ``HTTPAdapter`` does. Thread-safe: the idle list is
guarded by a lock, a connection is used by one thread at a time.
"""

from __future__ import annotations

import errno
import http.client
import socket
import ssl
import threading
from typing import Any

import urllib3
from urllib3 import exceptions as ux
from urllib3.util.ssl_match_hostname import CertificateError
from urllib3.util.wait import wait_for_read

from .answers import PARSER_ERRORS, Answer, AnswerReader, cut_short, parser_error

_DISCONNECTED = "Remote end closed connection without response"  # http.client's words
_RECEIVE = 262144
_HUNG_UP = (errno.EPROTOTYPE, errno.ECONNRESET)  # send errors urllib3 lets the read report
_USER_AGENT = f"python-urllib3/{urllib3.__version__}"  # type: ignore[attr-defined]
#: A body up to this size goes out joined to its headers (one send); a larger one after
#: them, as it is: joining would copy it (a 5 MB PUT held three times instead of twice).
_JOINED = 1 << 16

#: A request's bytes: all in one, or (headers, body).
Wire = bytes | tuple[bytes, bytes]


class AnswerError(Exception):
    """The exchange failed after the answer's headers were read (``error``: urllib3's
    exception for it, as reading the body of a streamed response raises it)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


class Connection(AnswerReader):
    """One connected urllib3 connection, its socket used directly."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.sock: socket.socket = connection.sock
        self.parser = None
        self.closed = False
        self.complete = False
        self.keep_alive = False

    def dropped(self) -> bool:
        """Whether the idle connection was closed by the server or got bytes nobody
        asked for (either way its socket is readable)."""
        return self.closed or wait_for_read(self.sock, timeout=0.0)

    def exchange(
        self, data: Wire, head: bool, connect: float | None, read: float | None, where: Any
    ) -> Answer:
        """Send ``data`` (within ``connect``), read the whole answer (``read``: the longest
        silence); ``where`` (pool, url) names urllib3's errors. Raises urllib3's errors
        before the answer's headers, :class:`AnswerError` after; the caller closes the
        connection if this raises."""
        self._begin(head)
        sock = self.sock
        if sock.gettimeout() != connect:  # a reused one has the last read's
            sock.settimeout(connect)
        try:  # as urllib3 sends: within the connect timeout, on every connection
            if isinstance(data, bytes):
                sock.sendall(data)
            else:
                for part in data:
                    sock.sendall(part)
        except OSError as exc:
            if isinstance(exc, ssl.SSLError):
                raise ux.MaxRetryError(where[0], where[1], ux.SSLError(exc)) from exc
            if not isinstance(exc, BrokenPipeError) and exc.errno not in _HUNG_UP:
                raise ux.ProtocolError("Connection aborted.", exc) from exc
            # as urllib3: the server may have answered before it hung up; read it
        if read == 0:
            raise ux.ReadTimeoutError(where[0], where[1], "Read timed out. (read timeout=0)")
        sock.settimeout(read)
        parser = self.parser
        assert parser is not None
        while not self.complete:
            try:
                chunk = sock.recv(_RECEIVE)
            except OSError as exc:
                if self.headers_done:
                    raise AnswerError(_late(exc, read, where)) from exc
                raise _early(exc, read, where) from exc
            if not chunk:
                self.closed = True
                self._ended(where)
                break
            try:
                self._feed(chunk)
            except PARSER_ERRORS as exc:
                self._unexpected()
                if self.complete:  # refused bytes after the whole answer: not its own
                    break
                if self.headers_done:
                    raise AnswerError(ux.ProtocolError(f"Connection broken: {exc!r}", exc)) \
                        from exc
                raise ux.ProtocolError("Connection aborted.", http.client.BadStatusLine(
                    parser_error(exc))) from exc
        answer = self._answer()
        self.reusable = self.keep_alive and not self.closed
        return answer

    def _ended(self, where: Any) -> None:
        """The server closed the connection before the answer was complete."""
        if not self.headers_done:
            raise ux.ProtocolError("Connection aborted.", http.client.RemoteDisconnected(
                _DISCONNECTED))
        verdict = cut_short(self.headers, self._received())
        if verdict is not None:
            raise AnswerError(ux.ProtocolError(f"Connection broken: {verdict}"))
        self.keep_alive = False  # a body delimited by the end of the connection
        self._finish()

    def _unexpected(self) -> None:
        self.closed = True
        self.keep_alive = False

    def close(self) -> None:
        self.closed = True
        self.parser = None  # it refers to this connection: no cycle left for the GC
        self.connection.close()


def _early(exc: OSError, read: float | None, where: Any) -> Exception:
    """urllib3's error for ``exc`` raised before the answer's headers were read."""
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return ux.ReadTimeoutError(where[0], where[1], f"Read timed out. (read timeout={read})")
    if isinstance(exc, ssl.SSLError):
        return ux.MaxRetryError(where[0], where[1], ux.SSLError(exc))
    return ux.ProtocolError("Connection aborted.", exc)


def _late(exc: OSError, read: float | None, where: Any) -> Exception:
    """urllib3's error for ``exc`` raised while reading the answer's body."""
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return ux.ReadTimeoutError(where[0], where[1], "Read timed out.")
    if isinstance(exc, ssl.SSLError):
        return ux.SSLError(exc)
    return ux.ProtocolError(f"Connection broken: {exc!r}", exc)


class Pool:
    """Keep-alive connections to the origin of ``pool`` (a urllib3 connection pool,
    which opens them), at most ``maxsize`` kept idle."""

    def __init__(self, pool: Any, maxsize: int) -> None:
        self.pool, self.maxsize = pool, maxsize
        # The Host header http.client writes for the pool's connections.
        host = pool.host.rstrip(".")
        if ":" in host:
            host = f"[{host}]"
        default = 443 if pool.scheme == "https" else 80
        self.host = host if pool.port in (None, default) else f"{host}:{pool.port}"
        self.lock = threading.Lock()
        self.idle: list[Connection] = []  # oldest first
        self.closed = False

    def encode(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None
    ) -> Wire | None:
        """The bytes urllib3 and ``http.client`` send for this request (its headers as
        requests prepared them; a large body apart, see ``_JOINED``); None when they
        would add or refuse something else (a framing of their own, a header name that
        is not ASCII, a value that is not Latin-1)."""
        keys = headers.keys()
        if not all(map(str.isascii, keys)) or not all(
            type(value) is str for value in headers.values()  # bytes: http.client's own
        ):
            return None
        lines = [f"{method} {target} HTTP/1.1"]
        lowered = {name.lower() for name in keys}
        if "host" not in lowered:
            lines.append(f"Host: {self.host}")
        if "accept-encoding" not in lowered:
            lines.append("Accept-Encoding: identity")
        if "transfer-encoding" in lowered or (
            body is not None and "content-length" not in lowered
        ):
            return None
        if "user-agent" not in lowered:
            lines.append(f"User-Agent: {_USER_AGENT}")
        lines.extend(f"{name}: {value}" for name, value in headers.items())
        lines.append("\r\n")
        try:
            head = "\r\n".join(lines).encode("latin-1")
        except UnicodeEncodeError:
            return None
        if body is None:
            return head
        return head + body if len(body) <= _JOINED else (head, body)

    def request(
        self, data: Wire, head: bool, connect: float | None, read: float | None, url: str
    ) -> Answer:
        """Send one request (all its bytes) on an idle connection or a new one; return
        its answer. Raises urllib3's errors, or :class:`AnswerError`."""
        connection = self._idle()
        if connection is None:
            connection = self._open(connect, url)
        try:
            answer = connection.exchange(data, head, connect, read, (self.pool, url))
        except BaseException:  # never half-read in the pool
            connection.close()
            raise
        if connection.reusable:
            with self.lock:
                if not self.closed:
                    self.idle.append(connection)
                    connection = None if len(self.idle) <= self.maxsize else self.idle.pop(0)
        if connection is not None:
            connection.close()
        return answer

    def _idle(self) -> Connection | None:
        while True:
            with self.lock:
                if not self.idle:
                    return None
                connection = self.idle.pop()  # the most recently used
            if not connection.dropped():
                return connection
            connection.close()

    def _open(self, connect: float | None, url: str) -> Connection:
        """A new connection, opened by urllib3 as its pool opens one for a request."""
        connection = self.pool._new_conn()
        connection.timeout = connect
        try:
            connection.connect()
        except (ux.HTTPError, OSError, CertificateError) as exc:
            connection.close()
            if isinstance(exc, (ssl.SSLError, CertificateError)):
                reason: Exception = ux.SSLError(exc)
            elif isinstance(exc, ux.HTTPError):
                reason = exc
            else:  # a read error, which urllib3's Retry(read=False) raises as it is
                raise ux.ProtocolError("Connection aborted.", exc) from exc
            raise ux.MaxRetryError(self.pool, url, reason) from exc
        return Connection(connection)

    def close(self) -> None:
        """Close the idle connections; those in use are closed when given back."""
        with self.lock:
            idle, self.idle, self.closed = self.idle, [], True
        for connection in idle:
            connection.close()
