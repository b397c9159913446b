"""The exceptions at kinto-http's module path (``from kinto_orm.exceptions import
KintoException``); they are defined in :mod:`kinto_orm.errors`."""

from __future__ import annotations

from .errors import (
    BadRequest,
    BatchError,
    BucketNotFound,
    CollectionNotFound,
    Forbidden,
    KintoBatchException,
    KintoError,
    KintoException,
    NetworkError,
    NetworkTimeout,
    NotFound,
    PreconditionFailed,
    ServerError,
    Unauthorized,
    UnboundError,
)


class BackoffException(KintoException):
    """kinto-http's error for a request made while the server asked to back off.

    kinto-orm never raises it (it waits the ``Backoff`` delay instead); it is here so
    that ``except BackoffException`` blocks written for kinto-http still import.
    """

    def __init__(
        self, message: str | None, backoff: int, exception: BaseException | None = None
    ) -> None:
        super().__init__(message, exception)
        self.backoff = backoff


__all__ = [
    "BackoffException",
    "BadRequest",
    "BatchError",
    "BucketNotFound",
    "CollectionNotFound",
    "Forbidden",
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
