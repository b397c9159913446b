"""A Kinto plugin for ``benchmarks/dataframes.py``: at start-up, fills the memory backend
with ``KINTO_BENCH_FILL`` records of the dataframe benchmark, straight into the storage.

Through the HTTP API, the memory backend's writes slow down as the collection grows
(10,000 records took 19 s, the third 10,000 another 27 s here): 300,000 would take the
best part of an hour. Read benchmarks only need the records to be there, as the
PostgreSQL runs insert them with SQL. Loaded with ``PYTHONPATH`` set to this folder.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

PARENT = "/buckets/bench/collections/todos"
_DAY0 = datetime.date(2026, 1, 1)


def item_data(i: int) -> dict[str, Any]:
    """Record number ``i``: title, n, tags, score, date (the issue's shape)."""
    return {"title": f"Task number {i}", "n": i, "tags": ["bench", f"tag-{i % 7}"],
            "score": i / 3, "date": (_DAY0 + datetime.timedelta(days=i % 365)).isoformat()}


def includeme(config: Any) -> None:
    count = int(os.environ.get("KINTO_BENCH_FILL", "0"))
    storage = config.registry.storage
    for i in range(count):
        storage.create("record", PARENT, item_data(i))
