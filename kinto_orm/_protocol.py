"""Sans-I/O core of the Kinto protocol, shared by the sync and async transports.

Nothing here touches the network: it builds :class:`Request` values, reads
:class:`Response` values into data or typed exceptions, and takes the decisions
(retry or not, how long to wait, which page comes next). The transports only move bytes.

Operations are written once as generators that ``yield`` a :class:`Request` and receive
the :class:`Response` (or get the error thrown in); :func:`drive_sync` and the async
twin in ``_transport`` run them. See :data:`Op`.
"""

from __future__ import annotations

import datetime
import decimal
import email.utils
import http
import json
import random
import re
import time
import uuid
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import pydantic_core

from .errors import (
    BadRequest,
    Forbidden,
    KintoException,
    NetworkError,
    NetworkTimeout,
    NotFound,
    PreconditionFailed,
    ServerError,
    Unauthorized,
)

T = TypeVar("T")

#: An operation: yields requests, receives responses, returns its result.
Op = Generator["Request", "Response", T]

JSON = "application/json"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
PRECONDITION_HEADERS = ("If-Match", "If-None-Match")


# ---------------------------------------------------------------------------- JSON


def json_default(value: Any) -> Any:
    """Encode the Python values Kinto users put in data: Decimals as JSON numbers, and
    the rest as Pydantic does (dates as ISO 8601, UUIDs as text, sets as lists, enums
    as their value, models as their dump...)."""
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ValueError(f"Out of range value {value}")
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    try:
        return pydantic_core.to_jsonable_python(value)
    except pydantic_core.PydanticSerializationError:
        raise TypeError(
            f"Object of type {type(value).__name__} is not JSON serializable; "
            "convert it to str, int, float, bool, list or dict first."
        ) from None


def dumps(value: Any) -> bytes:
    """Serialize ``value`` to compact JSON bytes (NaN and infinities are refused: JSON has
    no such numbers)."""
    try:
        text = json.dumps(value, default=json_default, separators=(",", ":"), allow_nan=False)
    except (ValueError, OverflowError) as exc:
        raise ValueError(
            f"Cannot send this value to Kinto: {exc}. Replace NaN/Infinity by null or a string."
        ) from exc
    return text.encode()


def new_record_id() -> str:
    """A new record id chosen by the client (UUID4, like Kinto's own)."""
    return str(uuid.uuid4())


def quote_etag(value: Any) -> str:
    """``1234`` or ``'"1234"'`` -> ``'"1234"'`` (Kinto wants quoted timestamps)."""
    text = str(value).strip('"')
    if text != "*" and not text.isdigit():
        raise ValueError(f"Invalid timestamp {value!r}: Kinto timestamps are integers.")
    return text if text == "*" else f'"{text}"'


def etag_value(headers: Mapping[str, str]) -> int | None:
    """The integer timestamp of an ``ETag`` header, or None."""
    raw = headers.get("ETag")
    if not raw:
        return None
    text = raw.strip().strip('"')
    return int(text) if text.isdigit() else None


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
        return None if self.json is None else dumps(self.json)

    def all_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.json is not None:
            headers.setdefault("Content-Type", self.content_type)
        return headers

    def describe(self) -> str:
        return f"{self.method} {self.path}"


class Headers(dict[str, str]):
    """A case-insensitive header mapping (keys stored lower-case)."""

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        super().__init__({key.lower(): value for key, value in items.items()} if items else ())

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

    __slots__ = ("_content", "_parsed", "_reason", "attempts", "headers", "request", "source",
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
        self.headers = headers
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
        cls, status: int, headers: Headers, body: Any, request: Request,
        source: tuple[bytes, int] | None = None,
    ) -> Response:
        """A response whose body is already parsed (a sub-response of a batch, parsed with
        the batch's answer): ``json()`` returns ``body`` itself, and the bytes are only
        made again if ``content`` is read."""
        response = cls(status, headers, b"", request)
        response._content = None
        response._parsed = body
        response.source = source
        return response

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
            return json.loads(self.content)
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


