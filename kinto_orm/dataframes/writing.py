"""DataFrames (pandas, polars) and Arrow tables as the items of ``bulk_save``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from .schema import EXTRA_COLUMN, require


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
