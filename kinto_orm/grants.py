"""Grant and revoke permissions with JSON Patch, never by read-modify-write.

``obj.grant("read", "account:bob")`` sends ``PATCH`` with
``[{"op": "add", "path": "/permissions/read/account:bob"}]``: the server adds the
principal to its current list, so a concurrent change to the permissions is never lost.

What Kinto does (26.x, checked against a real server): ``add`` of a principal already
there is accepted; ``remove`` of an absent principal is a 400 that fails the whole patch;
the create permissions (``record:create``...) cannot be patched before the object has
that permission at all. Both cases are handled below by reading the object once and
sending a patch conditional on that version (``If-Match``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .errors import BadRequest, PreconditionFailed
from .patch_type import JSONPatch
from .protocol import Op

if TYPE_CHECKING:
    from ._client_like import ClientLike


class Permissioned(Protocol):
    """What a grant needs of an object (a model): where it lives, and taking the answer."""

    @property
    def path(self) -> str: ...

    def _after_write(self, client: ClientLike, body: dict[str, Any]) -> None: ...


#: Attribute names users may write, and Kinto's own names.
PERMISSION_NAMES = {
    "read": "read", "write": "write",
    "collection:create": "collection:create", "collection_create": "collection:create",
    "group:create": "group:create", "group_create": "group:create",
    "record:create": "record:create", "record_create": "record:create",
}
ATTEMPTS = 3


def permission_name(permission: str) -> str:
    """Kinto's name for ``permission`` (``record_create`` -> ``record:create``)."""
    try:
        return PERMISSION_NAMES[permission]
    except KeyError:
        raise ValueError(
            f"Unknown permission {permission!r}: use one of read, write, collection:create, "
            "group:create, record:create."
        ) from None


def _pointer(permission: str, principal: str) -> str:
    """The JSON pointer of one principal (RFC 6901: group URIs hold ``/``)."""
    escaped = principal.replace("~", "~0").replace("/", "~1")
    return f"/permissions/{permission}/{escaped}"


def _checked(principals: Sequence[str]) -> list[str]:
    if not principals:
        raise ValueError("Name at least one principal, e.g. grant('read', 'account:bob').")
    for principal in principals:
        if not isinstance(principal, str) or not principal:
            raise TypeError(f"A principal is a non-empty string, got {principal!r}.")
    return list(dict.fromkeys(principals))


def _patch_failed(exc: BadRequest) -> bool:
    return "JSON Patch operation failed" in str(exc)


def grant_op(
    client: ClientLike, obj: Permissioned, permission: str, principals: Sequence[str]
) -> Op[Any]:
    """Add ``principals`` to ``obj``'s ``permission``; ``obj`` then holds the answer."""
    return _change_op(client, obj, permission, principals, add=True)


def revoke_op(
    client: ClientLike, obj: Permissioned, permission: str, principals: Sequence[str]
) -> Op[Any]:
    """Remove ``principals`` from ``obj``'s ``permission`` (absent ones are ignored)."""
    return _change_op(client, obj, permission, principals, add=False)


def _change_op(
    client: ClientLike, obj: Permissioned, permission: str, principals: Sequence[str],
    *, add: bool,
) -> Op[Any]:
    """One JSON Patch adding (or removing) each principal; when Kinto refuses it (a
    permission list that does not exist yet, a principal already absent), the read then
    conditional patch of :func:`_retry_on_version`."""
    name, wanted = permission_name(permission), _checked(principals)
    path = obj.path
    ops = [
        {"op": "add", "path": _pointer(name, p), "value": p} if add
        else {"op": "remove", "path": _pointer(name, p)}
        for p in wanted
    ]
    try:
        body = yield from client._op_object_patch(path, JSONPatch(ops), False, None)
    except BadRequest as exc:
        if not _patch_failed(exc):
            raise
        body = yield from _retry_on_version(client, path, name, wanted, add=add, first=exc)
    obj._after_write(client, body)
    return obj


def _retry_on_version(
    client: ClientLike, path: str, name: str, principals: list[str], *, add: bool,
    first: BadRequest,
) -> Op[dict[str, Any]]:
    """Read the object, then patch exactly that version (``If-Match``): an add creates
    the missing permission list; a remove leaves out the principals already absent."""
    for _ in range(ATTEMPTS):
        current = yield from client._op_object_get(path)
        version = (current.get("data") or {}).get("last_modified")
        present = set((current.get("permissions") or {}).get(name) or [])
        if add and name not in (current.get("permissions") or {}):
            ops: list[dict[str, Any]] = [
                {"op": "add", "path": f"/permissions/{name}", "value": {p: p for p in principals}}
            ]
        elif add:
            ops = [{"op": "add", "path": _pointer(name, p), "value": p} for p in principals]
        else:
            ops = [{"op": "remove", "path": _pointer(name, p)} for p in principals if p in present]
            if not ops:
                return current  # none of them holds it: nothing to revoke
        try:
            return (yield from client._op_object_patch(path, JSONPatch(ops), True, version))
        except PreconditionFailed:
            continue  # changed between our read and our patch: read again
    raise first


__all__ = ["grant_op", "permission_name", "revoke_op"]
