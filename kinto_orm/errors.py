"""Exceptions raised by kinto-orm.

Every error the server answers becomes a :class:`KintoException` subclass chosen by
status code, carrying Kinto's ``errno``, ``message`` and ``details`` plus the request and
response that produced it::

    try:
        todo.save()
    except PreconditionFailed as exc:
        print("someone else changed it:", exc.existing)
"""

from .protocol.errors import (
    BadRequest,
    BatchError,
    BucketNotFound,
    CollectionNotFound,
    Forbidden,
    InvalidHeader,
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
