"""Errors from answers: the ``KintoException`` subclass for a status, kinto-http's
message, network failures, and writes a retry proved to have landed."""

from __future__ import annotations

import json
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

from .encoding import dumps
from .errors import (
    BadRequest,
    Forbidden,
    NetworkError,
    NetworkTimeout,
    NotFound,
    PreconditionFailed,
    ServerError,
    Unauthorized,
)
from .messages import JSON, Headers, KintoException, Request, Response, _snippet

T = TypeVar("T")


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


#: Answers that send the client elsewhere (304 Not Modified is not one).
REDIRECTS = frozenset({301, 302, 303, 307, 308})


class Redirected(KintoException):
    """The server answered with a redirect, which kinto-orm does not follow.

    ``location`` is where it redirects to; ``server_url`` the server URL to configure
    instead (None when it cannot be told from the redirect).
    """

    location: str
    server_url: str | None


def redirect_error(response: Response, server_url: str) -> Redirected | None:
    """The error for a redirect answer, naming the server URL to use; None for others.

    Kinto answers a path without its ``/v1`` prefix with a 307 to ``/v1/...``, and a
    proxy may send ``http://`` to ``https://`` (301). Redirects are never followed (a
    write or its credentials would go to another URL than the one configured): the
    client is told which ``server_url`` to use instead.
    """
    if response.status not in REDIRECTS:
        return None
    request = response.request
    sent = response.url or server_url + request.path
    location = response.headers.get("Location") or ""
    target = urljoin(sent, location) if location else ""
    use = suggested_server_url(server_url, request.path, target)
    where = f" to {target}" if target else ""
    advice = (
        f"Use server_url={use!r}." if use
        else "Use the URL of the server's Kinto API (it usually ends with /v1)."
    )
    message = (
        f"The server at {server_url} answered {request.method} {urlsplit(sent).path} with "
        f"a redirect ({response.status}{where}); kinto-orm does not follow redirects. "
        + advice
    )
    error = Redirected(
        message, request=request, response=response,
        description=f"{request.describe()} - {response.status} redirect{where}. {advice}",
    )
    error.location, error.server_url = target, use
    return error


def suggested_server_url(server_url: str, path: str, target: str) -> str | None:
    """The server URL a redirect to ``target`` points to: ``target`` less the request's
    own ``path`` (``http://host/v1/buckets`` for ``/buckets`` -> ``http://host/v1``)."""
    if not target or path.startswith(("http://", "https://")):
        return None
    parts = urlsplit(target)
    target_path = parts.path
    suffix = path.split("?", 1)[0]
    if suffix != "/" and target_path.rstrip("/").endswith(suffix.rstrip("/")):
        base = target_path.rstrip("/")[: len(target_path.rstrip("/")) - len(suffix.rstrip("/"))]
    elif suffix == "/":
        base = target_path
    else:
        return None
    suggestion = parts._replace(path=base.rstrip("/"), query="", fragment="").geturl()
    return suggestion if suggestion.rstrip("/") != server_url.rstrip("/") else None
