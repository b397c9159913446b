"""What a write checks again before an object is sent: assignments are validated
(``validate_assignment``), so an object's values only need checking where they can change
behind the validator's back: in place (``todo.tags.append(3)``, a nested model's field)
or in an object made without validation (``model_construct``, ``model_copy(update=...)``),
which is checked in full.

>>> write_validator(Todo)   # a validator of Todo's list, dict, set and model fields
"""

from __future__ import annotations

import datetime
import decimal
import enum
import functools
import types
import typing
import uuid
from typing import Any, Union

from pydantic import BaseModel, ValidationError
from pydantic_core import SchemaValidator, core_schema

from ..protocol import new_record_id

_IMMUTABLE = (str, int, float, bool, bytes, decimal.Decimal, uuid.UUID, datetime.date,
              datetime.time, datetime.timedelta, enum.Enum)
#: Values that cannot change in place (``isinstance`` check of one value).
IMMUTABLE_VALUES = _IMMUTABLE

#: Nested schemas whose validators see their own fields, not the outer model's.
_OWN_SCOPE = frozenset({"model", "dataclass", "typed-dict"})


def write_validator(model: type[BaseModel]) -> SchemaValidator | None:
    """What validates ``model.incoming(obj.to_data())`` of an ``obj`` whose assignments were
    all validated: None when its fields can only hold immutable values (nothing can have
    changed), a validator of just the fields that may hold what was never validated (the
    values that may change in place, and defaults: Pydantic does not validate them), or
    the model's own validator when those fields cannot be checked apart (a model
    validator, a field validator reading the other fields, typed extra fields...)."""
    return _write_validator(model, model.__pydantic_validator__)


@functools.lru_cache(maxsize=1024)
def _write_validator(model: type[BaseModel], whole: SchemaValidator) -> SchemaValidator | None:
    # Keyed on the model's validator too: model_rebuild() makes a new one.
    if not model.model_config.get("validate_assignment"):
        return whole  # assignments are not checked: any value may be invalid
    for klass in model.__mro__:
        if "__pydantic_extra__" in getattr(klass, "__annotations__", {}):
            return whole  # typed extra fields: their values may change in place
    parts = _field_schemas(model)
    if parts is None:
        return whole
    names = [name for name, info in model.model_fields.items()
             if name != "permissions"
             and (not _immutable(info.annotation) or not _default_valid(model, name, parts))]
    return _fields_validator(parts, names) if names else None


def _default_valid(model: type[BaseModel], name: str, parts: _Parts) -> bool:
    """Whether the field's value is valid when it is its default: no default, a default
    Pydantic validates, or a fixed one that validates. A ``default_factory`` may make
    anything: such a field is checked on each write."""
    info = model.model_fields[name]
    if info.is_required() or info.validate_default:
        return True
    if info.default_factory is new_record_id:
        default: Any = new_record_id()  # the ids kinto-orm makes: all of the same form
    elif info.default_factory is not None:
        return False
    else:
        default = info.default
    key = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
    try:
        _fields_validator(parts, [name]).validate_python({key or name: default})
    except ValidationError:
        return False
    return True


def odd_defaults(model: type[BaseModel]) -> frozenset[str] | None:
    """For a write's answer taken without validation (``echo.py``): None when validating
    ``model``'s data may make other values than those sent (a validator, a serializer, a
    computed field, a model validator...); else the fields whose default is not what
    validation makes of it (``price: float = 0``: validation makes ``0.0``): an object
    still holding such a default needs its answer validated."""
    return _odd_defaults(model, model.__pydantic_validator__)


@functools.lru_cache(maxsize=1024)
def _odd_defaults(model: type[BaseModel], whole: SchemaValidator) -> frozenset[str] | None:
    parts = _field_schemas(model)
    if parts is None or model.model_computed_fields or _serialized(model):
        return None
    if _overrides(model, ("model_dump", "to_data", "incoming", "_load", "model_validate")):
        return None  # what is sent, or how an answer is read, is the model's own
    for name, info in model.model_fields.items():
        if name == "permissions":
            continue
        if info.exclude or getattr(info, "exclude_if", None) is not None:
            return None  # kept by the object, never sent: validation resets it
        if info.alias or info.validation_alias or info.serialization_alias:
            return None  # sent or read under other names: an extra may stand for it
    stamp = model.model_fields.get("last_modified")
    if stamp is None or set(typing.get_args(stamp.annotation)) != {int, type(None)}:
        return None  # the answer's int timestamp is taken as it is
    fields = parts[0]
    if any(_transforms(field) for field in (*fields.values(), *parts[1])):
        return None
    odd = set()
    for name, info in model.model_fields.items():
        if name == "permissions" or info.is_required() or info.validate_default:
            continue
        if info.default_factory is not None:
            if getattr(info, "default_factory_takes_data", False):
                odd.add(name)
                continue
            default: Any = info.default_factory()  # type: ignore[call-arg]
        else:
            default = info.default
        key = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
        try:
            made = _fields_validator(parts, [name]).validate_python({key or name: default})
        except ValidationError:
            odd.add(name)
            continue
        if not _same(made.get(name, made.get(key or name)), default):
            odd.add(name)
    return frozenset(odd)


def _serialized(model: type[BaseModel]) -> bool:
    """Whether ``model`` has a serializer of its own (``@model_serializer``)."""
    return "serialization" in _model_schema(model)[0]


