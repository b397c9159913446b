"""The Arrow schema of a model: one typed column per field (see :func:`arrow_type`)."""

from __future__ import annotations

import datetime
import decimal
import enum
import importlib
import json
import sys
import types
import typing
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from ..protocol import json_default

if TYPE_CHECKING:
    import pyarrow

    from ..models.base import KintoObject

#: What becomes of the fields a model does not declare: ``"json"`` one string column
#: ``_extra`` holding them as a JSON object (lossless, the default), ``"drop"`` left out,
#: ``"infer"`` one column each, typed by pyarrow from the values (mixed values: JSON text).
Extras = Literal["json", "drop", "infer"]
EXTRA_COLUMN = "_extra"
#: Fields that are not data: the envelope's permissions, the schema stamp Kinto adds.
NOT_COLUMNS = frozenset({"permissions", "schema_timestamp"})
_EXTRA_OF = {"pyarrow": "arrow", "pandas": "pandas", "polars": "polars"}


def require(module: str, feature: str = "this") -> Any:
    """Import an optional module, or raise ImportError saying which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = _EXTRA_OF.get(module, module)
        raise ImportError(
            f"{feature} needs {module}: pip install \"kinto-orm[{extra}]\""
        ) from None


def arrow_type(annotation: Any) -> tuple[Any, bool]:
    """``(pyarrow type, nullable)`` of a field annotation: ``date`` -> ``date32``,
    ``datetime`` -> ``timestamp[us, UTC]``, an Enum or Literal of strings -> a dictionary
    of strings, ``X | None`` -> nullable, ``list[X]`` -> ``list<X>``, a model -> a
    struct; anything else (dicts, unions, ``Any``) -> JSON text."""
    pa = require("pyarrow", "Arrow tables")
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation is Any:
        return pa.string(), True
    if origin is typing.Annotated:
        return arrow_type(args[0])
    if origin in (Union, types.UnionType):
        inner = [arg for arg in args if arg is not type(None)]
        if len(inner) == 1:
            return arrow_type(inner[0])[0], True
        return pa.string(), True
    if origin is Literal:
        if all(isinstance(arg, str) for arg in args):
            return pa.dictionary(pa.int32(), pa.string()), False
        if all(isinstance(arg, int) and not isinstance(arg, bool) for arg in args):
            return pa.int64(), False
        return pa.string(), False
    if origin in (list, set, frozenset) and args:
        return pa.list_(arrow_type(args[0])[0]), False
    if isinstance(annotation, type):
        return _class_type(pa, annotation), False
    return pa.string(), True


def _class_type(pa: Any, cls: type) -> Any:
    if issubclass(cls, enum.Enum):
        return pa.dictionary(pa.int32(), pa.string())
    simple: list[tuple[type, Any]] = [
        (bool, pa.bool_()), (int, pa.int64()), (float, pa.float64()), (str, pa.string()),
        (datetime.datetime, pa.timestamp("us", tz="UTC")), (datetime.date, pa.date32()),
        (datetime.time, pa.time64("us")), (datetime.timedelta, pa.duration("us")),
        (bytes, pa.binary()), (decimal.Decimal, pa.string()), (uuid.UUID, pa.string()),
    ]
    for kind, arrow in simple:  # bool before int, datetime before date: subclasses first
        if issubclass(cls, kind):
            return arrow
    if issubclass(cls, BaseModel):
        return pa.struct([pa.field(column_name(name, info), *arrow_type(info.annotation))
                          for name, info in cls.model_fields.items()])
    return pa.string()


def column_name(name: str, info: Any) -> str:
    """A field's column: the name Kinto stores it under."""
    return str(info.serialization_alias or info.alias or name)


def arrow_schema(model: type[KintoObject], extras: Extras = "json") -> pyarrow.Schema:
    """The Arrow schema of ``model``'s declared fields (and the ``_extra`` column).

    >>> arrow_schema(Todo).field("due").type     # due: datetime.date | None
    DataType(date32[day])
    """
    pa = require("pyarrow", "Arrow tables")
    fields = [pa.field(column_name(name, info), *arrow_type(info.annotation))
              for name, info in model.model_fields.items() if name not in NOT_COLUMNS]
    if extras == "json":
        fields.append(pa.field(EXTRA_COLUMN, pa.string(), True))
    schema: pyarrow.Schema = pa.schema(fields)
    return schema


def plain(value: Any) -> Any:
    """``value`` with the models in it dumped as dicts under Kinto's field names."""
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True, warnings=False)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def arrow_value(value: Any, kind: Any) -> Any:
    """A Python value (models dumped first, see :func:`plain`) as Arrow ``kind`` takes it."""
    pa = sys.modules.get("pyarrow") or require("pyarrow")
    if value is None:
        return None
    if pa.types.is_dictionary(kind) or pa.types.is_string(kind):
        if isinstance(value, enum.Enum):
            value = value.value
        if isinstance(value, (str, decimal.Decimal, uuid.UUID)) or pa.types.is_dictionary(kind):
            return str(value)
        return json.dumps(value, default=json_default, ensure_ascii=False)
    if pa.types.is_list(kind):
        return [arrow_value(item, kind.value_type) for item in value]
    if pa.types.is_struct(kind) and isinstance(value, Mapping):
        return {field.name: arrow_value(value.get(field.name), field.type) for field in kind}
    return value
