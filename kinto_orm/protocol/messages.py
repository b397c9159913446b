"""``Request`` and ``Response``, the values the transports move, ``Headers``, ``Op``
(an operation: a generator of requests) and ``KintoException``, the error they carry."""

from __future__ import annotations

import http
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from .encoding import dumps, dumps_plain, loads

T = TypeVar("T")


#: An operation: yields requests, receives responses, returns its result.
Op = Generator["Request", "Response", T]

JSON = "application/json"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
PRECONDITION_HEADERS = ("If-Match", "If-None-Match")




# ---------------------------------------------------------------------------- messages


@dataclass(slots=True)
class Request:
    """One HTTP request to Kinto, before any transport sees it.

    ``path`` is relative to the server URL (``/buckets/b``), or a full URL taken from a
    ``Next-Page`` header. ``json`` is the body (a dict or a list), ``None`` for no body.
    """

    method: str
    path: str
    params: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    content_type: str = JSON
    #: None lets the method and headers decide (see :func:`is_idempotent`).
    idempotent: bool | None = None
    #: Multipart upload: ``[(field, (filename, content, mimetype))]`` plus form fields.
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    form: dict[str, str] | None = None
    #: The full URL (query string included), set by the transport that sends it; empty
    #: for a sub-request of a batch.
    url: str = ""
    #: Seconds the transport waits before sending it (a resend after a conflict).
    delay: float = 0.0
    #: ``json`` already encoded (a batch encodes its body once, to tell which of its
    #: sub-requests cannot be sent before anything is).
    content: bytes | None = None
    #: ``json`` holds JSON's own types only: encoded by pydantic-core (``dumps_plain``).
    plain: bool = False

    @property
    def path_url(self) -> str:
        """The path and query string as sent, like requests' ``PreparedRequest.path_url``:
        ``/v1/buckets/b?_limit=2`` (a batch sub-request: its path in the batch,
        ``/buckets/b``)."""
        if self.url:
            parts = urlsplit(self.url)
            return parts.path + (f"?{parts.query}" if parts.query else "")
        return self.path + (f"?{urlencode(self.params)}" if self.params else "")

    @property
    def body(self) -> bytes | None:
        """The encoded JSON body (None without one), like ``PreparedRequest.body``."""
        if self.content is not None:
            return self.content
        if self.json is None:
            return None
        return dumps_plain(self.json) if self.plain else dumps(self.json)

    def all_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.json is not None and not (
            headers and any(name.lower() == "content-type" for name in headers)
        ):  # the caller's own, in any case of letters, wins (one header sent)
            headers["Content-Type"] = self.content_type
        return headers

    def describe(self) -> str:
        return f"{self.method} {self.path}"


class Headers(dict[str, str]):
    """A case-insensitive header mapping (keys stored lower-case)."""

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        super().__init__({key.lower(): value for key, value in items.items()} if items else ())

    @classmethod
    def lowered(cls, items: dict[str, str]) -> Headers:
        """Headers from a dict whose names are already lower-case (a transport's parsed
        response headers), without lowering them again."""
        headers = cls.__new__(cls)
        dict.update(headers, items)
        return headers

    @classmethod
    def from_raw(cls, raw: list[tuple[bytes, bytes]], encoding: str) -> Headers:
        """Headers from an answer's raw ``(name, value)`` pairs decoded with ``encoding``,
        the values of a repeated name joined by ``", "`` in order (as requests and httpx
        read them). Raises ``UnicodeDecodeError`` when one is not in ``encoding``."""
        headers: dict[str, str] = {}
        for name, value in raw:
            key, text = name.decode(encoding).lower(), value.decode(encoding)
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        return cls.lowered(headers)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key.lower(), value)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key.lower())

    def pop(self, key: str, *default: Any) -> Any:
        return super().pop(key.lower(), *default)

    def setdefault(self, key: str, default: str = "") -> str:
        return super().setdefault(key.lower(), default)

    def update(self, *args: Any, **kwargs: str) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


#: ``Response._parsed`` of a response whose body was not parsed for it.
_UNPARSED: Any = object()


