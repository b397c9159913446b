"""The transports: move the core's ``Request`` values over the network. ``SyncTransport``
uses one ``requests.Session`` (connection reuse), ``AsyncTransport`` one
``httpx.AsyncClient``. All protocol decisions (errors, retries, backoff, pagination)
come from ``protocol``; the delivery loop from ``settings``."""

from __future__ import annotations

import asyncio
import hashlib
import http.cookiejar
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import requests

from .. import protocol as core
from ..auth import parse_auth, to_httpx_auth, to_requests_auth
from ..errors import KintoException
from .direct import DirectRoute, new_session
from .direct import httpx_timeout as _httpx_timeout
from .direct_sync import SyncRoute
from .settings import TransportSettings, logger
from .sync_answers import read_body

#: Every environment variable requests and urllib read for an http(s) URL's proxies and
#: CA bundle on Linux (elsewhere, urllib also reads the system's proxy settings, so the
#: environment is read for each request as requests does).
_PROXY_VARIABLES = (
    "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
    "no_proxy", "NO_PROXY", "REQUEST_METHOD", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
)
_STABLE_ENVIRONMENT = sys.platform.startswith("linux")
#: The same variables read straight from ``os.environ``'s own dict (bytes on Linux): its
#: ``get()`` raises and catches two KeyErrors per missing variable (about 20 µs for the
#: 11, 5 % of a GET on the short route). Read through ``os.environ`` where it differs.
_ENVIRON_DATA = getattr(os.environ, "_data", None)
_ENCODED_VARIABLES = tuple(name.encode() for name in _PROXY_VARIABLES)
if not isinstance(_ENVIRON_DATA, dict) or not all(
    _ENVIRON_DATA.get(name.encode()) == (None if value is None else value.encode())
    for name, value in zip(_PROXY_VARIABLES, map(os.environ.get, _PROXY_VARIABLES))
):
    _ENVIRON_DATA = None

#: Idle connections the sync transport keeps per server, as many as the async one's pool
#: (``direct._LIMITS``): enough for the chunks a bulk helper keeps in flight
#: (``concurrency=N``) to find theirs again.
KEEP_ALIVE = 20


def _requests_session() -> requests.Session:
    """A session whose pool keeps ``KEEP_ALIVE`` connections per host (requests' default
    of 10 throws the others away, each with a urllib3 WARNING, when a sync bulk helper's
    threads give back more than 10)."""
    session = requests.Session()
    for prefix in ("https://", "http://"):
        session.mount(prefix, requests.adapters.HTTPAdapter(pool_maxsize=KEEP_ALIVE))
    return session


class SyncTransport(TransportSettings):
    """Blocking transport on ``requests.Session``."""

    def __init__(
        self, server_url: str, *, session: requests.Session | None = None, **kwargs: Any
    ) -> None:
        super().__init__(server_url, **kwargs)
        if session is None:
            session = _requests_session()
            #: The short route past ``Session.request()``, for the session made here only.
            self._direct: SyncRoute | None = SyncRoute(self.server_url, session)
        else:
            self._direct = None
        self.session = session
        self._requests_auth = to_requests_auth(self.auth)
        self._environment_key: tuple[Any, ...] | None = None
        self._environment_settings: dict[str, Any] = {}

    def send(self, request: core.Request) -> core.Response:
        """Send ``request``, retrying as the policy allows; raise on an error status."""
        flow = self.delivery(request)
        try:
            step = next(flow)
            while True:
                if not isinstance(step, core.Request):
                    time.sleep(step)
                    step = flow.send(None)
                    continue
                try:
                    response = self._send_once(step)
                except requests.RequestException as exc:  # truncated bodies too
                    step = flow.send(exc)
                else:
                    step = flow.send(response)
        except StopIteration as stop:
            result: core.Response = stop.value
            return result

    def _send_once(self, request: core.Request) -> core.Response:
        url = self.url(request)
        logger.debug("%s %s params=%s", request.method, url, request.params)
        session = self.session
        stable = type(session) is requests.Session and _STABLE_ENVIRONMENT
        direct = self._direct
        if stable and direct is not None and session is direct.session:
            sent = direct.send(
                request, url, self.headers, self._requests_auth,
                self._environment(session, url), self.current_timeout,
            )
            if sent is not None:
                return sent
        options: dict[str, Any] = {
            "params": request.params,
            "data": request.form if request.files else request.body,
            "files": request.files,
            "headers": {**self.headers, **request.all_headers()},
            "auth": self._requests_auth,
        }
        if stable:
            # Session.request() without its per-request scan of the environment, and the
            # body read at once (requests' .content reads it 10 KiB at a time).
            prepared = session.prepare_request(requests.Request(request.method, url, **options))
            settings = dict(self._environment(session, prepared.url or url))
            settings["proxies"] = dict(settings["proxies"])
            settings["stream"] = True
            raw = session.send(
                prepared, timeout=self.current_timeout, allow_redirects=False, **settings
            )
            content = _read_body(raw)
        else:
            raw = session.request(
                request.method, url, timeout=self.current_timeout, allow_redirects=False,
                **options,
            )
            content = raw.content
        return core.Response(
            raw.status_code, core.Headers(raw.headers), content, request, raw.url,
            reason=raw.reason or "",
        )

    def _environment(self, session: requests.Session, url: str) -> dict[str, Any]:
        """What ``Session.request()`` adds from the environment (proxies, CA bundle) and
        the session's defaults, as it would compute it for ``url``. requests computes it
        for every request by scanning ``os.environ`` twice (about 0.1 ms, a tenth of a
        GET's client CPU); here it is kept while the variables it reads, the server's
        origin, the number of variables and the session's settings stay the same. The
        same dict is returned until then: callers copy it before changing it."""
        data = _ENVIRON_DATA
        key = (
            url[: url.find("/", url.find("//") + 2)], len(os.environ),
            *(map(data.get, _ENCODED_VARIABLES) if data is not None
              else map(os.environ.get, _PROXY_VARIABLES)),
            session.trust_env, tuple(session.proxies.items()), session.stream,
            session.verify, session.cert,
        )
        if self._environment_key != key:
            self._environment_settings = dict(
                session.merge_environment_settings(url, {}, None, None, None)
            )
            self._environment_key = key
        return self._environment_settings

    def close(self) -> None:
        self.session.close()
        if self._direct is not None:
            self._direct.close()

    def download(self, url: str, dest: Path, chunk_size: int) -> tuple[int, str]:
        """Stream ``url`` into ``dest``; returns (size, sha256). Credentials go only to
        the Kinto server's own origin, never to a CDN."""
        digest, size = hashlib.sha256(), 0
        auth = self._requests_auth if self.same_origin(url) else None
        try:
            with self.session.get(
                url, stream=True, timeout=self.current_timeout, auth=auth,
                headers=self.file_headers,
            ) as raw:
                self.check_download(url, raw.status_code)
                with dest.open("wb") as handle:
                    for chunk in raw.iter_content(chunk_size):
                        handle.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
        except requests.RequestException as exc:
            raise KintoException(f"GET {url} - download failed: {exc}", exc) from exc
        return size, digest.hexdigest()


