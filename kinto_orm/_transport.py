"""Transports: move the core's :class:`Request` values over the network.

:class:`SyncTransport` uses one ``requests.Session`` (connection reuse). All protocol
decisions (errors, retries, backoff, pagination) come from ``protocol``.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import hashlib
import http.cookiejar
import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Generator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

import httpx
import requests
import urllib3

from . import protocol as core
from ._timeouts import DEFAULT_TIMEOUT, Timeout, check_timeout, current_timeout
from ._version import __version__
from .auth import describe_auth, to_httpx_auth, to_requests_auth
from .errors import KintoException
from .events import (
    BackoffEvent,
    DeprecatedEvent,
    Hooks,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
)

logger = logging.getLogger("kinto_orm")

USER_AGENT = f"kinto-orm/{__version__}"

#: Every environment variable requests and urllib read for an http(s) URL's proxies and
#: CA bundle on Linux (elsewhere, urllib also reads the system's proxy settings, so the
#: environment is read for each request as requests does).
_PROXY_VARIABLES = (
    "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
    "no_proxy", "NO_PROXY", "REQUEST_METHOD", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
)
_STABLE_ENVIRONMENT = sys.platform.startswith("linux")


class _ServerState:
    """What the server told us about future requests; shared by a transport's copies."""

    def __init__(self) -> None:
        self.backoff_until = 0.0
        self.alerts_seen: set[str] = set()
        self.lock = threading.Lock()


