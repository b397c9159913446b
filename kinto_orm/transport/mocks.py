"""The async client under a test suite's mocks of ``requests``.

kinto-http's AsyncClient is its sync client run in worker threads, so test suites written
for it mock ``requests``: ``responses`` replaces ``HTTPAdapter.send``, ``requests-mock``
``Session.send`` (and ``get_adapter``). For kinto-orm to be a drop-in, its AsyncClient
must be answered by those mocks too, while it still goes through ``httpx.AsyncClient.send``
(where respx and httpx's tracing look). So, for each request: when one of requests' entry
points is not requests' own code (:func:`requests_mocked`), the request goes to an
``httpx.AsyncClient`` on :class:`ThroughRequests`, an httpx transport that sends it with
requests in a worker thread; otherwise to httpx's own transport. A tracing wrapper such
as OpenTelemetry's (``functools.wraps``, wrapt: it keeps ``__wrapped__``) is not a mock:
traced production code stays on httpx, with no thread.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import httpx
import requests
from requests.adapters import HTTPAdapter

#: Where mock libraries patch requests (class attributes, read at each request).
_ENTRY_POINTS = (
    (requests.Session, "request"), (requests.Session, "send"),
    (requests.Session, "get_adapter"), (HTTPAdapter, "send"),
)

#: Headers that describe the bytes on the wire: requests already decoded the body.
_FRAMING = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def _is_requests_own(function: Any) -> bool:
    """Whether ``function``, under any tracing wrappers, is requests' own code."""
    try:
        inner = inspect.unwrap(function)
    except ValueError:  # a cycle of __wrapped__
        return False
    return str(getattr(inner, "__module__", "")).startswith("requests.")


class _Verdict:
    """The last entry points seen and whether they were mocked (judged once per change:
    a mock is started and stopped a few times per test suite, requests are many)."""

    entry_points: tuple[Any, ...] = ()
    mocked = False


def requests_mocked() -> bool:
    """Whether a mock library (or ``unittest.mock``) replaced one of requests' entry
    points: the async client then sends through requests, where the mock answers."""
    current = tuple(getattr(owner, name) for owner, name in _ENTRY_POINTS)
    if current != _Verdict.entry_points:
        _Verdict.mocked = not all(map(_is_requests_own, current))
        _Verdict.entry_points = current
    return _Verdict.mocked


class ThroughRequests(httpx.AsyncBaseTransport):
    """An httpx transport that sends each request with ``requests`` (its own session) in
    a worker thread. requests' exceptions come out as they are, as kinto-http's do."""

    def __init__(self) -> None:
        self.session = requests.Session()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        timeout = request.extensions.get("timeout") or {}
        raw = await asyncio.to_thread(
            self.session.request, request.method, str(request.url),
            headers={name.decode("latin-1"): value.decode("latin-1")
                     for name, value in request.headers.raw},
            data=body or None, timeout=(timeout.get("connect"), timeout.get("read")),
            allow_redirects=False,
        )
        headers = [(k, v) for k, v in raw.headers.items() if k.lower() not in _FRAMING]
        return httpx.Response(
            raw.status_code, headers=headers, content=raw.content,
            extensions={"reason_phrase": (raw.reason or "").encode("latin-1", "replace")},
        )

    async def aclose(self) -> None:
        self.session.close()
