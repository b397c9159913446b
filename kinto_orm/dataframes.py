"""Queries as dataframes and back: Arrow tables whose columns are typed from the model,
pandas and polars frames built from them, Parquet files, and DataFrames for ``bulk_save``.

>>> table = client.records(Todo).filter(done=False).to_arrow()   # pyarrow.Table
>>> df = client.records(Todo).to_pandas()                        # pandas.DataFrame
>>> result = client.records(Todo).bulk_save(df)   # each row validated by Todo first

Pages are converted as they arrive (one page of models in memory at a time). Columns
are named as Kinto names the fields; ``permissions`` are not data and are left out.
Needs ``pip install "kinto-orm[arrow]"`` (pyarrow), ``"kinto-orm[pandas]"`` or
``"kinto-orm[polars]"``.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import importlib
import json
import types
import typing
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol, Union, cast, get_args, get_origin

from pydantic import BaseModel

from .protocol import json_default

if TYPE_CHECKING:
    import pandas
    import polars
    import pyarrow

    from .models.base import KintoObject

#: What becomes of the fields a model does not declare: ``"json"`` one string column
#: ``_extra`` holding them as a JSON object (lossless, the default), ``"drop"`` left out,
#: ``"infer"`` one column each, typed by pyarrow from the values (mixed values: JSON text).
Extras = Literal["json", "drop", "infer"]
EXTRA_COLUMN = "_extra"
#: Fields that are not data: the envelope's permissions, the schema stamp Kinto adds.
NOT_COLUMNS = frozenset({"permissions", "schema_timestamp"})
_EXTRA_OF = {"pyarrow": "arrow", "pandas": "pandas", "polars": "polars"}


class Pages(Protocol):
    """What is read here of a query (a ``Query``, whose ``to_arrow()``... call this
    module: it sits under ``query.py`` and cannot import it)."""

    @property
    def _sources(self) -> Sequence[Any]: ...
    @property
    def _state(self) -> Any: ...
    def pages(self) -> Iterator[Any]: ...
    def apages(self) -> AsyncIterator[Any]: ...


def require(module: str, feature: str = "this") -> Any:
    """Import an optional module, or raise ImportError saying which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = _EXTRA_OF.get(module, module)
        raise ImportError(
            f"{feature} needs {module}: pip install \"kinto-orm[{extra}]\""
        ) from None


# ---------------------------------------------------------------------------- types


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
        return pa.struct([pa.field(_column(name, info), *arrow_type(info.annotation))
                          for name, info in cls.model_fields.items()])
    return pa.string()


def _column(name: str, info: Any) -> str:
    """A field's column: the name Kinto stores it under."""
    return str(info.serialization_alias or info.alias or name)


def arrow_schema(model: type[KintoObject], extras: Extras = "json") -> pyarrow.Schema:
    """The Arrow schema of ``model``'s declared fields (and the ``_extra`` column)."""
    pa = require("pyarrow", "Arrow tables")
    fields = [pa.field(_column(name, info), *arrow_type(info.annotation))
              for name, info in model.model_fields.items() if name not in NOT_COLUMNS]
    if extras == "json":
        fields.append(pa.field(EXTRA_COLUMN, pa.string(), True))
    schema: pyarrow.Schema = pa.schema(fields)
    return schema


def _value(value: Any, kind: Any) -> Any:
    """A Python value as Arrow ``kind`` takes it."""
    pa = require("pyarrow")
    if value is None:
        return None
    if pa.types.is_dictionary(kind) or pa.types.is_string(kind):
        if isinstance(value, enum.Enum):
            value = value.value
        if isinstance(value, (str, decimal.Decimal, uuid.UUID)) or pa.types.is_dictionary(kind):
            return str(value)
        return json.dumps(value, default=json_default, ensure_ascii=False)
    if pa.types.is_list(kind):
        return [_value(item, kind.value_type) for item in value]
    if pa.types.is_struct(kind) and isinstance(value, Mapping):
        return {field.name: _value(value.get(field.name), field.type) for field in kind}
    return value


# ---------------------------------------------------------------------------- reading


