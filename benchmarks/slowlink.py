"""The slow-link table (workload 5): each client's wall time against the Kinto server's
own CPU time, per batch, and the most any client could gain on that server.

Over a link with a round trip of ``2 x delay``, a client sending one batch at a time
waits for every round trip plus the server's work on every batch. A client keeping
several batches in flight overlaps the round trips, but the server (one Python process,
its threads serialised by the GIL) still does all the work one batch after another: its
CPU time is a floor under that client's wall time. On PostgreSQL the database's
processes run beside it, on the other CPUs: the floor is then the larger of Kinto's CPU
time and the whole server's CPU time shared over all the machine's CPUs. Hence the bound
column: kinto-http's wall time divided by that floor, the speed-up the client would show
if the link and every other cost vanished.
"""

from __future__ import annotations

import os
import statistics
from typing import Any


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def link_table(
    n: int, batch_size: int, rows: list[tuple[str, bool, list[dict[str, Any]]]]
) -> str:
    """``rows``: (client label, is the kinto-http baseline, its measurements), every
    measurement with ``wall``, ``cpu``, ``server_cpu``, ``proxy_cpu`` and ``load``; the
    repetitions of every client in the same order (repetition ``i`` of each client ran
    in the same round, so their ratios are taken pairwise)."""
    batches = -(-n // batch_size)
    database = any(r.get("db_cpu") for _, _, runs in rows for r in runs)
    baseline = next((runs for _, is_base, runs in rows if is_base), None)
    lines = [
        f"Per batch of {batch_size} ({batches} batches). Speed-up = kinto-http's wall time / "
        "the client's (median of the per-repetition ratios, then their min-max); server "
        "bound = kinto-http's median wall / the client's server floor (Kinto's CPU, or on "
        "PostgreSQL, if larger, all server CPU / CPUs); server busy = "
        "server CPU / wall" + (" (server CPU: Kinto's process and PostgreSQL's)." if database
                               else "."),
        "",
        "| client | wall per batch (ms) | server CPU per batch (ms) | "
        + ("of which PostgreSQL | " if database else "")
        + "server busy | client CPU (s) | proxy CPU (s) | speed-up vs kinto-http | "
        "per repetition | server bound | load avg |",
        "|---|---:|---:|" + ("---:|" if database else "") + "---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, _, runs in rows:
        wall = _median([r["wall"] for r in runs])
        server = _median([r["server_cpu"] for r in runs])
        floor = _median([max(r["server_cpu"] - r.get("db_cpu", 0.0),
                             r["server_cpu"] / (os.cpu_count() or 1)) for r in runs])
        ratios = (
            [b["wall"] / r["wall"] for b, r in zip(baseline, runs)] if baseline else []
        )
        http_wall = _median([b["wall"] for b in baseline]) if baseline else float("nan")
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}" if ratios else "-"
        lines.append(
            f"| {label} | {wall / batches * 1e3:.1f} | {server / batches * 1e3:.1f} | "
            + (f"{_median([r.get('db_cpu', 0.0) for r in runs]) / batches * 1e3:.1f} | "
               if database else "")
            + f"{server / wall:.0%} | {_median([r['cpu'] for r in runs]):.3f} | "
            f"{_median([r.get('proxy_cpu', 0.0) for r in runs]):.3f} | "
            f"{_median(ratios):.2f}x | {spread} | {http_wall / floor:.2f}x | "
            f"{_median([r['load'] for r in runs]):.1f} |"
        )
    return "\n".join(lines)
