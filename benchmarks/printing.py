"""The output of ``run.py``: the Markdown report, the chart, and the raw measurements as
JSON (which ``run.py --report FILE`` reads back to print and draw them again)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from chart import write_chart
from report import (
    BACKEND_NAMES,
    KINTO_HTTP,
    Results,
    Workload,
    felt_table,
    limits_table,
    paired_ratio,
    row_labels,
    table,
)
from slowlink import link_table

ByBackend = dict[str, tuple[list[Workload], Results]]


def code_commit() -> str:
    """``git describe --always --dirty`` of the kinto-orm code being measured."""
    import kinto_orm

    source = Path(kinto_orm.__file__).resolve().parent
    return subprocess.run(["git", "describe", "--always", "--dirty"], cwd=source,
                          capture_output=True, text=True).stdout.strip() or "?"


def versions(commit: str) -> str:
    from importlib.metadata import version

    import kinto
    import pydantic
    import requests

    import kinto_orm

    return (
        f"kinto-orm {kinto_orm.__version__} (git {commit}), kinto-http "
        f"{version('kinto-http')}, requests {requests.__version__}, pydantic "
        f"{pydantic.VERSION}, Kinto server {kinto.__version__}, Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )


def report(args: argparse.Namespace, by_backend: ByBackend, elapsed: float,
           commit: str) -> None:
    """Print the Markdown report and, for the users' workloads, write the chart."""
    print(f"## kinto-orm benchmark (scale {args.scale}, {args.repeat} repetitions, "
          f"{elapsed / 60:.1f} min)\n")
    print(versions(commit) + "\n")
    print(f"Servers: Kinto, {' and '.join(by_backend)} backend, no history, no "
          "attachments, "
          + ("default kinto.explicit_permissions" if args.explicit_permissions else
             "kinto.explicit_permissions = false (the bench user is given write on the "
             "bucket)")
          + "; kinto-http's per-sub-request WARNING log lines are not emitted.\n")
    felt = {backend: ([w for w in workloads if w.key.startswith("users-")], results)
            for backend, (workloads, results) in by_backend.items()}
    if any(workloads for workloads, _ in felt.values()):
        print("### Wall clock: kinto-orm vs kinto-http\n")
        print("Medians over the repetitions; ratio = median over repetitions of kinto-orm's "
              "wall time over kinto-http's, the two run one after the other (order "
              "alternating).\n")
        print(felt_table(felt) + "\n")
        for backend, (workloads, results) in felt.items():
            print(limits_table(workloads, backend, results) + "\n")
        rows = [(row, {backend: paired_ratio(workloads[i], results)
                       for backend, (workloads, results) in felt.items()})
                for i, row in enumerate(row_labels(felt))]
        write_chart(args.chart, rows, f"kinto-orm {commit}, medians of {args.repeat} "
                    "interleaved rounds")
        print(f"[{time.strftime('%H:%M:%S')}] chart written to {args.chart}", file=sys.stderr)
    for backend, (workloads, results) in by_backend.items():
        rest = [w for w in workloads if not w.key.startswith("users-")]
        if rest:
            print_details(rest, backend, results)


def print_details(workloads: list[Workload], backend: str, results: Results) -> None:
    """The detailed tables (CPU, memory, against requests too) of the other workloads."""
    print(f"### Details, {BACKEND_NAMES[backend]} backend\n")
    exact = all(r.get("rss_exact") for runs in results.values() for r in runs)
    print("Medians over the repetitions; `wall spread` = (max - min) / median of the wall "
          "times. Peak RSS growth: "
          + ("VmHWM of the client process after the measured call minus its VmRSS before "
             "(peak mark reset through /proc/self/clear_refs)" if exact else
             "ru_maxrss growth of the client process over the measured call")
          + "; a fresh process per measurement. tracemalloc peak: a second, untimed call "
          "of the same read under tracemalloc (Python-level allocations only).\n")
    for workload in workloads:
        print(table(workload, results) + "\n")
        if workload.latency:
            rows = [(v.label, v.role == KINTO_HTTP, results[(workload.key, v.label)])
                    for v in workload.variants]
            batch = rows[0][2][0]["batch_max"] if rows[0][2] else 25
            print(link_table(workload.n, batch, rows) + "\n")


def dump_results(args: argparse.Namespace, by_backend: ByBackend, elapsed: float,
                 commit: str) -> str:
    return json.dumps({
        "scale": args.scale, "repeat": args.repeat, "commit": commit,
        "versions": versions(commit), "elapsed_s": elapsed,
        "results": [{"backend": backend, "workload": key, "client": label, "runs": runs}
                    for backend, (_, results) in by_backend.items()
                    for (key, label), runs in results.items()],
    }, indent=1)


def load_results(saved: dict[str, Any]) -> dict[str, Results]:
    """``{backend: {(workload, client): runs}}`` from what :func:`dump_results` wrote."""
    by_backend: dict[str, Results] = {}
    for row in saved["results"]:
        by_backend.setdefault(row["backend"], {})[(row["workload"], row["client"])] = row["runs"]
    return by_backend
