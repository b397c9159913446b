"""Which objects' data is plain JSON: only ``str``, ``int``, ``float``, ``bool``, ``None``,
lists, tuples and dicts with ``str`` keys (and values written as such: ``str``/``int``
enums, dates, UUIDs). pydantic-core encodes those as ``json.dumps`` does, four times
faster (``protocol.encoding.dumps_plain``); the rest (Decimals, datetimes, values only
``json_default`` knows) keeps the standard encoder.

A model's fields are judged once from their core schema, which also shows what changes
how a value is written (a serializer of a field or of the model, computed fields);
extra fields, which may hold anything, are looked at on each write.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel

#: Leaves pydantic-core and ``json.dumps`` + ``json_default`` write alike.
_LEAVES = frozenset({"str", "int", "float", "bool", "none", "uuid", "date"})
#: Schemas whose values are written as their inner schema's.
_WRAPPERS = frozenset({"default", "nullable", "function-after", "function-before",
                       "function-wrap"})
_JSON_TYPES = frozenset({str, int, float, bool, type(None)})


@functools.lru_cache(maxsize=1024)
def plain_model(model: type[BaseModel]) -> bool:
    """Whether every data field of ``model`` holds plain JSON (see the module's text)."""
    schema: Any = model.__pydantic_core_schema__
    definitions: dict[str, Any] = {}
    if schema.get("type") == "definitions":
        definitions = {item["ref"]: item for item in schema["definitions"] if "ref" in item}
        schema = schema["schema"]
    return _plain(schema, definitions, set(), top=True)


def _plain(schema: Any, definitions: dict[str, Any], seen: set[str], top: bool = False) -> bool:
    if not isinstance(schema, dict) or "serialization" in schema:
        return False  # a serializer of its own writes what it wants
    kind = schema.get("type")
    if kind == "definition-ref":
        ref = str(schema.get("schema_ref"))
        if ref in seen:
            return True  # judged where it was first met
        seen.add(ref)
        return _plain(definitions.get(ref), definitions, seen)
    if kind in _LEAVES:
        return True
    if kind in _WRAPPERS:
        return _plain(schema.get("schema"), definitions, seen)
    if kind == "literal":
        return all(type(value) in _JSON_TYPES for value in schema.get("expected", ()))
    if kind == "enum":
        return schema.get("sub_type") in ("str", "int")
    if kind in ("list", "set", "frozenset"):
        return _plain(schema.get("items_schema", {"type": "any"}), definitions, seen)
    if kind == "tuple":
        return all(_plain(item, definitions, seen) for item in schema.get("items_schema", ()))
    if kind == "dict":
        keys = schema.get("keys_schema")
        return (keys is not None and keys.get("type") == "str" and "serialization" not in keys
                and _plain(schema.get("values_schema", {"type": "any"}), definitions, seen))
    if kind == "union":
        return all(_plain(choice[0] if isinstance(choice, tuple) else choice, definitions, seen)
                   for choice in schema.get("choices", ()))
    if kind == "model":
        extra = (schema.get("config") or {}).get("extra_fields_behavior")
        if extra == "allow" and not top:
            return False  # a nested model's extras are not looked at on writes
        return _plain_fields(schema.get("schema"), definitions, seen, top)
    return False  # any, decimal, datetime, bytes, dataclasses, typed dicts...


def _plain_fields(schema: Any, definitions: dict[str, Any], seen: set[str], top: bool) -> bool:
    if not isinstance(schema, dict) or schema.get("type") != "model-fields":
        return False
    if schema.get("computed_fields") or "serialization" in schema:
        return False
    if schema.get("extras_schema") is not None:
        return False  # typed extras: whatever their type is
    for name, field in schema.get("fields", {}).items():
        if field.get("serialization_exclude") or (top and name == "permissions"):
            continue
        if not _plain(field.get("schema"), definitions, seen):
            return False
    return True


def plain_values(value: Any) -> bool:
    """Whether ``value`` is made of JSON's own types only (dict keys ``str``)."""
    kind = type(value)
    if kind in _JSON_TYPES:
        return True
    if kind is list or kind is tuple:
        return all(type(item) in _JSON_TYPES or plain_values(item) for item in value)
    if kind is dict:
        return all(type(key) is str and (type(item) in _JSON_TYPES or plain_values(item))
                   for key, item in value.items())
    return False


def plain_data(obj: BaseModel) -> bool:
    """Whether the data ``obj`` sends is plain JSON: its model's fields, and its extras."""
    if not plain_model(type(obj)):
        return False
    extra = obj.__pydantic_extra__
    return not extra or plain_values(extra)


__all__ = ["plain_data", "plain_model", "plain_values"]
