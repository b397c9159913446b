"""The ``KintoException`` subclasses, one per kind of failure (status, network, batch,
unbound object); ``kinto_orm.errors`` and ``kinto_orm.exceptions`` re-export them."""

from __future__ import annotations

from typing import Any

import requests

from .messages import KintoError, KintoException


class BadRequest(KintoException):
    """400: the server refused the request (invalid id, schema validation, bad filter...)."""


class Unauthorized(KintoException):
    """401: not authenticated, or wrong credentials."""


class Forbidden(KintoException):
    """403: authenticated but not allowed (also what Kinto answers for unreadable buckets)."""


class NotFound(KintoException):
    """404: the object does not exist (and its parent is readable)."""


class BucketNotFound(NotFound):
    """The bucket does not exist or cannot be read (Kinto answers 403 for both)."""


class CollectionNotFound(NotFound):
    """The collection does not exist."""


class PreconditionFailed(KintoException):
    """412: the object changed (or exists) on the server; ``existing`` is the server's copy.

    ``existing`` is the data dict Kinto returned in ``details.existing``, or ``None`` when
    the object does not exist on the server (an ``If-Match`` on a deleted object).
    """

    @property
    def existing(self) -> dict[str, Any] | None:
        if isinstance(self.details, dict):
            existing = self.details.get("existing")
            if isinstance(existing, dict):
                return existing
        return None


class ServerError(KintoException):
    """5xx: the server failed. Retried when ``retry`` allows; raised after the last try."""


# request/response are kinto-orm's objects (read like requests' ones): hence the ignores.
class NetworkError(KintoException, requests.exceptions.ConnectionError):  # type: ignore[misc]
    """No answer came from the server (refused or dropped connection, unknown host...),
    after the retries.

    kinto-http lets requests' own error through in this case, so this is also a
    ``requests.exceptions.ConnectionError``: ``except`` blocks written for either catch
    it. ``str(exc)`` is the transport's message; ``__cause__`` the original error.
    """


class NetworkTimeout(NetworkError, requests.exceptions.Timeout):  # type: ignore[misc]
    """The server did not answer in time (also a ``requests.exceptions.Timeout``)."""


class InvalidHeader(KintoException, requests.exceptions.InvalidHeader):  # type: ignore[misc]
    """A header value or a credential that would break the request on the wire (a line
    break, a control character): refused before anything is sent. Also a ``ValueError``
    and requests' ``InvalidHeader``, what kinto-http raises for the same value."""


class UnboundError(KintoException):
    """An I/O method was called on a model that is not bound to a client."""


class KintoBatchException(KintoException):
    """Some requests of a batch failed; the others were applied.

    ``exceptions`` holds one :class:`KintoException` per failed sub-request and
    ``results`` the raw answers of every chunk that was sent. ``str(exc)`` is one line
    per failure (kinto-http's text); :attr:`description` counts them first.
    """

    #: How many failures the summary shows; ``exceptions`` always holds them all.
    shown = 10

    def __init__(
        self, exceptions: list[KintoException], results: list[Any],
        labels: list[str | None] | None = None, what: str = "request(s) of the batch",
    ) -> None:
        lines = [f"{len(exceptions)} {what} failed:"]
        for index, exc in enumerate(exceptions[: self.shown]):
            label = labels[index] if labels is not None else None
            text = exc.description
            if len(text) > 300:
                text = text[:297] + "..."
            lines.append(f"  - {label}: {text}" if label is not None else f"  - {text}")
        if len(exceptions) > self.shown:
            lines.append(
                f"  ... and {len(exceptions) - self.shown} more (all of them in .exceptions)"
            )
        summary = "\n".join(lines)
        # A batch's text is kinto-http's: one line per failed request. Bulk helpers
        # (kinto-orm's own) say which items failed.
        message = "\n".join(str(exc) for exc in exceptions) if labels is None else summary
        super().__init__(message, description=summary)
        self.exceptions = exceptions
        self.results = results
        #: With ``BulkResult.raise_on_failure()``: the failed items (``BulkFailure``).
        self.failures: list[Any] = []


BatchError = KintoBatchException

__all__ = [
    "BadRequest",
    "BatchError",
    "BucketNotFound",
    "CollectionNotFound",
    "Forbidden",
    "InvalidHeader",
    "KintoBatchException",
    "KintoError",
    "KintoException",
    "NetworkError",
    "NetworkTimeout",
    "NotFound",
    "PreconditionFailed",
    "ServerError",
    "Unauthorized",
    "UnboundError",
]