# ---------------------------------------------------------------------------- request helpers


def envelope(data: Any = None, permissions: Any = None) -> dict[str, Any]:
    """The ``{"data": ..., "permissions": ...}`` body, leaving out what is None."""
    body: dict[str, Any] = {}
    if data is not None:
        body["data"] = data
    if permissions is not None:
        as_dict = getattr(permissions, "as_dict", None)
        body["permissions"] = as_dict() if callable(as_dict) else permissions
    return body


def if_match_headers(
    safe: bool, data: Mapping[str, Any] | None = None, if_match: Any = None
) -> dict[str, str]:
    """kinto-http's rule: when safe, send ``If-Match`` with ``if_match`` or the data's
    ``last_modified``; nothing otherwise."""
    if if_match is None and data is not None and data.get("last_modified"):
        if_match = data["last_modified"]
    if safe and if_match is not None:
        return {"If-Match": quote_etag(if_match)}
    return {}


def save_headers(safe: bool, last_modified: int | None) -> dict[str, str]:
    """A model's save: replace only the version we know (``If-Match``), or create only if
    absent (``If-None-Match: *``) when we know none; nothing when not safe."""
    if not safe:
        return {}
    if last_modified is not None:
        return {"If-Match": quote_etag(last_modified)}
    return {"If-None-Match": "*"}


def create_headers(safe: bool) -> dict[str, str]:
    """``If-None-Match: *`` when safe: a create never overwrites."""
    return {"If-None-Match": "*"} if safe else {}