class TransportSettings:
    """What both transports share: server URL, auth, headers, timeout, retry, dry mode,
    event hooks."""

    #: Whether event callbacks may be coroutine functions (the async transport).
    _async_hooks = False

    def __init__(
        self,
        server_url: str,
        *,
        auth: Any = None,
        headers: dict[str, str] | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retry: int = 0,
        retry_after: float | None = None,
        dry_mode: bool = False,
        hooks: Hooks | None = None,
    ) -> None:
        if not isinstance(server_url, str) or not server_url.startswith(("http://", "https://")):
            raise ValueError(
                f"server_url must be an http(s) URL such as 'http://localhost:8888/v1', "
                f"got {server_url!r}."
            )
        server_url, url_auth = split_credentials(server_url.rstrip("/"))
        self.server_url = server_url
        self.auth = auth if auth is not None else url_auth
        self.headers = {"User-Agent": USER_AGENT, "Accept": core.JSON, **(headers or {})}
        self.timeout = check_timeout(timeout)
        self.policy = core.RetryPolicy(retry=retry, retry_after=retry_after)
        self.dry_mode = dry_mode
        self.hooks = hooks if hooks is not None else Hooks(allow_coroutines=self._async_hooks)
        self._state = _ServerState()

    @property
    def current_timeout(self) -> Timeout:
        """The timeout of the next request: a ``client.timeout(...)`` block's, else
        :attr:`timeout`."""
        return current_timeout(self, self.timeout)

    def with_timeout(self, timeout: Timeout) -> TransportSettings:
        """A copy with another timeout, sharing everything else (connection pool, auth,
        hooks, the server's ``Backoff``)."""
        other = copy.copy(self)
        other.timeout = check_timeout(timeout)
        return other

    @property
    def retry(self) -> int:
        return self.policy.retry

    @property
    def retry_after(self) -> float | None:
        return self.policy.retry_after

    def url(self, request: core.Request) -> str:
        if request.path.startswith(("http://", "https://")):
            return request.path
        return self.server_url + request.path

    def full_url(self, request: core.Request) -> str:
        """``url()`` with the query string: what ``exc.request.url`` shows."""
        query = f"?{urlencode(request.params)}" if request.params else ""
        return self.url(request) + query

    def same_origin(self, url: str) -> bool:
        return core.origin(self.server_url) == core.origin(url)

    @property
    def file_headers(self) -> dict[str, str]:
        return {"User-Agent": USER_AGENT}

    @staticmethod
    def check_download(url: str, status: int) -> None:
        if status >= 400:
            raise KintoException(f"GET {url} - {status}: the attachment could not be downloaded.")

    def backoff_wait(self) -> float:
        """Seconds still to wait because of a server ``Backoff`` header."""
        return max(0.0, self._state.backoff_until - time.monotonic())

    def note(self, response: core.Response) -> None:
        """Record what a response tells about future requests (``Backoff``, ``Alert``)."""
        seconds = core.backoff_seconds(response.headers)
        if seconds:
            with self._state.lock:
                self._state.backoff_until = time.monotonic() + seconds
            logger.warning("Kinto asked to back off for %s s", seconds)
            self.hooks.emit("backoff", BackoffEvent(seconds, response))
        alert = response.headers.get("Alert")
        if alert and alert not in self._state.alerts_seen:
            with self._state.lock:
                first = alert not in self._state.alerts_seen
                self._state.alerts_seen.add(alert)
            if first:  # once per distinct alert, like kinto-http's DeprecationWarning
                event = DeprecatedEvent.parse(alert, response)
                logger.warning("Kinto alert (%s): %s", event.code,
                               " ".join(filter(None, (event.message, event.url))))
                warnings.warn(alert, DeprecationWarning, stacklevel=2)
                self.hooks.emit("deprecated", event)

    def delivery(
        self, request: core.Request
    ) -> Generator[core.Request | float, core.Response | Exception | None, core.Response]:
        """The decisions of one delivery, for both transports: yields a number of
        seconds to sleep, or the request to send (answered with its response or the
        network exception); returns the final response or raises the final error."""
        request.url = self.full_url(request)
        retries = self.policy.tracker()
        while True:
            retries.attempt += 1
            attempt = retries.attempt
            wait = max(self.backoff_wait(), request.delay if attempt == 1 else 0.0)
            if wait:
                yield wait
            if self.dry_mode:
                return self.dry_response(request)
            hooks = self.hooks
            if hooks.wants("request"):
                hooks.emit("request", RequestEvent(request, self.url(request), attempt))
            sent = time.perf_counter()
            outcome = yield request
            if hooks.wants("response"):
                hooks.emit("response", ResponseEvent(
                    request, self.url(request), attempt, time.perf_counter() - sent,
                    outcome if isinstance(outcome, core.Response) else None,
                    outcome if isinstance(outcome, Exception) else None,
                ))
            if isinstance(outcome, Exception):
                delay = retries.after_network_error(request)
                if delay is None:
                    raise core.network_error(request, outcome, attempt) from outcome
                logger.info("%s failed (%s), retrying in %.2f s", request.describe(), outcome,
                            delay)
                reason = f"network error: {type(outcome).__name__}: {outcome}"
                hooks.emit("retry", RetryEvent(request, attempt, delay, reason, error=outcome))
                yield delay
                continue
            assert outcome is not None
            outcome.attempts = attempt
            self.note(outcome)
            if outcome.status < 400:
                return outcome
            if attempt > 1:  # did the answer of an earlier attempt get lost?
                recovered = core.recovered_write(request, outcome)
                if recovered is not None:
                    logger.info("%s: the earlier attempt was applied", request.describe())
                    return recovered
            delay = retries.after_response(outcome)
            if delay is None:
                raise core.error_from_response(outcome, attempt)
            logger.info("%s got %s, retrying in %.2f s", request.describe(), outcome.status,
                        delay)
            hooks.emit("retry", RetryEvent(request, attempt, delay, str(outcome.status),
                                           response=outcome))
            yield delay

    def dry_response(self, request: core.Request) -> core.Response:
        """In dry mode nothing is sent: log the request and answer ``200 {}`` as
        kinto-http does (a batch: ``{}`` for each of its requests)."""
        logger.info("(dry mode) %s %s", request.method, request.url or self.url(request))
        body: dict[str, Any] = {}
        if request.path == "/batch" and isinstance(request.json, dict):
            body = {"responses": [
                {"status": 200, "path": sub["path"], "headers": {}, "body": {}}
                for sub in request.json.get("requests", [])
            ]}
        headers = core.Headers({"Content-Type": core.JSON})
        return core.Response(200, headers, core.dumps(body), request, self.url(request))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.server_url} auth={describe_auth(self.auth)}>"


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``http://user:pw@host/v1`` -> (``http://host/v1``, ("user", "pw")): credentials
    never stay in a URL that ends up in reprs and logs."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    clean = urlunsplit(parts._replace(netloc=netloc))
    return clean, (unquote(parts.username or ""), unquote(parts.password or ""))


