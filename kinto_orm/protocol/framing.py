"""``POST /batch`` framing: which requests may go in a batch, the batch request of a
chunk, its answer split back into one response per sub-request."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from .encoding import dumps, dumps_plain
from .headers import is_idempotent
from .messages import JSON, Request, Response, _snippet
from .retry import is_transient_conflict

T = TypeVar("T")


# ---------------------------------------------------------------------------- batch


def batchable(request: Request) -> bool:
    """Can ``request`` go inside a ``POST /batch``?

    Not when its path holds ``/batch`` (Kinto refuses such sub-paths, even an id like
    ``batch-1``), when it is a full URL (a ``Next-Page``), when its body is not an
    object (JSON Patch lists), for HEAD (no body to report), or when its body is not
    plain JSON: Kinto's batch view gives every sub-request ``application/json``
    whatever it says (26.5), so a merge patch would be applied as a plain PATCH
    (``null`` stored instead of removing the field, nested objects replaced).
    """
    return (
        request.path.startswith("/")
        and "/batch" not in request.path
        and request.method != "HEAD"
        and (request.json is None or isinstance(request.json, dict))
        and request.content_type == JSON
        and request.files is None
    )


def batch_subrequest(request: Request) -> dict[str, Any]:
    """``request`` as one entry of a batch's ``requests`` list."""
    path = request.path
    if request.params:
        path += "?" + urlencode(request.params)
    sub: dict[str, Any] = {"method": request.method, "path": path}
    # Kinto gives every sub-request with an object body ``Content-Type: application/json``
    # itself: sending it again only costs the server (and the link) a header per record.
    headers = request.headers
    if request.json is not None and request.content_type != JSON:
        headers = {"Content-Type": request.content_type, **headers}  # not batchable (above)
    if headers:
        sub["headers"] = headers
    if request.json is not None:
        sub["body"] = request.json
    return sub


class Unencodable(ValueError):
    """Sub-requests of a chunk whose body cannot be sent as JSON (a value JSON has no
    form for, NaN...): ``errors`` maps their index in the chunk to the encoder's error.
    Nothing of the chunk was sent."""

    def __init__(self, errors: dict[int, Exception]) -> None:
        super().__init__(f"{len(errors)} request(s) cannot be encoded as JSON")
        self.errors = errors


def batch_request(chunk: Sequence[Request], delay: float = 0.0) -> Request:
    """The ``POST /batch`` carrying ``chunk``, its body encoded. It is safe to repeat
    when every sub-request is: Kinto runs a batch in one transaction, so a batch that
    failed with a 5xx/409 applied nothing. Raises :class:`Unencodable` (before anything
    is sent) naming the sub-requests whose body is not JSON."""
    body = {"requests": [batch_subrequest(r) for r in chunk]}
    try:
        content = dumps_plain(body) if all(r.plain for r in chunk) else dumps(body)
    except (TypeError, ValueError):
        errors: dict[int, Exception] = {}
        for index, sub in enumerate(body["requests"]):
            try:
                dumps(sub)
            except (TypeError, ValueError) as exc:
                errors[index] = exc
        if not errors:
            raise
        raise Unencodable(errors) from None
    return Request(
        "POST",
        "/batch",
        json=body,
        idempotent=all(is_idempotent(r) for r in chunk),
        delay=delay,
        content=content,
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
            f"expected {len(chunk)} responses, got {_snippet(response.content)}: whether "
            "the requests without an answer were applied is unknown. Kinto answers one "
            "response per request (a mocked POST /batch must too)."
        )
    # Each sub-response keeps its part of the parsed answer: no bytes made per record.
    content = response.content
    return [
        Response.parsed(
            int(answer.get("status", 500)), answer.get("headers"), answer.get("body"),
            request, (content, index),
        )
        for index, (request, answer) in enumerate(zip(chunk, answers))
    ]



def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size``."""
    size = max(1, size)
    for index in range(0, len(items), size):
        yield items[index : index + size]
