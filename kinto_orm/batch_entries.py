"""What a batch keeps of each queued operation (:class:`Entry`), the chunks they go in,
and how an entry ends without an answer of its own: its chunk failed, it could not be
encoded, or an earlier chunk stopped the batch."""

from __future__ import annotations

from typing import Any

from . import protocol as core
from .errors import KintoException
from .protocol import Op, Request


class Entry:
    """A queued operation: the request it waits on, and later its outcome."""

    __slots__ = ("body", "error", "key", "op", "request", "superseded_by", "tag")

    def __init__(self, request: Request, op: Op[Any], tag: Any, key: Any) -> None:
        self.request = request
        self.op = op
        self.tag = tag
        self.key = key
        self.body: Any = None
        self.error: KintoException | None = None
        self.superseded_by: Entry | None = None

    def end(self, error: KintoException, shown: KintoException | None = None) -> KintoException:
        """End this entry's operation with ``error``; ``shown`` (else ``error``) takes its
        place in ``results()``. Returns ``error``."""
        self.error = error
        self.body = error_body(shown or error)
        self.op.close()
        return error


class FromBatch:
    """An entry's body, still in its batch answer's bytes (see ``Batch.results``)."""

    __slots__ = ("source",)

    def __init__(self, source: tuple[bytes, int]) -> None:
        self.source = source


def error_body(exc: KintoException) -> dict[str, Any]:
    """A failed entry's place in ``results()``: the error, shaped as Kinto words one."""
    return {
        "code": exc.status_code, "errno": exc.errno, "error": type(exc).__name__,
        "message": str(exc), "details": exc.details,
    }


def chunk_failure(entry: Entry, exc: KintoException) -> KintoException:
    """``entry``'s error when its whole chunk failed with ``exc`` (after the transport's
    retries). Kinto runs a batch in one transaction, so an error answer means nothing of
    it applied; without a readable answer (connection lost, garbage) nobody can tell.
    ``str()`` shows the batch's own error, as kinto-http raises it."""
    if (exc.status_code or 0) >= 400:
        outcome = "not applied: its batch failed"
    else:
        outcome = "outcome unknown: its batch may or may not have been applied"
    return KintoException(
        exc.message, exc, request=entry.request,
        description=f"{entry.request.describe()} - {outcome} ({exc.description})",
    )


def encoding_failure(entry: Entry, error: Exception) -> KintoException:
    """``entry``'s error when its body is not JSON: never sent (the rest of its chunk is)."""
    text = f"{entry.request.describe()} - not sent: {error}"
    return KintoException(text, error, request=entry.request, description=text)


def stopped(entry: Entry, stop: KintoException) -> KintoException:
    """``entry``'s error when an earlier chunk stopped a kinto-http batch: never sent."""
    return KintoException(
        f"Not sent: an earlier chunk of the batch failed ({stop})",
        request=entry.request,
        description=f"{entry.request.describe()} - not sent: an earlier chunk of "
        f"the batch failed ({stop.description})",
    )


def segments(entries: list[Entry], size: int) -> list[list[Entry]]:
    """Consecutive batchable entries in chunks of ``size``; each other entry alone."""
    groups: list[list[Entry]] = []
    current: list[Entry] = []
    for entry in entries:
        if core.batchable(entry.request):
            current.append(entry)
            if len(current) == size:
                groups.append(current)
                current = []
        else:
            if current:
                groups.append(current)
                current = []
            groups.append([entry])
    if current:
        groups.append(current)
    return groups


__all__ = ["Entry", "FromBatch", "chunk_failure", "encoding_failure", "error_body",
           "segments", "stopped"]
