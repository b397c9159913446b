"""The transports: move the core's ``Request`` values over the network, through the
public entry points that the ecosystem's tools hook (mocks, recorders, tracing).

``SyncTransport`` sends every request with ``requests.Session.request()`` (so through
``Session.send`` and the session's adapters) on the session it made or the one it was
given; ``AsyncTransport`` with ``httpx.AsyncClient.send``. The decisions (errors,
retries, backoff, pagination) come from ``protocol``, the delivery loop from
``settings``; what is left here is the glue.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import ssl
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import requests
from requests.adapters import HTTPAdapter

from .. import protocol as core
from .._timeouts import Timeout
from ..auth import to_httpx_auth, to_requests_auth
from ..errors import KintoException
from .environment import EnvironmentSession
from .mocks import ThroughRequests, requests_mocked
from .settings import TransportSettings, logger

#: Idle connections kept per server by both transports: enough for the chunks a bulk
#: helper keeps in flight (``concurrency=N``) to find theirs again.
KEEP_ALIVE = 20
#: The async transport's pool (httpx's defaults, and the sync one's idle connections).
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=KEEP_ALIVE)


def _requests_session() -> requests.Session:
    """A session whose pool keeps ``KEEP_ALIVE`` connections per host (requests' default
    of 10 throws the others away, each with a urllib3 WARNING, when a sync bulk helper's
    threads give back more than 10), and that finds the environment's proxies without
    walking all of it for every request (:class:`~.environment.EnvironmentSession`)."""
    session = EnvironmentSession()
    for prefix in ("https://", "http://"):
        session.mount(prefix, HTTPAdapter(pool_maxsize=KEEP_ALIVE))
    return session


@lru_cache(maxsize=64)
def httpx_timeout(timeout: Timeout) -> httpx.Timeout:
    """httpx's form of a kinto-orm timeout (``(connect, read)`` or one number)."""
    if isinstance(timeout, tuple):
        connect, read = timeout
        return httpx.Timeout(read, connect=connect)
    return httpx.Timeout(timeout)


class SyncTransport(TransportSettings):
    """Blocking transport on a ``requests.Session``."""

    def __init__(
        self, server_url: str, *, session: requests.Session | None = None, **kwargs: Any
    ) -> None:
        super().__init__(server_url, **kwargs)
        self.session = session if session is not None else _requests_session()
        self._requests_auth = to_requests_auth(self.auth)

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
        raw = self.session.request(
            request.method,
            url,
            params=request.params,
            data=request.form if request.files else request.body,
            files=request.files,
            headers={**self.headers, **request.all_headers()},
            auth=self._requests_auth,
            timeout=self.current_timeout,
            allow_redirects=False,
        )
        return core.Response(
            raw.status_code, core.Headers(raw.headers), raw.content, request, raw.url,
            reason=raw.reason or "",
        )

    def close(self) -> None:
        self.session.close()

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


@lru_cache(maxsize=512)
def httpx_url(url: str) -> httpx.URL:
    """``httpx.URL(url)``, parsed once per URL (about 12 us each time otherwise; httpx
    URLs are immutable): the same collection, batch or record URL comes back often."""
    return httpx.URL(url)


def _merged(defaults: dict[str, str], own: dict[str, str]) -> httpx.Headers:
    """The transport's headers with the request's on top, names compared without case
    (as requests merges them): ``accept`` replaces ``Accept`` instead of going out as a
    second header."""
    headers = httpx.Headers(defaults)
    headers.update(own)
    return headers


