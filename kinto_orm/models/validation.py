"""What keeps invalid data on the client: explicit patches checked against the model's
fields, and the field names of a query checked against a typed model."""

from __future__ import annotations

import collections.abc
import dataclasses
import difflib
import functools
import types
import typing
from typing import Any, Protocol, Union, cast

from pydantic import BaseModel

from ..patch_type import BasicPatch, JSONPatch, MergePatch, PatchType


class _Fields(Protocol):
    """What is read here of a model class (a ``KintoObject``): its field names by key.
    (This module sits under ``base``, which imports it: it cannot name ``KintoObject``.)"""

    @classmethod
    def _field_name(cls, key: str) -> str | None: ...


def _field_name(model: type[BaseModel], key: str) -> str | None:
    return cast("type[_Fields]", model)._field_name(key)

#: Fields Kinto itself keeps on every object: always valid in queries.
KINTO_META = ("id", "last_modified")


# ---------------------------------------------------------------------------- patches


def checked_patch(obj: BaseModel, changes: Any) -> Any:
    """``changes`` with every value that names one of ``obj``'s fields validated (and
    coerced, e.g. ``"2026-01-02"`` into a date) as an assignment would; raises
    ``pydantic.ValidationError`` naming the field before anything is sent."""
    model = type(obj)
    if isinstance(changes, JSONPatch):
        return JSONPatch([_checked_operation(obj, op) for op in changes.operations])
    if isinstance(changes, BasicPatch):
        data = _checked_data(obj, changes.data, merge=isinstance(changes, MergePatch))
        return type(changes)(data=data, permissions=changes.permissions)
    if isinstance(changes, dict):
        return _checked_data(obj, changes, merge=False)
    if isinstance(changes, PatchType):
        return changes
    raise TypeError(
        f"{model.__name__}.patch() takes a dict, BasicPatch, MergePatch or JSONPatch, "
        f"got {type(changes).__name__}."
    )


def sent_data(patch: Any) -> dict[str, Any]:
    """The data fields an explicit patch sends, by Kinto's names: their values (None for
    a removal); for a JSON Patch, those its operations set on ``/data/<field>``."""
    if isinstance(patch, dict):
        return patch
    if isinstance(patch, BasicPatch):
        return patch.data or {}
    out: dict[str, Any] = {}
    if isinstance(patch, JSONPatch):
        for op in patch.operations:
            path = op.get("path") if isinstance(op, dict) else None
            if isinstance(path, str) and path.startswith("/data/"):
                key = path[len("/data/"):].split("/")[0].replace("~1", "/").replace("~0", "~")
                out[key] = op.get("value")
    return out


def _checked_data(
    obj: BaseModel, data: dict[str, Any] | None, *, merge: bool
) -> dict[str, Any] | None:
    if not data:
        return data
    model = type(obj)
    probe = obj.model_copy()
    validated: dict[str, str] = {}  # field name -> key sent
    for key, value in data.items():
        name = _field_name(model, key)
        if name is None:
            _check_extra_allowed(model, key)
            continue
        if merge and value is None:
            _check_removable(model, name)
            continue
        if merge and isinstance(value, dict):
            continue  # merged into the stored value: only the server sees the result
        model.__pydantic_validator__.validate_assignment(probe, name, value)
        validated[name] = key
    if not validated:
        return data
    dumped = probe.model_dump(include=set(validated), by_alias=True)
    out = dict(data)
    for name, key in validated.items():
        info = model.model_fields[name]
        out[key] = dumped[info.serialization_alias or info.alias or name]
    return out


def _checked_operation(obj: BaseModel, operation: Any) -> Any:
    if not isinstance(operation, dict):
        return operation
    path = operation.get("path")
    if not isinstance(path, str) or not path.startswith("/data/"):
        return operation
    key = path[len("/data/"):]
    if "/" in key:
        return operation  # inside a field: only the server sees the result
    key = key.replace("~1", "/").replace("~0", "~")
    model = type(obj)
    name = _field_name(model, key)
    kind = operation.get("op")
    if name is None:
        if kind in ("add", "replace"):
            _check_extra_allowed(model, key)
        return operation
    if kind == "remove":
        _check_removable(model, name)
        return operation
    if kind not in ("add", "replace") or "value" not in operation:
        return operation
    data = _checked_data(obj, {key: operation["value"]}, merge=False)
    assert data is not None
    return {**operation, "value": data[key]}


def _check_extra_allowed(model: type[BaseModel], key: str) -> None:
    if model.model_config.get("extra") == "forbid":
        raise ValueError(
            f"{model.__name__} has no field {key!r} and forbids extra fields; "
            f"its fields are: {', '.join(data_fields(model))}."
        )


def _check_removable(model: type[BaseModel], name: str) -> None:
    info = model.model_fields[name]
    if info.is_required() or not _accepts_none(info.annotation):
        raise ValueError(
            f"Removing {model.__name__}.{name} would store a {model.__name__} that no "
            f"reader can load: the field is required. Set a valid value instead."
        )


