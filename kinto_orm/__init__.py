"""kinto-orm: typed Pydantic models, lazy queries and a kinto-http compatible client
for the Kinto HTTP storage server.

>>> from kinto_orm import Client, Record
>>> class Todo(Record, bucket="blog", collection="todos"):
...     title: str
...     done: bool = False
>>> client = Client("http://localhost:8888/v1", auth=("alice", "s3cr3t"))
>>> Todo(title="write docs").bind(client).save()
"""

from ._version import __version__
from .auth import BearerTokenAuth, BrowserOAuth, TokenAuth
from .batch import Batch
from .bulk_runner import BulkFailure, BulkResult
from .capabilities import MissingCapability
from .client import AsyncClient, BaseClient, Client
from .endpoints import Endpoints
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
from .events import BackoffEvent, DeprecatedEvent, Hooks, RequestEvent, ResponseEvent, RetryEvent
from .history import HistoryUnavailable, Snapshot
from .lock import Lock, LockTimeout
from .models import (
    Attachment,
    Bucket,
    Collection,
    Group,
    HistoryEntry,
    PermissionEntry,
    Permissions,
    Record,
    ServerInfo,
    ServerSettings,
    UserInfo,
)
from .pages import InvalidItem, Page
from .patch_type import BasicPatch, JSONPatch, MergePatch, PatchType
from .query import Query
from .reconcile import ReconcileFailure, ReconcileReport
from .replicas import Conflict, LocalQuery, Replica, SyncReport
from .session import Session, create_session

__all__ = [
    "AsyncClient",
    "Attachment",
    "BackoffEvent",
    "BadRequest",
    "BaseClient",
    "BasicPatch",
    "Batch",
    "BatchError",
    "BearerTokenAuth",
    "BrowserOAuth",
    "Bucket",
    "BucketNotFound",
    "BulkFailure",
    "BulkResult",
    "Client",
    "Collection",
    "CollectionNotFound",
    "Conflict",
    "DeprecatedEvent",
    "Endpoints",
    "Forbidden",
    "Group",
    "HistoryEntry",
    "HistoryUnavailable",
    "Hooks",
    "InvalidItem",
    "JSONPatch",
    "KintoBatchException",
    "KintoError",
    "KintoException",
    "LocalQuery",
    "Lock",
    "LockTimeout",
    "MergePatch",
    "MissingCapability",
    "NetworkError",
    "NetworkTimeout",
    "NotFound",
    "Page",
    "PatchType",
    "PermissionEntry",
    "Permissions",
    "PreconditionFailed",
    "Query",
    "ReconcileFailure",
    "ReconcileReport",
    "Record",
    "Replica",
    "RequestEvent",
    "ResponseEvent",
    "RetryEvent",
    "ServerError",
    "ServerInfo",
    "ServerSettings",
    "Session",
    "Snapshot",
    "SyncReport",
    "TokenAuth",
    "Unauthorized",
    "UnboundError",
    "UserInfo",
    "__version__",
    "create_session",
]
