"""``Next-Page``: the request for the next page of a list, only on the server's origin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit

from .messages import PRECONDITION_HEADERS, Request, Response

T = TypeVar("T")


# ---------------------------------------------------------------------------- pagination


def origin(url: str) -> tuple[str, str | None, str, int | None]:
    """(scheme, user, host, port) of ``url``, normalised: host case and default ports
    do not matter, embedded credentials do."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, parts.username, (parts.hostname or "").lower(), port


def next_page_request(response: Response, server_url: str) -> Request | None:
    """The request for the page after ``response``, or None on the last page.

    Refuses a ``Next-Page`` that points to another origin than the server's, so
    credentials are never sent elsewhere.
    """
    url = response.headers.get("Next-Page")
    if not url:
        return None
    if origin(server_url) != origin(url):
        raise response._unexpected(
            f"The server's Next-Page {url!r} points outside {server_url!r}; refusing to "
            "follow it. Use the server's own public URL as server_url."
        )
    previous = response.request
    headers = {k: v for k, v in previous.headers.items() if k not in PRECONDITION_HEADERS}
    return Request(previous.method, url, headers=headers)


def iter_pages_sync(
    send: Any, first: Request, server_url: str, max_pages: float = float("inf")
) -> Iterator[Response]:
    """Send ``first`` and follow ``Next-Page`` (``send`` is the transport's send)."""
    request: Request | None = first
    count = 0
    while request is not None and count < max_pages:
        response: Response = send(request)
        count += 1
        yield response
        request = next_page_request(response, server_url)