def page_table(items: list[Any], schema: pyarrow.Schema, extras: Extras) -> pyarrow.Table:
    """One page of models as an Arrow table (typed columns, then the extra ones)."""
    pa = require("pyarrow")
    rows = [item.to_data(include_meta=True) for item in items]
    for row in rows:
        if isinstance(row.get("schema"), int):  # Kinto's stamp on validated records
            del row["schema"]
    typed = [name for name in schema.names if name != EXTRA_COLUMN]
    columns = {
        field.name: pa.array([_value(row.get(field.name), field.type) for row in rows],
                             type=field.type)
        for field in schema if field.name != EXTRA_COLUMN
    }
    extra_rows = [{k: v for k, v in row.items() if k not in typed} for row in rows]
    if extras == "json":
        columns[EXTRA_COLUMN] = pa.array(
            [json.dumps(extra, default=json_default, ensure_ascii=False) if extra else None
             for extra in extra_rows], type=pa.string())
    table: pyarrow.Table = pa.table(columns, schema=schema)
    if extras == "infer":
        names = sorted({key for extra in extra_rows for key in extra})
        for name in names:
            values = [extra.get(name) for extra in extra_rows]
            try:
                column = pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
                column = pa.array([_value(v, pa.string()) for v in values], type=pa.string())
            table = table.append_column(name, column)
    return table


def _query_schema(query: Pages, extras: Extras) -> pyarrow.Schema:
    schema = arrow_schema(query._sources[0].model, extras)
    if query._state.fields:  # fields() leaves the others out: any column may be empty
        pa = require("pyarrow")
        schema = pa.schema([field.with_nullable(True) for field in schema])
    return schema


def iter_tables(query: Pages, extras: Extras = "json") -> Iterator[pyarrow.Table]:
    """One Arrow table per page of ``query``, as the pages arrive."""
    schema = _query_schema(query, extras)
    for page in query.pages():
        yield page_table(page.items, schema, extras)


def _joined(tables: list[Any], schema: pyarrow.Schema) -> pyarrow.Table:
    pa = require("pyarrow")
    if not tables:
        return schema.empty_table()
    joined: pyarrow.Table = pa.concat_tables(tables, promote_options="permissive")
    return joined


def to_arrow(query: Pages, extras: Extras = "json") -> pyarrow.Table:
    """Every object of ``query`` as one Arrow table (see :data:`Extras`)."""
    require("pyarrow", "to_arrow()")
    return _joined(list(iter_tables(query, extras)), _query_schema(query, extras))


async def ato_arrow(query: Pages, extras: Extras = "json") -> pyarrow.Table:
    """Async :func:`to_arrow` (a query bound to an ``AsyncClient``)."""
    require("pyarrow", "ato_arrow()")
    schema = _query_schema(query, extras)
    tables = [page_table(page.items, schema, extras) async for page in query.apages()]
    return _joined(tables, schema)


PandasBackend = Literal["numpy_nullable", "pyarrow"]


def pandas_frame(table: pyarrow.Table, dtype_backend: PandasBackend = "numpy_nullable",
                 ) -> pandas.DataFrame:
    """An Arrow table as pandas: ``numpy_nullable`` columns (``Int64``, ``boolean``,
    ``Float64``, ``string``, ``category`` for Enums and Literals, ``datetime64[us, UTC]``,
    dates as ``datetime.date``) or, with ``"pyarrow"``, Arrow dtypes."""
    pd = require("pandas", "to_pandas()")
    if dtype_backend == "pyarrow":
        frame: pandas.DataFrame = table.to_pandas(types_mapper=pd.ArrowDtype)
        return frame
    pa = require("pyarrow")
    nullable = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype(),
                pa.float64(): pd.Float64Dtype(), pa.string(): pd.StringDtype()}
    frame = table.to_pandas(types_mapper=nullable.get)
    return frame


def to_pandas(query: Pages, extras: Extras = "json",
              dtype_backend: PandasBackend = "numpy_nullable") -> pandas.DataFrame:
    """Every object of ``query`` as a pandas DataFrame (see :func:`pandas_frame`)."""
    require("pandas", "to_pandas()")
    return pandas_frame(to_arrow(query, extras), dtype_backend)


def polars_frame(table: pyarrow.Table) -> polars.DataFrame:
    """An Arrow table as a polars DataFrame (without copies)."""
    pl = require("polars", "to_polars()")
    frame: polars.DataFrame = pl.from_arrow(table)
    return frame


def to_polars(query: Pages, extras: Extras = "json") -> polars.DataFrame:
    """Every object of ``query`` as a polars DataFrame."""
    require("polars", "to_polars()")
    return polars_frame(to_arrow(query, extras))


