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
    NotFound,
    PreconditionFailed,
    ServerError,
    Unauthorized,
    UnboundError,
)
from .models import (
    Attachment,
    Bucket,
    Collection,
    Group,
    HistoryEntry,
    Permissions,
    Record,
    ServerInfo,
)
from .pages import Page
from .query import Query
from .reconcile import ReconcileReport
from .replicas import Conflict, Replica, SyncReport
from .session import Session, create_session

__all__ = [
    "AsyncClient",
    "Attachment",
    "BadRequest",
    "BaseClient",
    "BatchError",
    "BearerTokenAuth",
    "BrowserOAuth",
    "Bucket",
    "BucketNotFound",
    "Client",
    "Collection",
    "CollectionNotFound",
    "Conflict",
    "Endpoints",
    "Forbidden",
    "Group",
    "HistoryEntry",
    "KintoBatchException",
    "KintoError",
    "KintoException",
    "MissingCapability",
    "NotFound",
    "Page",
    "Permissions",
    "PreconditionFailed",
    "Query",
    "ReconcileReport",
    "Record",
    "Replica",
    "ServerError",
    "ServerInfo",
    "Session",
    "SyncReport",
    "TokenAuth",
    "Unauthorized",
    "UnboundError",
    "__version__",
    "create_session",
]
