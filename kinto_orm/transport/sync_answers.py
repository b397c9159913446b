"""What requests makes of an answer and of a failure, for the sync short route
(``direct_sync.py``): the exceptions ``HTTPAdapter.send()`` and ``Response.content``
raise for urllib3's, response headers as requests reads them, and a compressed body or
cookies handled by urllib3's and requests' own code.

Why apart: the short route sends on two pools (urllib3's, or the httptools one of
``http11_sync.py``, which raises urllib3's exceptions) and both must look like requests.
"""

from __future__ import annotations

import http.client
import io
from typing import Any

import urllib3
from requests import exceptions as rx
from requests.cookies import extract_cookies_to_jar
from requests.models import PreparedRequest
from urllib3 import exceptions as ux

from .. import protocol as core


def decoded_headers(raw: list[tuple[bytes, bytes]]) -> core.Headers:
    """Response headers as ``response_headers()`` reads urllib3's: decoded as
    ``http.client`` decodes them (Latin-1), a repeated name's values joined."""
    return core.Headers.from_raw(raw, "latin-1")


class _Original:
    """What requests' cookie code reads of a urllib3 response: the headers of its
    ``http.client`` response (``response._original_response.msg``)."""

    def __init__(self, msg: http.client.HTTPMessage) -> None:
        self.msg = msg
        self._original_response = self


def rare_answer(
    jar: Any, prepared: PreparedRequest, status: int, reason: str,
    raw: list[tuple[bytes, bytes]], content: bytes,
) -> bytes:
    """The body of an answer read by the httptools pool that has a ``Content-Encoding``
    or cookies (rare on Kinto): decoded by urllib3's own decoders, its cookies stored in
    ``jar`` by requests' own code, with the same errors."""
    message = http.client.HTTPMessage()
    for name, value in raw:
        message[name.decode("latin-1")] = value.decode("latin-1")
    if "set-cookie" in message or "set-cookie2" in message:
        extract_cookies_to_jar(jar, prepared, _Original(message))  # type: ignore[no-untyped-call]
    response = urllib3.HTTPResponse(
        io.BytesIO(content), headers=urllib3.HTTPHeaderDict(message.items()), status=status,
        reason=reason, preload_content=False, decode_content=True,
    )
    return read_body(response)


def send_error(exc: Exception, request: PreparedRequest) -> Exception:
    """The exception ``HTTPAdapter.send()`` raises for ``exc`` from ``urlopen()``."""
    if isinstance(exc, (ux.ProtocolError, OSError)):
        return rx.ConnectionError(exc, request=request)
    if isinstance(exc, ux.MaxRetryError):
        reason = exc.reason
        if isinstance(reason, ux.ConnectTimeoutError) and not isinstance(
            reason, ux.NewConnectionError
        ):
            return rx.ConnectTimeout(exc, request=request)
        if isinstance(reason, ux.ResponseError):
            return rx.RetryError(exc, request=request)
        if isinstance(reason, ux.ProxyError):
            return rx.ProxyError(exc, request=request)
        if isinstance(reason, ux.SSLError):
            return rx.SSLError(exc, request=request)
        return rx.ConnectionError(exc, request=request)
    if isinstance(exc, ux.ClosedPoolError):
        return rx.ConnectionError(exc, request=request)
    if isinstance(exc, ux.ProxyError):
        return rx.ProxyError(exc)
    if isinstance(exc, ux.SSLError):
        return rx.SSLError(exc, request=request)
    if isinstance(exc, ux.ReadTimeoutError):
        return rx.ReadTimeout(exc, request=request)
    if isinstance(exc, ux.InvalidHeader):
        return rx.InvalidHeader(exc, request=request)
    return exc


def response_headers(headers: Any) -> core.Headers:
    """The :class:`~kinto_orm.protocol.Headers` of urllib3's response headers, a repeated
    name's values joined as ``itermerged()`` joins them. Read from the ``HTTPHeaderDict``'s
    own store (lower-case name -> ``[name, *values]``) when it has one: its generator and
    a second lower-casing cost 4 µs a response here, this 1 µs."""
    store = getattr(headers, "_container", None)
    if type(store) is not dict:
        return core.Headers(dict(headers.itermerged()))
    return core.Headers.lowered({
        name: values[1] if len(values) == 2 else ", ".join(values[1:])
        for name, values in store.items()
    })


def read_body(raw: urllib3.BaseHTTPResponse) -> bytes:
    """The whole (decoded) body of a streamed urllib3 response in one read, with the
    exceptions requests' ``Response.content`` raises (the connection goes back to the
    pool once it is read)."""
    try:
        return raw.read(decode_content=True) or b""
    except (ux.ProtocolError, ux.DecodeError, ux.ReadTimeoutError, ux.SSLError) as exc:
        raise body_error(exc) from exc


def body_error(exc: Exception) -> Exception:
    """The exception requests' ``Response.content`` raises for urllib3's ``exc``."""
    if isinstance(exc, ux.ProtocolError):
        return rx.ChunkedEncodingError(exc)
    if isinstance(exc, ux.DecodeError):
        return rx.ContentDecodingError(exc)
    if isinstance(exc, ux.ReadTimeoutError):
        return rx.ConnectionError(exc)
    if isinstance(exc, ux.SSLError):
        return rx.SSLError(exc)
    return exc
