"""The three kinds of PATCH Kinto understands (same classes as kinto-http).

>>> todo.patch(MergePatch({"tags": None}))          # RFC 7396: null removes a field
>>> todo.patch(JSONPatch([{"op": "add", "path": "/data/done", "value": True}]))
>>> todo.patch(BasicPatch(permissions={"read": ["system.Everyone"]}))
"""

from __future__ import annotations

from typing import Any


class PatchType:
    """A PATCH body and the content type that tells Kinto how to apply it."""

    content_type: str = ""
    body: Any = None


class BasicPatch(PatchType):
    """Shallow merge (``application/json``): each given field or permission replaces the
    stored one; ``None`` sets the field to null."""

    content_type = "application/json"

    def __init__(
        self, data: dict[str, Any] | None = None, permissions: dict[str, Any] | None = None
    ) -> None:
        self.data = data
        self.permissions = permissions

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.data is not None:
            body["data"] = self.data
        if self.permissions is not None:
            as_dict = getattr(self.permissions, "as_dict", None)
            body["permissions"] = as_dict() if callable(as_dict) else self.permissions
        return body

    def __repr__(self) -> str:
        return f"{type(self).__name__}(data={self.data!r}, permissions={self.permissions!r})"


class MergePatch(BasicPatch):
    """JSON Merge Patch (RFC 7396, ``application/merge-patch+json``): recursive merge,
    ``None`` removes a field (or clears a permission)."""

    content_type = "application/merge-patch+json"


class JSONPatch(PatchType):
    """JSON Patch (RFC 6902, ``application/json-patch+json``): a list of operations on
    ``/data/<field>`` and ``/permissions/<perm>/<principal>`` paths."""

    content_type = "application/json-patch+json"

    def __init__(self, operations: list[dict[str, Any]]) -> None:
        if not isinstance(operations, list):
            raise TypeError("JSONPatch takes a list of operations, e.g. "
                            "[{'op': 'replace', 'path': '/data/title', 'value': 'x'}].")
        self.operations = operations

    @property
    def body(self) -> list[dict[str, Any]]:
        return self.operations

    def __repr__(self) -> str:
        return f"JSONPatch({self.operations!r})"


__all__ = ["BasicPatch", "JSONPatch", "MergePatch", "PatchType"]