def _accepts_none(annotation: Any) -> bool:
    if annotation is None or annotation is type(None) or annotation is Any:
        return True
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        return any(_accepts_none(arg) for arg in args)
    if origin is typing.Annotated:
        return _accepts_none(args[0])
    return False


# ---------------------------------------------------------------------------- query names


def data_fields(model: type[BaseModel]) -> list[str]:
    """The data field names of ``model`` as Kinto names them (aliases), meta included."""
    names = [info.alias or name for name, info in model.model_fields.items()
             if name != "permissions"]
    return [name for name in names if name != "schema"] or list(KINTO_META)


def is_typed(model: type[Any]) -> bool:
    """Whether names in queries on ``model`` are checked: a ``Record`` subclass that
    declares fields of its own. The plain ``Record`` keeps free names."""
    record = plain_record(model)
    return record is not None and bool(set(model.model_fields) - set(record.model_fields))


def plain_record(model: type[Any]) -> Any:
    """``Record`` when ``model`` is one of its subclasses, else None.

    ``Record`` is the furthest class of the MRO that says it is a record: this module, and
    the query and bulk modules that use this, sit under the models, which import them.
    """
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    records = [cls for cls in model.__mro__ if cls.__dict__.get("kinto_kind") == "record"]
    return records[-1] if records else None


@functools.lru_cache(maxsize=1024)
def check_path(
    model: type[BaseModel], parts: tuple[str, ...], usage: str, lookups: tuple[str, ...]
) -> None:
    """Refuse a dotted field path that ``model`` cannot hold: the first part must be a
    field (or ``id``/``last_modified``), and deeper parts go only into a dict, ``Any``
    or model field. ``usage`` says where the name came from and ``lookups`` lists the
    lookups the caller knows, for the message."""
    current: Any = model
    for depth, part in enumerate(parts):
        if current is None:
            return  # a dict or Any: free keys below
        fields = _fields_by_name(current)
        if part not in fields:
            where = ".".join(parts[:depth]) or current.__name__
            raise ValueError(_unknown(model, parts, depth, usage, where, list(fields), lookups))
        annotation = fields[part]
        if depth + 1 < len(parts):
            nested = _nested(annotation)
            if nested is False:
                raise ValueError(_not_nested(model, parts, depth, usage, annotation, lookups))
            current = nested


def field_annotation(model: type[BaseModel], parts: tuple[str, ...]) -> Any:
    """The type of the (dotted) field ``parts`` of ``model``, or None where its keys are
    free (a dict, ``Any``): what a filter's value is checked against."""
    current: Any = model
    annotation: Any = None
    for depth, part in enumerate(parts):
        if current is None:
            return None
        annotation = _fields_by_name(current).get(part)
        if annotation is None:
            return None
        if depth + 1 < len(parts):
            current = _nested(annotation)
            if current is False:
                return None
    return annotation


def _fields_by_name(model: type[BaseModel]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name == "permissions":
            continue
        fields[info.alias or name] = info.annotation
        fields[name] = info.annotation
    fields.pop("schema_timestamp", None)
    return fields


def _nested(annotation: Any) -> Any:
    """What lies under a field: a model class, None for free keys, False for nothing."""
    if annotation is Any or annotation is object:
        return None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _nested(args[0])
    if origin is Union or origin is types.UnionType:
        found = [_nested(arg) for arg in args if arg is not type(None)]
        found = [item for item in found if item is not False]
        if not found:
            return False
        return found[0] if len(found) == 1 else None
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return annotation
        if issubclass(annotation, dict) or dataclasses.is_dataclass(annotation):
            return None
        if typing.is_typeddict(annotation):
            return None
    if origin is not None and isinstance(origin, type) and issubclass(origin, dict):
        return None
    if origin is collections.abc.Mapping:
        return None
    return False


def _unknown(
    model: type[BaseModel], parts: tuple[str, ...], depth: int, usage: str, where: str,
    known: list[str], lookups: tuple[str, ...],
) -> str:
    part = parts[depth]
    hint = difflib.get_close_matches(part, known, n=1)
    lines = [f"{usage}: {model.__name__} has no field {'.'.join(parts[:depth + 1])!r}."]
    if hint:
        lines[0] += f" Did you mean {hint[0]!r}?"
    valid = sorted({name for name in known if name not in ("schema_timestamp", "schema")})
    lines.append(f"Fields of {where}: {', '.join(valid)}.")
    if depth > 0:
        lines.append(
            f"Lookups Kinto knows: {', '.join('__' + name for name in lookups)}."
        )
    lines.append(
        "To use undeclared (extra) fields, query the untyped model: "
        "client.records(Record, bucket=..., collection=...)."
    )
    return " ".join(lines)


def _not_nested(
    model: type[BaseModel], parts: tuple[str, ...], depth: int, usage: str, annotation: Any,
    lookups: tuple[str, ...],
) -> str:
    field = ".".join(parts[: depth + 1])
    rest = parts[depth + 1]
    kind = getattr(annotation, "__name__", None) or str(annotation)
    return (
        f"{usage}: {rest!r} is not a lookup Kinto knows, and {model.__name__}.{field} "
        f"({kind}) has no nested fields. Lookups: "
        f"{', '.join('__' + name for name in lookups)}."
    )
