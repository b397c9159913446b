"""The async transport's short route: requests to the Kinto server sent straight on a
small HTTP/1.1 connection pool (``http11.py``: asyncio's transports and the httptools
parser), when ``AsyncTransport`` uses the ``httpx.AsyncClient`` it made itself and
nothing that client would add to a request is set.

Why: for each request ``httpx.AsyncClient.request()`` parses the URL string again, merges
the client's headers, cookies and params, runs the auth flow and the redirect loop, then
hands the request to httpcore and h11, whose pure-Python checks, state machines, pool
walks and locks cost more than the rest of an ``aget()``. Here what is the same for every
request (origin, ``Host``, the client's default headers, Basic or Bearer credentials) is
computed once, and a request is the bytes httpx would send, written at once.

What sends a request the long way (through ``AsyncClient.request()``): a session the
user gave or put in place, event hooks or cookies on the client, client-level auth or
params, an auth that is not a (user, password) pair or a :class:`BearerTokenAuth`
(``BrowserOAuth``, any ``httpx.Auth``), a proxy set in the environment, multipart
uploads, another origin than the server's, a URL httpx would rewrite (characters to
escape, ``.`` segments), a ``Content-Length`` or ``Transfer-Encoding`` header of the
caller's; and every request when httptools cannot be imported. Errors are httpx's
exception types (the ones httpx raises for the same failure).
"""

from __future__ import annotations

import base64
import re
import ssl
import urllib.request
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import httpx

from .. import protocol as core
from .._timeouts import Timeout
from ..auth import BearerTokenAuth

try:
    from . import http11
except ImportError:  # httptools is missing: every request takes the long way (httpx)
    http11 = None  # type: ignore[assignment]

#: Characters httpx sends as they are in a path and a query (RFC 3986 unreserved and
#: sub-delimiters, ``:@/?``, ``%XX`` escapes): a target made only of these goes out
#: byte for byte as httpx would send it.
_PLAIN_TARGET = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*")

#: h11's checks of a header (RFC 9110 tokens; values without NUL, CR, LF nor white space
#: at either end), made here because no h11 stands between this route and the socket.
_HEADER_NAME = re.compile(r"[-!#$%&'*+.^_`|~0-9a-zA-Z]+")
_HEADER_VALUE = re.compile(rb"(?:[^\x00\s]+(?:[ \t]+[^\x00\s]+)*)?")

#: The long way's pool; the short route's (``http11``) has the same limits.
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


def new_session(
    timeout: httpx.Timeout, cookies: Any
) -> tuple[httpx.AsyncClient, ssl.SSLContext]:
    """The ``httpx.AsyncClient`` an ``AsyncTransport`` makes for itself, and the TLS
    context it uses (shared with the short route's pool: certificates load once)."""
    context = httpx.create_ssl_context()
    client = httpx.AsyncClient(timeout=timeout, limits=_LIMITS, cookies=cookies, verify=context)
    return client, context


@lru_cache(maxsize=64)
def httpx_timeout(timeout: Timeout) -> httpx.Timeout:
    """httpx's form of a kinto-orm timeout (``(connect, read)`` or one number)."""
    if isinstance(timeout, tuple):
        connect, read = timeout
        return httpx.Timeout(read, connect=connect)
    return httpx.Timeout(timeout)


@lru_cache(maxsize=64)
def _timeouts(timeout: Timeout) -> tuple[float | None, float | None, float | None, float | None]:
    """The pool's form of a kinto-orm timeout: (connect, read, write, pool) seconds."""
    limits = httpx_timeout(timeout)
    return limits.connect, limits.read, limits.write, limits.pool