def write_parquet(query: Pages, where: str | IO[bytes], extras: Extras = "json",
                  progress: Callable[[int, int | None], Any] | None = None) -> int:
    """Write ``query`` to a Parquet file page by page; returns how many rows."""
    require("pyarrow", "Parquet")
    pq = importlib.import_module("pyarrow.parquet")
    count = 0
    if extras == "infer":  # the columns are known only at the end
        table = to_arrow(query, extras)
        pq.write_table(table, where)
        if progress is not None:
            progress(table.num_rows, None)
        return int(table.num_rows)
    schema = _query_schema(query, extras)
    with pq.ParquetWriter(where, schema) as writer:
        for table in iter_tables(query, extras):
            writer.write_table(table)
            count += table.num_rows
            if progress is not None:
                progress(count, None)
    return count


# ---------------------------------------------------------------------------- writing


class Rows:
    """The rows of a DataFrame (pandas, polars) or Arrow table as plain Python dicts,
    read lazily in slices; ``len()`` gives the progress total."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for batch in self.table.to_batches(max_chunksize=1000):
            for row in batch.to_pylist():
                extra = row.pop(EXTRA_COLUMN, None)
                if isinstance(extra, str):
                    row.update(json.loads(extra))
                yield {key: value for key, value in row.items() if value is not None}


#: (top module, class name) of the tables ``bulk_save`` reads row by row.
FRAMES = frozenset({("pandas", "DataFrame"), ("polars", "DataFrame"), ("pyarrow", "Table"),
                    ("pyarrow", "RecordBatch")})


def as_rows(items: Iterable[Any]) -> Iterable[Any]:
    """``items``, or the rows of a pandas/polars DataFrame or Arrow table."""
    kind = type(items)
    module = kind.__module__.split(".")[0]
    if (module, kind.__name__) not in FRAMES:
        return items
    pa = require("pyarrow", "bulk_save() of a DataFrame")
    if module == "pandas":
        return Rows(pa.Table.from_pandas(items, preserve_index=False))
    if module == "polars":
        return Rows(items.to_arrow())  # type: ignore[attr-defined]
    if isinstance(items, pa.RecordBatch):
        return Rows(pa.Table.from_batches([items]))
    return Rows(items)


class FramesMixin:
    """``Query.to_arrow()``, ``to_pandas()``, ``to_polars()`` and their async twins."""

    def _pages(self) -> Pages:
        return cast("Pages", self)  # a mixin of Query, which is one

    def to_arrow(self, extras: Extras = "json") -> pyarrow.Table:
        """Every matching object as a ``pyarrow.Table``, page by page, with columns typed
        from the model; ``extras``: ``"json"`` (one ``_extra`` JSON column), ``"drop"``
        or ``"infer"``. See :mod:`kinto_orm.dataframes` (``pip install "kinto-orm[arrow]"``)."""
        return to_arrow(self._pages(), extras)

    def to_pandas(
        self, extras: Extras = "json",
        dtype_backend: Literal["numpy_nullable", "pyarrow"] = "numpy_nullable",
    ) -> pandas.DataFrame:
        """Every matching object as a ``pandas.DataFrame`` with typed, nullable columns
        (``pip install "kinto-orm[pandas]"``); see :meth:`to_arrow`."""
        return to_pandas(self._pages(), extras, dtype_backend)

    def to_polars(self, extras: Extras = "json") -> polars.DataFrame:
        """Every matching object as a ``polars.DataFrame`` (``pip install
        "kinto-orm[polars]"``); see :meth:`to_arrow`."""
        return to_polars(self._pages(), extras)

    async def ato_arrow(self, extras: Extras = "json") -> pyarrow.Table:
        """Async :meth:`to_arrow` (pages read with the ``AsyncClient``)."""
        return await ato_arrow(self._pages(), extras)

    async def ato_pandas(
        self, extras: Extras = "json",
        dtype_backend: Literal["numpy_nullable", "pyarrow"] = "numpy_nullable",
    ) -> pandas.DataFrame:
        """Async :meth:`to_pandas`."""
        return pandas_frame(await ato_arrow(self._pages(), extras), dtype_backend)

    async def ato_polars(self, extras: Extras = "json") -> polars.DataFrame:
        """Async :meth:`to_polars`."""
        return polars_frame(await ato_arrow(self._pages(), extras))


__all__ = [
    "EXTRA_COLUMN",
    "Extras",
    "FramesMixin",
    "Rows",
    "arrow_schema",
    "arrow_type",
    "as_rows",
    "ato_arrow",
    "iter_tables",
    "page_table",
    "pandas_frame",
    "polars_frame",
    "require",
    "to_arrow",
    "to_pandas",
    "to_polars",
    "write_parquet",
]
