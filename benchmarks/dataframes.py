"""Dataframes against the typed stream: ``to_arrow()``, ``to_pandas()``, ``to_polars()``
(and async twins) of a large collection next to ``for obj in query``, ``all()`` and what
a kinto-http user writes (``get_records()`` + ``pyarrow.Table.from_pylist``); then
``bulk_save`` of a pandas DataFrame and of an Arrow table next to ``bulk_create`` of the
same objects.

    .venv/bin/python benchmarks/dataframes.py                        # both backends
    .venv/bin/python benchmarks/dataframes.py --backends memory --sizes 100000 --repeat 5

Records: title, n, tags, score, date; pages of 10,000 (``kinto.paginate_by``); servers
without the history plugin (``servers.BenchServer``). The records to read are put in
the storage directly (PostgreSQL: one SQL ``INSERT``; memory: ``bench_fill.py`` at
start-up), the bulk writes go through the API into a fresh collection each. Every
measurement runs in a child process of its own (``--child``): wall time, client CPU
(``time.process_time()``), peak RSS growth (``child.PeakRSS``). Clients are interleaved,
their order rotating each repetition; the tables give medians and ratios to the first
row of each table.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_fill import PARENT, item_data  # noqa: E402

BUCKET, COLLECTION = "bench", "todos"
READS = [
    ("typed stream `for obj in query`", "stream"),
    ("typed `all()`", "all"),
    ("`to_arrow()`", "to_arrow"),
    ("`to_pandas()`", "to_pandas"),
    ("`to_polars()`", "to_polars"),
    ("async `async for obj in query`", "astream"),
    ("async `ato_arrow()`", "ato_arrow"),
    ("kinto-http `get_records()` + `Table.from_pylist`", "kinto_http_arrow"),
]
WRITES = [
    ("`bulk_create(objects)`", "bulk_create"),
    ("`bulk_save(pandas.DataFrame)`", "bulk_save_pandas"),
    ("`bulk_save(pyarrow.Table)`", "bulk_save_arrow"),
]


def make_item() -> type:
    from kinto_orm import Record

    class Item(Record, bucket=BUCKET, collection=COLLECTION):
        title: str
        n: int
        tags: list[str] = []
        score: float
        date: datetime.date

    return Item


# ---------------------------------------------------------------------------- child side


def _client(spec: dict[str, Any]) -> Any:
    from kinto_orm import Client

    client = Client(spec["url"], auth=tuple(spec["auth"]), bucket=BUCKET,
                    collection=spec.get("collection", COLLECTION))
    client.get_collection()  # warm-up: connection open, imports done
    return client


def _aclient(spec: dict[str, Any], loop: asyncio.AbstractEventLoop) -> Any:
    from kinto_orm import AsyncClient

    client = AsyncClient(spec["url"], auth=tuple(spec["auth"]), bucket=BUCKET,
                         collection=COLLECTION)
    loop.run_until_complete(client.get_collection())
    return client


def _read(spec: dict[str, Any]) -> Callable[[], int]:
    import pandas  # noqa: F401  (imports are setup, not measured)
    import polars  # noqa: F401
    import pyarrow

    kind, item = spec["function"], make_item()
    if kind == "kinto_http_arrow":
        import kinto_http

        http = kinto_http.Client(server_url=spec["url"], auth=tuple(spec["auth"]),
                                 bucket=BUCKET, collection=COLLECTION)
        http.get_collection()
        return lambda: pyarrow.Table.from_pylist(http.get_records()).num_rows
    if kind in ("astream", "ato_arrow"):
        loop = asyncio.new_event_loop()
        aquery = _aclient(spec, loop).records(item)

        async def work() -> int:
            if kind == "ato_arrow":
                return int((await aquery.ato_arrow()).num_rows)
            return sum([1 async for _ in aquery])

        return lambda: loop.run_until_complete(work())
    query = _client(spec).records(item)
    reads: dict[str, Callable[[], int]] = {
        "stream": lambda: sum(1 for _ in query),
        "all": lambda: len(query.all()),
        "to_arrow": lambda: query.to_arrow().num_rows,
        "to_pandas": lambda: len(query.to_pandas()),
        "to_polars": lambda: query.to_polars().height,
    }
    return reads[kind]


def _write(spec: dict[str, Any]) -> Callable[[], int]:
    import pandas
    import pyarrow

    item, rows = make_item(), [{"id": str(uuid.uuid4()), **item_data(i)}
                               for i in range(spec["n"])]
    for row in rows:
        row["date"] = datetime.date.fromisoformat(row["date"])
    query = _client(spec).records(item)
    kind = spec["function"]
    if kind == "bulk_create":
        objects = [item(**row) for row in rows]
        return lambda: query.bulk_create(objects).done
    frame = pandas.DataFrame(rows)
    table = pyarrow.Table.from_pandas(frame, preserve_index=False)
    items = frame if kind == "bulk_save_pandas" else table
    return lambda: query.bulk_save(items).done


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    from child import PeakRSS

    run = (_write if spec["function"].startswith("bulk_") else _read)(spec)
    gc.collect()
    with PeakRSS() as rss:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        count = run()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"wall": wall, "cpu": cpu, "rss_mib": rss.growth / 1024, "count": count}


# ---------------------------------------------------------------------------- parent side


def start_server(backend: str, fill: int) -> Any:
    """A fresh bench server holding ``fill`` records of :func:`item_data`."""
    from servers import BenchServer

    settings = {"kinto.explicit_permissions": "false", "kinto.paginate_by": "10000",
                "kinto.batch_max_requests": "500"}
    server = BenchServer(settings, backend=backend)
    server.server.startup_timeout = 600
    if backend == "memory":
        server.server.includes.append("bench_fill")
        os.environ["KINTO_BENCH_FILL"] = str(fill)
        os.environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    server.__enter__()
    os.environ.pop("KINTO_BENCH_FILL", None)
    if backend == "postgresql":
        sql_fill(server.server.dsn, fill)
    if server.count() != fill:
        server.stop()
        raise RuntimeError(f"the server holds {server.count()} records, not {fill}")
    return server


def sql_fill(dsn: str, count: int) -> None:
    """Insert ``count`` records of :func:`item_data` in Kinto's PostgreSQL tables."""
    import psycopg2

    connection = psycopg2.connect(dsn)
    with connection, connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO objects (id, parent_id, resource_name, last_modified, data, deleted)
            SELECT md5(i::text)::uuid::text, %s, 'record',
                   from_epoch(as_epoch(now()::timestamp) + i),
                   jsonb_build_object(
                     'title', 'Task number ' || i, 'n', i,
                     'tags', jsonb_build_array('bench', 'tag-' || (i %% 7)),
                     'score', i::float8 / 3,
                     'date', to_char(date '2026-01-01' + (i %% 365), 'YYYY-MM-DD')),
                   false
            FROM generate_series(0, %s - 1) AS i""", (PARENT, count))
    connection.close()


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
                          capture_output=True, text=True, timeout=1800)
    if done.returncode:
        raise RuntimeError(f"{spec['function']} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def rounds(variants: list[tuple[str, str]], repeat: int,
           one: Callable[[str], dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Every variant ``repeat`` times, their order rotating (and reversing) each round."""
    results: dict[str, list[dict[str, Any]]] = {function: [] for _, function in variants}
    names = [function for _, function in variants]
    for turn in range(repeat):
        order = names[turn % len(names):] + names[:turn % len(names)]
        for function in (order if turn % 2 == 0 else order[::-1]):
            result = one(function)
            results[function].append(result)
            print(f"  {function}: wall {result['wall']:.2f} s, cpu {result['cpu']:.3f} s, "
                  f"rss {result['rss_mib']:.0f} MiB", file=sys.stderr, flush=True)
    return results


