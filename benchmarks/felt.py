"""The workloads users feel, kinto-orm against kinto-http, each written the way a user
of that client would write it: the wall-clock table of ``make bench`` (``--only users``).

1. ``users-create``: bulk create 10,000 typed records. kinto-orm:
   ``records(Todo).bulk_create(dicts)`` (each dict validated into a ``Todo``); kinto-http:
   ``batch.create_record(data=...)`` in ``with client.batch()``.
2. ``users-read``: read 10,000 records. kinto-orm: ``records(Todo).all()`` (typed models);
   kinto-http: ``get_records()`` (dicts).
3. ``users-get``: 500 single GETs of one record: ``records(Todo).get(id)`` against
   ``get_record(id=...)``.
4. ``users-reconcile``: make a collection of 5,000 records hold a wanted list in which
   10% differ. kinto-orm: ``collection.reconcile(dicts, model=Todo)``; kinto-http:
   ``get_records()``, ``kinto_http.utils.collection_diff``, then ``update_record`` for
   each difference in one ``client.batch()``.
5. ``users-export``: 50,000 records to a Parquet file. kinto-orm:
   ``records(Todo).to_arrow()`` and ``pyarrow.parquet.write_table``; kinto-http:
   ``get_records()``, ``pyarrow.Table.from_pylist`` and ``write_table``.

Every function takes the :class:`~workloads.Ctx` and returns the measured callable
(setup before it is not measured), as in ``workloads.py``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from report import KINTO_HTTP, ORM, Variant, Workload
from workloads import (
    BUCKET,
    COLLECTION,
    Ctx,
    bulk_orm_sync,
    create_kinto_http,
    get_kinto_http,
    get_orm_query_get,
    make_model,
    read_kinto_http,
    read_orm_all,
    record_data,
    record_id,
)

#: One record in ten differs from the server in the reconcile workload.
CHANGED_EVERY = 10


def _wanted(ctx: Ctx) -> tuple[list[dict[str, Any]], int]:
    """The wanted records of the reconcile workload: the server's (as ``fill`` made
    them), with every tenth title given a value no earlier run used (``ctx.token``), so
    each measurement on the same server has exactly 10% to change."""
    wanted = []
    for i in range(ctx.n):
        data = record_data(i, record_id(i))
        if i % CHANGED_EVERY == 0:
            data["title"] += f" (changed {ctx.token})"
        wanted.append(data)
    return wanted, len(range(0, ctx.n, CHANGED_EVERY))


def reconcile_orm(ctx: Ctx) -> Callable[[], int]:
    Todo = make_model()
    client = ctx.orm()
    collection = client.collection(COLLECTION, bucket=BUCKET)
    wanted, changed = _wanted(ctx)

    def run() -> int:
        report = collection.reconcile(wanted, model=Todo)
        if not report.ok or len(report.updated) != changed:
            raise RuntimeError(f"reconcile: {report!r}, expected {changed} updated")
        return len(report.updated) + len(report.unchanged)

    return run


def reconcile_kinto_http(ctx: Ctx) -> Callable[[], int]:
    from kinto_http.utils import collection_diff

    client = ctx.kinto_http()
    wanted, changed = _wanted(ctx)

    def run() -> int:
        current = client.get_records()
        to_create, to_update, to_delete = collection_diff(wanted, current)
        if to_create or to_delete or len(to_update) != changed:
            raise RuntimeError(f"diff: {len(to_create)} to create, {len(to_update)} to "
                               f"update, {len(to_delete)} to delete")
        with client.batch() as batch:
            for _, new in to_update:
                batch.update_record(data=new)
        return len(current)

    return run


def _parquet_file(ctx: Ctx) -> Path:
    """A file in a folder of its own, removed at the end; one small table written there
    first, so that pyarrow's one-time start-up is not in the measured time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(tempfile.mkdtemp(prefix="kinto-bench-"))
    ctx.closers.append(lambda: shutil.rmtree(folder, ignore_errors=True))
    pq.write_table(pa.Table.from_pylist([record_data(0, record_id(0))]), folder / "warm")
    return folder / "todos.parquet"


def export_orm(ctx: Ctx) -> Callable[[], int]:
    import pyarrow.parquet as pq

    Todo = make_model()
    client = ctx.orm()
    path = _parquet_file(ctx)
    client.records(Todo).limit(1).to_arrow()  # its one-time start-up too, as above

    def run() -> int:
        table = client.records(Todo).to_arrow()
        pq.write_table(table, path)
        return int(table.num_rows)

    return run


def export_kinto_http(ctx: Ctx) -> Callable[[], int]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    client = ctx.kinto_http()
    path = _parquet_file(ctx)

    def run() -> int:
        table = pa.Table.from_pylist(client.get_records())
        pq.write_table(table, path)
        return int(table.num_rows)

    return run


#: Per workload: (kinto-orm function, kinto-http function).
PAIRS: dict[str, tuple[Callable[[Ctx], Callable[[], int]], Callable[[Ctx], Callable[[], int]]]] = {
    "create": (bulk_orm_sync, create_kinto_http),
    "read": (read_orm_all, read_kinto_http),
    "get": (get_orm_query_get, get_kinto_http),
    "reconcile": (reconcile_orm, reconcile_kinto_http),
    "export": (export_orm, export_kinto_http),
}

FUNCTIONS: dict[str, Callable[[Ctx], Callable[[], int]]] = {
    function.__name__: function
    for function in (reconcile_orm, reconcile_kinto_http, export_orm, export_kinto_http)
}


def felt_workloads(scaled: Callable[[int], int], creates: int, exports: int,
                   ) -> list[Workload]:
    """The five workloads, sizes through ``scaled`` (``--scale``). Writes go to servers
    with Kinto's default batches of 25; the read servers take batches of 500, only to be
    filled faster. Every server pages by Kinto's default (10,000 records a page)."""
    writes = {"kinto.explicit_permissions": "false"}
    reads = {**writes, "kinto.batch_max_requests": "500"}

    def pair(key: str) -> list[Variant]:
        orm, http = PAIRS[key]
        return [Variant("kinto-orm", orm.__name__, ORM, {"concurrency": 1}),
                Variant("kinto-http", http.__name__, KINTO_HTTP, baseline=True)]

    create, read, gets = scaled(creates), scaled(10_000), scaled(500)
    reconcile, export = scaled(5_000), scaled(exports)
    return [
        # One server for every measurement (each creates records of its own): a fresh
        # PostgreSQL server each time would cost more than the measurement.
        Workload("users-create", f"bulk create {create:,}", create, writes,
                 pair("create"), server="shared"),
        Workload("users-read", f"typed read {read:,}", read, reads, pair("read"),
                 server="shared", fill=read),
        Workload("users-get", f"{gets:,} single GETs", gets, reads, pair("get"),
                 server="shared", fill=1, op="GET"),
        Workload("users-reconcile", f"reconcile {reconcile:,}, 10% changed", reconcile,
                 writes, pair("reconcile"), server="shared", fill=reconcile),
        Workload("users-export", f"export {export:,} to Parquet", export, reads,
                 pair("export"), server="shared", fill=export),
    ]
