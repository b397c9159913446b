"""What changed in an object since it was loaded, as the smallest patch that sends it:
a merge patch of the changed fields, or a JSON Patch when a field was removed."""

from __future__ import annotations

from typing import Any

from ..patch_type import BasicPatch, JSONPatch, PatchType


def permission_changes(
    before: dict[str, list[str]], now: dict[str, list[str]]
) -> dict[str, list[str]]:
    """The permissions whose principals differ, with their new lists."""
    return {
        key: now.get(key, [])
        for key in set(before) | set(now)
        if before.get(key, []) != now.get(key, [])
    }


def dirty_patch(
    data: dict[str, Any], perms: dict[str, list[str]], current: dict[str, Any]
) -> PatchType | None:
    """A patch of the changed ``data`` and ``perms`` (``current``: the object's data now,
    to tell removed fields), or None when nothing changed."""
    removed = [key for key in data if key not in current]
    if removed:
        ops: list[dict[str, Any]] = [
            {"op": "remove", "path": f"/data/{_pointer(k)}"}
            if k in removed
            else {"op": "add", "path": f"/data/{_pointer(k)}", "value": v}
            for k, v in data.items()
        ]
        for perm, principals in perms.items():
            ops.append({"op": "replace", "path": f"/permissions/{perm}", "value": principals})
        return JSONPatch(ops)
    if not data and not perms:
        return None
    return BasicPatch(data=data or None, permissions=perms or None)


def _pointer(key: str) -> str:
    """Escape a key for a JSON pointer (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


__all__ = ["dirty_patch", "permission_changes"]