def table(heading: str, variants: list[tuple[str, str]],
          results: dict[str, list[dict[str, Any]]]) -> str:
    def med(function: str, key: str) -> float:
        return statistics.median(r[key] for r in results[function])

    base = variants[0][1]
    lines = [f"| {heading} | wall | client CPU | peak RSS | wall ratio | CPU ratio |",
             "| --- | --- | --- | --- | --- | --- |"]
    for label, function in variants:
        wall, cpu, rss = med(function, "wall"), med(function, "cpu"), med(function, "rss_mib")
        lines.append(f"| {label} | {wall:.2f} s | {cpu:.3f} s | {rss:.0f} MiB | "
                     f"{wall / med(base, 'wall'):.2f}x | {cpu / med(base, 'cpu'):.2f}x |")
    return "\n".join(lines)


def bench_reads(backend: str, size: int, repeat: int, clients: set[str] | None) -> str:
    variants = [v for v in READS if clients is None or v[1] in clients or v == READS[0]]
    server = start_server(backend, size)
    try:
        spec = {"url": server.url, "auth": list(server.auth), "n": size}
        results = rounds(variants, repeat, lambda function: run_child({**spec,
                                                                        "function": function}))
    finally:
        server.stop()
    return table(f"{backend}, {size:,} records", variants, results)


def bench_writes(backend: str, size: int, repeat: int) -> str:
    server = start_server(backend, 0)
    try:
        def one(function: str) -> dict[str, Any]:
            collection = f"c{uuid.uuid4().hex[:12]}"
            server._ok(server.session.put(f"{server.url}/buckets/{BUCKET}/collections/"
                                          f"{collection}"))
            return run_child({"url": server.url, "auth": list(server.auth), "n": size,
                              "function": function, "collection": collection})

        results = rounds(WRITES, repeat, one)
    finally:
        server.stop()
    return table(f"{backend}, {size:,} records written", WRITES, results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="memory,postgresql")
    parser.add_argument("--sizes", default="100000,300000", help="records read")
    parser.add_argument("--bulk", type=int, default=2000, help="records written (0: none)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="reads,writes")
    parser.add_argument("--clients", help="the reads to run (names as in READS; the typed "
                        "stream always runs): e.g. to_arrow,kinto_http_arrow")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(json.loads(args.child))))
        return
    # Stopped (kill PID): stop the servers too, through the finally blocks.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    for backend in args.backends.split(","):
        if "reads" in args.only:
            for size in (int(s) for s in args.sizes.split(",")):
                print(f"{backend}: reading {size:,} records", file=sys.stderr, flush=True)
                clients = set(args.clients.split(",")) if args.clients else None
                print(bench_reads(backend, size, args.repeat, clients) + "\n", flush=True)
        if "writes" in args.only and args.bulk:
            print(f"{backend}: writing {args.bulk:,} records", file=sys.stderr, flush=True)
            print(bench_writes(backend, args.bulk, args.repeat) + "\n", flush=True)


if __name__ == "__main__":
    main()
