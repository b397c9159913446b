"""The async transport's short route: requests to the Kinto server sent straight on an
httpcore connection pool (the library httpx itself sends with), when ``AsyncTransport``
uses the ``httpx.AsyncClient`` it made itself and nothing that client would add to a
request is set.

Why: for each request ``httpx.AsyncClient.request()`` parses the URL string again, merges
the client's headers, cookies and params, runs the auth flow and the redirect loop, then
copies the request into httpcore's form and wraps the response in four stream layers:
about 0.3 ms of client CPU per request, 30 % of an ``aget()``, as much as all the
decisions of the sync client. Here what is the same for every request (origin, ``Host``,
the client's default headers, Basic or Bearer credentials) is computed once.

What sends a request the long way (through ``AsyncClient.request()``): a session the
user gave or put in place, event hooks or cookies on the client, client-level auth or
params, an auth that is not a (user, password) pair or a :class:`BearerTokenAuth`
(``BrowserOAuth``, any ``httpx.Auth``), a proxy set in the environment, multipart
uploads, another origin than the server's, a URL httpx would rewrite (characters to
escape, ``.`` segments). Errors are httpx's: httpcore's are raised as the httpx
exception of the same name, as httpx does.
"""

from __future__ import annotations

import base64
import re
import ssl
import urllib.request
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import httpcore
import httpx

from .. import protocol as core
from .._timeouts import Timeout
from ..auth import BearerTokenAuth
from .streams import AsyncioBackend

#: Characters httpx sends as they are in a path and a query (RFC 3986 unreserved and
#: sub-delimiters, ``:@/?``, ``%XX`` escapes): a target made only of these goes out
#: byte for byte as httpx would send it.
_PLAIN_TARGET = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*")

#: httpcore's exceptions that httpx raises under the same name (``ReadTimeout``...).
_HTTPCORE_ERRORS = (
    httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError,
    httpcore.ProxyError, httpcore.UnsupportedProtocol,
)

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
def timeout_extension(timeout: Timeout) -> dict[str, float | None]:
    """httpcore's form of a kinto-orm timeout (``{"connect": 10.0, "read": 60.0, ...}``)."""
    return httpx_timeout(timeout).as_dict()


