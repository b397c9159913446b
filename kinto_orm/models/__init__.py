"""Pydantic models of Kinto objects."""

from .base import KintoObject
from .extra import (
    Attachment,
    HistoryEntry,
    PermissionEntry,
    ServerInfo,
    ServerSettings,
    UserInfo,
)
from .permissions import Permissions
from .resources import Bucket, Collection, Group, Record
from .state import Binding

__all__ = [
    "Attachment",
    "Binding",
    "Bucket",
    "Collection",
    "Group",
    "HistoryEntry",
    "KintoObject",
    "PermissionEntry",
    "Permissions",
    "Record",
    "ServerInfo",
    "ServerSettings",
    "UserInfo",
]
