"""How changes made in place are found: ``note.tags.append("b")``, ``note.meta["x"] = 1``,
``note.pub.city = "B"`` assign nothing, so ``__setattr__`` never sees them.

A value that can change in place (a list, dict, set, model...) is copied the first time
it is read from an object, through the object: its field's attribute (a descriptor this
module puts on the model class for each field that can hold such a value), an extra
field's attribute or item, or ``model_extra``. ``changes()`` then compares each copied
value with the value now. Objects loaded from the server pay nothing until such a field
is read (a page's objects are built by pydantic-core, which writes ``__dict__`` directly);
fields that only hold immutable values (str, numbers, dates, enums) have no descriptor.

>>> book.tags.append("b")       # book.tags read: ["a"] copied first
>>> book.changes()              # {"tags": ["a", "b"]}
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from .writes import IMMUTABLE_VALUES, immutable_annotation

#: What "no value" means for an extra field that is not there.
MISSING: Any = object()


#: The usual immutable values, told by their exact type (cheaper than ``isinstance``).
_PLAIN = frozenset({str, int, float, bool, type(None)})


def remember(obj: Any, name: str, value: Any) -> None:
    """Keep a copy of ``value`` as the original of ``obj``'s field or extra ``name``,
    unless it is immutable or already known (copied before, or assigned since)."""
    if type(value) in _PLAIN:
        return
    private = obj.__pydantic_private__
    if private:
        originals = private.get("_originals")
        if originals is not None and name in originals:
            return
        changed = private.get("_changed")
        if changed is not None and name in changed:
            return  # assigned: sent as it is anyway
    else:
        originals = None
    if isinstance(value, IMMUTABLE_VALUES):
        return
    state = obj._state()
    # A new dict, never one changed in place: copies of the object may share the old one.
    state["_originals"] = {**(originals or {}), name: snapshot(value)}


def snapshot(value: Any) -> Any:
    """A copy of ``value`` that later changes to it cannot reach: lists, dicts and sets of
    plain values copied directly (``copy.deepcopy`` costs about 5 us for a list of two
    strings), anything else deeply."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is list:
        return [item if type(item) in _PLAIN else snapshot(item) for item in value]
    if kind is dict:
        return {key: item if type(item) in _PLAIN else snapshot(item)
                for key, item in value.items()}
    if kind is set and all(type(item) in _PLAIN for item in value):
        return set(value)
    return copy.deepcopy(value)


def changed_in_place(obj: Any) -> list[str]:
    """The fields and extra fields of ``obj`` whose value differs from the copy
    :func:`remember` took."""
    private = obj.__pydantic_private__
    originals = private.get("_originals") if private else None
    if not originals:
        return []
    values = obj.__dict__
    extra = obj.__pydantic_extra__ or {}
    out = []
    for name, original in originals.items():
        current = values[name] if name in values else extra.get(name, MISSING)
        if current != original:
            out.append(name)
    return out


class TrackedField:
    """The attribute of a field that can hold a mutable value: reads it from the object's
    ``__dict__`` as Python would, remembering a copy first (see :func:`remember`).

    Read on the class it raises ``AttributeError``, as a Pydantic field does, so that
    Pydantic never takes it for a default."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            raise AttributeError(self.name)
        try:
            value = obj.__dict__[self.name]
        except KeyError:
            raise AttributeError(
                f"{type(obj).__name__!r} object has no attribute {self.name!r}"
            ) from None
        if type(value) not in _PLAIN:
            private = obj.__pydantic_private__  # remember()'s first test, inlined
            originals = private.get("_originals") if private else None
            if originals is None or self.name not in originals:
                remember(obj, self.name, value)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = value

    def __copy__(self) -> TrackedField:
        return self

    def __deepcopy__(self, memo: Any) -> TrackedField:
        return self


def track_fields(model: type[Any]) -> None:
    """Put a :class:`TrackedField` on ``model`` for each of its data fields that can hold
    a value changed in place."""
    for name, info in model.model_fields.items():
        if name == "permissions" or immutable_annotation(info.annotation):
            continue
        if not isinstance(model.__dict__.get(name), TrackedField):
            setattr(model, name, TrackedField(name))





def unsent(obj: Any, sent: dict[str, Any] | None) -> dict[str, Any]:
    """The local changes of ``obj`` a write did not send (``sent``: the data it sent, by
    Kinto's names; None when it sent no data), as ``{key: (name, python value)}``: what
    the server's answer must not overwrite. Empty, and cheap, for an object with no
    change."""
    private = obj.__pydantic_private__
    if not private or not (private.get("_changed") or private.get("_originals")):
        return {}
    values, extra = obj.__dict__, obj.__pydantic_extra__ or {}
    pending: dict[str, Any] = {}
    for key, value in obj.changes().items():
        if sent is not None and key in sent and sent[key] == value:
            continue
        name = obj._field_name(key)
        pending[key] = (name, values[name] if name is not None else extra.get(key, MISSING))
    return pending


def unsent_permissions(obj: Any, sent: dict[str, list[str]] | None) -> dict[str, list[str]]:
    """The permissions changed locally that a write did not send as they are now (``sent``:
    those it sent, None when it sent none): what the server's answer must not overwrite."""
    value = obj.__dict__.get("permissions")
    if value is None or not isinstance(value, BaseModel):  # never read: as loaded
        return {}
    return {perm: principals for perm, principals in obj._permission_changes().items()
            if sent is None or sent.get(perm) != principals}


def reapply(obj: Any, pending: dict[str, Any]) -> None:
    """Put back the local changes :func:`unsent` found, after the server's answer was
    loaded, still to be sent (the very objects: references the user holds stay live)."""
    for key, (name, value) in pending.items():
        if name is not None:
            obj.__dict__[name] = value
            obj.model_fields_set.add(name)
        else:
            extra = obj.__pydantic_extra__
            if extra is None:
                extra = {}
                object.__setattr__(obj, "__pydantic_extra__", extra)
            if value is MISSING:
                extra.pop(key, None)
            else:
                extra[key] = value
        obj._mark_changed(name or key)

__all__ = ["MISSING", "TrackedField", "changed_in_place", "reapply", "remember", "snapshot",
           "track_fields", "unsent", "unsent_permissions"]
