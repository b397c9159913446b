"""The sync transport's short route: requests to the Kinto server sent past
``requests.Session``, when ``SyncTransport`` uses the session it made itself and nothing
that session would add is set; on the blocking HTTP/1.1 pool of ``http11_sync.py``
(httptools), whose connections the urllib3 pool of requests' own ``HTTPAdapter`` opens.

Why: ``Session.request()`` spends about 0.3 ms of client CPU per request before and after
urllib3 (merging the session's settings, preparing the URL twice, cookie jars built and
parsed for every answer, the redirect and hook plumbing), and urllib3 with
``http.client`` about as much again. Here what is the same for every request (origin,
the merged default headers, the credentials, the pool) is computed once, and the bytes
urllib3 would send go out on a socket it opened (so TLS verification, CA bundles, pool
sizes are requests'), with the same timeouts, errors and retries (none).

urllib3's pool sends itself, called exactly as the adapter calls it, for https without
verification (urllib3 warns for each such request), when the adapter has retries or a
blocking pool, when httptools is missing, a header urllib3 would encode otherwise, or
connections of a class other than urllib3's own (vcrpy's recorder, a subclass).

What sends a request the long way (``Session.request()``/``send()``): a session the user
gave or put in place, auth, params, response hooks or cookies on the session, adapters
other than requests' two defaults (or a subclass of ``HTTPAdapter``), an auth other than
Basic (a tuple, ``"user:password"``, ``~/.netrc``) or a :class:`BearerTokenAuth`, a proxy
that applies to the server (the environment or ``session.proxies``), multipart uploads,
another origin, a URL requests would rewrite (characters to escape, ``.`` segments,
escapes of unreserved characters), requests older than 2.32.2. A ``Set-Cookie`` answer is
stored in ``session.cookies`` by requests' own code; the next requests then take the long
way, which sends the cookie back. Errors are requests': urllib3's exceptions are mapped as
``HTTPAdapter.send()`` and ``Response.content`` map them.
"""

from __future__ import annotations

import os
import re
import threading
import weakref
from collections import OrderedDict
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import requests
import urllib3
from requests import exceptions as rx
from requests.adapters import HTTPAdapter
from requests.auth import HTTPBasicAuth
from requests.cookies import extract_cookies_to_jar
from requests.models import PreparedRequest, RequestEncodingMixin
from requests.sessions import merge_setting
from requests.structures import CaseInsensitiveDict
from requests.utils import check_header_validity, get_netrc_auth, select_proxy
from urllib3 import exceptions as ux
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.util.retry import Retry

from .. import protocol as core
from .._timeouts import Timeout
from ..auth import BearerTokenAuth
from .sync_answers import (
    body_error,
    decoded_headers,
    rare_answer,
    read_body,
    response_headers,
    send_error,
)

try:
    from . import http11_sync
except ImportError:  # httptools is missing: every request goes on urllib3's pool
    http11_sync = None  # type: ignore[assignment]

#: A path and query that requests and urllib3 send as they are: RFC 3986 unreserved
#: characters, sub-delimiters, ``:@/?``, and upper-case ``%XX`` escapes of other characters
#: (requests decodes escapes of unreserved characters, urllib3 upper-cases the hex).
_PLAIN_TARGET = re.compile(
    r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]"
    r"|%(?![46][1-9A-F]|[57][0-9A]|3[0-9]|2[DE]|5F|7E)[0-9A-F]{2})*"
)

#: urllib3's own connection classes: with another one (a subclass, or a recorder such as
#: vcrpy's, which answers without a socket) urllib3's pool sends, as before.
_URLLIB3_CONNECTIONS = (HTTPConnection, HTTPSConnection)

#: The adapters a new ``requests.Session`` mounts, in its order.
_DEFAULT_PREFIXES = ("https://", "http://")

#: Whether this requests has the adapter method that picks a pool with its TLS settings.
_SUPPORTED = hasattr(HTTPAdapter, "get_connection_with_tls_context")


@lru_cache(maxsize=64)
def urllib3_timeout(timeout: Timeout) -> urllib3.Timeout:
    """The ``urllib3.Timeout`` ``HTTPAdapter.send()`` makes of a requests timeout (urllib3
    clones it for each request, so one object serves every request)."""
    if isinstance(timeout, tuple):
        connect, read = timeout
        return urllib3.Timeout(connect=connect, read=read)
    return urllib3.Timeout(connect=timeout, read=timeout)