def _overrides(model: type[BaseModel], names: tuple[str, ...]) -> bool:
    """Whether a class of ``model``'s own (not kinto-orm's, not Pydantic's) defines one of
    ``names``."""
    for klass in model.__mro__:
        if klass.__module__.startswith(("kinto_orm.", "pydantic.")):
            return False
        if any(name in klass.__dict__ for name in names):
            return True
    return False


def _transforms(schema: Any) -> bool:
    """Whether a schema holds a validator or serializer function (they may return other
    values than they get, or other than validation would make of them again)."""
    if isinstance(schema, dict):
        kind = schema.get("type")
        if (isinstance(kind, str) and kind.startswith("function-")) or "serialization" in schema:
            return True
        return any(_transforms(value) for key, value in schema.items() if key != "metadata")
    if isinstance(schema, (list, tuple)):
        return any(_transforms(item) for item in schema)
    return False


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same types, all the way down."""
    if type(a) is not type(b):
        return False
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if type(a) is dict:
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    return bool(a == b)


def incomplete(obj: BaseModel) -> bool:
    """Whether a field of ``obj`` has no value: it was made without validation
    (``model_construct``), even when its state no longer says so (a page's tombstone or
    ``fields()`` object)."""
    return len(obj.__dict__) != _field_count(type(obj))


@functools.lru_cache(maxsize=1024)
def _field_count(model: type[BaseModel]) -> int:
    return len(model.model_fields)


def assignments_suffice(model: type[BaseModel]) -> bool:
    """Whether validated assignments alone keep an instance of ``model`` valid: every data
    field can only hold immutable values (str, numbers, dates, enums, tuples of them...)."""
    return write_validator(model) is None


def immutable_annotation(annotation: Any) -> bool:
    """Whether a field of this type can only hold values that cannot change in place."""
    return _immutable(annotation)


def _immutable(annotation: Any) -> bool:
    if annotation is None or annotation is type(None):
        return True
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _immutable(args[0])
    if origin is typing.Literal:
        return True
    if origin is Union or origin is types.UnionType:
        return all(_immutable(arg) for arg in args)
    if origin in (tuple, frozenset):
        return all(arg is Ellipsis or _immutable(arg) for arg in args)
    return isinstance(annotation, type) and issubclass(annotation, _IMMUTABLE)


#: A model's field schemas, the definitions they refer to, and its config.
_Parts = tuple[dict[str, Any], list[Any], dict[str, Any]]


def _model_schema(model: type[BaseModel]) -> tuple[Any, list[Any], dict[str, Any]]:
    """``model``'s own core schema (out of its definitions), the definitions, and those
    by their ``ref``."""
    schema: Any = model.__pydantic_core_schema__
    definitions: list[Any] = []
    if schema.get("type") == "definitions":
        definitions = schema["definitions"]
        schema = schema["schema"]
    by_ref = {item["ref"]: item for item in definitions if "ref" in item}
    if schema.get("type") == "definition-ref":
        schema = by_ref.get(schema["schema_ref"], {})
    return schema, definitions, by_ref


def _field_schemas(model: type[BaseModel]) -> _Parts | None:
    """The schemas of ``model``'s fields, if its validation is nothing more than its
    fields one by one: None with a model validator (it wraps them), a custom
    ``__init__`` or ``model_post_init``, or a field validator given ``info`` (assigning
    ``start`` does not run the validator of ``end`` that reads it)."""
    schema, definitions, by_ref = _model_schema(model)
    if (
        schema.get("type") != "model" or schema.get("cls") is not model
        or schema.get("custom_init") or schema.get("post_init")
        or schema["schema"].get("type") != "model-fields"
    ):
        return None
    fields = schema["schema"]["fields"]
    if any(_reads_other_fields(field["schema"], by_ref, set()) for field in fields.values()):
        return None
    config = {key: value for key, value in (schema.get("config") or {}).items()
              if key != "extra_fields_behavior"}
    return fields, definitions, config


def _fields_validator(parts: _Parts, names: list[str]) -> SchemaValidator:
    """A validator of the fields ``names`` alone: a typed dict of the model's own field
    schemas (their constraints, ``Annotated`` and field validators), under its config."""
    fields, definitions, config = parts
    checked = core_schema.typed_dict_schema(
        {
            # Not required: a value left out of the sent data is not sent, so not checked.
            name: core_schema.typed_dict_field(
                fields[name]["schema"], required=False,
                validation_alias=fields[name].get("validation_alias"),
            )
            for name in names
        },
        extra_behavior="ignore",
        config=config,  # type: ignore[arg-type]
    )
    if definitions:
        checked = core_schema.definitions_schema(checked, definitions)  # type: ignore[assignment]
    return SchemaValidator(checked, config)  # type: ignore[arg-type]


def _reads_other_fields(node: Any, by_ref: dict[str, Any], seen: set[str]) -> bool:
    """Whether a field's schema holds a validator given ``info``, which may read the other
    fields: an assignment to one of them can make it fail, and outside its model it would
    not see what it expects."""
    if isinstance(node, list):
        return any(_reads_other_fields(item, by_ref, seen) for item in node)
    if not isinstance(node, dict):
        return False
    kind = node.get("type")
    if kind in _OWN_SCOPE:
        return False
    if kind == "with-info":
        return True
    if kind == "definition-ref":
        ref = str(node.get("schema_ref"))
        if ref in seen:
            return False
        seen.add(ref)
        return _reads_other_fields(by_ref.get(ref), by_ref, seen)
    return any(_reads_other_fields(value, by_ref, seen) for key, value in node.items()
               if key != "metadata")


__all__ = ["IMMUTABLE_VALUES", "assignments_suffice", "immutable_annotation", "incomplete",
           "odd_defaults", "write_validator"]
