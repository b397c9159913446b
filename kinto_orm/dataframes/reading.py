"""Queries as Arrow tables, pandas and polars DataFrames, Parquet files, page by page."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol

from .columns import Plan, page_batch, plan_of
from .schema import Extras, require

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import pandas
    import polars
    import pyarrow

    from ..models.base import KintoObject


class Pages(Protocol):
    """What is read here of a query (a ``Query``, whose ``to_arrow()``... call this
    module: it sits under ``query.py`` and cannot import it)."""

    @property
    def _sources(self) -> Sequence[Any]: ...
    @property
    def _state(self) -> Any: ...
    def pages(self) -> Iterator[Any]: ...
    def apages(self) -> AsyncIterator[Any]: ...


def _plan(query: Pages, extras: Extras) -> Plan:
    if extras not in ("json", "drop", "infer"):
        raise ValueError(f"extras takes 'json', 'drop' or 'infer', not {extras!r}.")
    return plan_of(query._sources[0].model, extras, bool(query._state.fields))


def page_table(items: list[Any], schema: pyarrow.Schema, extras: Extras = "json",
               ) -> pyarrow.Table:
    """One page of models (all of one model) as an Arrow table of ``schema`` (the
    model's :func:`arrow_schema`, or its all-nullable form of a ``fields()`` query)."""
    pa = require("pyarrow", "Arrow tables")
    if not items:
        return schema.empty_table()
    model: type[KintoObject] = type(items[0])
    plan = plan_of(model, extras, False)
    if schema != plan.schema:
        plan = plan_of(model, extras, True)
    if schema != plan.schema:
        raise ValueError(f"page_table() takes the Arrow schema of {model.__name__}: "
                         "arrow_schema(model, extras).")
    return _as_table(pa, page_batch(items, plan))


def _as_table(pa: Any, batch: Any) -> pyarrow.Table:
    table: pyarrow.Table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
    return table


def iter_tables(query: Pages, extras: Extras = "json") -> Iterator[pyarrow.Table]:
    """One Arrow table per page of ``query``, as the pages arrive: a large collection
    in constant memory.

    >>> for table in dataframes.iter_tables(client.records(Todo)):
    ...     writer.write_table(table)
    """
    plan = _plan(query, extras)
    pa = require("pyarrow")
    for page in query.pages():
        yield _as_table(pa, page_batch(page.items, plan))


def _joined(pieces: list[Any], plan: Plan) -> pyarrow.Table:
    """The pages' batches as one table (their columns are not copied)."""
    pa = require("pyarrow")
    if plan.extras == "infer":  # a page's extra columns may be another's nulls
        if not pieces:
            return plan.schema.empty_table()
        joined: pyarrow.Table = pa.concat_tables(pieces, promote_options="permissive")
        return joined
    table: pyarrow.Table = pa.Table.from_batches(pieces, schema=plan.schema)
    return table


def to_arrow(query: Pages, extras: Extras = "json") -> pyarrow.Table:
    """Every object of ``query`` as one Arrow table (see :data:`Extras`)."""
    require("pyarrow", "to_arrow()")
    plan = _plan(query, extras)
    return _joined([page_batch(page.items, plan) for page in query.pages()], plan)


async def ato_arrow(query: Pages, extras: Extras = "json") -> pyarrow.Table:
    """Async :func:`to_arrow` (a query bound to an ``AsyncClient``)."""
    require("pyarrow", "ato_arrow()")
    plan = _plan(query, extras)
    return _joined([page_batch(page.items, plan) async for page in query.apages()], plan)


PandasBackend = Literal["numpy_nullable", "pyarrow"]


def pandas_frame(table: pyarrow.Table, dtype_backend: PandasBackend = "numpy_nullable",
                 ) -> pandas.DataFrame:
    """An Arrow table as pandas: ``numpy_nullable`` columns (``Int64``, ``boolean``,
    ``Float64``, ``string``, ``category`` for Enums and Literals, ``datetime64[us, UTC]``,
    dates as ``datetime.date``; lists and nested models stay Arrow-backed, their cells
    lists and dicts) or, with ``"pyarrow"``, Arrow dtypes for every column."""
    pd = require("pandas", "to_pandas()")
    if dtype_backend == "pyarrow":
        frame: pandas.DataFrame = table.to_pandas(types_mapper=pd.ArrowDtype)
        return frame
    pa = require("pyarrow")
    nullable = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype(),
                pa.float64(): pd.Float64Dtype(), pa.string(): pd.StringDtype()}

    def dtype(kind: Any) -> Any:
        # NumPy has no list or struct type: as objects, a list column is one NumPy
        # array per cell (most of the conversion's time: 0.24 of 0.27 us a record).
        if pa.types.is_list(kind) or pa.types.is_struct(kind):
            return pd.ArrowDtype(kind)
        return nullable.get(kind)

    frame = table.to_pandas(types_mapper=dtype)
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
    with pq.ParquetWriter(where, _plan(query, extras).schema) as writer:
        for table in iter_tables(query, extras):
            writer.write_table(table)
            count += table.num_rows
            if progress is not None:
                progress(count, None)
    return count
