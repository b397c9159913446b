"""What both transports share: their settings (URL, auth, headers, timeout, retry), the
delivery loop that retries and reports events, and the server's backoff state."""

from __future__ import annotations

import copy
import logging
import threading
import time
import warnings
from collections.abc import Generator
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

from .. import protocol as core
from .._timeouts import DEFAULT_TIMEOUT, Timeout, check_timeout, current_timeout
from .._version import __version__
from ..auth import check_credentials, describe_auth
from ..errors import KintoException
from ..events import (
    BackoffEvent,
    DeprecatedEvent,
    Hooks,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
)

logger = logging.getLogger("kinto_orm")

USER_AGENT = f"kinto-orm/{__version__}"

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
        check_credentials(self.auth)
        core.check_headers(self.headers)
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
        # Checked for each request: the defaults are a dict anyone may change later.
        core.check_headers(self.headers)
        core.check_headers(request.headers)
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
                redirected = core.redirect_error(outcome, self.server_url)
                if redirected is not None:
                    raise redirected
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