def basic_header(user: str, password: str) -> str:
    """``Authorization`` for HTTP Basic, encoded as httpx encodes it (UTF-8)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


class DirectRoute:
    """Sends the requests it can on its own httpcore pool; :meth:`prepare` says which."""

    def __init__(
        self, server_url: str, auth: Any, session: httpx.AsyncClient, context: ssl.SSLContext
    ) -> None:
        self.session = session
        self.bearer = auth if isinstance(auth, BearerTokenAuth) else None
        self.basic = basic_header(*auth) if isinstance(auth, tuple) else None
        self.usable = (auth is None or self.bearer is not None or self.basic is not None) \
            and not urllib.request.getproxies() and _is_plain(server_url)
        end = server_url.find("/", server_url.find("//") + 2)
        self.origin = server_url if end < 0 else server_url[:end]
        self.root = self.origin + "/"  # not a prefix of http://kinto.test.example/
        url = httpx.URL(self.root) if self.usable else None
        self.scheme, self.host = (url.raw_scheme, url.raw_host) if url else (b"", b"")
        self.port, self.netloc = (url.port, url.netloc) if url else (None, b"")
        self.pool = httpcore.AsyncConnectionPool(
            ssl_context=context, max_connections=_LIMITS.max_connections,
            max_keepalive_connections=_LIMITS.max_keepalive_connections,
            keepalive_expiry=_LIMITS.keepalive_expiry, network_backend=AsyncioBackend(),
        )
        self._defaults_key: tuple[Any, ...] = ()
        self._defaults: dict[str, tuple[str, str]] = {}

    def prepare(
        self, session: Any, request: core.Request, url: str, timeout: Timeout,
        headers: dict[str, str],
    ) -> httpcore.Request | None:
        """The httpcore request for ``request`` (sent to ``url`` within ``timeout``, with
        the transport's ``headers``), or None when it must go through
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
        return httpcore.Request(
            request.method.encode("ascii"),
            httpcore.URL(scheme=self.scheme, host=self.host, port=self.port,
                         target=target.encode("ascii")),
            headers=self._headers(own.headers.raw, headers, request, body),
            content=body,
            extensions={"timeout": timeout_extension(timeout)},
        )

    def _headers(
        self, raw: list[tuple[bytes, bytes]], transport: dict[str, str],
        request: core.Request, body: bytes | None,
    ) -> list[tuple[bytes, bytes]]:
        """What httpx would send: the client's default headers (``raw``), the
        ``transport``'s, the request's own, ``Host``, the credentials, the body's length."""
        key = (raw, *transport.items())
        if key != self._defaults_key:  # first request, or someone changed the defaults
            defaults = {k.decode("latin-1").lower(): (k.decode("latin-1"), v.decode("latin-1"))
                        for k, v in raw}
            defaults.update((k.lower(), (k, v)) for k, v in transport.items())
            defaults.pop("host", None)
            self._defaults, self._defaults_key = defaults, key
        merged = self._defaults
        own = request.all_headers()
        if own:
            merged = dict(merged)
            merged.update((k.lower(), (k, v)) for k, v in own.items())
        credentials = self.bearer.header if self.bearer is not None else self.basic
        if credentials is not None:
            merged = dict(merged) if merged is self._defaults else merged
            merged["authorization"] = ("Authorization", credentials)
        headers = [] if "host" in merged else [(b"Host", self.netloc)]
        headers += [(k.encode("ascii"), v.encode("ascii")) for k, v in merged.values()]
        if body is not None:
            headers.append((b"Content-Length", str(len(body)).encode("ascii")))
        elif request.method in ("POST", "PUT", "PATCH"):
            headers.append((b"Content-Length", b"0"))
        return headers

    async def send(self, prepared: httpcore.Request, request: core.Request) -> core.Response:
        """Send ``prepared`` and read the whole answer; httpcore's errors become httpx's."""
        try:
            answer = await self.pool.handle_async_request(prepared)
            try:
                content = await answer.aread()
            finally:
                await answer.aclose()
        except _HTTPCORE_ERRORS as exc:
            raise _as_httpx_error(exc, prepared) from exc
        headers = _decode_headers(answer.headers)
        status = answer.status
        if "content-encoding" in headers or "set-cookie" in headers:
            content = self._rare_headers(status, answer.headers, content, prepared)
        phrase = answer.extensions.get("reason_phrase", b"").decode("ascii", errors="ignore")
        return core.Response(
            status, core.Headers(headers), content, request,
            self.origin + prepared.url.target.decode("ascii"),
            reason=phrase or httpx.codes.get_reason_phrase(status),
        )

    def _rare_headers(
        self, status: int, raw: list[tuple[bytes, bytes]], content: bytes,
        prepared: httpcore.Request,
    ) -> bytes:
        """A compressed body is decoded by httpx's decoders; cookies go into the client's
        jar (later requests then take the long way, which sends them back)."""
        request = _httpx_request(prepared)
        response = httpx.Response(status, headers=raw, content=content, request=request)
        self.session.cookies.extract_cookies(response)
        return response.content

    async def aclose(self) -> None:
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


def _decode_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Response headers as ``core.Headers`` gets them from httpx: names lower-cased,
    repeated headers joined by ``", "``, decoded as ASCII, else UTF-8, else Latin-1."""
    encoding = "latin-1"  # the same as ASCII on ASCII, the usual case
    if not all(k.isascii() and v.isascii() for k, v in raw) and all(
        _is_utf8(k) and _is_utf8(v) for k, v in raw
    ):
        encoding = "utf-8"
    headers: dict[str, str] = {}
    for k, v in raw:
        key, value = k.decode(encoding).lower(), v.decode(encoding)
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _as_httpx_error(exc: Exception, prepared: httpcore.Request) -> httpx.TransportError:
    """The httpx exception httpx itself would raise for httpcore's ``exc``."""
    for cls in type(exc).__mro__:
        mapped = getattr(httpx, cls.__name__, None)
        if isinstance(mapped, type) and issubclass(mapped, httpx.TransportError):
            break
    else:
        mapped = httpx.TransportError
    request = _httpx_request(prepared)
    return mapped(str(exc), request=request)


def _httpx_request(prepared: httpcore.Request) -> httpx.Request:
    """``prepared`` as an ``httpx.Request`` (for the errors and the cookie jar)."""
    return httpx.Request(prepared.method.decode("ascii"), bytes(prepared.url).decode("ascii"))