class SyncTransport(TransportSettings):
    """Blocking transport on ``requests.Session``."""

    def __init__(
        self, server_url: str, *, session: requests.Session | None = None, **kwargs: Any
    ) -> None:
        super().__init__(server_url, **kwargs)
        self.session = session or requests.Session()
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
        options: dict[str, Any] = {
            "params": request.params,
            "data": request.form if request.files else request.body,
            "files": request.files,
            "headers": {**self.headers, **request.all_headers()},
            "auth": self._requests_auth,
        }
        if type(session) is requests.Session and _STABLE_ENVIRONMENT:
            # Session.request() without its per-request scan of the environment, and the
            # body read at once (requests' .content reads it 10 KiB at a time).
            prepared = session.prepare_request(requests.Request(request.method, url, **options))
            settings = self._environment(session, prepared.url or url)
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
        origin, the number of variables and the session's settings stay the same."""
        key = (
            url[: url.find("/", url.find("//") + 2)], len(os.environ),
            *map(os.environ.get, _PROXY_VARIABLES),
            session.trust_env, tuple(session.proxies.items()), session.stream,
            session.verify, session.cert,
        )
        if self._environment_key != key:
            self._environment_settings = dict(
                session.merge_environment_settings(url, {}, None, None, None)
            )
            self._environment_key = key
        settings = dict(self._environment_settings)
        settings["proxies"] = dict(settings["proxies"])
        return settings

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


def _read_body(raw: requests.Response) -> bytes:
    """The whole body of a streamed response, in one read, with the exceptions requests'
    own ``.content`` raises (the connection goes back to the pool once it is read)."""
    body = raw.raw
    # Not urllib3's response, or already read (by a response hook): requests' own way.
    if not hasattr(body, "stream") or getattr(raw, "_content_consumed", False):
        return raw.content
    try:
        return body.read(decode_content=True) or b""
    except urllib3.exceptions.ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    except urllib3.exceptions.DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from exc
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.exceptions.ConnectionError(exc) from exc
    except urllib3.exceptions.SSLError as exc:
        raise requests.exceptions.SSLError(exc) from exc


@functools.lru_cache(maxsize=64)
def _httpx_timeout(timeout: Timeout) -> httpx.Timeout:
    if isinstance(timeout, tuple):
        connect, read = timeout
        return httpx.Timeout(read, connect=connect)
    return httpx.Timeout(timeout)


class _CookieJar(http.cookiejar.CookieJar):
    """A cookie jar that does not parse the answers that set no cookie (httpx hands it
    every response; parsing one costs a tenth of a request's client CPU)."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        headers = getattr(getattr(response, "response", None), "headers", None)
        if headers is not None and "set-cookie" not in headers and "set-cookie2" not in headers:
            return
        super().extract_cookies(response, request)


class AsyncTransport(TransportSettings):
    """Non-blocking transport on ``httpx.AsyncClient`` (HTTP/1.1 connection pool)."""

    _async_hooks = True

    def __init__(
        self, server_url: str, *, session: httpx.AsyncClient | None = None, **kwargs: Any
    ) -> None:
        super().__init__(server_url, **kwargs)
        self._httpx_auth = to_httpx_auth(self.auth)
        self.session = session or httpx.AsyncClient(
            timeout=_httpx_timeout(self.timeout),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            cookies=_CookieJar(),
        )

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
        raw = await self.session.request(
            request.method,
            url,
            params=request.params,
            content=None if request.files else request.body,
            data=request.form if request.files else None,
            files=request.files,
            headers={**self.headers, **request.all_headers()},
            auth=self._httpx_auth if self._httpx_auth is not None else httpx.USE_CLIENT_DEFAULT,
            timeout=_httpx_timeout(self.current_timeout),
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