def basic_header(user: str, password: str) -> str:
    """``Authorization`` for HTTP Basic, encoded as httpx encodes it (UTF-8)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


class Prepared:
    """A request ready for the pool: its request line and headers (``data``), its body,
    whether the connection may be kept after it, its timeouts."""

    __slots__ = ("body", "data", "keep", "method", "target", "timeouts")

    def __init__(self, method: str, target: str, data: bytes, body: bytes | None,
                 keep: bool, timeouts: http11.Timeouts) -> None:
        self.method, self.target, self.data, self.body = method, target, data, body
        self.keep, self.timeouts = keep, timeouts


class DirectRoute:
    """Sends the requests it can on its own pool; :meth:`prepare` says which."""

    def __init__(
        self, server_url: str, auth: Any, session: httpx.AsyncClient, context: ssl.SSLContext
    ) -> None:
        self.session = session
        self.bearer = auth if isinstance(auth, BearerTokenAuth) else None
        self.basic = basic_header(*auth) if isinstance(auth, tuple) else None
        self.usable = (auth is None or self.bearer is not None or self.basic is not None) \
            and http11 is not None and not urllib.request.getproxies() \
            and _is_plain(server_url)
        end = server_url.find("/", server_url.find("//") + 2)
        self.origin = server_url if end < 0 else server_url[:end]
        self.root = self.origin + "/"  # not a prefix of http://kinto.test.example/
        self.pool: http11.Pool | None = None
        self.netloc = ""
        if self.usable:
            url = httpx.URL(self.root)
            tls = url.scheme == "https"
            self.netloc = url.netloc.decode("ascii")
            self.pool = http11.Pool(url.raw_host.decode("ascii"),
                                    url.port or (443 if tls else 80), context if tls else None)
        #: Header lines by (defaults, request headers): see :meth:`_block`.
        self._blocks: dict[tuple[Any, ...], tuple[str, str, bool] | None] = {}

    def prepare(
        self, session: Any, request: core.Request, url: str, timeout: Timeout,
        headers: dict[str, str],
    ) -> Prepared | None:
        """``request`` (sent to ``url`` within ``timeout``, with the transport's
        ``headers``) ready for :meth:`send`, or None when it must go through
        ``session.request()`` (see the module's docstring)."""
        own = self.session
        if (
            session is not own or not self.usable or request.files or own.is_closed
            or not url.startswith(self.root) or own.auth is not None or own.params
        ):
            return None
        hooks = own.event_hooks
        if hooks["request"] or hooks["response"] or len(own.cookies.jar):
            return None
        target = url[len(self.origin):]
        if request.params:
            if "?" in target:
                return None
            target = f"{target}?{urlencode(request.params)}"
        if "/." in target or not _PLAIN_TARGET.fullmatch(target):
            return None
        body = None if request.json is None else request.body
        method = request.method
        block = self._block(own.headers.raw, headers, request, url)
        if block is None:
            return None  # the caller's framing: httpx checks it against the body
        head, rest, keep = block
        if body is not None:
            rest = f"{rest}Content-Length: {len(body)}\r\n"
        elif method in ("POST", "PUT", "PATCH"):
            rest = f"{rest}Content-Length: 0\r\n"
        data = f"{method} {target} HTTP/1.1\r\n{head}{rest}\r\n".encode("ascii")
        return Prepared(method, target, data, body, keep, _timeouts(timeout))

    def _block(
        self, raw: list[tuple[bytes, bytes]], transport: dict[str, str], request: core.Request,
        url: str,
    ) -> tuple[str, str, bool] | None:
        """The header lines of ``request`` (``Host`` first, as h11 writes it; the others)
        and whether its connection may be kept; None when the caller set the framing.
        Kept for the same defaults, request headers and credentials: most requests
        share them, and building and checking them costs more than the rest of this."""
        own = request.all_headers()
        credentials = self.bearer.header if self.bearer is not None else self.basic
        key = (credentials, *raw, None, *transport.items(), None, *own.items())
        found = self._blocks.get(key)
        if found is not None or key in self._blocks:
            return found
        try:
            merged = self._headers(raw, transport, own, credentials)
        except httpx.LocalProtocolError as exc:
            exc.request = httpx.Request(request.method, url)  # as httpx sets it
            raise
        block: tuple[str, str, bool] | None = None
        if "content-length" not in merged and "transfer-encoding" not in merged:
            host = merged.pop("host", None)
            head = f"{host[0]}: {host[1]}\r\n" if host else f"Host: {self.netloc}\r\n"
            rest = "".join(f"{name}: {value}\r\n" for name, value in merged.values())
            connection = merged.get("connection")
            block = (head, rest, connection is None or "close" not in connection[1].lower())
        if len(self._blocks) >= 64:  # ETags and other per-request values: start again
            self._blocks.clear()
        self._blocks[key] = block
        return block

    def _headers(
        self, raw: list[tuple[bytes, bytes]], transport: dict[str, str], own: dict[str, str],
        credentials: str | None,
    ) -> dict[str, tuple[str, str]]:
        """What httpx would send, by lower-cased name: the client's default headers
        (``raw``), the ``transport``'s, the request's ``own``, the credentials; checked
        as h11 checks them."""
        merged = {k.decode("latin-1").lower(): (k.decode("latin-1"), v.decode("latin-1"))
                  for k, v in raw}
        merged.update((k.lower(), (k, v)) for k, v in transport.items())
        for name, value in (*merged.values(), *own.items()):
            _check(name, value)
        merged.update((name.lower(), (name, value)) for name, value in own.items())
        if credentials is not None:
            _check("Authorization", credentials)
            merged["authorization"] = ("Authorization", credentials)
        return merged

    async def send(self, prepared: Prepared, request: core.Request) -> core.Response:
        """Send ``prepared`` and read the whole answer."""
        assert self.pool is not None
        try:
            status, reason, raw, content = await self.pool.request(
                prepared.data, prepared.body, prepared.method == "HEAD", prepared.keep,
                prepared.timeouts,
            )
        except httpx.TransportError as exc:
            exc.request = self._httpx_request(prepared)  # as httpx sets it
            raise
        headers = _decode_headers(raw)
        if "content-encoding" in headers or "set-cookie" in headers:
            content = self._rare_headers(status, raw, content, prepared)
        phrase = reason.decode("ascii", errors="ignore")
        return core.Response(
            status, headers, content, request,
            self.origin + prepared.target,
            reason=phrase or httpx.codes.get_reason_phrase(status),
        )

    def _rare_headers(
        self, status: int, raw: list[tuple[bytes, bytes]], content: bytes, prepared: Prepared,
    ) -> bytes:
        """A compressed body is decoded by httpx's decoders; cookies go into the client's
        jar (later requests then take the long way, which sends them back)."""
        request = self._httpx_request(prepared)
        response = httpx.Response(status, headers=raw, content=content, request=request)
        self.session.cookies.extract_cookies(response)
        return response.content

    def _httpx_request(self, prepared: Prepared) -> httpx.Request:
        """``prepared`` as an ``httpx.Request`` (for the errors and the cookie jar)."""
        return httpx.Request(prepared.method, self.origin + prepared.target)

    async def aclose(self) -> None:
        if self.pool is not None:
            await self.pool.aclose()


def _is_plain(server_url: str) -> bool:
    """Whether httpx sends ``server_url`` as it is written (no escaping, no rewritten
    host or port): then the short route's URLs are the long way's."""
    try:
        same = str(httpx.URL(server_url)) in (server_url, server_url + "/")
    except httpx.InvalidURL:
        return False
    return same and "/." not in server_url \
        and _PLAIN_TARGET.fullmatch(server_url.split("//", 1)[-1]) is not None


def _decode_headers(raw: list[tuple[bytes, bytes]]) -> core.Headers:
    """Response headers as ``core.Headers`` gets them from httpx: decoded as ASCII,
    else UTF-8, else (one is neither) all of them as Latin-1."""
    try:
        return core.Headers.from_raw(raw, "utf-8")  # ASCII is UTF-8
    except UnicodeDecodeError:
        return core.Headers.from_raw(raw, "latin-1")


def _check(name: str, value: str) -> None:
    """Raise what httpx raises (h11's error) for a header it would refuse to send;
    before h11, httpx encodes the name and value as ASCII (UnicodeEncodeError)."""
    name.encode("ascii")
    if not _HEADER_NAME.fullmatch(name):
        raise httpx.LocalProtocolError(f"Illegal header name {name.encode('latin-1')!r}")
    encoded = value.encode("ascii")
    if not _HEADER_VALUE.fullmatch(encoded):
        raise httpx.LocalProtocolError(f"Illegal header value {encoded!r}")