def encode_params(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Encode query-string values the way kinto-http does.

    ``in_``/``exclude_`` values are comma-joined lists, strings go as they are, anything
    else as JSON (``True`` -> ``true``).
    """
    if not params:
        return None
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None and not key.startswith("_"):
            out[key] = "null"
        elif value is None:
            continue
        elif key.startswith(("in_", "exclude_")):
            out[key] = f"{value}," if isinstance(value, str) else ",".join(
                v if isinstance(v, str) else json.dumps(v, default=json_default) for v in value
            )
        elif isinstance(value, str):
            out[key] = value
        else:
            out[key] = json.dumps(value, default=json_default)
    return out


def is_idempotent(request: Request) -> bool:
    """Can ``request`` be sent twice without a different outcome?

    GET/HEAD/PUT/DELETE are; a PATCH or POST is only when a precondition header makes a
    repeat fail instead of applying twice.
    """
    if request.idempotent is not None:
        return request.idempotent
    if request.method.upper() in IDEMPOTENT_METHODS:
        return True
    return any(h in request.headers for h in PRECONDITION_HEADERS)


# ---------------------------------------------------------------------------- errors

_STATUS_ERRORS: dict[int, type[KintoException]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    412: PreconditionFailed,
}


def error_from_response(response: Response, attempts: int = 1) -> KintoException:
    """Turn an error response into the matching :class:`KintoException` subclass."""
    status = response.status
    try:
        body = json.loads(response.content) if response.content else None
    except ValueError:
        body = None
    errno = details = None
    if isinstance(body, dict):
        errno = body.get("errno")
        details = body.get("details")
        reason = str(body.get("message") or body.get("error") or "")
    else:
        reason = f"non-JSON answer {_snippet(response.content)}" if response.content else ""
    if status == 400 and isinstance(details, list):
        described = "; ".join(
            f"{d.get('name') or d.get('location')}: {d.get('description')}"
            for d in details
            if isinstance(d, dict) and str(d.get("description")) not in reason
        )
        if described:
            reason = f"{reason} ({described})" if reason else described
    if status == 412:
        if response.request.headers.get("If-None-Match") == "*":
            reason += " (it already exists)"
        elif "If-Match" in response.request.headers:
            reason += " (it changed or was deleted since you read it; see .existing)"
    description = f"{response.request.describe()} - {status} {reason}".rstrip()
    if attempts > 1:
        description += f" (after {attempts} attempts)"
    cls = _STATUS_ERRORS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else KintoException
    return cls(
        kinto_http_message(status, body, response.content),
        request=response.request,
        response=response,
        errno=errno,
        details=details,
        description=description,
        attempts=attempts,
    )


def kinto_http_message(status: int, body: Any, content: bytes) -> str:
    """kinto-http's message for an error answer: ``"<status> - <body>"``, the body as the
    Python ``str`` of its JSON (the raw text when it is not JSON)."""
    shown = body if body is not None else content.decode("utf-8", errors="replace")
    return f"{status} - {shown}"


def network_error(request: Request, exc: BaseException, attempts: int) -> KintoException:
    """The error raised when no answer came (after the retries): ``str()`` is the
    transport's own message, as kinto-http lets requests' exception through."""
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    # requests' and httpx's timeout classes all say so in their name (the core does
    # not import the transports).
    timed_out = isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__
    return (NetworkTimeout if timed_out else NetworkError)(
        str(exc),
        exc,
        request=request,
        description=(
            f"{request.describe()} - network error{tries}: {type(exc).__name__}: {exc}"
        ),
        attempts=attempts,
    )


def recovered_write(request: Request, response: Response) -> Response | None:
    """After a retry, a 412 or 404 may be the trace of our own first attempt, which the
    server applied although its answer was lost. Returns the answer that attempt would
    have had, or None when the error is real.

    - create/replace (PUT/POST with a precondition): 412 whose ``details.existing``
      holds exactly the data we sent;
    - shallow PATCH: 412 whose ``existing`` holds every field we sent;
    - DELETE: 404 (the object is gone, which is what we asked).
    """
    method = request.method
    if response.status == 404 and method == "DELETE":
        object_id = request.path.rstrip("/").rsplit("/", 1)[-1]
        body = {"data": {"id": object_id, "deleted": True}}
        return Response(200, Headers(), dumps(body), request, response.url, response.attempts)
    if response.status != 412 or not isinstance(request.json, dict):
        return None
    if method not in ("PUT", "POST", "PATCH") or request.content_type != JSON:
        return None
    try:
        details = json.loads(response.content).get("details") or {}
    except (ValueError, AttributeError):
        return None
    existing = details.get("existing") if isinstance(details, dict) else None
    sent = json.loads(dumps(request.json.get("data") or {}))
    if not isinstance(existing, dict) or not isinstance(sent, dict):
        return None
    ignored = ("last_modified", "schema")
    same = all(existing.get(k) == v for k, v in sent.items() if k not in ignored)
    if method != "PATCH":
        same = same and set(existing) - set(ignored) - {"id"} <= set(sent)
    if not same:
        return None
    headers = Headers({"ETag": f'"{existing.get("last_modified")}"'})
    body = {"data": existing, "permissions": {}}
    return Response(200, headers, dumps(body), request, response.url, response.attempts)


# ---------------------------------------------------------------------------- retries


def _seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:  # Retry-After may also be an HTTP date.
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


#: Kinto's errno for a storage transaction that lost a race (PostgreSQL backend).
CONFLICT_ERRNO = 122


def is_transient_conflict(response: Response) -> bool:
    """A ``409`` errno 122 "Integrity constraint violated, please retry.": concurrent
    writes into one collection raced in PostgreSQL and this transaction was rolled back.
    Nothing was applied, so the request (even a plain POST, even a whole batch) is safe
    to send again."""
    if response.status != 409:
        return False
    try:
        body = json.loads(response.content) if response.content else None
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("errno") == CONFLICT_ERRNO


@dataclass(slots=True)
class RetryPolicy:
    """Decides whether a failed attempt is tried again, and after how long.

    ``retry`` is how many extra attempts are allowed; ``retry_after`` (seconds)
    overrides the server's ``Retry-After``.

    A transient conflict (:func:`is_transient_conflict`) is retried even with
    ``retry=0``, up to ``conflict_retries`` times (or ``retry``, when larger), after a
    short jittered wait: ``uniform(0, min(conflict_cap, conflict_base * 2**n))`` seconds
    before retry ``n + 1``, not the ``Retry-After: 3`` Kinto sends with it (the race
    lasts milliseconds; waiting 3 s would stall every writer, and the jitter keeps the
    writers that collided from colliding again). ``conflict_retries = 0`` restores
    kinto-http's behaviour (a 409 counts against ``retry`` and waits ``Retry-After``).
    """

    retry: int = 0
    retry_after: float | None = None
    conflict_retries: int = 10
    conflict_base: float = 0.05
    conflict_cap: float = 2.0

    def _wait(self, headers: Mapping[str, str] | None, attempt: int) -> float:
        if self.retry_after is not None:
            return float(self.retry_after)
        server = _seconds(headers.get("Retry-After")) if headers is not None else None
        if server is not None:
            return server
        return min(0.1 * (2.0 ** (attempt - 1)), 5.0)

    def conflict_wait(self, conflicts: int) -> float:
        """The jittered wait before retrying after the ``conflicts``-th conflict."""
        if self.retry_after is not None:
            return float(self.retry_after)
        ceiling = min(self.conflict_cap, self.conflict_base * 2.0 ** (conflicts - 1))
        return random.uniform(0.0, ceiling)

    def after_response(
        self, response: Response, attempt: int, conflicts: int = 0
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up.

        ``conflicts`` is how many of the ``attempt`` answers so far were transient
        conflicts (this one included): they have their own budget.
        """
        if self.conflict_retries and is_transient_conflict(response):
            if conflicts > max(self.retry, self.conflict_retries):
                return None
            return self.conflict_wait(conflicts)
        if attempt - conflicts > self.retry:
            return None
        status = response.status
        retry_after = response.headers.get("Retry-After")
        retryable = status in (429, 502, 503, 504) or (
            (status == 409 or status >= 500) and retry_after is not None
        )
        if not retryable or not is_idempotent(response.request):
            return None
        return self._wait(response.headers, attempt)

    def after_network_error(
        self, request: Request, attempt: int, conflicts: int = 0
    ) -> float | None:
        if attempt - conflicts > self.retry or not is_idempotent(request):
            return None
        return self._wait(None, attempt)

    def tracker(self) -> RetryTracker:
        """The counters of one delivery (one request and its retries)."""
        return RetryTracker(self)


@dataclass(slots=True)
class RetryTracker:
    """One delivery's attempts, asking its :class:`RetryPolicy` after each failure."""

    policy: RetryPolicy
    attempt: int = 0
    conflicts: int = 0

    def after_response(self, response: Response) -> float | None:
        """Seconds to wait before sending again, or None to give up."""
        if self.policy.conflict_retries and is_transient_conflict(response):
            self.conflicts += 1
        return self.policy.after_response(response, self.attempt, self.conflicts)

    def after_network_error(self, request: Request) -> float | None:
        return self.policy.after_network_error(request, self.attempt, self.conflicts)


def backoff_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks clients to wait (``Backoff`` header), or None."""
    return _seconds(headers.get("Backoff"))


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


# ---------------------------------------------------------------------------- batch


def batchable(request: Request) -> bool:
    """Can ``request`` go inside a ``POST /batch``?

    Not when its path holds ``/batch`` (Kinto refuses such sub-paths, even an id like
    ``batch-1``), when it is a full URL (a ``Next-Page``), when its body is not an
    object (JSON Patch lists), or for HEAD (no body to report).
    """
    return (
        request.path.startswith("/")
        and "/batch" not in request.path
        and request.method != "HEAD"
        and (request.json is None or isinstance(request.json, dict))
        and request.files is None
    )


def batch_subrequest(request: Request) -> dict[str, Any]:
    """``request`` as one entry of a batch's ``requests`` list."""
    path = request.path
    if request.params:
        path += "?" + urlencode(request.params)
    sub: dict[str, Any] = {"method": request.method, "path": path}
    headers = request.all_headers()
    if headers:
        sub["headers"] = headers
    if request.json is not None:
        sub["body"] = request.json
    return sub


def batch_request(chunk: Sequence[Request], delay: float = 0.0) -> Request:
    """The ``POST /batch`` carrying ``chunk``. It is safe to repeat when every
    sub-request is: Kinto runs a batch in one transaction, so a batch that failed with
    a 5xx/409 applied nothing."""
    return Request(
        "POST",
        "/batch",
        json={"requests": [batch_subrequest(r) for r in chunk]},
        idempotent=all(is_idempotent(r) for r in chunk),
        delay=delay,
    )


def last_conflict(answers: Sequence[Response]) -> int:
    """Index of the last sub-response that is a transient conflict, or -1.

    Kinto (26.5, PostgreSQL) answers such a batch with 200, but the conflict aborted
    the transaction: every sub-request up to it was rolled back, even those answered
    201, and only those after it were applied (in a new transaction).
    """
    for index in range(len(answers) - 1, -1, -1):
        if is_transient_conflict(answers[index]):
            return index
    return -1


def batch_responses(response: Response, chunk: Sequence[Request]) -> list[Response]:
    """Split a batch answer into one :class:`Response` per sub-request of ``chunk``."""
    body = response.json()
    answers = body.get("responses") if isinstance(body, dict) else None
    if not isinstance(answers, list) or len(answers) != len(chunk):
        raise response._unexpected(
            f"expected {len(chunk)} responses, got {_snippet(response.content)}."
        )
    # Each sub-response keeps its part of the parsed answer: no bytes made per record.
    content = response.content
    return [
        Response.parsed(
            int(answer.get("status", 500)), Headers(answer.get("headers")), answer.get("body"),
            request, (content, index),
        )
        for index, (request, answer) in enumerate(zip(chunk, answers))
    ]



def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size``."""
    size = max(1, size)
    for index in range(0, len(items), size):
        yield items[index : index + size]


# ---------------------------------------------------------------------------- driving ops


@dataclass(slots=True)
class Done:
    """An operation finished with ``value``."""

    value: Any


def start(op: Op[Any]) -> Request | Done:
    """Run ``op`` up to its first request (or to its end, when it needs none)."""
    try:
        return next(op)
    except StopIteration as stop:
        return Done(stop.value)


def resume(
    op: Op[Any], response: Response | None = None, error: KintoException | None = None
) -> Request | Done:
    """Hand ``op`` the answer to its last request (or the error it caused, which the op
    may catch); returns its next request, or :class:`Done`. Errors it does not catch
    propagate."""
    try:
        if error is not None:
            return op.throw(error)
        assert response is not None
        return op.send(response)
    except StopIteration as stop:
        return Done(stop.value)


def drive_sync(send: Any, op: Op[T], step: Request | Done | None = None) -> T:
    """Run operation ``op`` to completion, sending each request with ``send``.

    Errors raised by ``send`` are thrown into the operation so that it can recover
    (``if_not_exists``, ``if_exists``); anything it does not catch propagates.
    """
    step = start(op) if step is None else step
    while isinstance(step, Request):
        try:
            response = send(step)
        except KintoException as exc:
            step = resume(op, error=exc)
        else:
            step = resume(op, response)
    result: T = step.value
    return result


def request_op(request: Request) -> Op[Response]:
    """The simplest operation: one request, its response."""
    response = yield request
    return response


def stream_sync(send: Any, stream: Generator[Any, Any, None]) -> Iterator[Any]:
    """Run a stream op: answer each yielded :class:`Request` with ``send`` and hand every
    other yielded value (a page) to the caller."""
    step = start(stream)
    while not isinstance(step, Done):
        if isinstance(step, Request):
            try:
                response = send(step)
            except KintoException as exc:
                step = resume(stream, error=exc)
            else:
                step = resume(stream, response)
        else:
            yield step
            step = start(stream)
