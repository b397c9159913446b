"""A write's answer that echoes what was sent, taken without validating it again.

Kinto answers a create or a replace with the data it stored: what the client sent plus
``last_modified`` (and more only when something on the server adds it: a collection's
schema timestamp, a plugin). Validating such an answer makes what validating the data
sent makes, and the write check already did that for the fields that can change in place
(lists, dicts, nested models: ``writes.write_validator``); the other fields hold values
validated when they were set, which validation gives back as they are, when the data is
plain JSON (``plain.py``) and the model's validation is nothing more than its fields'
types (``writes.odd_defaults``: no validator, serializer, computed field, excluded field,
alias, or field still at a default validation would change). So such an answer is taken
without validating it again: the timestamp, the checked values (new objects: no
reference kept from before the write reaches the object's state), the answer's extras.

Anything else goes through validation (``KintoObject._load``): another answer, data that
is not plain JSON, an object made without validation, a model whose validation may
change what it is given.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel

from .state import _extra_slot, _fields_set_slot


@functools.lru_cache(maxsize=1024)
def _fields(model: type[BaseModel]) -> frozenset[str]:
    """``model``'s data fields (their names are their names in the data: models with
    aliases are not echoed, see ``writes.odd_defaults``)."""
    return frozenset(name for name in model.model_fields if name != "permissions")


def take_echo(
    obj: BaseModel, body: dict[str, Any], sent: dict[str, Any], checked: dict[str, Any]
) -> bool:
    """Take the answer ``body`` to the write of ``sent`` (data by Kinto's names) into
    ``obj`` when it echoes ``sent``; False, with ``obj`` untouched, when it does not.
    ``checked``: what validating ``sent`` made of the fields the write check validates
    (those that can change in place): they become the object's values, as validating the
    answer would make them. Call it only when ``KintoObject._checked_data`` gave those."""
    data = body.get("data")
    if type(data) is not dict:
        return False
    stamp = data.get("last_modified")
    if type(stamp) is not int or {**sent, "last_modified": stamp} != data:
        return False
    fields = _fields(type(obj))
    # The extras, as validating the answer makes them: its keys that are no field, with
    # the answer's own values (parsed from its bytes: nobody else holds them).
    extra: dict[str, Any] | None = None
    if len(data) > len(fields) or not data.keys() <= fields:
        extra = {key: value for key, value in data.items() if key not in fields}
        if extra and obj.__pydantic_extra__ is None:
            return False  # a model without extras: validation decides what they become
    elif obj.__pydantic_extra__ is not None:
        extra = {}
    values = obj.__dict__
    values.update(checked)
    values["last_modified"] = stamp
    values["permissions"] = None  # as loaded: the answer's (see state._LazyPermissions)
    _extra_slot.__set__(obj, extra)
    # The fields set, as validating ``data`` makes it: the fields and extras it holds.
    names = set(fields) if data.keys() >= fields else set(fields & data.keys())
    if extra:
        names.update(extra)
    _fields_set_slot.__set__(obj, names)
    return True


__all__ = ["take_echo"]