class SyncRoute:
    """Sends what it can on the session's own urllib3 pool; :meth:`send` says which."""

    def __init__(self, server_url: str, session: requests.Session) -> None:
        self.session = session
        end = server_url.find("/", server_url.find("//") + 2)
        self.origin = server_url if end < 0 else server_url[:end]
        self.root = self.origin + "/"  # not a prefix of http://kinto.test.example/
        self.prefix = self.root[: self.root.find("//") + 2]
        self.usable = _SUPPORTED and _is_plain(server_url)
        self._probe = PreparedRequest()  # what the adapter needs to pick the pool
        if self.usable:
            self._probe.prepare(method="GET", url=self.root)
        # Caches, each one (key, value) tuple replaced at once: a bulk write sends from
        # several threads through one transport.
        self._pool: tuple[Any, weakref.ref[Any] | None] = ((), None)
        # The urllib3 pool that opens the httptools pool's connections, and that pool.
        self._wire: tuple[Any, Any] = (None, None)
        self._wire_lock = threading.Lock()  # one httptools pool per urllib3 pool
        self._proxied: tuple[dict[str, Any] | None, bool] = (None, True)
        self._defaults: tuple[Any, dict[str, tuple[str, str]] | None] = ((), None)
        self._basic: tuple[Any, str] = ((), "")
        self._netrc: tuple[Any, HTTPBasicAuth | None] = ((), None)
        # The wire headers of a request without headers or body of its own: (the
        # defaults they were merged from, method, credentials, headers).
        self._plain: tuple[Any, str, str, dict[str, str]] = (None, "", "", {})

    def send(
        self, request: core.Request, url: str, headers: dict[str, str], auth: Any,
        settings: dict[str, Any], timeout: Timeout,
    ) -> core.Response | None:
        """Send ``request`` to ``url`` (with the transport's ``headers`` and ``auth``, the
        session's environment ``settings``, within ``timeout``) and read the answer; None
        when it must go the long way (see the module's docstring)."""
        session = self.session
        if (
            not self.usable or request.files or not url.startswith(self.root)
            or session.auth is not None or session.params or session.hooks.get("response")
            or len(session.cookies) or self._proxy_applies(settings)
        ):
            return None
        adapters = session.adapters
        adapter = adapters.get(self.prefix)
        if type(adapter) is not HTTPAdapter or tuple(adapters) != _DEFAULT_PREFIXES:
            return None
        credentials = self._credentials(auth, session)
        target = _target(url[len(self.origin):], request.params)
        if credentials is None or target is None:
            return None
        body, method = request.body, request.method.upper()
        wire = self._headers(session, headers, request, method, body, credentials)
        if wire is None or body == b"":  # requests sends an empty body chunked
            return None
        pool = self._connection(adapter, settings)
        wire_pool = self._wire_pool(pool, adapter, settings)
        if wire_pool is not None:
            data = wire_pool.encode(method, target, wire, body)
            if data is not None:
                return self._exchange(wire_pool, data, request, target, wire, timeout)
        try:
            raw = pool.urlopen(
                method, target, body=body, headers=wire, redirect=False,
                assert_same_host=False, preload_content=False, decode_content=False,
                retries=adapter.max_retries, timeout=urllib3_timeout(timeout), chunked=False,
            )
        except (ux.HTTPError, OSError) as exc:
            # Raised as requests raises it: the urllib3 error is its context, not its cause.
            raise send_error(exc, self._as_prepared(method, target, wire, body))  # noqa: B904
        headers_in = response_headers(raw.headers)
        if "set-cookie" in headers_in or "set-cookie2" in headers_in:
            extract_cookies_to_jar(  # type: ignore[no-untyped-call]
                session.cookies, self._as_prepared(method, target, wire, body), raw
            )
        content = read_body(raw)
        return core.Response(
            raw.status, headers_in, content, request, self.origin + target,
            reason=raw.reason or "",
        )

    def _exchange(
        self, wire_pool: Any, data: bytes | tuple[bytes, bytes], request: core.Request,
        target: str, wire: dict[str, str], timeout: Timeout,
    ) -> core.Response:
        """Send ``data`` on the httptools pool; the answer and errors as urllib3's."""
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        method = request.method.upper()
        try:
            status, reason, raw, content = wire_pool.request(
                data, method == "HEAD", connect, read, target)
        except http11_sync.AnswerError as exc:  # as reading a streamed body raises it
            raise body_error(exc.error) from exc.error
        except (ux.HTTPError, OSError) as exc:
            raise send_error(exc, self._as_prepared(  # noqa: B904
                method, target, wire, request.body))
        headers = decoded_headers(raw)
        phrase = reason.decode("latin-1").strip()
        if "content-encoding" in headers or "set-cookie" in headers or "set-cookie2" in headers:
            content = rare_answer(self.session.cookies, self._as_prepared(
                method, target, wire, request.body), status, phrase, raw, content)
        return core.Response(
            status, headers, content, request, self.origin + target, reason=phrase)

    def _wire_pool(self, pool: Any, adapter: HTTPAdapter, settings: dict[str, Any]) -> Any:
        """The httptools pool whose connections ``pool`` opens, or None when urllib3
        must send: httptools missing, retries or a blocking pool asked of the adapter,
        https without verification (urllib3 warns for each such request), a connection
        class of someone else's."""
        retries = adapter.max_retries
        if (
            http11_sync is None or pool.ConnectionCls not in _URLLIB3_CONNECTIONS
            or not hasattr(pool, "_new_conn")  # urllib3's own opener, not public API
            or type(retries) is not Retry or retries.total != 0
            or retries.read is not False or getattr(adapter, "_pool_block", True)
            or (pool.scheme == "https" and settings.get("verify", True) is False)
        ):
            return None
        seen, wire_pool = self._wire
        if seen is not pool:
            with self._wire_lock:  # several threads may see the new urllib3 pool at once
                seen, wire_pool = self._wire
                if seen is not pool:
                    if wire_pool is not None:
                        wire_pool.close()
                    maxsize = getattr(adapter, "_pool_maxsize", requests.adapters.DEFAULT_POOLSIZE)
                    wire_pool = http11_sync.Pool(pool, maxsize)
                    self._wire = (pool, wire_pool)
        return wire_pool

    def close(self) -> None:
        """Close the httptools pool's connections (the session closes urllib3's)."""
        wire_pool = self._wire[1]
        if wire_pool is not None:
            wire_pool.close()

    def _proxy_applies(self, settings: dict[str, Any]) -> bool:
        """Whether requests would send to the server through a proxy, with the
        environment ``settings`` (``merge_environment_settings()``'s, cached by the
        transport: a new dict when they change)."""
        seen, proxied = self._proxied
        if settings is not seen:
            proxies = settings.get("proxies") or {}
            proxied = bool(proxies) and select_proxy(self.root, proxies) is not None
            self._proxied = (settings, proxied)
        return proxied

    def _credentials(self, auth: Any, session: requests.Session) -> str | None:
        """The ``Authorization`` value requests would send ("" for none), or None for an
        auth only requests can apply (its own flow, a callable, a signature...)."""
        if auth is None and session.trust_env:
            # As requests, credentials from ~/.netrc (read again when $NETRC or $HOME
            # change; requests reads the file for every request).
            key = (os.environ.get("NETRC"), os.environ.get("HOME"))
            seen, netrc = self._netrc
            if key != seen:
                found = get_netrc_auth(self.root)
                netrc = HTTPBasicAuth(*found) if found else None
                self._netrc = (key, netrc)
            auth = netrc
        if auth is None:
            return ""
        if type(auth) is BearerTokenAuth:
            return auth.header
        if type(auth) is HTTPBasicAuth:
            basic = (auth.username, auth.password)
            seen, header = self._basic
            if basic != seen:
                try:  # requests' own encoding (Latin-1), applied to a probe request
                    probe = auth(_empty_request())
                except Exception:  # the long way raises it, as requests does
                    return None
                header = str(probe.headers["Authorization"])
                self._basic = (basic, header)
            return header
        return None

    def _headers(
        self, session: requests.Session, transport: dict[str, str], request: core.Request,
        method: str, body: bytes | None, credentials: str,
    ) -> dict[str, str] | None:
        """The headers ``Session.prepare_request()`` would send, in its order: the
        session's, the transport's, the request's own, ``Content-Length``,
        ``Authorization``; None when one of them is invalid (requests raises)."""
        key = (_items(session.headers), *transport.items())
        seen, defaults = self._defaults
        if key != seen:  # first request, or someone changed the defaults
            defaults = _merged(transport, session.headers)
            self._defaults = (key, defaults)
        if defaults is None:
            return None
        plain = not request.headers and body is None  # most reads: the same every time
        if plain:
            cached = self._plain
            if cached[0] is defaults and cached[1] == method and cached[2] == credentials:
                return cached[3].copy()
        merged = defaults.copy()
        for name, value in request.all_headers().items():
            if value is None:
                return None
            try:
                check_header_validity((name, value))
            except rx.InvalidHeader:
                return None
            merged[name.lower()] = (name, value)
        if body is not None:
            merged["content-length"] = ("Content-Length", str(len(body)))
        elif method not in ("GET", "HEAD") and "content-length" not in merged:
            merged["content-length"] = ("Content-Length", "0")
        if credentials:
            merged["authorization"] = ("Authorization", credentials)
        wire = dict(merged.values())
        if plain:
            self._plain = (defaults, method, credentials, wire.copy())
        return wire

    def _connection(self, adapter: HTTPAdapter, settings: dict[str, Any]) -> Any:
        """The adapter's urllib3 pool for the server, with requests' TLS settings. Only
        a weak reference is kept: once the pool manager drops the pool (the session is
        closed, or more hosts than its ``pool_connections`` were used) it is freed and
        its connections closed, as with requests, and the next request asks again."""
        verify, cert = settings.get("verify", True), settings.get("cert")
        key = (adapter, adapter.poolmanager, verify, cert)
        seen, ref = self._pool
        pool = ref() if ref is not None else None
        if key != seen or pool is None or pool.pool is None:
            try:
                pool = adapter.get_connection_with_tls_context(
                    self._probe, verify, proxies={}, cert=cert
                )
            except ux.LocationValueError as exc:
                raise rx.InvalidURL(exc, request=self._probe) from None
            adapter.cert_verify(pool, self.root, verify, cert)  # type: ignore[no-untyped-call]
            self._pool = (key, weakref.ref(pool))
        return pool

    def _as_prepared(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None
    ) -> PreparedRequest:
        """The ``PreparedRequest`` requests would have sent (for errors and cookies)."""
        prepared = PreparedRequest()
        prepared.method = method
        prepared.url = self.origin + target
        prepared.headers = CaseInsensitiveDict(headers)
        prepared.body = body
        return prepared