class Response:
    """A response as the core sees it: status, headers (case-insensitive), body bytes.

    Reads like a ``requests.Response`` for what code usually reads from
    ``exc.response``: ``status_code``, ``ok``, ``reason``, ``headers``, ``json()``,
    ``text``, ``content``, ``url``, ``request``.
    """

    __slots__ = ("_content", "_headers", "_parsed", "_reason", "attempts", "request", "source",
                 "status", "url")

    def __init__(
        self,
        status: int,
        headers: Headers,
        content: bytes,
        request: Request,
        url: str = "",
        attempts: int = 1,
        reason: str = "",
    ) -> None:
        self.status = status
        self._headers: Headers | Mapping[str, str] | None = headers
        self._content: bytes | None = content
        self.request = request
        self.url = url
        #: How many times the request was sent to get this response.
        self.attempts = attempts
        self._reason = reason
        self._parsed: Any = _UNPARSED
        #: A sub-response of a batch: the batch answer's bytes and its place in them.
        self.source: tuple[bytes, int] | None = None

    @classmethod
    def parsed(
        cls, status: int, headers: Mapping[str, str] | None, body: Any, request: Request,
        source: tuple[bytes, int] | None = None,
    ) -> Response:
        """A response whose body is already parsed (a sub-response of a batch, parsed with
        the batch's answer): ``json()`` returns ``body`` itself, and the bytes are only
        made again if ``content`` is read; ``headers`` (a plain mapping) become
        :class:`Headers` only if read."""
        response = cls.__new__(cls)  # one of these per record written: no __init__ call
        response.status = status
        response._headers = headers
        response._content = None
        response.request = request
        response.url = ""
        response.attempts = 1
        response._reason = ""
        response._parsed = body
        response.source = source
        return response

    @property
    def headers(self) -> Headers:
        """The response headers (case-insensitive keys)."""
        headers = self._headers
        if not isinstance(headers, Headers):
            # A batch sub-response's: made case-insensitive on first use, as most are
            # never read (one dict of lower-cased keys less per record written).
            headers = self._headers = Headers(headers)
        return headers

    @headers.setter
    def headers(self, value: Headers) -> None:
        self._headers = value

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.request.describe()}>"

    @property
    def content(self) -> bytes:
        """The body bytes."""
        if self._content is None:
            self._content = b"" if self._parsed is None else dumps(self._parsed)
        return self._content

    @property
    def reason(self) -> str:
        """The reason phrase (``"Forbidden"``); the standard one when the server sent none."""
        if not self._reason:
            try:
                self._reason = http.HTTPStatus(self.status).phrase
            except ValueError:
                pass
        return self._reason

    @property
    def status_code(self) -> int:
        """kinto-http / requests compatible name for the status."""
        return self.status

    @property
    def ok(self) -> bool:
        """True for a status below 400, as ``requests.Response.ok``."""
        return self.status < 400

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; a clear :class:`KintoException` when it is not JSON."""
        if self._parsed is not _UNPARSED:
            return self._parsed
        if not self.content:
            return None
        try:
            return loads(self.content)
        except ValueError as exc:
            message = (
                f"the server answered something that is not JSON ({_snippet(self.content)}). "
                "Check that the server URL points to a Kinto server (it usually ends with /v1)."
            )
            raise self._unexpected(message) from exc

    def data(self) -> Any:
        """The ``data`` of a JSON object body; a :class:`KintoException` otherwise."""
        body = self.json()
        if not isinstance(body, dict) or "data" not in body:
            raise self._unexpected(
                f"expected a JSON object with 'data', got {_snippet(self.content)}."
            )
        return body["data"]

    def _unexpected(self, message: str) -> KintoException:
        return KintoException(
            message,
            request=self.request,
            response=self,
            description=f"{self.request.describe()} - {self.status}: {message}",
        )


def _snippet(content: bytes, size: int = 120) -> str:
    text = content[:size].decode("utf-8", errors="replace").strip() or "an empty body"
    return repr(text + ("..." if len(content) > size else ""))




# ---------------------------------------------------------------------------- the error


class KintoException(Exception):
    """Base class of every error kinto-orm raises about a request.

    ``str(exc)`` is kinto-http's text for the same failure, e.g.
    ``PUT /v1/buckets/blog - 412 412 - {'code': 412, ...}``: the request's method and
    path, the response's status, then :attr:`message`. The rest is in attributes:
    :attr:`errno`, :attr:`details`, :attr:`request`, :attr:`response`,
    :attr:`status_code`, :attr:`attempts`, and :attr:`description` (a readable
    explanation with Kinto's own message and a hint).

    Compatible with kinto-http's ``KintoException(message, exception)``: when
    ``exception`` is another :class:`KintoException`, its request, response, errno and
    details are kept.
    """

    request: Request | None
    response: Response | None

    def __init__(
        self,
        message: str | None = None,
        exception: BaseException | None = None,
        *,
        request: Request | None = None,
        response: Response | None = None,
        errno: int | None = None,
        details: Any = None,
        description: str | None = None,
        attempts: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request = request if request is not None else getattr(exception, "request", None)
        self.response = response if response is not None else getattr(exception, "response", None)
        self.errno = errno if errno is not None else getattr(exception, "errno", None)
        self.details = details if details is not None else getattr(exception, "details", None)
        #: How many times the request was sent before giving up.
        self.attempts = attempts or getattr(exception, "attempts", None) or 1
        self._description = description
        if exception is not None:
            self.__cause__ = exception

    @property
    def status_code(self) -> int | None:
        """The HTTP status of the response, or None when no response arrived."""
        return self.response.status_code if self.response is not None else None

    @property
    def description(self) -> str:
        """A readable explanation: Kinto's own message, validation details, a hint, the
        number of attempts (``str(exc)`` keeps kinto-http's terser text)."""
        return self._description or str(self)

    def __str__(self) -> str:
        # kinto-http's format, which users' tests and log alerts match on.
        if self.request is not None and self.response is not None:
            return (
                f"{self.request.method} {self.request.path_url} - "
                f"{self.response.status_code} {self.message}"
            )
        return self.message or ""


KintoError = KintoException