def _read_body(raw: requests.Response) -> bytes:
    """The whole body of a streamed response, in one read, with the exceptions requests'
    own ``.content`` raises (the connection goes back to the pool once it is read)."""
    body = raw.raw
    # Not urllib3's response, or already read (by a response hook): requests' own way.
    if not hasattr(body, "stream") or getattr(raw, "_content_consumed", False):
        return raw.content
    return read_body(body)


class _CookieJar(http.cookiejar.CookieJar):
    """A cookie jar that does not parse the answers that set no cookie (httpx hands it
    every response; parsing one costs a tenth of a request's client CPU)."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        headers = getattr(getattr(response, "response", None), "headers", None)
        if headers is not None and "set-cookie" not in headers and "set-cookie2" not in headers:
            return
        super().extract_cookies(response, request)


def _merged(defaults: dict[str, str], own: dict[str, str]) -> httpx.Headers:
    """The transport's headers with the request's on top, names compared without case
    (as requests merges them, and the short route): ``accept`` replaces ``Accept``
    instead of going out as a second header."""
    headers = httpx.Headers(defaults)
    headers.update(own)
    return headers


class AsyncTransport(TransportSettings):
    """Non-blocking transport on ``httpx.AsyncClient`` (HTTP/1.1 connection pool)."""

    _async_hooks = True

    def __init__(
        self, server_url: str, *, session: httpx.AsyncClient | None = None, **kwargs: Any
    ) -> None:
        super().__init__(server_url, **kwargs)
        self._httpx_auth = to_httpx_auth(self.auth)
        #: The short route past ``AsyncClient.request()``, for the client made here only.
        self._direct: DirectRoute | None = None
        if session is None:
            session, context = new_session(_httpx_timeout(self.timeout), _CookieJar())
            self._direct = DirectRoute(self.server_url, parse_auth(self.auth), session, context)
        self.session = session

    async def send(self, request: core.Request) -> core.Response:
        """Send ``request``, retrying as the policy allows; raise on an error status."""
        flow = self.delivery(request)
        try:
            step = next(flow)
            while True:
                if not isinstance(step, core.Request):
                    await asyncio.sleep(step)
                    step = flow.send(None)
                    continue
                try:
                    response = await self._send_once(step)
                except httpx.TransportError as exc:
                    step = flow.send(exc)
                else:
                    step = flow.send(response)
        except StopIteration as stop:
            result: core.Response = stop.value
            return result

    async def _send_once(self, request: core.Request) -> core.Response:
        url = self.url(request)
        logger.debug("%s %s params=%s", request.method, url, request.params)
        timeout = self.current_timeout
        direct = self._direct
        if direct is not None:
            prepared = direct.prepare(self.session, request, url, timeout, self.headers)
            if prepared is not None:
                return await direct.send(prepared, request)
        raw = await self.session.request(
            request.method,
            url,
            params=request.params,
            content=None if request.files else request.body,
            data=request.form if request.files else None,
            files=request.files,
            headers=_merged(self.headers, request.all_headers()),
            auth=self._httpx_auth if self._httpx_auth is not None else httpx.USE_CLIENT_DEFAULT,
            timeout=_httpx_timeout(timeout),
            follow_redirects=False,
        )
        return core.Response(
            raw.status_code, core.Headers(raw.headers), raw.content, request, str(raw.url),
            reason=raw.reason_phrase,
        )

    async def download(self, url: str, dest: Path, chunk_size: int) -> tuple[int, str]:
        """Async :meth:`SyncTransport.download`."""
        digest, size = hashlib.sha256(), 0
        auth = self._httpx_auth if self.same_origin(url) else None
        try:
            async with self.session.stream(
                "GET", url, auth=auth or httpx.USE_CLIENT_DEFAULT, headers=self.file_headers,
                timeout=_httpx_timeout(self.current_timeout),
            ) as raw:
                self.check_download(url, raw.status_code)
                with dest.open("wb") as handle:
                    async for chunk in raw.aiter_bytes(chunk_size):
                        handle.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
        except httpx.HTTPError as exc:
            raise KintoException(f"GET {url} - download failed: {exc}", exc) from exc
        return size, digest.hexdigest()

    async def close(self) -> None:
        await self.session.aclose()
        if self._direct is not None:
            await self._direct.aclose()
