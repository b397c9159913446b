"""Queries as dataframes and back: Arrow tables whose columns are typed from the model,
pandas and polars frames built from them, Parquet files, and DataFrames for ``bulk_save``.

>>> table = client.records(Todo).filter(done=False).to_arrow()   # pyarrow.Table
>>> df = client.records(Todo).to_pandas()                        # pandas.DataFrame
>>> result = client.records(Todo).bulk_save(df)   # each row validated by Todo first

Pages are validated into models as ``for obj in query`` reads them (one page of models
in memory at a time) and their values go into Arrow column by column
(:mod:`~kinto_orm.dataframes.columns`). Columns are named as Kinto names the fields;
``permissions`` are not data and are left out. Needs ``pip install "kinto-orm[arrow]"``
(pyarrow), ``"kinto-orm[pandas]"`` or ``"kinto-orm[polars]"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, cast

from .reading import (
    Pages,
    PandasBackend,
    ato_arrow,
    iter_tables,
    page_table,
    pandas_frame,
    polars_frame,
    to_arrow,
    to_pandas,
    to_polars,
    write_parquet,
)
from .schema import EXTRA_COLUMN, NOT_COLUMNS, Extras, arrow_schema, arrow_type, require
from .writing import FRAMES, Rows, as_rows

if TYPE_CHECKING:
    import pandas
    import polars
    import pyarrow


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
    "FRAMES",
    "NOT_COLUMNS",
    "Extras",
    "FramesMixin",
    "Pages",
    "PandasBackend",
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
