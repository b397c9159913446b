"""Read-only models of what Kinto plugins and the root endpoint return."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from .base import KintoObject


class Attachment(BaseModel):
    """A file attached to a record by kinto-attachment (``record.attachment``)."""

    model_config = ConfigDict(extra="allow")

    filename: str
    hash: str
    location: str
    mimetype: str | None = None
    size: int


class HistoryEntry(KintoObject):
    """One entry of a bucket's history (history plugin): who did what, when."""

    kinto_kind: ClassVar[str] = "history"
    #: The server capability its endpoint needs (see MissingCapability).
    kinto_capability: ClassVar[str] = "history"

    action: str | None = None
    uri: str | None = None
    user_id: str | None = None
    resource_name: str | None = None
    bucket_id: str | None = None
    collection_id: str | None = None
    group_id: str | None = None
    record_id: str | None = None
    date: str | None = None
    target: dict[str, Any] = Field(default_factory=dict)

    def _locate(self) -> dict[str, str | None]:
        raise ValueError("History entries are read-only: they have no path of their own.")


with warnings.catch_warnings():  # its `permissions` is a list, on purpose
    warnings.filterwarnings("ignore", message='Field name "permissions"')

    class _PermissionEntryBase(KintoObject):
        permissions: list[str] = Field(default_factory=list)  # type: ignore[assignment]


class PermissionEntry(_PermissionEntryBase):
    """One object you have permissions on (``GET /permissions``)."""

    kinto_kind: ClassVar[str] = "permission"
    #: The server capability its endpoint needs (see MissingCapability).
    kinto_capability: ClassVar[str] = "permissions_endpoint"

    uri: str = ""
    resource_name: str = ""
    bucket_id: str | None = None
    collection_id: str | None = None
    group_id: str | None = None
    record_id: str | None = None

    def _locate(self) -> dict[str, str | None]:
        raise ValueError("Permission entries are read-only: they have no path of their own.")


class ServerSettings(BaseModel):
    """The public settings of a Kinto server."""

    model_config = ConfigDict(extra="allow")

    batch_max_requests: int = 25
    readonly: bool = False
    explicit_permissions: bool = True


class UserInfo(BaseModel):
    """Who the server thinks you are."""

    model_config = ConfigDict(extra="allow")

    id: str
    principals: list[str] = Field(default_factory=list)
    bucket: str | None = None


class ServerInfo(BaseModel):
    """``GET /v1/``: the server, its settings, capabilities and the current user."""

    model_config = ConfigDict(extra="allow")

    project_name: str = "kinto"
    project_version: str = ""
    http_api_version: str = ""
    project_docs: str | None = None
    url: str = ""
    settings: ServerSettings = Field(default_factory=ServerSettings)
    capabilities: dict[str, dict[str, Any]] = Field(default_factory=dict)
    user: UserInfo | None = None

    def has(self, capability: str) -> bool:
        """Whether the server has plugin/capability ``capability`` (e.g. ``"history"``)."""
        return capability in self.capabilities