def _tls_context() -> Any:
    """httpx's default TLS context, made once per CA setting (``SSL_CERT_FILE``,
    ``SSL_CERT_DIR``) instead of once per client: loading the CA bundle costs each new
    ``httpx.AsyncClient`` about 35 ms, and a client is made for every clone (kinto-http's
    ``with await aclient.batch()`` flushes through one)."""
    create = getattr(httpx, "create_ssl_context", None)
    if create is None:  # httpx < 0.28: its own default
        return True
    return _tls_context_for(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@lru_cache(maxsize=4)
def _tls_context_for(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    context: ssl.SSLContext = httpx.create_ssl_context()
    return context


class AsyncTransport(TransportSettings):
    """Non-blocking transport on an ``httpx.AsyncClient`` (see ``mocks`` for what
    happens when a test suite mocks ``requests``)."""

    _async_hooks = True

    def __init__(
        self, server_url: str, *, session: httpx.AsyncClient | None = None, **kwargs: Any
    ) -> None:
        super().__init__(server_url, **kwargs)
        self._httpx_auth = to_httpx_auth(self.auth)
        #: Only a client made here follows requests' mocks and event loops: a user's is
        #: used as given.
        self._through_requests: httpx.AsyncClient | None = None
        if session is None:
            session = self._new_session()
            self._through_requests = httpx.AsyncClient(transport=ThroughRequests())
        self.session = session
        self._loop: asyncio.AbstractEventLoop | None = None

    def _new_session(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=httpx_timeout(self.timeout), limits=LIMITS, verify=_tls_context()
        )

    def _client(self) -> httpx.AsyncClient:
        """The httpx client for the next request: the session, or, while ``requests`` is
        mocked, the one whose transport sends through requests."""
        if self._through_requests is None:
            return self.session
        self._follow_loop()
        return self._through_requests if requests_mocked() else self.session

    def _follow_loop(self) -> None:
        """After ``asyncio.run()`` again with the same client, a new pool: the former
        loop's connections, closed with it, can be neither reused nor closed."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            if self._loop is not None and self._loop.is_closed():
                self.session = self._new_session()
            self._loop = loop

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
                except (httpx.TransportError, requests.RequestException) as exc:
                    step = flow.send(exc)
                else:
                    step = flow.send(response)
        except StopIteration as stop:
            result: core.Response = stop.value
            return result

    async def _send_once(self, request: core.Request) -> core.Response:
        url = self.url(request)
        logger.debug("%s %s params=%s", request.method, url, request.params)
        client = self._client()
        raw = await client.send(
            client.build_request(
                request.method,
                httpx_url(url),
                params=request.params,
                content=None if request.files else request.body,
                data=request.form if request.files else None,
                files=request.files,
                headers=_merged(self.headers, request.all_headers()),
                timeout=httpx_timeout(self.current_timeout),
            ),
            auth=self._httpx_auth if self._httpx_auth is not None else httpx.USE_CLIENT_DEFAULT,
            follow_redirects=False,
        )
        # From the raw pairs, decoded as httpx decodes them: reading them through
        # httpx.Headers costs a property call per item.
        headers = core.Headers.from_raw(raw.headers.raw, raw.headers.encoding)
        return core.Response(
            raw.status_code, headers, raw.content, request, str(raw.url),
            reason=raw.reason_phrase,
        )

    async def download(self, url: str, dest: Path, chunk_size: int) -> tuple[int, str]:
        """Async :meth:`SyncTransport.download`."""
        digest, size = hashlib.sha256(), 0
        auth = self._httpx_auth if self.same_origin(url) else None
        try:
            async with self._client().stream(
                "GET", url, auth=auth or httpx.USE_CLIENT_DEFAULT, headers=self.file_headers,
                timeout=httpx_timeout(self.current_timeout),
            ) as raw:
                self.check_download(url, raw.status_code)
                with dest.open("wb") as handle:
                    async for chunk in raw.aiter_bytes(chunk_size):
                        handle.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
        except (httpx.HTTPError, requests.RequestException) as exc:
            raise KintoException(f"GET {url} - download failed: {exc}", exc) from exc
        return size, digest.hexdigest()

    async def close(self) -> None:
        if self._through_requests is not None:
            self._follow_loop()
        await self.session.aclose()
        if self._through_requests is not None:
            await self._through_requests.aclose()
