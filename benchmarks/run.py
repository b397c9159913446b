"""kinto-orm vs kinto-http vs plain requests, against local Kinto servers, in one run.

    make bench                                         # = .venv/bin/python benchmarks/run.py
    .venv/bin/python benchmarks/run.py --scale 0.1     # quick look (a few minutes)
    .venv/bin/python benchmarks/run.py --only create,get --repeat 5 --json out.json

By default (``--only users``), the workloads users feel (``felt.py``): bulk create,
typed read, single GETs, reconcile and Parquet export, kinto-orm against kinto-http,
on the memory and then the PostgreSQL backend; one wall-clock table, a table of where
the time went, and a chart of the ratios (``--chart``, ``docs/img/performance.png``).

The detailed workloads (``--only create,concurrent,read,get,stream,slowlink``; record
counts at ``--scale 1``; every count is multiplied by ``--scale``):

1. ``create``: 10,000 records created in batch: kinto-orm ``Record`` models saved in
   ``with client.batch()`` and in ``async with aclient.batch()``, kinto-http's
   ``batch.create_record``, hand-built ``POST /batch`` chunks of 25 with requests.
   1b. ``concurrent``: 2,000 records (``--concurrent-records``) created by concurrent
   ``asave()`` calls (one PUT each) under a semaphore of 8 and of 16
   (``--concurrency``), against kinto-http's and requests' batches of the same size.
2. ``read``: 10,000 records read through pagination (``kinto.paginate_by = 1000``),
   into typed models (kinto-orm) or dicts (kinto-http, requests).
3. ``get``: 500 GETs of one record.
4. ``stream``: iterating 1,000, 10,000 and 100,000 records page by page (pages of
   10,000), for the peak memory; loading them all in a list is shown for contrast.
5. ``slowlink``: 2,000 records (``--slowlink-records``) bulk-created over a slow link (a
   loopback proxy adding ``--latency-ms`` 20 ms each way, in a process of its own):
   kinto-orm ``abulk_create`` and sync ``bulk_create`` with ``concurrency=4`` and ``8``
   (``--slowlink-concurrency``; on a quiet machine 8 in flight cost the local server more
   CPU per batch than 4, its threads contending for its GIL) against kinto-http's batch;
   a second table sets each client's wall time against the server's CPU time
   (``slowlink.py``).

``--backend`` names the backends to run, one after the other (``memory,postgresql`` by
default; a PostgreSQL server runs in a throw-away cluster of its own).

Every measurement runs in its own process (``child.py``) after its setup, against a
Kinto server (memory backend, no history, no attachments) started for it: write
workloads get a fresh server per client and repetition; a read workload's server is
filled once and read by every client in every repetition (reading changes nothing on
the server). The client order rotates and reverses from one repetition to the next.
Measured: wall time, client CPU time (``time.process_time()`` of the client process; the
server is another process), peak RSS growth of the client process (VmHWM after the call
minus VmRSS before it, the peak mark reset through ``/proc/self/clear_refs``) and, for
reads, the Python-level peak of a second, untimed call under ``tracemalloc``; the CPU
time of the server's processes over the client's run (``/proc/<pid>/stat``), and the
load average when the client ended.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from felt import felt_workloads  # noqa: E402
from latency import ProxyProcess  # noqa: E402
from printing import code_commit, dump_results, load_results, report  # noqa: E402
from report import BACKEND_NAMES, KINTO_HTTP, ORM, REQUESTS, Variant, Workload, title  # noqa: E402
from servers import BenchServer  # noqa: E402

#: The storage backend of every server (``--backend``).
BACKEND = "memory"

def build_workloads(args: argparse.Namespace, backend: str) -> list[Workload]:
    def scaled(count: int) -> int:
        return max(1, round(count * args.scale))

    base = {} if args.explicit_permissions else {"kinto.explicit_permissions": "false"}
    paginated = {**base, "kinto.paginate_by": "1000", "kinto.batch_max_requests": "500"}
    concurrent = [
        Variant(f"kinto-orm async asave() x{c}", "create_orm_async_concurrent", ORM,
                {"concurrency": c})
        for c in args.concurrency
    ]
    workloads = [
        Workload(
            "create", "1. Create {n} records in batch", scaled(10_000), base, [
                Variant("kinto-orm sync batch (Record.save)", "create_orm_sync", ORM),
                Variant("kinto-orm async batch (Record.asave)", "create_orm_async_batch", ORM),
                Variant("kinto-http batch.create_record", "create_kinto_http", KINTO_HTTP,
                        baseline=True),
                Variant("requests POST /batch x25", "create_requests", REQUESTS,
                        baseline=True),
            ], server="per-client",
        ),
        Workload(
            "concurrent", "1b. Create {n} records: concurrent asave() vs batch",
            scaled(args.concurrent_records), base, [
                *concurrent,
                Variant("kinto-http batch.create_record", "create_kinto_http", KINTO_HTTP,
                        baseline=True),
                Variant("requests POST /batch x25", "create_requests", REQUESTS,
                        baseline=True),
            ], server="per-client",
        ),
        Workload(
            "read", "2. Read {n} records, pages of 1000", scaled(10_000), paginated, [
                Variant("kinto-orm records(Todo).all()", "read_orm_all", ORM),
                Variant("kinto-orm async records(Todo).aall()", "read_orm_async_all", ORM),
                Variant("kinto-orm get_records() (dicts)", "read_orm_get_records", ORM),
                Variant("kinto-http get_records()", "read_kinto_http", KINTO_HTTP,
                        baseline=True),
                Variant("requests loop on Next-Page", "read_requests", REQUESTS,
                        baseline=True),
            ], server="shared", fill=scaled(10_000), tracemalloc=True,
        ),
        Workload(
            "get", "3. {n} GETs of one record", scaled(500), base, [
                Variant("kinto-orm get_record()", "get_orm_get_record", ORM),
                Variant("kinto-orm records(Todo).get(id)", "get_orm_query_get", ORM),
                Variant("kinto-orm async records(Todo).aget(id)", "get_orm_async_query_get",
                        ORM),
                Variant("kinto-http get_record()", "get_kinto_http", KINTO_HTTP,
                        baseline=True),
                Variant("requests Session.get().json()", "get_requests", REQUESTS,
                        baseline=True),
            ], server="per-client", fill=1, op="GET",
        ),
    ]
    # Pages of 10,000 by default (Kinto's storage_max_fetch_size): the memory backend
    # sorts what is left of the collection for every page, so 100,000 records in pages
    # of 1,000 take about 100 s of server time per pass, against 11 s in pages of 10,000.
    page = args.stream_page_size
    streaming = {**base, "kinto.paginate_by": str(page), "kinto.batch_max_requests": "500"}
    for size in args.stream_sizes:
        n = scaled(size)
        workloads.append(Workload(
            f"stream-{size}", f"4. Iterate {{n}} records, pages of {page}", n, streaming, [
                Variant("kinto-orm for r in records(Todo)", "stream_orm", ORM),
                Variant("kinto-http get_paginated_records()", "stream_kinto_http",
                        KINTO_HTTP, baseline=True),
                Variant("requests loop on Next-Page", "stream_requests", REQUESTS,
                        baseline=True),
                Variant("(contrast) kinto-orm records(Todo).all()", "read_orm_all", ORM),
            ], server="shared", fill=n, tracemalloc=True,
        ))
    linked = [
        Variant(f"kinto-orm {mode} {name}(concurrency={c})", function, ORM, {"concurrency": c})
        for c in args.slowlink_concurrency
        for mode, name, function in (("async", "abulk_create", "bulk_orm_async"),
                                     ("sync", "bulk_create", "bulk_orm_sync"))
    ]
    workloads.append(Workload(
        "slowlink", f"5. Bulk create {{n}} records over a slow link ({args.latency_ms:g} ms "
        "each way)", scaled(args.slowlink_records), base, [
            *linked,
            Variant("kinto-orm sync bulk_create() (one batch at a time)", "bulk_orm_sync",
                    ORM, {"concurrency": 1}),
            Variant("kinto-http batch.create_record", "create_kinto_http", KINTO_HTTP,
                    baseline=True),
            Variant("requests POST /batch x25", "create_requests", REQUESTS, baseline=True),
        ], server="per-client", latency=args.latency_ms / 1000,
    ))
    creates = args.pg_create_records if backend == "postgresql" else 10_000
    workloads += felt_workloads(scaled, creates, args.export_records)
    chosen = set(args.only)
    return [w for w in workloads if w.key in chosen or w.key.split("-")[0] in chosen]


# ---------------------------------------------------------------------------- running


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def alternate(variants: list[Variant], rep: int) -> list[Variant]:
    """Rotate by the repetition number, and reverse every other repetition, so that no
    client always runs first, last, or right after the same neighbour."""
    shift = rep % len(variants)
    order = variants[shift:] + variants[:shift]
    # Reversed every other full rotation: with two clients, rotating alone alternates
    # them, and reversing on odd repetitions would undo it.
    return order[::-1] if (rep // len(variants)) % 2 else order


def run_child(server: BenchServer, workload: Workload, variant: Variant,
              record_id: str | None, rep: int) -> dict[str, Any]:
    if workload.latency:
        with ProxyProcess(server.url, workload.latency) as proxy:
            proxy_cpu = proxy.cpu_seconds()
            result = _run_child(server, proxy.url, workload, variant, record_id, rep)
            result["proxy_cpu"] = proxy.cpu_seconds() - proxy_cpu
            return result
    return _run_child(server, server.url, workload, variant, record_id, rep)


def _run_child(server: BenchServer, url: str, workload: Workload, variant: Variant,
               record_id: str | None, rep: int) -> dict[str, Any]:
    spec = {
        "function": variant.function,
        "url": url,
        "auth": list(server.auth),
        "n": workload.n,
        "record_id": record_id,
        "token": uuid.uuid4().hex,
        # Python-level allocations do not depend on the machine's load: one pass is enough.
        "tracemalloc": workload.tracemalloc and rep == 0,
        **variant.extra,
    }
    # The server's CPU over the client's whole process (its setup requests included:
    # a few, against thousands of sub-requests measured).
    writes = workload.key in ("create", "slowlink", "users-create")
    before = server.count() if writes else 0
    kinto_cpu, db_cpu = server.cpu_seconds()
    done = subprocess.run(
        [sys.executable, str(HERE / "child.py"), json.dumps(spec)],
        capture_output=True, text=True, timeout=3600,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    kinto_after, db_after = server.cpu_seconds()
    server_cpu = kinto_after - kinto_cpu + db_after - db_cpu
    if done.returncode != 0:
        raise RuntimeError(f"{variant.label} failed:\n{done.stderr[-4000:]}\n"
                           f"server log:\n{server.server.log_tail()}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["server_cpu"] = server_cpu
    result["db_cpu"] = db_after - db_cpu
    result["batch_max"] = server.batch_max
    result["load"] = os.getloadavg()[0]
    expected = workload.n
    if result["count"] != expected:
        raise RuntimeError(f"{variant.label}: counted {result['count']}, expected {expected}")
    if writes and server.count() - before != expected:
        raise RuntimeError(f"{variant.label}: the server holds {server.count() - before} "
                           f"more records, not {expected}")
    log(f"  {variant.label}: wall {result['wall']:.3f} s, cpu {result['cpu']:.3f} s, "
        f"server cpu {server_cpu:.3f} s, load {result['load']:.1f}, "
        f"rss +{result['rss_kib'] / 1024:.1f} MiB"
        + (f", tracemalloc peak {result['tm_peak'] / 2**20:.1f} MiB"
           if "tm_peak" in result else ""))
    return result


def run_workload(workload: Workload, rep: int, results: dict[tuple[str, str], list[Any]],
                 server: BenchServer | None = None, record_id: str | None = None) -> None:
    for variant in alternate(workload.variants, rep):
        if server is None:
            with BenchServer(workload.settings, BACKEND) as fresh:
                ids = fresh.fill(workload.fill) if workload.fill else []
                result = run_child(fresh, workload, variant, ids[0] if ids else None, rep)
        else:
            result = run_child(server, workload, variant, record_id, rep)
        results[(workload.key, variant.label)].append(result)


def run_all(workloads: list[Workload], repeat: int) -> dict[tuple[str, str], list[Any]]:
    """Workloads with a server per measurement run repetition by repetition, interleaved
    (noise from the shared machine spreads over all of them). Read workloads: one server
    filled once, then every repetition on it (reads change nothing on the server, and
    filling is what takes time)."""
    results: dict[tuple[str, str], list[Any]] = {
        (w.key, v.label): [] for w in workloads for v in w.variants
    }
    for rep in range(repeat):
        for workload in workloads:
            if workload.server == "per-client":
                log(f"{title(workload)}: repetition {rep + 1}/{repeat}")
                run_workload(workload, rep, results)
    for workload in workloads:
        if workload.server != "shared":
            continue
        with BenchServer(workload.settings, BACKEND) as server:
            started = time.perf_counter()
            ids = server.fill(workload.fill)
            log(f"{title(workload)}: filled {workload.fill:,} records in "
                f"{time.perf_counter() - started:.1f} s")
            for rep in range(repeat):
                log(f"{title(workload)}: repetition {rep + 1}/{repeat}")
                run_workload(workload, rep, results, server, ids[0] if ids else None)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every record count (0.1 for a quick run)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="repetitions of each measurement (medians are reported)")
    parser.add_argument("--only", default="users",
                        help="comma-separated workloads: users (the wall-clock table, or "
                             "one of users-create, -read, -get, -reconcile, -export), "
                             "create, concurrent, read, get, stream, slowlink")
    parser.add_argument("--backend", default="memory,postgresql",
                        help="storage backends of the Kinto servers, comma-separated, each "
                             "run in turn: memory, postgresql")
    parser.add_argument("--export-records", type=int, default=50_000,
                        help="records exported to Parquet by users-export, before --scale")
    parser.add_argument("--pg-create-records", type=int, default=2_000,
                        help="records bulk-created by users-create on PostgreSQL, before "
                             "--scale (10,000 on memory): every write costs Kinto about 7 ms "
                             "of CPU there")
    parser.add_argument("--chart", type=Path, default=HERE.parent / "docs/img/performance.png",
                        help="where the users' workloads write their chart (PNG)")
    parser.add_argument("--slowlink-records", type=int, default=2_000,
                        help="records bulk-created by the slow-link workload (5)")
    parser.add_argument("--slowlink-concurrency", default="4,8",
                        help="chunks in flight of the slow-link kinto-orm variants, e.g. 4,8,16")
    parser.add_argument("--latency-ms", type=float, default=20.0,
                        help="delay the slow-link proxy adds in each direction")
    parser.add_argument("--concurrent-records", type=int, default=2_000,
                        help="records created by the concurrent asave() workload (1b), "
                             "before --scale (single PUTs: much slower than batches)")
    parser.add_argument("--concurrency", default="8,16",
                        help="semaphore sizes for the concurrent asave() variant")
    parser.add_argument("--stream-sizes", default="1000,10000,100000",
                        help="record counts of the stream workload (4), before --scale")
    parser.add_argument("--stream-page-size", type=int, default=10_000,
                        help="kinto.paginate_by of the stream workload's servers")
    parser.add_argument("--explicit-permissions", action="store_true",
                        help="keep Kinto's default kinto.explicit_permissions = true "
                             "(much slower writes on the memory backend)")
    parser.add_argument("--json", type=Path, help="also write every raw measurement here")
    parser.add_argument("--report", type=Path, metavar="JSON",
                        help="measure nothing: print the tables and draw the chart again "
                             "from a file written by --json (with the same options)")
    args = parser.parse_args(argv)
    args.backends = [name.strip() for name in args.backend.split(",") if name.strip()]
    unknown = set(args.backends) - set(BACKEND_NAMES)
    if unknown or not args.backends:
        parser.error(f"--backend: memory and/or postgresql, not {args.backend!r}")
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]
    args.slowlink_concurrency = [
        int(c) for c in args.slowlink_concurrency.split(",") if c.strip()
    ]
    args.stream_sizes = [int(c) for c in args.stream_sizes.split(",") if c.strip()]

    if args.report:
        saved = json.loads(args.report.read_text())
        args.scale, args.repeat = saved["scale"], saved["repeat"]
        by_backend = {backend: (build_workloads(args, backend), results)
                      for backend, results in load_results(saved).items()}
        report(args, by_backend, saved["elapsed_s"], saved["commit"])
        return 0

    global BACKEND
    commit = code_commit()  # now: the tree may change while the benchmark runs
    started = time.perf_counter()
    by_backend = {}
    for BACKEND in args.backends:
        workloads = build_workloads(args, BACKEND)
        log(f"{BACKEND} backend, scale {args.scale}, repeat {args.repeat}: "
            f"{', '.join(w.key for w in workloads)}")
        by_backend[BACKEND] = workloads, run_all(workloads, args.repeat)
    elapsed = time.perf_counter() - started
    report(args, by_backend, elapsed, commit)
    if args.json:
        args.json.write_text(dump_results(args, by_backend, elapsed, commit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
