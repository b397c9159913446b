"""kinto-http's ``Session`` (what ``client.session`` is) and ``create_session``, at
kinto-http's module path.

A :class:`Session` is the sync transport with kinto-http's constructor and its
``request()`` method; :class:`AsyncSession` is the async twin (``await
aclient.session.request(...)``)::

    session = create_session(server_url="http://localhost:8888/v1", auth="alice:s3cr3t")
    body, headers = session.request("get", "/buckets")
    client = Client(session=session)
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from . import protocol as core
from ._timeouts import DEFAULT_TIMEOUT, Timeout
from .auth import parse_auth
from .errors import KintoException
from .transport import AsyncTransport, SyncTransport

#: The keyword arguments of kinto-http's ``Session.request`` that kinto-orm takes.
_REQUEST_OPTIONS = frozenset({"params", "headers"})


def session_request(
    method: str,
    endpoint: str,
    data: Any = None,
    permissions: Any = None,
    payload: Any = None,
    **kwargs: Any,
) -> core.Request:
    """The request kinto-http's ``Session.request`` arguments describe."""
    unknown = set(kwargs) - _REQUEST_OPTIONS
    if unknown:
        raise TypeError(f"session.request() got unsupported arguments: {sorted(unknown)}")
    method = method.upper()
    body = dict(payload or {})
    body.update(core.envelope(data, permissions))
    if method in ("GET", "HEAD") and body:
        raise KintoException("GET requests are not allowed to have a body!")
    if not endpoint.startswith(("/", "http://", "https://")):
        endpoint = "/" + endpoint
    return core.Request(
        method,
        endpoint,
        params=core.encode_params(kwargs.get("params")),
        headers=dict(kwargs.get("headers") or {}),
        json=None if method in ("GET", "HEAD") else body,
    )


def session_answer(response: core.Response) -> tuple[Any, core.Headers]:
    """``(body, headers)`` as kinto-http's ``Session.request`` returns them."""
    method = response.request.method
    if response.status in (204, 304) or method == "HEAD":
        return None, response.headers
    return response.json(), response.headers


class _SessionInterface:
    """The attributes kinto-http code reads on ``client.session``."""

    retry: int
    if TYPE_CHECKING:  # provided by the transport it is mixed with

        def backoff_wait(self) -> float: ...

    @property
    def nb_retry(self) -> int:
        """kinto-http's name for ``retry``."""
        return self.retry

    @property
    def requests(self) -> list[tuple[str, str, dict[str, Any], dict[str, str] | None]]:
        """kinto-http's ``batch.session.requests``: in a ``client.batch()`` block, the
        requests queued so far as ``(method, path, payload, headers)``; always empty
        on a client's own session."""
        return []

    @property
    def backoff(self) -> float | None:
        """When (epoch seconds) the server's ``Backoff`` ends, or None."""
        wait = self.backoff_wait()
        return time.time() + wait if wait else None


class Session(_SessionInterface, SyncTransport):
    """The blocking session: sends requests to ``server_url`` with ``auth``, retries,
    honours ``Backoff``. Same constructor as kinto-http's ``Session``; its default
    ``timeout=False`` means kinto-orm's default timeout (``None``: no timeout)."""

    def __init__(
        self,
        server_url: str,
        auth: Any = None,
        timeout: Timeout | bool = False,
        headers: dict[str, str] | None = None,
        retry: int = 0,
        retry_after: float | None = None,
        dry_mode: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            server_url,
            auth=auth,
            timeout=DEFAULT_TIMEOUT if timeout is False else timeout,
            headers=headers,
            retry=retry,
            retry_after=retry_after,
            dry_mode=dry_mode,
            **kwargs,
        )

    def request(
        self,
        method: str,
        endpoint: str,
        data: Any = None,
        permissions: Any = None,
        payload: Any = None,
        **kwargs: Any,
    ) -> tuple[Any, core.Headers]:
        """Send one request; return ``(body, headers)`` (body None for HEAD, 204, 304).

        ``endpoint`` is relative to the server URL (``"/buckets"``) or a full URL;
        ``data``/``permissions`` make the body envelope, ``payload`` any other body;
        ``params=`` and ``headers=`` as in kinto-http. Error answers raise.
        """
        request = session_request(method, endpoint, data, permissions, payload, **kwargs)
        return session_answer(self.send(request))


class AsyncSession(_SessionInterface, AsyncTransport):
    """The session of an :class:`~kinto_orm.AsyncClient`: :class:`Session`'s interface
    with a coroutine ``request()``."""

    async def request(
        self,
        method: str,
        endpoint: str,
        data: Any = None,
        permissions: Any = None,
        payload: Any = None,
        **kwargs: Any,
    ) -> tuple[Any, core.Headers]:
        """Async :meth:`Session.request`."""
        request = session_request(method, endpoint, data, permissions, payload, **kwargs)
        return session_answer(await self.send(request))


def create_session(
    server_url: str | None = None,
    auth: Any = None,
    session: Session | None = None,
    **kwargs: Any,
) -> Session:
    """``session`` when given, else a new :class:`Session` for ``server_url`` and
    ``auth`` (a tuple, ``"user:password"``, ``"Bearer token"``, or an auth object);
    ``kwargs`` go to :class:`Session`. Raises ``AttributeError`` for both or neither,
    as kinto-http does."""
    if session is not None and (server_url is not None or auth is not None):
        raise AttributeError(
            "You cannot specify session and server_url or auth. "
            "Chose either session or (auth + server_url)."
        )
    if session is not None:
        return session
    if server_url is None and auth is None:
        raise AttributeError("You need to either set session or auth + server_url")
    if server_url is None:
        raise ValueError("create_session() needs server_url, e.g. 'http://localhost:8888/v1'.")
    return Session(server_url, auth=parse_auth(auth), **kwargs)


__all__ = ["AsyncSession", "Session", "create_session"]