def _empty_request() -> PreparedRequest:
    prepared = PreparedRequest()
    prepared.headers = CaseInsensitiveDict()
    return prepared


def _items(headers: Any) -> tuple[Any, ...]:
    """The session's default headers as a comparable tuple; read from the store of
    requests' ``CaseInsensitiveDict`` (``{lower name: (name, value)}``) when it has one:
    its ``items()`` is a Python generator calling ``__getitem__`` per header."""
    store = getattr(headers, "_store", None)
    if type(store) is OrderedDict:
        return tuple(store.values())
    return tuple(headers.items())


def _merged(transport: dict[str, str], defaults: Any) -> dict[str, tuple[str, str]] | None:
    """The session's default headers merged with the transport's as requests merges
    them (lower-case name -> (name, value)); None when requests would refuse one."""
    merged = merge_setting(  # type: ignore[no-untyped-call]
        transport, defaults, dict_class=CaseInsensitiveDict
    )
    try:
        for header in merged.items():
            check_header_validity(header)
    except rx.InvalidHeader:
        return None
    if not all(isinstance(v, str) for v in merged.values()):
        return None
    return {name.lower(): (name, value) for name, value in merged.items()}


def _target(path: str, params: Any) -> str | None:
    """Path and query as requests sends them, or None if requests would rewrite them."""
    if params:
        if type(params) is dict and all(
            type(k) is str and type(v) is str for k, v in params.items()
        ):
            query = urlencode(params)  # what requests' encoding gives for strings
        else:  # lists, numbers, None values...: requests' own encoding
            query = RequestEncodingMixin._encode_params(params)  # type: ignore[attr-defined]
        if query:
            path = f"{path}&{query}" if "?" in path else f"{path}?{query}"
    if "/." in path.partition("?")[0] or not _PLAIN_TARGET.fullmatch(path):
        return None
    return path


def _is_plain(server_url: str) -> bool:
    """Whether requests sends ``server_url``'s URLs as they are written (no escaping, no
    lower-cased host, no IDNA): then the short route's URLs are the long way's."""
    probe = server_url + "/x"
    prepared = PreparedRequest()
    try:
        prepared.prepare_url(probe, None)
    except rx.RequestException:
        return False
    path = probe[probe.find("/", probe.find("//") + 2):]
    return prepared.url == probe and "/." not in path and bool(_PLAIN_TARGET.fullmatch(path))
