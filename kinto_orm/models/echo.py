"""A write's answer that echoes what was sent, taken without validating it again.

Kinto answers a create or a replace with the data it stored: what the client sent plus
``last_modified`` (and more only when something on the server adds it: a collection's
schema timestamp, a plugin). When that data is plain JSON (``plain.py``) and the object's
values are as validating it makes them (``KintoObject._checked_data``: set through
validation and never changed in place since, of a model without validators, serializers
or computed fields, no field left at a default validation would change), validating
the answer into the object would only make the same values anew: instead it takes the
timestamp and gets fresh copies of its lists and dicts, so that, as after a validation,
no reference kept from before the write reaches the object's state.

Anything else goes through validation (``KintoObject._load``): another answer, data that
is not plain JSON, an object made without validation or whose mutable values were read
since it was loaded (they may have been changed in place), a model whose validation may
change what it is given, or a value that only ``copy.deepcopy`` could detach.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel

from .writes import immutable_annotation

#: Pydantic's own slots, set without ``object.__setattr__``'s lookup (as ``state.py`` does).
_extra_slot = BaseModel.__dict__["__pydantic_extra__"]
_fields_set_slot = BaseModel.__dict__["__pydantic_fields_set__"]

#: The JSON values that need no copy.
_PLAIN = frozenset({str, int, float, bool, type(None)})


class _NotJSON(Exception):
    """A value that is not made of JSON's own types: validation decides what it becomes."""


def _fresh(value: Any) -> Any:
    """A copy of ``value``, made of JSON's own types (``_NotJSON`` otherwise)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is list:
        return [item if type(item) in _PLAIN else _fresh(item) for item in value]
    if kind is dict:
        return {key: item if type(item) in _PLAIN else _fresh(item)
                for key, item in value.items()}
    raise _NotJSON


@functools.lru_cache(maxsize=1024)
def _layout(model: type[BaseModel]) -> tuple[
    frozenset[str], frozenset[str], tuple[tuple[str, str], ...], tuple[str, ...]
]:
    """The names in the data of ``model``'s data fields, their field names, ``((name in
    the data, field name), ...)``, and the fields whose type may hold a mutable value."""
    keys = tuple((info.serialization_alias or info.alias or name, name)
                 for name, info in model.model_fields.items() if name != "permissions")
    mutable = tuple(name for key, name in keys
                    if not immutable_annotation(model.model_fields[name].annotation))
    return frozenset(key for key, _ in keys), frozenset(name for _, name in keys), keys, mutable


def take_echo(obj: BaseModel, body: dict[str, Any], sent: dict[str, Any]) -> bool:
    """Take the answer ``body`` to the write of ``sent`` (data by Kinto's names) into
    ``obj`` when it echoes ``sent``; False, with ``obj`` untouched, when it does not, or
    when a value of ``obj`` is not made of JSON's types. Call it only for an object whose
    values were as validation makes them when sent (``KintoObject._checked_data``)."""
    data = body.get("data")
    if type(data) is not dict:
        return False
    stamp = data.get("last_modified")
    if type(stamp) is not int or {**sent, "last_modified": stamp} != data:
        return False
    private = obj.__pydantic_private__
    if private and private.get("_originals"):
        return False  # read (maybe changed) while the write was on its way
    sent_keys, all_names, keys, mutable = _layout(type(obj))
    values, extra = obj.__dict__, obj.__pydantic_extra__
    try:  # (a value replaced by its copy before a refusal is the same value)
        for name in mutable:
            values[name] = _fresh(values[name])
        if extra is not None:  # a dict of its own, even empty
            extra = {key: _fresh(value) for key, value in extra.items()}
    except (_NotJSON, KeyError):
        return False
    values["last_modified"] = stamp
    values["permissions"] = None  # as loaded: the answer's (see state._LazyPermissions)
    _extra_slot.__set__(obj, extra)
    # The fields set, as validating ``data`` makes it: the fields and extras it holds.
    if data.keys() >= sent_keys:
        names = set(all_names)
    else:
        names = {name for key, name in keys if key in data}
    if extra:
        names.update(extra)
    _fields_set_slot.__set__(obj, names)
    return True


__all__ = ["take_echo"]
