"""Per-instance state of the models, kept by hand for speed: the ``Binding`` (client and
parents), the state a page's objects share, and the lazily built ``permissions``."""

from __future__ import annotations

from collections import deque
from itertools import repeat
from typing import TYPE_CHECKING, Any

from .permissions import Permissions

if TYPE_CHECKING:
    from .._client_like import ClientLike


class Binding:
    """Where an object lives: the client it talks through and its parents' ids."""

    __slots__ = ("bucket", "client", "collection")

    def __init__(
        self, client: ClientLike | None, bucket: str | None = None, collection: str | None = None
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.collection = collection

    def __repr__(self) -> str:
        return f"Binding(bucket={self.bucket!r}, collection={self.collection!r})"


class SharedState(dict[str, Any]):
    """State shared by every object of a page read from the server (their binding):
    one dict set on each object instead of a Python call per object while Pydantic
    validates the page. An object writing its state gets its own copy first."""

    __slots__ = ()


def share_state(objects: list[Any], **state: Any) -> None:
    """Give every object of ``objects`` the same read-only ``state``."""
    shared = SharedState(state)
    # map() runs the loop in C: this is per-record work on every page read.
    deque(map(object.__setattr__, objects, repeat("__pydantic_private__"), repeat(shared)), 0)


class _LazyPermissions(property):
    """``obj.permissions``: the stored :class:`Permissions`, created empty on first use.

    A ``property`` so that Pydantic's ``__setattr__`` hands assignments to it. Read on a
    class it raises ``AttributeError``, as Pydantic's fields do: otherwise Pydantic would
    take it for the field's default in subclasses and forget that the field is left out
    of dumps and repr. It copies as itself and pickles by name."""

    def __init__(self) -> None:
        super().__init__(self._get, self._set)

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            raise AttributeError("permissions")
        return super().__get__(obj, objtype)

    @staticmethod
    def _get(obj: Any) -> Any:
        value = obj.__dict__.get("permissions")
        if value is None or value is _LAZY_PERMISSIONS:
            private = obj.__pydantic_private__
            loaded = private.get("_loaded_permissions") if private else None
            value = Permissions.model_validate(loaded) if loaded else Permissions()
            obj.__dict__["permissions"] = value
        return value

    def __copy__(self) -> _LazyPermissions:
        return self

    def __deepcopy__(self, memo: Any) -> _LazyPermissions:
        return self

    def __reduce__(self) -> str:
        return "_LAZY_PERMISSIONS"

    @staticmethod
    def _set(obj: Any, value: Any) -> None:
        if isinstance(value, dict):
            value = Permissions.model_validate(value)
        elif value is None:  # None stands for "as loaded" inside: this means none
            value = Permissions()
        obj.__dict__["permissions"] = value
        if obj.__pydantic_fields_set__ is not None:
            obj.__pydantic_fields_set__.add("permissions")


_LAZY_PERMISSIONS = _LazyPermissions()

#: Per-instance state and its defaults (read through the properties below).
_STATE: dict[str, Any] = {
    "_binding": None, "_changed": None, "_loaded_permissions": None, "_partial": False,
    "_unchecked": False,
}


def _state_property(name: str) -> property:
    default = _STATE[name]

    def get(obj: Any) -> Any:
        private = obj.__pydantic_private__
        return default if private is None else private.get(name, default)

    return property(get)


__all__ = ["Binding", "SharedState", "share_state"]
