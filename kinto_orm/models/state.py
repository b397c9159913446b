"""Per-instance state of the models, kept by hand for speed: the ``Binding`` (client and
parents), the state and fields set a page's objects share, and the lazily built
``permissions``."""

from __future__ import annotations

from collections import deque
from itertools import compress, repeat
from operator import eq
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

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


class SharedFieldsSet(set[str]):
    """The fields set (Pydantic's ``model_fields_set``) of the objects of a page that came
    with the same keys. Pydantic makes one set per object, and for a typical record that
    set is half the object's memory (728 of 1,369 bytes for a record of seven fields).
    Never changed in place: an object gets its own copy before its fields set changes
    (see :func:`own_fields_set`). Copies and pickles keep the type, so they stay safe."""

    __slots__ = ()


#: Pydantic's own slots: their descriptors read and set them without the attribute lookup
#: of ``object.__setattr__`` (measured: 70 -> 40 ns per object).
_private_slot = BaseModel.__dict__["__pydantic_private__"]
_fields_set_slot = BaseModel.__dict__["__pydantic_fields_set__"]
_extra_slot = BaseModel.__dict__["__pydantic_extra__"]


def share_state(objects: list[Any], **state: Any) -> None:
    """Give every object of ``objects`` the same read-only ``state``, and the same fields
    set to those whose fields set equals the first object's (usually all of them)."""
    shared = SharedState(state)
    # map() runs the loops in C: this is per-record work on every page read.
    deque(map(_private_slot.__set__, objects, repeat(shared)), 0)
    if objects:
        fields_of = _fields_set_slot.__get__
        fields = SharedFieldsSet(fields_of(objects[0]))
        same = compress(objects, map(eq, map(fields_of, objects), repeat(fields)))
        deque(map(_fields_set_slot.__set__, same, repeat(fields)), 0)


def own_fields_set(obj: Any) -> set[str]:
    """``obj``'s fields set, made its own first when it is a page's shared one: call this
    before anything that changes it (Pydantic's assignment adds the assigned name)."""
    fields: set[str] = obj.__pydantic_fields_set__
    if type(fields) is SharedFieldsSet:
        fields = set(fields)
        object.__setattr__(obj, "__pydantic_fields_set__", fields)
    return fields


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
            own_fields_set(obj).add("permissions")


_LAZY_PERMISSIONS = _LazyPermissions()

#: Per-instance state and its defaults (read through the properties below).
_STATE: dict[str, Any] = {
    "_binding": None, "_changed": None, "_loaded_permissions": None, "_originals": None,
    "_partial": False, "_unchecked": False,
}


def _state_property(name: str) -> property:
    default = _STATE[name]

    def get(obj: Any) -> Any:
        private = obj.__pydantic_private__
        return default if private is None else private.get(name, default)

    return property(get)


__all__ = ["Binding", "SharedFieldsSet", "SharedState", "own_fields_set", "share_state"]
