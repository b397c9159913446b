"""One page of models as an Arrow record batch, built column by column.

The page's models come validated from the response bytes, as ``for obj in query`` makes
them (so the model's types, defaults, validators and ``on_invalid`` all apply). Their
values are then read from each object's ``__dict__``: the columns pyarrow takes as they
are (numbers, text, dates, lists of those...) in one ``pa.array`` call over the page, as
a struct that is split into its columns without a copy; the others (enums, decimals,
nested models, JSON text) value by value. No dict per record is built on the way: that
was four times the CPU of reading the models (measured on 100,000 records of five
fields: 13.2 -> 0.7 us a record, next to 3.6 us to validate them from the bytes).

Validating the bytes into TypedDicts made from the model's fields instead, then
``RecordBatch.from_pylist``, costs less (2.0 + 0.5 us a record) but is not the model:
its validators, defaults and ``on_invalid`` would not apply, so it is not done.
"""

from __future__ import annotations

import datetime
import enum
import json
import sys
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin

from ..protocol import json_default
from .schema import NOT_COLUMNS, Extras, arrow_schema, arrow_value, plain, require

if TYPE_CHECKING:
    import pyarrow

    from ..models.base import KintoObject

#: Field types whose validated values pyarrow converts itself, as they are.
_AS_THEY_ARE = (bool, int, float, str, bytes, datetime.datetime, datetime.date,
                datetime.time, datetime.timedelta)


def _as_they_are(annotation: Any) -> bool:
    """Whether a field's validated values go into Arrow unchanged."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is typing.Annotated:
        return _as_they_are(args[0])
    if origin in (Union, types.UnionType):
        inner = [arg for arg in args if arg is not type(None)]
        return len(inner) == 1 and _as_they_are(inner[0])
    if origin is Literal:
        return (all(isinstance(arg, str) for arg in args)
                or all(type(arg) is int for arg in args))
    if origin is list and args:
        return _as_they_are(args[0])
    return annotation in _AS_THEY_ARE


def _enum_value(value: Any) -> Any:
    return None if value is None else str(value.value)


def _converter(annotation: Any, kind: Any) -> Callable[[Any], Any]:
    """How one value of a field that pyarrow cannot take as it is becomes one it can."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType) and len(args) == 2 and type(None) in args:
        annotation = args[0] if args[1] is type(None) else args[1]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _enum_value
    return lambda value: arrow_value(plain(value), kind)


@dataclass(frozen=True)
class Plan:
    """How a page of one model becomes a record batch of ``schema``."""

    schema: pyarrow.Schema
    #: The columns taken as they are: a struct over the models' field names...
    direct: Any
    #: ... and where each of its fields goes in ``schema``.
    direct_at: tuple[int, ...]
    #: The other columns: (position, field name, Arrow type, converter of one value).
    converted: tuple[tuple[int, str, Any, Callable[[Any], Any]], ...]
    extras: Extras


@lru_cache(maxsize=128)
def plan_of(model: type[KintoObject], extras: Extras, partial: bool) -> Plan:
    """The :class:`Plan` of ``model`` (``partial``: read with ``fields()``, so every
    column may be empty)."""
    pa = require("pyarrow", "Arrow tables")
    schema = arrow_schema(model, extras)
    if partial:
        schema = pa.schema([field.with_nullable(True) for field in schema])
    direct, direct_at, converted = [], [], []
    names = [name for name in model.model_fields if name not in NOT_COLUMNS]
    for at, name in enumerate(names):
        annotation, field = model.model_fields[name].annotation, schema.field(at)
        if _as_they_are(annotation):
            direct.append(pa.field(name, field.type, field.nullable))
            direct_at.append(at)
        else:
            converted.append((at, name, field.type, _converter(annotation, field.type)))
    return Plan(schema, pa.struct(direct), tuple(direct_at), tuple(converted), extras)


def page_batch(items: list[Any], plan: Plan) -> pyarrow.RecordBatch | pyarrow.Table:
    """One page of models as a record batch of ``plan.schema``; with ``extras="infer"``,
    a table with one more column per extra field found in this page."""
    pa = sys.modules["pyarrow"]  # imported by plan_of()
    # The C library's allocator, not pyarrow's default (mimalloc): mimalloc kept the
    # builders' spare capacity as resident memory, another 30 MiB next to a result of
    # 33 MiB (300,000 records), and its page faults cost 0.4 us a record.
    pool = pa.system_memory_pool()
    values = list(map(_dict_of, items))  # map() runs the per-record loops in C
    arrays: list[Any] = [None] * len(plan.schema)
    direct = pa.array(values, type=plan.direct, memory_pool=pool)
    for at, array in zip(plan.direct_at, direct.flatten(memory_pool=pool)):
        arrays[at] = array
    for at, name, kind, convert in plan.converted:
        arrays[at] = pa.array([convert(row.get(name)) for row in values], type=kind,
                              memory_pool=pool)
    if plan.extras == "drop":
        batch: pyarrow.RecordBatch = pa.RecordBatch.from_arrays(arrays, schema=plan.schema)
        return batch
    extra_rows = [_without_stamp(extra) if extra else None for extra in map(_extra_of, items)]
    if plan.extras == "json":
        arrays[-1] = pa.array([json.dumps(extra, default=json_default, ensure_ascii=False)
                               if extra else None for extra in extra_rows], type=pa.string(),
                              memory_pool=pool)
        batch = pa.RecordBatch.from_arrays(arrays, schema=plan.schema)
        return batch
    table: pyarrow.Table = pa.Table.from_arrays(arrays, schema=plan.schema)
    for name in sorted({key for extra in extra_rows if extra for key in extra}):
        column = [extra.get(name) if extra else None for extra in extra_rows]
        try:
            array = pa.array(column)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            array = pa.array([arrow_value(v, pa.string()) for v in column], type=pa.string())
        table = table.append_column(name, array)
    return table


_dict_of = attrgetter("__dict__")
_extra_of = attrgetter("__pydantic_extra__")


def _without_stamp(extra: dict[str, Any]) -> dict[str, Any] | None:
    """A record's extra fields, without the ``schema`` stamp Kinto adds to the records
    of a collection with a JSON schema (it is not data)."""
    if isinstance(extra.get("schema"), int):
        extra = {key: value for key, value in extra.items() if key != "schema"}
    return extra or None
